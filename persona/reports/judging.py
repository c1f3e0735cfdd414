"""What a report says about who judged: a judge that runs the model under test grades its own answers."""

from __future__ import annotations

from typing import Any

ENDPOINT = "api_base"


def judge_is_responder(manifest: Any) -> bool:
    """The judge role and the responder role run one model at one endpoint (False when a run lacks either)."""
    judge, responder = manifest.models.get("judge"), manifest.models.get("responder")
    if judge is None or responder is None:
        return False
    return bool((judge.model, judge.args.get(ENDPOINT)) == (responder.model, responder.args.get(ENDPOINT)))


def judge_note(manifest: Any) -> list[str]:
    """The report lines that say so, in bold, when the judge grades answers of its own model."""
    if not judge_is_responder(manifest):
        return []
    return [
        f"**The judge is the model under test** (`{manifest.models['judge'].model}`): it grades its own answers. "
        "Name another judge model for a measurement of personalization.",
        "",
    ]
