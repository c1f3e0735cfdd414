"""The typed record of a stage's item: what a stage stores for each finished item, checked as it is stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class Record(BaseModel):
    """One finished item as its stage stores it. Each stage names its own subclass; the fields it declares are
    the only ones a record may have, so a result row never meets a field its kind did not declare, and a work
    function that returns something else fails that item by name instead of writing a record nothing can read.

    A field with a default that the work did not set is left out of the stored record, as it was never there.
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The field names, in order: the columns a failed item's row holds as nulls."""
        return tuple(cls.model_fields)


class RecordError(ValueError):
    """A stage's work returned a record its stage's ``Record`` does not describe."""


def stored(model: type[Record], value: Any) -> dict[str, Any]:
    """``value`` (a dict or a ``model``) checked against ``model``, as the item log stores it."""
    try:
        record = value if isinstance(value, model) else model.model_validate(value)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "record"
        raise RecordError(f"{model.__name__} {where}: {problem['msg']}") from None
    return record.model_dump(mode="json", exclude_unset=True)
