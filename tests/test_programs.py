"""Program control flow with DSPy's DummyLM: what each step sees and returns."""

import dspy
from dspy.utils import DummyLM

from persona.programs import BenchItem, DPFPair, RevisionJudge


def _user_messages(lm: DummyLM) -> list[str]:
    return [entry["messages"][-1]["content"] for entry in lm.history]


def test_dpf_pair_chains_answer_critique_revision():
    generator = DummyLM([{"answer": "Buy a house."}, {"revision": "Rent for now."}])
    critic = DummyLM([{"critique": "Too generic for a student."}])
    pair = DPFPair(generator=generator, critic=critic)(question="Rent or buy?", persona="age: 21")
    assert (pair.rejected, pair.critique, pair.chosen) == (
        "Buy a house.",
        "Too generic for a student.",
        "Rent for now.",
    )
    critic_prompt = _user_messages(critic)[0]
    assert "Buy a house." in critic_prompt and "age: 21" in critic_prompt  # the critic sees answer and persona
    revision_prompt = _user_messages(generator)[1]
    assert "Too generic for a student." in revision_prompt
    assert "age: 21" not in revision_prompt  # the reviser works from the critique, never the attributes


def test_dpf_pair_critic_defaults_to_generator():
    lm = DummyLM([{"answer": "A."}, {"critique": "C."}, {"revision": "R."}])
    pair = DPFPair(generator=lm)(question="Q?", persona="age: 30")
    assert pair.chosen == "R." and len(lm.history) == 3


def test_judge_passes_only_when_no_revision_is_needed():
    judge = RevisionJudge(
        DummyLM([{"critique": "fine", "needs_revision": False}, {"critique": "names the age", "needs_revision": True}])
    )
    assert judge(question="Q?", persona="age: 30", answer="A.").passed is True
    assert judge(question="Q?", persona="age: 30", answer="As a 30-year-old...").passed is False


def test_bench_samples_use_distinct_rollouts_and_judge_each():
    responder = DummyLM([{"answer": "first"}, {"answer": "second"}, {"answer": "third"}])
    judge = DummyLM(
        [
            {"critique": "ok", "needs_revision": False},
            {"critique": "no", "needs_revision": True},
            {"critique": "ok", "needs_revision": False},
        ]
    )
    result = BenchItem(responder=responder, judge=judge)(question="Q?", persona="age: 40", samples=3, temperature=0.9)
    assert [s["answer"] for s in result.samples] == ["first", "second", "third"]
    assert [s["passed"] for s in result.samples] == [True, False, True]
    kwargs = [entry["kwargs"] for entry in responder.history]
    assert [k["rollout_id"] for k in kwargs] == [0, 1, 2]
    assert {k["temperature"] for k in kwargs} == {0.9}
    assert "first" in _user_messages(judge)[0] and "second" in _user_messages(judge)[1]


def test_single_sample_keeps_the_responder_settings():
    responder = DummyLM([{"answer": "only"}])
    judge = DummyLM([{"critique": "ok", "needs_revision": False}])
    BenchItem(responder=responder, judge=judge)(question="Q?", persona="age: 40", samples=1)
    assert "rollout_id" not in responder.history[0]["kwargs"]


def test_programs_fall_back_to_the_configured_lm():
    lm = DummyLM([{"answer": "A."}, {"critique": "C."}, {"revision": "R."}])
    with dspy.context(lm=lm):
        assert DPFPair()(question="Q?", persona="age: 30").chosen == "R."
