"""The run adapter: outputs described in words, no placeholders for small models to copy, JSON parsing intact."""

import dspy
from dspy.utils import DummyLM

from persona.lm.adapter import DescribedJSONAdapter
from persona.signatures import JudgeNeedsRevision


def test_instructions_describe_outputs_without_placeholders():
    adapter = DescribedJSONAdapter()
    lm = DummyLM([{"critique": "fits", "needs_revision": False}], adapter=adapter)
    with dspy.context(lm=lm, adapter=adapter):
        verdict = dspy.Predict(JudgeNeedsRevision)(question="Q?", persona="age: 30", answer="A.")
    assert verdict.needs_revision is False and verdict.critique == "fits"
    system = lm.history[-1]["messages"][0]["content"]
    assert "{critique}" not in system and '"critique": "' not in system
    assert "- `critique` (str): a brief assessment from both views" in system
    assert "- `needs_revision` (bool): true if the answer should be revised" in system
    assert "`[[ ## persona ## ]]`" in system
