"""Metric adapters for DSPy optimizers: the judge metric's control flow (DummyLM) and the LM-free proxy."""

from __future__ import annotations

import json

import dspy
import pytest
from dspy.utils import DummyLM
from typer.testing import CliRunner

from persona.cli import app
from persona.data.population import load_personas
from persona.experiments.bench import BenchSpec, run_bench
from persona.experiments.inputs import load_split_prompts, split_personas
from persona.experiments.optimize import OptimizeSpec, example, paired_test, plan, run_optimize
from persona.lm import ModelConfig, make_lm
from persona.lm.adapter import DescribedJSONAdapter
from persona.metrics.proxy import proxy_score, quoted_attributes
from persona.programs.bench import load_program
from persona.programs.optimize import JudgeMetric, proxy_metric
from persona.runs.cache import run_cache

ATTRIBUTES = {"age": "44", "sex": "Male", "occupation category": "Registered nurses", "religion": "Catholic"}


def _example() -> dspy.Example:
    return dspy.Example(
        question="Should I take a second job?", persona="age: 44\nsex: Male", attributes=ATTRIBUTES
    ).with_inputs("question", "persona")


def test_judge_metric_scores_the_verdict_and_counts_unparseable_ones():
    judge = DummyLM(
        [
            {"critique": "fits", "needs_revision": False},
            {"critique": "generic", "needs_revision": True},
            *[{"critique": "???"} for _ in range(3)],  # no verdict field: every re-ask fails to parse
        ]
    )
    metric = JudgeMetric(judge)
    answer = dspy.Prediction(answer="Consider your hours first.")
    assert metric(_example(), answer) == 1.0
    assert metric(_example(), answer) == 0.0
    assert metric(_example(), answer) == 0.0 and metric.failures == 1 and metric.calls == 3
    prompt = judge.history[0]["messages"][-1]["content"]
    assert "Consider your hours first." in prompt and "age: 44" in prompt


@pytest.mark.parametrize(
    ("answer", "quoted"),
    [
        ("As a 44-year-old nurse you should rest.", ["age"]),
        ("Registered nurses often have overtime; weigh that.", ["occupation category"]),
        ("As a Catholic, pray on it.", ["religion"]),
        ("A male friend once told me to sleep on it.", []),  # short values are too common to count as quotes
        ("Think about your schedule and what rest you need.", []),
    ],
)
def test_quoted_attributes(answer, quoted):
    assert quoted_attributes(ATTRIBUTES, answer) == quoted


def test_proxy_checks_and_scores():
    good = "Look at how many hours you can add without losing sleep, and what the extra money is for."
    assert all(proxy_score(ATTRIBUTES, "Should I take a second job?", good))
    looping = "yes " * 30
    assert not proxy_score(ATTRIBUTES, "Q?", looping).not_looping
    echo = proxy_score(ATTRIBUTES, "Should I take a second job?", "Should I take a second job?")
    assert not echo.not_echo and not echo.substantive
    assert proxy_metric(_example(), dspy.Prediction(answer=good)) == 1.0
    quoting = dspy.Prediction(answer="As a 44-year-old, look at how many hours you can add without losing sleep.")
    assert proxy_metric(_example(), quoting) == pytest.approx(0.75)
    assert proxy_metric(_example(), quoting, trace=[]) == 0.0  # demos must pass every check


def test_persona_split_is_seeded_by_id_and_disjoint():
    personas = load_personas("draw:acs12", 20, 1, 18)
    split = split_personas(personas, 0.25, seed=3)
    train, heldout = ({p.id for p in split[side]} for side in ("train", "heldout"))
    assert len(heldout) == 5 and not train & heldout and len(train | heldout) == 20
    again = split_personas(list(reversed(personas)), 0.25, seed=3)
    assert {p.id for p in again["heldout"]} == heldout  # order of the input does not move anyone
    assert {p.id for p in split_personas(personas, 0.25, seed=4)["heldout"]} != heldout
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_personas(personas, 1.0, seed=3)


FAKE = {"model": "fake/model", "max_tokens": 64}


def _optimize_spec(**overrides) -> OptimizeSpec:
    values = {"n_personas": 10, "train": 4, "val": 2, "eval_items": 5, "seed": 1}
    return OptimizeSpec(**(values | {"models": {"responder": FAKE, "judge": FAKE}} | overrides))


def test_no_heldout_persona_or_prompt_reaches_the_optimizer(tmp_path, fake_provider):
    spec = _optimize_spec()
    planned = plan(spec, load_personas("draw:acs12", 10, 1, 18))
    people = split_personas(load_personas("draw:acs12", 10, 1, 18), 0.3, seed=1)
    heldout_people = {p.id for p in people["heldout"]}
    heldout_prompts = {p.id for p in load_split_prompts("embedded", 1)["heldout"]}
    seen = [example(c) for c in planned.train + planned.val]
    assert not {e.persona_id for e in seen} & heldout_people
    assert not {e.prompt_id for e in seen} & heldout_prompts
    assert not {c.key for c in planned.train} & {c.key for c in planned.val}
    for name, cases in planned.evaluation.items():
        assert {c.persona.id for c in cases} <= heldout_people
        assert ({c.prompt.id for c in cases} <= heldout_prompts) == (name == "heldout_prompts")
    # The run records the ids it used, and they agree with the plan.
    result = run_optimize(spec, out=tmp_path / "run")
    splits = json.loads((result.run_dir / "splits.json").read_text())
    assert {k.split("|")[0] for k in splits["train"] + splits["val"]}.isdisjoint(heldout_people)
    assert result.manifest.metrics.compile.metric_calls >= 1


def test_saved_program_loads_and_replays_identical_predictions(tmp_path, fake_provider):
    result = run_optimize(_optimize_spec(), out=tmp_path / "run")
    program_path = result.run_dir / "program.json"
    assert program_path.exists() and "dependency_versions" in program_path.read_text()
    lm = make_lm(ModelConfig(**FAKE), "responder")
    first = load_program(program_path, "cot", lm)
    second = load_program(program_path, "cot", lm)
    assert [len(p.demos) for p in first.predictors()] == [len(p.demos) for p in second.predictors()]
    with run_cache(tmp_path / "cache"), dspy.context(adapter=DescribedJSONAdapter()):
        a = first(question="Should I rent?", persona="age: 30").answer
        calls = len(fake_provider.calls)
        b = second(question="Should I rent?", persona="age: 30").answer
    assert a == b and len(fake_provider.calls) == calls  # the second program's request replays from the cache
    # Re-running the spec reuses the saved program and the logs: zero model calls, identical metrics.
    again = run_optimize(_optimize_spec(), out=tmp_path / "run")
    assert again.manifest.model_calls == 0 and again.manifest.metrics == result.manifest.metrics


def test_report_compares_programs_with_a_paired_test(tmp_path, fake_provider):
    result = run_optimize(_optimize_spec(), out=tmp_path / "run")
    for split in ("heldout_prompts", "seen_prompts"):
        row = result.manifest.metrics.sets[split]
        mine = [r for r in result.records if r["split"] == split]
        for program in ("baseline", "optimized"):
            passed = [r["passed"] for r in mine if r["program"] == program]
            assert getattr(row, program).value == pytest.approx(sum(passed) / len(passed))
        assert row.paired.pairs == 5
    assert "McNemar" in (result.run_dir / "report.md").read_text()


def test_paired_test_counts_discordant_pairs_only():
    result = paired_test([True, True, False, False, False], [True, False, True, True, True])
    assert (result.optimized_only, result.baseline_only) == (3, 1)
    assert result.p_value == pytest.approx(0.625)  # two-sided exact binomial, 3 of 4
    assert paired_test([True], [True]).p_value == 1.0


def test_optimize_refuses_the_baseline_mode():
    with pytest.raises(ValueError, match="persona-aware mode"):
        _optimize_spec(mode="baseline")


def test_bench_runs_a_compiled_program_as_its_own_mode(tmp_path, fake_provider):
    optimized = run_optimize(_optimize_spec(), out=tmp_path / "opt")
    program = str(optimized.run_dir / "program.json")
    spec = BenchSpec(
        n_personas=2,
        questions=1,
        modes=["cot"],
        program=program,
        subtlety=False,
        models={"responder": FAKE, "judge": FAKE},
    )
    assert spec.modes == ["cot", "program"] and spec.program_mode == "cot"
    result = run_bench(spec, out=tmp_path / "bench")
    assert [r["mode"] for r in result.records] == ["cot", "program"] * 2
    assert "program" in result.manifest.metrics.modes
    with pytest.raises(ValueError, match="not a compiled program"):
        BenchSpec(program=str(tmp_path / "nope.json"), models={"responder": FAKE, "judge": FAKE})
    with pytest.raises(ValueError, match="needs --program"):
        BenchSpec(modes=["program"], models={"responder": FAKE, "judge": FAKE})


def test_cli_optimize_then_bench_the_program(tmp_path, fake_provider):
    runner = CliRunner()
    sizes = ["--n", "10", "--train", "3", "--val", "0", "--eval-items", "3"]
    models = ["--model", "fake/model", "--judge", "fake/model"]
    result = runner.invoke(app, ["optimize", *models, "--metric", "proxy", *sizes, "--out", str(tmp_path / "opt")])
    assert result.exit_code == 0, result.output
    assert "McNemar" in (tmp_path / "opt" / "report.md").read_text()
    bench = ["bench", "run", "--model", "fake/model", "--judge", "fake/model", "--n", "1", "--questions", "1"]
    bench += ["--modes", "no_cot"]
    result = runner.invoke(
        app, [*bench, "--program", str(tmp_path / "opt" / "program.json"), "--out", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    assert "program" in result.output
    bad = runner.invoke(app, ["optimize", "--model", "fake/model", "--mode", "baseline", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "persona-aware mode" in bad.output


@pytest.mark.parametrize("optimizer", ["mipro", "gepa"])
def test_mipro_and_gepa_compile_with_a_prompt_or_reflection_model(tmp_path, fake_provider, optimizer):
    spec = _optimize_spec(
        optimizer=optimizer, max_metric_calls=20, models={"responder": FAKE, "judge": FAKE, "reflection": FAKE}
    )
    result = run_optimize(spec, out=tmp_path / "run")
    assert "reflection" in result.manifest.models
    assert 1 <= result.manifest.metrics.compile.metric_calls
    state = json.loads((result.run_dir / "program.json").read_text())
    # The saved state holds no LM settings: the model is chosen when the program is loaded.
    predictors = [value for value in state.values() if isinstance(value, dict) and "demos" in value]
    assert predictors and all(value["lm"] is None for value in predictors)
