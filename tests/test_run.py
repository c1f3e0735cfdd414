"""End-to-end runs on the scripted provider: outputs, replay with zero calls, per-item failures."""

import json
import shutil

import pandas as pd
import pytest

import fakes
from persona.data import load_embedded_prompts, read_jsonl
from persona.data.prompts import value_laden
from persona.experiments.quickstart import RESULT_FILES, RunSpec, run
from persona.runs import RunDirError

FAKE = {"model": "fake/model", "max_tokens": 64}


def _spec(**overrides) -> RunSpec:
    data = {
        "name": "t",
        "seed": 3,
        "personas": {"n": 2},
        "prompts": {"per_persona": 2},
        "bench": {"samples": 2, "resamples": 200},
        "models": {"generator": FAKE, "persona": FAKE, "judge": FAKE},
    }
    data.update(overrides)
    return RunSpec.model_validate(data)


def test_run_writes_every_result_and_replays_with_zero_calls(tmp_path, fake_provider):
    first = run(_spec(), out=tmp_path)
    cold_calls = len(fake_provider.calls)
    first_bytes = {name: (tmp_path / name).read_bytes() for name in RESULT_FILES}

    second = run(_spec(), out=tmp_path)  # finished items come back from the item logs
    assert second.manifest.resumed_items == {"pairs": 4, "bench": 4}
    assert second.manifest.model_calls == 0 and second.manifest.cache_hits == 0
    assert {name: (tmp_path / name).read_bytes() for name in RESULT_FILES} == first_bytes

    shutil.rmtree(tmp_path / "log")  # without the logs, every LM call replays from the cache
    third = run(_spec(), out=tmp_path)
    assert third.manifest.model_calls == 0
    assert third.manifest.cache_hits == first.manifest.model_calls + first.manifest.cache_hits
    assert len(fake_provider.calls) == cold_calls  # nothing reached the backend
    assert {name: (tmp_path / name).read_bytes() for name in RESULT_FILES} == first_bytes
    assert third.manifest.files == first.manifest.files

    # 2 personas x 2 prompts; DPF = 3 calls per item (answer, critique, revision); bench = 2 samples x 2 calls.
    retries = sum(r["revision_attempts"] - 1 for r in read_jsonl(tmp_path / "pairs.jsonl"))
    assert first.manifest.model_calls + first.manifest.cache_hits == 4 * 3 + retries + 4 * 2 * 2
    assert set(first.manifest.calls) == {"generator", "persona", "judge"}
    assert first.manifest.calls["persona"].misses == 4


def test_a_finished_run_builds_no_model(tmp_path, fake_provider, monkeypatch):
    run(_spec(), out=tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("a run with nothing left to ask built a model")

    monkeypatch.setattr("persona.lm.registry.make_lm", refuse)
    again = run(_spec(), out=tmp_path)  # every stage comes back from its log: no LM, no cache, no DSPy settings
    assert again.manifest.model_calls == 0 and again.manifest.resumed_items == {"pairs": 4, "bench": 4}
    with pytest.raises(AssertionError, match="built a model"):
        run(_spec(personas={"n": 3}), out=tmp_path / "new")  # the check bites: a run with work builds its models


def test_outputs_are_records_pandas_reads(tmp_path, fake_provider):
    result = run(_spec(), out=tmp_path)
    pairs = pd.read_json(tmp_path / "pairs.jsonl", lines=True)
    bench = pd.read_json(tmp_path / "bench.jsonl", lines=True)
    personas = read_jsonl(tmp_path / "personas.jsonl")
    assert len(pairs) == 4 and pairs["error"].isna().all() and (pairs["chosen"] != pairs["rejected"]).all()
    assert len(bench) == 8 and sorted(bench["sample"].unique()) == [0, 1]
    assert set(pairs["persona_id"]) == {p["id"] for p in personas}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["metrics"]["bench_pass_rate"]["n"] == 8
    assert manifest["metrics"] == result.manifest.metrics.model_dump(mode="json")
    assert "PERSONA Bench" in (tmp_path / "report.md").read_text()


def test_samples_differ_by_seed_and_are_cached_apart(tmp_path, fake_provider):
    run(_spec(), out=tmp_path)
    bench = pd.read_json(tmp_path / "bench.jsonl", lines=True)
    for _, item in bench.groupby(["persona_id", "prompt_id"]):
        assert item["answer"].nunique() == 2


def test_a_failing_item_is_recorded_and_the_run_goes_on(tmp_path, fake_provider, monkeypatch):
    from persona.data import prompts as prompt_module

    original = prompt_module.load_embedded_prompts

    def poisoned():
        items = original()
        return [items[0].model_copy(update={"text": f"{items[0].text} {fakes.FAIL_MARKER}"}), *items[1:]]

    monkeypatch.setattr("persona.experiments.quickstart.load_embedded_prompts", poisoned)
    per_persona = len(value_laden(original()))  # every prompt asked, so the poisoned one (value-laden) is among them
    result = run(_spec(prompts={"per_persona": per_persona}, personas={"n": 1}, bench={"samples": 1}), out=tmp_path)
    pairs = read_jsonl(tmp_path / "pairs.jsonl")
    failed = [r for r in pairs if r["error"]]
    assert len(failed) == 1 and failed[0]["chosen"] is None
    assert failed[0]["error"]["type"] == "LMInvalidRequestError" and fakes.FAIL_MARKER in failed[0]["error"]["message"]
    assert failed[0]["error"]["attempts"] == 1  # a 400 is not worth re-sending
    assert result.manifest.failures == {"pairs.jsonl": 1, "bench.jsonl": 1}
    assert result.manifest.metrics.bench_pass_rate.n == per_persona - 1


def test_a_run_dir_of_another_spec_is_refused(tmp_path, fake_provider):
    run(_spec(), out=tmp_path)
    with pytest.raises(RunDirError, match="holds results of a different spec"):
        run(_spec(seed=4), out=tmp_path)
    run(_spec(run={"concurrency": 3}), out=tmp_path)  # how to execute is not what to compute


def test_too_many_prompts_per_persona_is_a_clear_error(tmp_path, fake_provider):
    available = len(value_laden(load_embedded_prompts()))
    with pytest.raises(ValueError, match=f"per_persona\n.*at most {available}"):
        run(_spec(prompts={"per_persona": available + 1}), out=tmp_path)
    assert not any(tmp_path.iterdir())


def test_run_spec_draws_personas_from_pums_files(tmp_path, fake_provider):
    from pums_files import write_pums

    write_pums(tmp_path / "pums", rows=500, seed=2)
    spec = _spec(personas={"n": 2, "source": f"pums:{tmp_path / 'pums'}", "min_age": 30})
    result = run(spec, out=tmp_path / "run")
    personas = read_jsonl(tmp_path / "run" / "personas.jsonl")
    assert len(personas) == 2 and all(int(p["attributes"]["age"]) >= 30 for p in personas)
    assert any(p["attributes"]["place of birth"] for p in personas)  # a PUMS-only attribute
    assert result.manifest.failures == {"pairs.jsonl": 0, "bench.jsonl": 0}
    with pytest.raises(ValueError, match=r"personas.source\n  String should match pattern"):
        _spec(personas={"source": "census2040"})
