"""Tokens each model role spent on one piece of work: the cost of a conversation, per role.

The run's cache reports every answer it hands out, whether fresh from the backend or read back from disk, with the
usage the backend reported when it made it. So an item's count is the same on the first run, after a resume and on
a replay with zero model calls, and a record that stores it keeps its bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel

from persona.lm.registry import current_role

UNTAGGED = "untagged"


class Tokens(BaseModel):
    """Prompt and completion tokens, as the backend reported them (zero where it reports none)."""

    prompt: int = 0
    completion: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion


_spent: ContextVar[dict[str, Tokens] | None] = ContextVar("persona_tokens_spent", default=None)


@contextlib.contextmanager
def metered() -> Iterator[dict[str, Tokens]]:
    """Count, per role, the tokens of every LM answer used in this block (in this thread or task)."""
    spent: dict[str, Tokens] = {}
    token = _spent.set(spent)
    try:
        yield spent
    finally:
        _spent.reset(token)


def _field(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
    return int(value or 0)


def spend(response: Any) -> None:
    """Add an LM answer's reported usage to the block being metered, under the role that asked for it."""
    spent = _spent.get()
    if spent is None or (usage := getattr(response, "usage", None)) is None:
        return
    role = current_role() or UNTAGGED
    before = spent.get(role, Tokens())
    spent[role] = Tokens(
        prompt=before.prompt + _field(usage, "prompt_tokens"),
        completion=before.completion + _field(usage, "completion_tokens"),
    )
