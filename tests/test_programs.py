"""Program control flow with DSPy's DummyLM: what each step sees and returns."""

import dspy
import pytest
from dspy.utils import DummyLM

from persona.programs import BenchItem, DPFPair, DroppedAttributes, RevisionJudge, RolePlayAnnotator


def _user_messages(lm: DummyLM) -> list[str]:
    return [entry["messages"][-1]["content"] for entry in lm.history]


def test_dpf_pair_chains_answer_critique_revision():
    generator = DummyLM([{"answer": "Buy a house while rates are low."}, {"revision": "Rent for now."}])
    critic = DummyLM([{"critique": "Too generic for a student."}])
    pair = DPFPair(generator=generator, critic=critic)(question="Rent or buy?", persona="age: 21")
    assert (pair.rejected, pair.critique, pair.chosen) == (
        "Buy a house while rates are low.",
        "Too generic for a student.",
        "Rent for now.",
    )
    critic_prompt = _user_messages(critic)[0]
    assert (
        "Buy a house while rates are low." in critic_prompt and "age: 21" in critic_prompt
    )  # the critic sees answer and persona
    revision_prompt = _user_messages(generator)[1]
    assert "Too generic for a student." in revision_prompt
    assert "age: 21" not in revision_prompt  # the reviser works from the critique, never the attributes


def test_dpf_pair_critic_defaults_to_generator():
    lm = DummyLM([{"answer": "A long answer."}, {"critique": "C."}, {"revision": "R."}])
    pair = DPFPair(generator=lm)(question="Q?", persona="age: 30")
    assert pair.chosen == "R." and len(lm.history) == 3
    assert pair.chosen_tokens < pair.rejected_tokens and pair.revision_attempts == 1


def test_dpf_revision_not_shorter_is_redrawn_once_at_a_fresh_rollout():
    lm = DummyLM(
        [
            {"answer": "Save first, then spend what is left."},
            {"critique": "Mention rent."},
            {"revision": "Save first, then spend what is left, and also think carefully about your rent."},
            {"revision": "Mind rent."},
        ]
    )
    pair = DPFPair(generator=lm)(question="Q?", persona="age: 30")
    assert pair.chosen == "Mind rent." and pair.revision_attempts == 2
    assert pair.chosen_tokens < pair.rejected_tokens
    retry = lm.history[3]["kwargs"]
    assert retry["rollout_id"] == 1 and retry["temperature"] > 0
    assert lm.history[3]["messages"][-1]["content"] == lm.history[2]["messages"][-1]["content"]  # same request

    stubborn = DummyLM(
        [{"answer": "Yes."}, {"critique": "C."}, {"revision": "Yes, certainly."}, {"revision": "Yes, of course."}]
    )
    pair = DPFPair(generator=stubborn)(question="Q?", persona="age: 30")
    assert pair.revision_attempts == 2 and pair.chosen_tokens >= pair.rejected_tokens  # kept, and marked
    assert len(stubborn.history) == 4  # only one retry


def test_annotator_unswaps_the_seeded_order():
    from persona.data.pairs import chosen_goes_first
    from persona.programs.preferences import PreferenceAnnotator

    keys = [f"p|q{i}" for i in range(40)]
    orders = [chosen_goes_first(0, k) for k in keys]
    assert 10 < sum(orders) < 30 and orders == [chosen_goes_first(0, k) for k in keys]
    assert orders != [chosen_goes_first(1, k) for k in keys]
    first = keys[orders.index(True)]
    second = keys[orders.index(False)]
    lm = DummyLM([{"reasoning": "r", "preferred": "A"}, {"reasoning": "r", "preferred": "A"}])
    annotator = PreferenceAnnotator(lm, seed=0)
    shown_first = annotator(key=first, question="Q?", persona="age: 3", chosen="CHOSEN", rejected="REJECTED")
    shown_second = annotator(key=second, question="Q?", persona="age: 3", chosen="CHOSEN", rejected="REJECTED")
    assert (shown_first.prefers_chosen, shown_first.picked_first) == (True, True)
    assert (shown_second.prefers_chosen, shown_second.picked_first) == (False, True)  # "A" was the rejected one
    prompt = lm.history[1]["messages"][-1]["content"]
    assert prompt.index("REJECTED") < prompt.index("CHOSEN")


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
    lm = DummyLM([{"answer": "A longer one."}, {"critique": "C."}, {"revision": "R."}])
    with dspy.context(lm=lm):
        assert DPFPair()(question="Q?", persona="age: 30").chosen == "R."


def test_responder_modes_see_what_they_should():
    from persona.programs.bench import PersonalizedResponder

    baseline_lm = DummyLM([{"answer": "Generic."}])
    baseline = PersonalizedResponder(baseline_lm, mode="baseline")(question="Rent or buy?", persona="age: 29")
    assert baseline.answer == "Generic." and "age: 29" not in _user_messages(baseline_lm)[0]

    cot_lm = DummyLM([{"reasoning": "Young, early career.", "answer": "Rent."}])
    cot = PersonalizedResponder(cot_lm, mode="cot")(question="Rent or buy?", persona="age: 29")
    assert (cot.reasoning, cot.answer) == ("Young, early career.", "Rent.")

    summary_lm = DummyLM([{"summary": "Early career, mobile."}, {"answer": "Rent for now."}])
    summary = PersonalizedResponder(summary_lm, mode="summary")(question="Rent or buy?", persona="age: 29\nsex: Male")
    assert (summary.summary, summary.answer) == ("Early career, mobile.", "Rent for now.")
    second = _user_messages(summary_lm)[1]
    assert "Early career, mobile." in second and "sex: Male" not in second  # answers from the summary alone

    with pytest.raises(ValueError, match="unknown bench mode 'fancy'"):
        PersonalizedResponder(mode="fancy")


def test_subtlety_judge_reports_named_attributes():
    from persona.programs.bench import SubtletyJudge

    lm = DummyLM([{"named_attributes": "age", "subtle": False}])
    verdict = SubtletyJudge(lm)(question="Q?", persona="age: 70", answer="At 70 you should...")
    assert verdict.subtle is False and verdict.named_attributes == "age"


def test_dropped_attributes_keeps_known_names_and_reports_inventions():
    judge = DummyLM([{"dropped": ["age: 44", "'Religion'", "## sex", "shoe size", "income"]}])
    persona = {"age": "44", "sex": "Male", "religion": "Catholic"}
    result = DroppedAttributes(judge)(persona=persona, summary="A Catholic man.")
    assert result.dropped == ["age", "sex", "religion"]  # in the persona's order, "income" is not one of its
    assert result.unknown == ["income", "shoe size"]
    prompt = _user_messages(judge)[0]
    assert "religion: Catholic" in prompt and "A Catholic man." in prompt


def test_role_play_annotator_sees_the_answers_in_the_order_given():
    lm = DummyLM([{"reasoning": "B is kinder.", "preferred": "B"}])
    verdict = RolePlayAnnotator(lm)(persona="age: 30", question="Q?", answer_a="first", answer_b="second")
    assert (verdict.choice, verdict.reasoning) == ("B", "B is kinder.")
    prompt = _user_messages(lm)[0]
    assert prompt.index("first") < prompt.index("second")
