"""Responders as plug-ins: a user's approach runs in the bench beside the built-in modes, named by import path,
with its identity in the fingerprint; the persona-blind baseline is checked on its own requests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dspy
import pandas as pd
import pytest
from typer.testing import CliRunner

from persona.cli import app
from persona.data.persona import Persona
from persona.experiments.bench import BenchMetrics, BenchSpec, run_bench
from persona.experiments.optimize import OptimizeSpec, run_optimize
from persona.plugins import PluginError
from persona.programs import Ask
from persona.runs import Kind, RunDirError

RESPONDER = {"model": "fake/model", "max_tokens": 64, "api_base": "http://responder.test"}  # told apart by endpoint
JUDGE = {"model": "fake/model", "max_tokens": 64}
SEEN: list[Ask] = []


class LeakyResponder:
    """Claims to be persona-blind, but pastes the profile into its request: what the baseline check must catch."""

    def __call__(self, ask: Ask) -> str:
        return dspy.Predict("question -> answer")(question=f"{ask.question}\n{ask.persona_text}").answer


class EchoResponder:
    """Records what it was given and answers without any model."""

    def __call__(self, ask: Ask) -> dict:
        SEEN.append(ask)
        return {"answer": f"As for '{ask.question[:20]}': it depends.", "note": "traced"}


class SilentResponder:
    def __call__(self, ask: Ask) -> str:
        return "  "


def _bench(modes: list[str], **overrides) -> BenchSpec:
    values = {"n_personas": 3, "questions": 2, "seed": 3, "modes": modes, "subtlety": False}
    return BenchSpec(**(values | {"models": {"responder": RESPONDER, "judge": JUDGE}} | overrides))


def persona_leaks(calls: list[dict], personas: list[Persona], questions: list[str]) -> list[str]:
    """Attribute values of ``personas`` found in the responder's requests (not where a question itself says them)."""
    leaks = []
    for call in calls:
        if call["api_base"] != RESPONDER["api_base"]:
            continue
        text = json.dumps(call["messages"], ensure_ascii=False)
        asked = " ".join(q for q in questions if q in text)
        for persona in personas:
            lines = [f"{name}: {value}" for name, value in persona.known().items()]
            values = [v for v in persona.known().values() if len(v) >= 5 and v not in asked]
            leaks += [found for found in [*lines, *values] if found in text]
    return leaks


def _asked(run_dir: Path) -> tuple[list[Persona], list[str]]:
    personas = [Persona.model_validate(json.loads(line)) for line in (run_dir / "personas.jsonl").open()]
    records = [json.loads(line) for line in (run_dir / "bench.jsonl").open()]
    return personas, sorted({r["question"] for r in records})


def test_the_baseline_shows_the_responder_no_persona_value_and_the_check_catches_one_that_does(tmp_path, fake_provider):
    blind = run_bench(_bench(["baseline"]), out=tmp_path / "blind")
    responder_calls = [c for c in fake_provider.calls if c["api_base"] == RESPONDER["api_base"]]
    assert len(responder_calls) == 6  # 3 personas x 2 questions, each asked
    assert persona_leaks(fake_provider.calls, *_asked(blind.run_dir)) == []

    fake_provider.calls.clear()
    leaky = run_bench(_bench([f"{__name__}:LeakyResponder"]), out=tmp_path / "leaky")
    assert all(r["error"] is None for r in leaky.records)
    assert len(persona_leaks(fake_provider.calls, *_asked(leaky.run_dir))) >= 6


def test_a_plugin_responder_is_judged_beside_the_built_in_modes_on_the_same_items(tmp_path, fake_provider):
    SEEN.clear()
    path = f"{__name__}:EchoResponder"
    result = run_bench(_bench(["no_cot", path]), out=tmp_path / "run")
    ours = [r for r in result.records if r["mode"] == path]
    theirs = [r for r in result.records if r["mode"] == "no_cot"]
    assert len(ours) == len(theirs) == 6
    assert [(r["persona_id"], r["prompt_id"]) for r in ours] == [(r["persona_id"], r["prompt_id"]) for r in theirs]
    assert all(r["answer"].startswith("As for") and isinstance(r["passed"], bool) for r in ours)
    # It got the persona as a record and as the text the built-in modes show, and the run's model roles.
    assert {ask.persona.id for ask in SEEN} == {r["persona_id"] for r in ours}
    assert all(ask.persona_text == ask.persona.as_prompt() and set(ask.lms) >= {"responder", "judge"} for ask in SEEN)
    assert set(result.manifest.metrics.modes) == {"no_cot", path}
    # What it kept beside its answer is a column of the results (null for the built-in mode), in JSONL and Parquet.
    assert [r["trace"] for r in ours] == [{"note": "traced"}] * 6 and all(r["trace"] is None for r in theirs)
    table = pd.read_parquet(result.run_dir / "bench.parquet")
    assert table["trace"].notna().sum() == 6 and list(table.columns)[-2:] == ["trace", "error"]


class UnserializableTraceResponder:
    def __call__(self, ask: Ask) -> dict:
        return {"answer": "Rent.", "handle": object()}


def test_a_trace_that_is_not_json_fails_its_items_and_built_in_runs_have_no_trace_column(tmp_path, fake_provider):
    result = run_bench(_bench([f"{__name__}:UnserializableTraceResponder"]), out=tmp_path / "odd")
    assert all(r["error"] is not None and r["trace"] is None for r in result.records)
    assert "not JSON data" in result.records[0]["error"]["message"]
    built_in = run_bench(_bench(["no_cot"]), out=tmp_path / "built-in")
    assert all("trace" not in r for r in built_in.records)


def test_a_plugin_that_returns_no_answer_fails_its_items_never_guessed(tmp_path, fake_provider):
    result = run_bench(_bench([f"{__name__}:SilentResponder"]), out=tmp_path / "run")
    assert all(r["error"] is not None and r["passed"] is None for r in result.records)
    assert "no answer text" in result.records[0]["error"]["message"]
    assert result.manifest.metrics.modes[f"{__name__}:SilentResponder"].failed_items == 6


def test_editing_a_plugin_changes_the_fingerprint_so_its_old_run_dir_is_refused(tmp_path, fake_provider, monkeypatch):
    module = tmp_path / "my_approach.py"
    module.write_text("def respond(ask):\n    return 'Rent, for now.'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = _bench(["my_approach:respond"])
    before = spec.fingerprint()
    assert before != _bench(["no_cot"]).fingerprint()
    run_bench(spec, out=tmp_path / "run")

    module.write_text("def respond(ask):\n    return 'Buy, right away.'\n")
    monkeypatch.delitem(sys.modules, "my_approach")
    edited = _bench(["my_approach:respond"])
    assert edited.fingerprint() != before
    with pytest.raises(RunDirError):
        run_bench(edited, out=tmp_path / "run")

    module.write_text("version = '2.0'\ndef respond(ask):\n    return 'Buy.'\n")
    monkeypatch.delitem(sys.modules, "my_approach")
    declared = _bench(["my_approach:respond"]).fingerprint()
    module.write_text("version = '2.0'\ndef respond(ask):\n    return 'Buy, now.'  # same declared version\n")
    monkeypatch.delitem(sys.modules, "my_approach")
    assert _bench(["my_approach:respond"]).fingerprint() == declared


@pytest.mark.parametrize(
    ("modes", "says"),
    [
        ("no_cot,nosuch_pkg.mod:Thing", "nosuch_pkg.mod:Thing: cannot import nosuch_pkg.mod"),
        ("no_cot,nosuch_pkg:X", "nosuch_pkg:X: cannot import nosuch_pkg"),  # ':X:' is no emoji code here
        (f"{__name__}:Missing", f"{__name__}:Missing: {__name__} has no attribute 'Missing'"),
    ],
)
def test_a_plugin_path_that_does_not_import_is_named_with_exit_2(modes, says, tmp_path):
    result = CliRunner().invoke(app, ["bench", "run", "--modes", modes, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and says in result.stderr, result.output
    assert not (tmp_path / "run").exists()


def test_a_spec_kind_that_is_no_kind_is_named(tmp_path):
    spec = tmp_path / "odd.toml"
    spec.write_text(f'kind = "{__name__}:EchoResponder"\n')
    result = CliRunner().invoke(app, ["run", str(spec)])
    assert result.exit_code == 2 and "type is not a persona Kind" in result.stderr, result.output


HALF = Kind("half", BenchSpec)
HALF.measures(BenchMetrics)  # and nothing registered to run


def test_a_plugin_kind_missing_its_run_is_refused_by_name(tmp_path):
    spec = tmp_path / "half.toml"
    spec.write_text(f'kind = "{__name__}:HALF"\n')
    result = CliRunner().invoke(app, ["run", str(spec)])
    assert result.exit_code == 2 and "kind 'half' has nothing to run" in result.stderr, result.output


class PrefixedResponder:
    """A responder with a setting of its own, handed over as an object from Python."""

    def __init__(self, prefix: str = "Default:") -> None:
        self.prefix = prefix

    def __call__(self, ask: Ask) -> str:
        return f"{self.prefix} it depends on your budget."


def test_a_responder_object_from_python_runs_as_it_is_beside_the_spec_modes(tmp_path, fake_provider):
    ours = PrefixedResponder("Given:")
    ours.version = "given-1"
    result = run_bench(_bench(["no_cot"]), out=tmp_path / "run", responder=ours)
    path = f"{__name__}:PrefixedResponder"
    assert set(result.manifest.metrics.modes) == {"no_cot", path}
    answers = [r["answer"] for r in result.records if r["mode"] == path]
    assert len(answers) == 6 and all(a.startswith("Given:") for a in answers)  # this object, not a new one
    assert result.manifest.spec["modes"] == ["no_cot", path]

    again = run_bench(_bench(["no_cot"]), out=tmp_path / "run", responder=ours)
    assert again.manifest.model_calls == 0  # the same object and version: the run replays
    other = PrefixedResponder("Other:")
    other.version = "other-1"  # its identity is its version: another one starts another run
    with pytest.raises(RunDirError):
        run_bench(_bench(["no_cot"]), out=tmp_path / "run", responder=other)
    with pytest.raises(PluginError, match="runs in this process only"):
        run_bench(_bench(["no_cot"], run={"workers": 2}), out=tmp_path / "sharded", responder=ours)

    def local(ask: Ask) -> str:
        return "nested"

    with pytest.raises(PluginError, match="define it at the top level of a module"):
        run_bench(_bench(["no_cot"]), out=tmp_path / "local", responder=local)


def test_optimize_compiles_a_plugin_dspy_module_and_bench_runs_the_compiled_copy(tmp_path, fake_provider):
    path = "examples.retrieval:RetrievalResponder"
    values = {"n_personas": 6, "train": 3, "val": 1, "eval_items": 2, "seed": 2, "responder": path}
    spec = OptimizeSpec(**values, models={"responder": JUDGE, "judge": JUDGE})
    assert spec.mode == path and spec.fingerprint() != OptimizeSpec(**(values | {"responder": "cot"})).fingerprint()
    result = run_optimize(spec, out=tmp_path / "opt")
    programs = {r["program"] for r in result.records}
    assert programs == {"baseline", "optimized"} and all(r["error"] is None for r in result.records)
    state = json.loads((tmp_path / "opt" / "program.json").read_text())
    assert "responder.answer" in state  # the plug-in's own predictor, tuned and saved
    program = str(tmp_path / "opt" / "program.json")
    bench = _bench(["no_cot"], n_personas=2, questions=1, program=program, models={"responder": JUDGE, "judge": JUDGE})
    assert bench.program_mode == path
    compiled = run_bench(bench, out=tmp_path / "bench")
    assert [r["mode"] for r in compiled.records] == ["no_cot", "program"] * 2
    assert all(r["error"] is None for r in compiled.records)


def test_optimize_refuses_a_plugin_with_nothing_to_compile():
    with pytest.raises(ValueError, match="no DSPy predictors to tune"):
        OptimizeSpec(responder=f"{__name__}:EchoResponder", models={"responder": JUDGE, "judge": JUDGE})
