"""The prompt format every run uses: DSPy's JSONAdapter, with outputs described in words rather than a template."""

from __future__ import annotations

from typing import Any

import dspy
from dspy.adapters.utils import get_annotation_name
from dspy.signatures.signature import Signature


class DescribedJSONAdapter(dspy.JSONAdapter):
    """JSONAdapter whose instructions describe each output field instead of showing ``{"answer": "{answer}"}``.

    Small models copy a template's placeholders verbatim, answering ``{answer}``; a description in words gives
    them nothing to copy. The JSON schema sent as ``response_format`` (grammar-enforced on local models) still
    fixes the structure, and parsing is JSONAdapter's own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._formats: dict[tuple[type[Signature], str], Any] = {}

    def _prepare_response_format(self, lm: Any, lm_kwargs: dict[str, Any], signature: type[Signature]) -> None:
        # JSONAdapter builds a fresh pydantic model for the schema on every call; one per signature and model is
        # enough, and at hundreds of calls a second that rebuild is a measurable share of the CPU.
        key = (signature, lm.model)
        if key not in self._formats:
            probe: dict[str, Any] = {}
            super()._prepare_response_format(lm, probe, signature)
            self._formats[key] = probe.get("response_format")
        if self._formats[key] is not None:
            lm_kwargs["response_format"] = self._formats[key]

    def format_field_structure(self, signature: type[Signature]) -> str:
        inputs = ", ".join(f"`[[ ## {name} ## ]]`" for name in signature.input_fields)
        outputs = "\n".join(
            f"- `{name}` ({get_annotation_name(field.annotation)}): {field.json_schema_extra.get('desc', '')}".rstrip(
                ": "
            )
            for name, field in signature.output_fields.items()
        )
        return (
            f"The input comes in sections headed {inputs}.\n\n"
            f"Reply with one JSON object holding these keys, in this order, each filled with your own words:\n{outputs}"
        )
