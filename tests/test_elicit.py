"""Preference elicitation (`elicit`): asking a simulated person instead of reading their profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from persona.cli import app
from persona.experiments.bench import BenchSpec, run_bench
from persona.experiments.elicit import ElicitSpec, run_elicit
from persona.metrics.mentions import leaked

runner = CliRunner()
FAKE = {"model": "fake/model", "max_tokens": 64}
COMMON = {"personas": "draw:acs12", "n_personas": 2, "questions": 1, "resamples": 100, "seed": 3}


def _spec(**extra) -> ElicitSpec:
    models = {"responder": FAKE, "judge": FAKE, "user": FAKE}
    return ElicitSpec.model_validate(COMMON | {"turns": [0, 1, 2], "models": models} | extra)


def test_budget_0_is_the_blind_baseline_and_the_profile_is_the_ceiling(tmp_path, fake_provider):
    result = run_elicit(_spec(), out=tmp_path / "elicit")
    records = result.records
    assert {r["budget"] for r in records} == {"0", "1", "2", "profile"}
    assert all(
        r["error"] is None and r["asked"] <= (int(r["budget"]) if r["budget"] != "profile" else 0) for r in records
    )
    bench = run_bench(
        BenchSpec.model_validate(
            COMMON | {"modes": ["baseline", "cot"], "subtlety": False} | {"models": {"responder": FAKE, "judge": FAKE}}
        ),
        out=tmp_path / "bench",
    )
    baseline = {(r["persona_id"], r["prompt_id"]): r["answer"] for r in bench.records if r["mode"] == "baseline"}
    cot = {(r["persona_id"], r["prompt_id"]): r["answer"] for r in bench.records if r["mode"] == "cot"}
    zero = {(r["persona_id"], r["prompt_id"]): r["answer"] for r in records if r["budget"] == "0"}
    ceiling = {(r["persona_id"], r["prompt_id"]): r["answer"] for r in records if r["budget"] == "profile"}
    assert zero == baseline and ceiling == cot  # the very same requests as the bench's baseline and cot modes
    metrics = result.manifest.metrics
    assert set(metrics.budgets) == {"0", "1", "2", "profile"} and metrics.recovered.keys() == metrics.budgets.keys()
    assert (tmp_path / "elicit" / "elicit.png").is_file()
    calls = len(fake_provider.calls)
    again = run_elicit(_spec(), out=tmp_path / "elicit")
    assert again.manifest.model_calls == 0 and len(fake_provider.calls) == calls


def test_the_asker_never_sees_the_profile(tmp_path, fake_provider):
    result = run_elicit(_spec(turns=[2], ceiling=False), out=tmp_path / "run")
    persona = json.loads((tmp_path / "run" / "personas.jsonl").read_text().splitlines()[0])
    race = persona["attributes"]["race"]
    # The asker's own steps: deciding (its inputs hold questions_left) and answering from the conversation.
    system = [(c, c["messages"][0]["content"]) for c in fake_provider.calls]
    asker_calls = [
        c for c, text in system if "questions_left" in text or ("conversation" in text and "request" not in text)
    ]
    assert asker_calls and all(f"race: {race}" not in json.dumps(c["messages"]) for c in asker_calls)
    assert all(r["error"] is None for r in result.records)


def test_a_leaking_reply_is_counted_per_turn(tmp_path, fake_provider, monkeypatch):
    import persona.programs.elicitation as elicitation

    class Blabber:
        """A simulated person who answers and then recites their race and sex, unasked."""

        def __init__(self, lm):
            pass

        def __call__(self, persona, request, asked, config=None):
            facts = dict(line.split(": ", 1) for line in persona.splitlines())
            return type("Reply", (), {"reply": f"Well, I am {facts['race']} and {facts['sex']}."})()

    class AskOnce:
        def __call__(self, ask):
            reply = ask.context["ask_user"]("What matters most to you here?") if ask.context["turns"] else ""
            return {"answer": f"Noted: {reply}"}

    monkeypatch.setattr(elicitation, "SimulatedUser", Blabber)
    monkeypatch.setattr(elicitation, "Asker", AskOnce)
    result = run_elicit(_spec(turns=[0, 1], ceiling=False), out=tmp_path / "run")
    one = [r for r in result.records if r["budget"] == "1"]
    # race and sex, recited unasked, leak every time (a value's synonyms may catch more: "African American" reads
    # as American, so as citizenship); the age, never said, does not.
    assert all({"race", "sex"} <= set(r["turns"][0]["leaks"]) and "age" not in r["turns"][0]["leaks"] for r in one)
    score = result.manifest.metrics.budgets["1"]
    total = sum(len(r["turns"][0]["leaks"]) for r in one)
    assert (score.leaks, score.leaks_per_turn, score.asked) == (total, total / 2, 1.0) and total >= 4
    assert result.manifest.metrics.budgets["0"].leaks == 0


def test_leaks_are_what_the_question_did_not_ask_for():
    attributes = {"age": "44", "religion": "Catholic", "sex": "Male", "income": "75000"}
    assert leaked(attributes, "How old are you?", "I'm 44 and a devout Catholic.") == ["religion"]
    assert leaked(attributes, "What is your faith?", "Catholic; I go to church.") == []
    assert leaked(attributes, "Any budget in mind?", "About 75,000 a year, as a man of 44.") == ["age", "sex"]


def test_a_plugin_asker_runs_through_the_kind_and_one_that_overruns_its_budget_fails_the_item(
    tmp_path, fake_provider, monkeypatch
):
    result = run_elicit(_spec(turns=[0, 1], ceiling=False, asker="examples.asker:OneQuestion"), out=tmp_path / "a")
    assert {(r["budget"], r["asked"]) for r in result.records} == {("0", 0), ("1", 1)}
    (tmp_path / "greedy.py").write_text(
        "class Greedy:\n"
        "    def __call__(self, ask):\n"
        "        for _ in range(ask.context['turns'] + 1):\n"
        "            ask.context['ask_user']('And?')\n"
        "        return 'done'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    greedy = run_elicit(_spec(turns=[1], ceiling=False, asker="greedy:Greedy"), out=tmp_path / "g")
    errors = [r["error"] for r in greedy.records]
    assert all(e["type"] == "ElicitError" and "more than its 1 questions" in e["message"] for e in errors)


def test_bad_budgets_and_askers_are_named(tmp_path):
    with pytest.raises(ValueError, match="each budget must be between 0 and 16"):
        _spec(turns=[17])
    bad = runner.invoke(app, ["bench", "elicit", "--asker", "telepathy", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown asker 'telepathy'" in bad.output
    assert not Path(tmp_path / "x").exists()


def test_bench_report_compares_elicitation_runs_on_one_chart(tmp_path, fake_provider):
    run_elicit(_spec(turns=[0, 1]), out=tmp_path / "built-in")
    run_elicit(_spec(turns=[0, 1], asker="examples.asker:OneQuestion"), out=tmp_path / "mine")
    args = ["bench", "report", str(tmp_path / "built-in"), str(tmp_path / "mine"), "--out", str(tmp_path / "cmp")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "(ask)" in report and "(examples.asker:OneQuestion)" in report and "| run | 0 asked | 1 asked |" in report
    assert (tmp_path / "cmp" / "elicit.png").is_file()


def test_accuracy_per_census_group_and_budget(tmp_path, fake_provider):
    result = run_elicit(_spec(turns=[0, 1], groups=["sex", "age band"], min_group_size=2), out=tmp_path / "run")
    groups = result.manifest.metrics.groups
    assert {g.budget for g in groups} == {"0", "1", "profile"} and {g.attribute for g in groups} == {"sex", "age band"}
    for g in groups:  # each group's accuracy is its members' share passed at that budget
        members = [r for r in result.records if r["budget"] == g.budget and r["passed"] is not None]
        personas = {p["id"]: p for p in map(json.loads, (tmp_path / "run" / "personas.jsonl").read_text().splitlines())}
        if g.attribute == "sex":
            mine = [r["passed"] for r in members if personas[r["persona_id"]]["attributes"]["sex"] == g.group]
            assert g.accuracy == sum(mine) / len(mine)
    assert "## Per census group" in (tmp_path / "run" / "report.md").read_text()


def test_tokens_per_role_are_recorded_and_the_same_when_answers_come_from_the_cache(tmp_path, fake_provider):
    out = tmp_path / "run"
    first = run_elicit(_spec(turns=[0, 2]), out=out)
    spent = {(r["persona_id"], r["budget"]): r["tokens"] for r in first.records}
    assert all(set(tokens) >= {"responder", "judge"} for tokens in spent.values())
    assert all(("user" in tokens) == (r["asked"] > 0) for r, tokens in zip(first.records, spent.values(), strict=True))
    assert len({t["responder"]["prompt"] for t in spent.values()}) > 1  # counted per request, not a constant
    # Forget which items finished: every conversation runs again, its answers all read from the run's cache.
    (out / "log" / "elicit.jsonl").unlink()
    calls = len(fake_provider.calls)
    again = run_elicit(_spec(turns=[0, 2]), out=out)
    assert len(fake_provider.calls) == calls and again.manifest.model_calls == 0
    assert {(r["persona_id"], r["budget"]): r["tokens"] for r in again.records} == spent
    report = (out / "report.md").read_text()
    assert "tokens per item" in report and "user " in report


def test_each_turn_is_its_own_request_so_a_question_asked_again_is_answered_again(tmp_path, fake_provider, monkeypatch):
    import persona.programs.elicitation as elicitation

    class AskTwice:
        def __call__(self, ask):
            replies = [ask.context["ask_user"]("Do you rent?") for _ in range(ask.context["turns"])]
            return {"answer": " / ".join(replies)}

    monkeypatch.setattr(elicitation, "Asker", AskTwice)
    result = run_elicit(_spec(turns=[2], ceiling=False, n_personas=1), out=tmp_path / "run")
    assert [r["asked"] for r in result.records] == [2]
    replies = [c for c in fake_provider.calls if "Do you rent?" in json.dumps(c["messages"])]
    assert len(replies) == 2  # turn 2 reached the backend: it is not turn 1's cache entry
    assert result.manifest.model_calls == 3  # two replies and the judge
