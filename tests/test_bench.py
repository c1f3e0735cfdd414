"""PERSONA Bench runs on the scripted provider: records, judge failures, replay, pass@k, LOO, reports, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fakes import GARBLE_MARKER, OVERRUN_MARKER
from persona.cli import app
from persona.data.persona import Persona
from persona.data.population import load_personas
from persona.experiments.bench import BenchSpec, run_bench
from persona.experiments.loo import LooSpec, run_loo
from persona.experiments.passk import PassKSpec, run_passk
from persona.metrics import pass_at_k_curve
from persona.reports.runs import report_runs, run_slices

FAKE = {"model": "fake/model", "max_tokens": 64}


def _bench(**overrides) -> BenchSpec:
    values = {"n_personas": 3, "questions": 2, "seed": 3, "models": {"responder": FAKE, "judge": FAKE}}
    return BenchSpec(**(values | overrides))


def _prompts(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "prompts.jsonl"
    rows = [{"id": f"q{i}", "topic": "t", "text": text, "split": "heldout"} for i, text in enumerate(texts)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def bench(tmp_path, fake_provider):
    return run_bench(_bench(slices=['sex == "Female"', "age >= 40"]), out=tmp_path / "bench")


def test_every_persona_question_mode_is_answered_and_judged(bench, fake_provider):
    records = bench.records
    assert len(records) == 3 * 2 * 4
    assert {r["mode"] for r in records} == {"baseline", "no_cot", "cot", "summary"}
    assert all(r["error"] is None and isinstance(r["passed"], bool) and r["critique"] for r in records)
    # Only summary mode has a summary and a dropped-attribute analysis.
    assert all((r["summary"] is not None) == (r["mode"] == "summary") for r in records)
    assert all((r["dropped_match"] is not None) == (r["mode"] == "summary") for r in records)
    # The diff judge's names are kept only where they are attributes; inventions are reported apart.
    judged = [r for r in records if r["mode"] == "summary"]
    assert all(set(r["dropped_llm"]) <= {"age"} and set(r["dropped_unknown"]) <= {"invented"} for r in judged)


def test_metrics_match_the_records(bench):
    m = bench.manifest.metrics
    for mode, row in m.modes.items():
        passed = [r["passed"] for r in bench.records if r["mode"] == mode]
        assert row.accuracy.value == pytest.approx(np.mean(passed))
        assert row.accuracy.low <= row.accuracy.value <= row.accuracy.high
        assert row.accuracy.n == 6 and row.judge_failures == 0
    summaries = [r for r in bench.records if r["mode"] == "summary"]
    age = next(row for row in m.dropped if row.attribute == "age")
    assert age.dropped_llm_share == pytest.approx(np.mean(["age" in r["dropped_llm"] for r in summaries]))
    assert age.dropped_match_share == pytest.approx(np.mean(["age" in r["dropped_match"] for r in summaries]))
    # Slices: sizes come from the personas file, per mode.
    personas = [json.loads(line) for line in (bench.run_dir / "personas.jsonl").read_text().splitlines()]
    women = {p["id"] for p in personas if p["attributes"]["sex"] == "Female"}
    row = next(r for r in m.slices if r.slice == 'sex == "Female"' and r.mode == "cot")
    assert row.personas == len(women) and row.answers == 2 * len(women)


def test_results_are_written_as_jsonl_parquet_report_and_plots(bench):
    run_dir = bench.run_dir
    table = pd.read_parquet(run_dir / "bench.parquet")
    assert len(table) == len(bench.records) and list(table["mode"]) == [r["mode"] for r in bench.records]
    report = (run_dir / "report.md").read_text()
    assert "| summary |" in report and "Intersections" in report and "attributes the summaries dropped" in report
    for name in ("accuracy.png", "dropped.png", "manifest.json"):
        assert (run_dir / name).stat().st_size > 0


def test_second_run_replays_with_zero_calls_and_identical_metrics(tmp_path, fake_provider):
    first = run_bench(_bench(), out=tmp_path / "run")
    snapshot = (tmp_path / "run" / "bench.jsonl").read_bytes()
    calls = len(fake_provider.calls)
    second = run_bench(_bench(), out=tmp_path / "run")
    assert len(fake_provider.calls) == calls and second.manifest.model_calls == 0
    assert second.manifest.metrics == first.manifest.metrics
    assert (tmp_path / "run" / "bench.jsonl").read_bytes() == snapshot
    # The same spec into a fresh dir replays nothing (new cache) but yields the same records.
    third = run_bench(_bench(), out=tmp_path / "again")
    assert third.manifest.model_calls > 0 and third.records == first.records


def test_unparseable_judge_output_is_a_counted_judge_failure_never_a_pass_or_fail(tmp_path, fake_provider):
    prompts = _prompts(tmp_path, [f"Is this fine? {GARBLE_MARKER}", "Should I move to a new city next year?"])
    spec = _bench(prompts=str(prompts), n_personas=2, questions=2, modes=["no_cot"], subtlety=False)
    result = run_bench(spec, out=tmp_path / "run")
    garbled = [r for r in result.records if GARBLE_MARKER in r["question"]]
    assert len(garbled) == 2
    assert all(r["passed"] is None and r["judge_error"]["attempts"] == 3 and r["error"] is None for r in garbled)
    row = result.manifest.metrics.modes["no_cot"]
    assert row.judge_failures == 2 and row.accuracy.n == 2 and row.failed_items == 0
    assert "| 0 | 2 revision" in (result.run_dir / "report.md").read_text()
    # Re-asks reached the backend under their own rollout ids: 3 judge requests per garbled answer.
    judge_requests = [c for c in fake_provider.calls if GARBLE_MARKER in json.dumps(c["messages"])]
    assert len(judge_requests) == 2 * (1 + 3)


def test_passk_samples_are_distinct_draws_each_judged(tmp_path, fake_provider):
    spec = PassKSpec(n_personas=2, questions=1, samples=4, k_max=3, models={"responder": FAKE, "judge": FAKE})
    result = run_passk(spec, out=tmp_path / "passk")
    assert len(result.records) == 2 * 4
    for key in {(r["persona_id"], r["prompt_id"]) for r in result.records}:
        samples = [r for r in result.records if (r["persona_id"], r["prompt_id"]) == key]
        assert [r["sample"] for r in samples] == [0, 1, 2, 3]
        assert len({r["answer"] for r in samples}) == 4  # seeds differ, so the answers do
    seeds = {c["params"].get("seed") for c in fake_provider.calls if c["params"].get("temperature") == 0.7}
    assert seeds == {0, 1, 2, 3}
    items = {}
    for r in result.records:
        items.setdefault((r["persona_id"], r["prompt_id"]), []).append(r["passed"])
    expected = pass_at_k_curve(items.values(), range(1, 4))
    assert result.manifest.metrics.curve == pytest.approx(expected)
    assert (result.run_dir / "passk.png").exists() and "| 3 |" in (result.run_dir / "report.md").read_text()


def test_passk_needs_enough_samples():
    with pytest.raises(ValueError, match="k_max=8"):
        PassKSpec(samples=4, k_max=8, models={"responder": FAKE, "judge": FAKE})


def _loo(**overrides) -> LooSpec:
    values = {"n_personas": 30, "attributes": ["sex", "religion"], "pairs": 3, "questions": 3, "seed": 2}
    return LooSpec(**(values | {"models": {"responder": FAKE, "annotator": FAKE}} | overrides))


def test_loo_pairs_differ_by_exactly_the_left_out_attribute(tmp_path, fake_provider):
    result = run_loo(_loo(), out=tmp_path / "loo")
    records = result.records
    assert len(records) == 2 * 3 * 3 * 2
    for (attribute, _pair, _item), group in pd.DataFrame(records).groupby(["attribute", "pair", "item"]):
        variants = group.set_index("variant")
        without = variants.loc["without", "persona"].splitlines()
        with_ = variants.loc["with", "persona"].splitlines()
        assert len(without) == 3 and len(with_) == 4
        assert next(line for line in with_ if line not in without).startswith(f"{attribute}: ")
        assert not any(line.startswith(f"{attribute}: ") for line in without)
        # Both variants saw the answers in the same order, so position bias cannot look like influence.
        assert variants.loc["without", "shown_first"] == variants.loc["with", "shown_first"]
    kappas = pd.DataFrame([row.model_dump() for row in result.manifest.metrics.kappas])
    assert sorted(kappas["attribute"].unique()) == ["religion", "sex"] and len(kappas) == 6
    questions = [json.loads(line) for line in (result.run_dir / "questions.jsonl").read_text().splitlines()]
    assert len(questions) == 2 * 3 * 3 and all(q["answer_a"] != q["answer_b"] for q in questions)  # per pair
    assert (result.run_dir / "loo.png").exists()


def test_loo_refines_the_baseline_for_the_pairs_persona_and_both_variants_choose_between_the_two(
    tmp_path, fake_provider
):
    result = run_loo(_loo(attributes=["sex"], pairs=2, questions=2), out=tmp_path / "loo")
    shown = {q["id"]: q for q in map(json.loads, (result.run_dir / "questions.jsonl").read_text().splitlines())}
    assert len({q["answer_a"] for q in shown.values()}) == 2  # one persona-blind baseline per question, shared

    def sent(kind: str) -> list[str]:  # the request texts of one step, as the backend received them
        calls = [c for c in fake_provider.calls if f'"{kind}"' in json.dumps(c["params"].get("response_format"))]
        return [json.dumps(c["messages"]) for c in calls]

    def escaped(text: str) -> str:
        return json.dumps(text)[1:-1]

    critiques, choices = sent("critique"), sent("preferred")
    records = pd.DataFrame(result.records)
    for _, group in records.groupby(["pair", "item"]):
        variants = group.set_index("variant")
        question = shown[variants.loc["with", "item"]]
        # The refinement saw the baseline and the pair's persona with the attribute.
        persona, baseline = escaped(variants.loc["with", "persona"]), escaped(question["answer_a"])
        assert any(persona in text and baseline in text for text in critiques)
        for record in group.to_dict("records"):
            order = ("answer_a", "answer_b") if record["shown_first"] == "answer_a" else ("answer_b", "answer_a")
            first, second = (escaped(question[key]) for key in order)
            asked = [t for t in choices if escaped(record["persona"]) in t and first in t and second in t]
            assert asked and all(t.index(first) < t.index(second) for t in asked)  # both, in the stored order
    assert set(records["choice"]) <= {"answer_a", "answer_b"} and result.manifest.spec["method"] == "refine"


def test_loo_takes_a_file_of_preference_questions_and_needs_no_responder(tmp_path, fake_provider):
    path = tmp_path / "items.jsonl"
    rows = [{"id": f"i{i}", "question": f"Q{i}?", "answer_a": f"yes {i}", "answer_b": f"no {i}"} for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_loo(_loo(answers=str(path), questions=4, method="blind"), out=tmp_path / "loo")
    assert set(result.manifest.models) == {"annotator", "population"}  # census personas: checked and filled
    assert {r["item"] for r in result.records} == {"i0", "i1", "i2", "i3"}


def test_loo_rejects_an_attribute_no_persona_has(tmp_path, fake_provider):
    with pytest.raises(ValueError, match="'veteran status'"):
        run_loo(_loo(attributes=["veteran status"]), out=tmp_path / "loo")


def test_report_rerenders_one_run_and_compares_several(tmp_path, fake_provider, bench):
    original = (bench.run_dir / "report.md").read_text()
    (bench.run_dir / "report.md").unlink()
    report_runs([bench.run_dir])
    assert (bench.run_dir / "report.md").read_text() == original
    other = run_bench(_bench(modes=["no_cot", "cot"], seed=4), out=tmp_path / "other")
    passk = run_passk(
        PassKSpec(n_personas=1, samples=2, k_max=2, models={"responder": FAKE, "judge": FAKE}), out=tmp_path / "pk"
    )
    paths = report_runs([bench.run_dir, other.run_dir, passk.run_dir], tmp_path / "cmp")
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert "fake/model #1" not in text and "| `fake/model` |" in text and "## pass@k" in text
    assert {p.name for p in paths} == {"report.md", "accuracy.png", "passk.png", "dropped.png"}


def test_report_compares_what_summaries_drop_across_models(tmp_path, fake_provider, bench):
    other = run_bench(_bench(modes=["summary"], seed=5), out=tmp_path / "other")
    report_runs([bench.run_dir, other.run_dir], tmp_path / "cmp")
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert "## What summaries drop, per model (Figure 11)" in text and (tmp_path / "cmp" / "dropped.png").exists()
    row = next(line for line in text.splitlines() if line.startswith("| age | "))
    cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
    for cell, run in zip(cells, (bench, other), strict=True):
        age = next(r for r in run.manifest.metrics.dropped if r.attribute == "age")
        assert cell == f"{age.dropped_match_share:.2f} / {age.dropped_llm_share:.2f}"


def test_slices_from_a_finished_run(bench, tmp_path):
    table = run_slices(bench.run_dir, ["age < 0", 'not sex == "Female"'], tmp_path / "slices")
    empty = table[table["slice"] == "age < 0"].iloc[0]
    assert empty["answers"] == 0 and pd.isna(empty["pass_rate"])
    assert (tmp_path / "slices" / "slices.md").exists()


def test_cli_bench_run_passk_and_report(tmp_path, fake_provider):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "bench",
            "run",
            "--model",
            "fake/model",
            "--n",
            "2",
            "--questions",
            "1",
            "--modes",
            "no_cot,cot",
            "--slice",
            "age >= 30",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "b" / "bench.jsonl").read_text().splitlines()]
    assert [r["mode"] for r in records] == ["no_cot", "cot"] * 2
    bad = runner.invoke(app, ["bench", "run", "--model", "fake/model", "--modes", "cot,zen", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "zen" in bad.output
    bad = runner.invoke(app, ["bench", "run", "--model", "fake/model", "--slice", "age <", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "not a predicate" in bad.output
    result = runner.invoke(app, ["bench", "report", str(tmp_path / "b"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0 and (tmp_path / "r" / "accuracy.png").exists()
    missing = runner.invoke(app, ["bench", "report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no manifest.json" in missing.output


def test_agreement_annotate_then_compute_from_the_cli(tmp_path, fake_provider, bench):
    items = tmp_path / "items.jsonl"
    rows = [{"id": f"i{i}", "question": f"Q{i}?", "answer_a": f"yes {i}", "answer_b": f"no {i}"} for i in range(3)]
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    personas = [json.loads(line)["id"] for line in (bench.run_dir / "personas.jsonl").read_text().splitlines()]
    human = tmp_path / "human.csv"
    human.write_text(
        "annotator,persona_id,item_id,choice\n" + "".join(f"alice,{p},i{i},A\n" for p in personas[:2] for i in range(3))
    )
    runner = CliRunner()
    common = ["agreement", "annotate", "--items", str(items), "--personas", str(bench.run_dir), "--model", "fake/model"]
    result = runner.invoke(app, [*common, "--like", str(human), "--name", "fake", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    made = [json.loads(line) for line in (tmp_path / "m" / "annotations.jsonl").read_text().splitlines()]
    assert {(r["persona_id"], r["item_id"]) for r in made} == {(p, f"i{i}") for p in personas[:2] for i in range(3)}
    assert {r["annotator"] for r in made} == {"fake"} and {r["choice"] for r in made} <= {"A", "B"}
    computed = runner.invoke(
        app,
        ["agreement", "compute", str(human), str(tmp_path / "m" / "annotations.jsonl"), "--out", str(tmp_path / "k")],
    )
    assert computed.exit_code == 0, computed.output
    assert "alice vs fake" in (tmp_path / "k" / "agreement.md").read_text()
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("annotator,persona_id,item_id,choice\nbob,p-nobody,i0,A\n")
    refused = runner.invoke(app, [*common, "--like", str(stranger), "--out", str(tmp_path / "s")])
    assert refused.exit_code == 2 and "p-nobody" in refused.output


def test_cli_passk_loo_and_slices(tmp_path, fake_provider, bench):
    runner = CliRunner()
    passk = ["bench", "passk", "--model", "fake/model", "--judge", "fake/model", "--n", "2", "--samples", "3"]
    passk += ["--k-max", "3"]
    result = runner.invoke(app, [*passk, "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "k=3" in result.output and (tmp_path / "p" / "passk.parquet").exists()
    too_far = runner.invoke(app, [*passk[:-1], "5", "--out", str(tmp_path / "p2")])
    assert too_far.exit_code == 2 and "k_max=5" in too_far.output
    loo = ["bench", "loo", "--annotator", "fake/model", "--attributes", "sex,age", "--pairs", "2", "--questions", "2"]
    result = runner.invoke(app, [*loo, "--pool", "20", "--out", str(tmp_path / "l")])
    assert result.exit_code == 0, result.output
    assert "sex" in result.output and (tmp_path / "l" / "loo.parquet").exists()
    unknown = runner.invoke(app, [*loo[:5], "height", "--out", str(tmp_path / "l2")])
    assert unknown.exit_code == 2 and "height" in unknown.output
    sliced = runner.invoke(app, ["bench", "slices", str(bench.run_dir), "--slice", "age >= 18", "--out", str(tmp_path)])
    assert sliced.exit_code == 0, sliced.output
    assert "written:" in sliced.output and "slices.md" in sliced.output
    rows = [json.loads(line) for line in (tmp_path / "slices.jsonl").read_text().splitlines()]
    assert {r["mode"] for r in rows} == {"baseline", "no_cot", "cot", "summary"}
    assert all(r["answers"] == 6 for r in rows)  # every persona is an adult
    on_loo = runner.invoke(app, ["bench", "slices", str(tmp_path / "l"), "--slice", "age >= 18"])
    assert on_loo.exit_code == 2 and "not a LOO run" in on_loo.output


def test_a_diff_judge_overrunning_its_budget_is_a_judge_failure_not_a_lost_item(tmp_path, fake_provider):
    persona = load_personas("draw:acs12", 1, 0, 18)[0]
    marked = Persona.from_attributes({**persona.attributes, "lifestyle": OVERRUN_MARKER})
    (tmp_path / "personas.jsonl").write_text(json.dumps(marked.model_dump()) + "\n")
    spec = _bench(personas=str(tmp_path / "personas.jsonl"), questions=2, modes=["summary"], subtlety=False)
    result = run_bench(spec, out=tmp_path / "run")
    for record in result.records:
        assert record["error"] is None and record["answer"] and isinstance(record["passed"], bool)
        assert record["dropped_llm"] is None and record["dropped_error"]["type"] == "LMInvalidRequestError"
        assert record["dropped_match"] is not None  # the LM-free half still ran
    assert result.manifest.metrics.dropped_judge_failures == 2


def test_a_judge_that_is_the_model_under_test_is_said_so_and_never_chosen_silently(bench, tmp_path, fake_provider):
    from persona.cli.bench import TESTED_AND_JUDGE
    from persona.cli.flags import build_spec
    from persona.reports.judging import judge_is_responder

    assert judge_is_responder(bench.manifest) is True
    assert "The judge is the model under test" in (bench.run_dir / "report.md").read_text()
    roles = build_spec("bench", {"model": "fake/model", "judge": None}, TESTED_AND_JUDGE).models
    assert roles["responder"].model == "fake/model" and roles["judge"].model == "local/smollm2"
    models = {"responder": FAKE, "judge": FAKE | {"model": "fake/judge"}, "population": FAKE}
    other = run_bench(_bench(models=models), out=tmp_path / "b")
    assert judge_is_responder(other.manifest) is False
    assert "The judge is the model under test" not in (tmp_path / "b" / "report.md").read_text()
