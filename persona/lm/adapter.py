"""The prompt format every run uses: DSPy's JSONAdapter, with outputs described in words rather than a template."""

from __future__ import annotations

import dspy
from dspy.adapters.utils import get_annotation_name
from dspy.signatures.signature import Signature


class DescribedJSONAdapter(dspy.JSONAdapter):
    """JSONAdapter whose instructions describe each output field instead of showing ``{"answer": "{answer}"}``.

    Small models copy a template's placeholders verbatim, answering ``{answer}``; a description in words gives
    them nothing to copy. The JSON schema sent as ``response_format`` (grammar-enforced on local models) still
    fixes the structure, and parsing is JSONAdapter's own.
    """

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
