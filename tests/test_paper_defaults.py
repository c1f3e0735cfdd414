"""Defaults that follow the paper, pinned on the scripted backend: what a spec left at its defaults really runs."""

from __future__ import annotations

import json

from fakes import _schema
from persona.data.persona import read_personas
from persona.data.prompts import load_embedded_prompts
from persona.experiments.bench import BenchSpec, run_bench
from persona.experiments.curation import CurationSpec, curate
from persona.experiments.inputs import load_split_prompts
from persona.experiments.pairs import PairsSpec, generate_pairs
from persona.experiments.passk import PassKSpec, run_passk
from persona.experiments.quickstart import RunSpec, run

FAKE = {"model": "fake/model", "max_tokens": 64}
FACTUAL = {p.id for p in load_embedded_prompts() if p.kind == "factual"}


def test_pass_at_k_by_default_samples_16_chain_of_thought_answers_that_see_the_persona(tmp_path, fake_provider):
    spec = PassKSpec(n_personas=1, questions=1, models={"responder": FAKE, "judge": FAKE})
    result = run_passk(spec, out=tmp_path)
    assert [r["sample"] for r in result.records] == list(range(16))
    assert list(result.manifest.metrics.curve) == list(range(1, 17))
    persona = json.loads((tmp_path / "personas.jsonl").read_text().splitlines()[0])
    answers = [c for c in fake_provider.calls if c["params"].get("temperature") == 0.7]
    assert len(answers) == 16
    for call in answers:
        assert "reasoning" in _schema(call["params"]["response_format"]).get("properties", {})  # reasoning first
        assert persona["attributes"]["sex"] in json.dumps(call["messages"])


def test_the_embedded_factual_questions_never_reach_an_experiment(tmp_path, fake_provider):
    parts = load_split_prompts("embedded", seed=0)
    asked = {p.id for part in parts.values() for p in part}
    assert len(FACTUAL) == 55 and asked and not asked & FACTUAL
    assert all(p.kind == "value-laden" for part in parts.values() for p in part)

    bench = run_bench(
        BenchSpec(n_personas=4, questions=6, split="all", modes=["no_cot"], models={"responder": FAKE, "judge": FAKE}),
        out=tmp_path / "bench",
    )
    pairs = generate_pairs(
        PairsSpec(n_personas=2, train=6, test_seen=2, heldout=2, verify=False, models={"generator": FAKE}),
        out=tmp_path / "pairs",
    )
    quick = run(
        RunSpec(name="q", personas={"n": 3}, prompts={"per_persona": 8}, models={"generator": FAKE, "judge": FAKE}),
        out=tmp_path / "quick",
    )
    quick_ids = {json.loads(line)["id"] for line in (quick.run_dir / "prompts.jsonl").read_text().splitlines()}
    for ids in ({r["prompt_id"] for r in bench.records}, {r["prompt_id"] for r in pairs.pairs}, quick_ids):
        assert ids and not ids & FACTUAL


def test_a_curated_file_labelled_factual_is_not_asked(tmp_path):
    rows = [
        {"id": "v1", "topic": "t", "text": "Should cities ban cars?", "kind": "value-laden", "split": "heldout"},
        {"id": "f1", "topic": "t", "text": "What is water made of?", "kind": "factual", "split": "heldout"},
        {"id": "u1", "topic": "t", "text": "Is a four-day week better for families?", "split": "heldout"},
    ]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert [p.id for p in load_split_prompts(str(tmp_path), seed=0)["heldout"]] == ["v1", "u1"]


def test_curation_scores_the_classifier_against_the_embedded_labels(tmp_path, fake_provider):
    result = curate(CurationSpec(train=3, heldout=1, model=FAKE), out=tmp_path)
    controls = result.manifest.metrics.controls
    kept = {row["id"] for row in result.kept}
    embedded = {p.id: p.kind for p in load_embedded_prompts()}
    judged = controls["value-laden"] + controls["factual"]
    assert judged == result.manifest.metrics.counts["after rules and de-duplication"]
    assert controls["factual kept"] == sum(embedded[i] == "factual" for i in kept)
    assert controls["value-laden kept"] == sum(embedded[i] == "value-laden" for i in kept)
    assert f"{controls['factual kept']} of {controls['factual']} factual" in (tmp_path / "curation.md").read_text()


def test_census_personas_in_bench_go_through_the_check_and_the_filling(tmp_path, fake_provider):
    models = {"responder": FAKE, "judge": FAKE}
    result = run_bench(BenchSpec(n_personas=2, questions=1, modes=["no_cot"], models=models), out=tmp_path / "b")
    personas = read_personas(tmp_path / "b" / "personas.jsonl")
    assert len(personas) == 2 and all(len(p.profile) == 2 for p in personas)  # filled: two open-ended categories
    checks = [
        c for c in fake_provider.calls if "consistent" in _schema(c["params"].get("response_format"))["properties"]
    ]
    assert len(checks) >= 2  # every persona was vetted by the consistency check
    # The population role runs on the judge's backend (a fixed model), not on the model under test's.
    assert BenchSpec(models={"judge": {"model": "openai/gpt-4o"}}).models["population"].model == "openai/gpt-4o"
    assert result.manifest.models["population"].model == "fake/model" and "personas" in result.manifest.resumed_items
    assert result.manifest.metrics.personas.personas == 2
    assert "null per persona: mean" in (tmp_path / "b" / "report.md").read_text()

    # A personas file is used as it is: no population role, no check, no filling.
    calls = len(fake_provider.calls)
    again = run_bench(
        BenchSpec(personas=str(tmp_path / "b"), questions=1, modes=["no_cot"], models=models), out=tmp_path / "c"
    )
    assert "population" not in again.manifest.models and "personas" not in again.manifest.resumed_items
    assert not [
        c for c in fake_provider.calls[calls:] if "consistent" in json.dumps(c["params"].get("response_format"))
    ]
