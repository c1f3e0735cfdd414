"""The history@k responders of `bench`: no profile, the persona's own k earliest train pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from published_files import published_frame, write
from typer.testing import CliRunner

from persona.cli import app
from persona.data.pairs_dir import import_pairs
from persona.experiments.bench import BenchSpec, question_pool, run_bench

runner = CliRunner()
FAKE = {"model": "fake/model", "max_tokens": 64}


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    """3 personas, each with 3 train pairs and 1 test pair (published layout, imported)."""
    import_pairs(write(published_frame(personas=3, prompts=4), tmp_path / "p.parquet"), tmp_path / "pairs")
    return tmp_path / "pairs"


def _spec(pairs: Path, **extra) -> BenchSpec:
    values = {
        "personas": str(pairs),
        "history": str(pairs),
        "history_k": [0, 1, 2],
        "modes": ["baseline"],
        "questions": 1,
        "subtlety": False,
        "resamples": 100,
        "models": {"responder": FAKE, "judge": FAKE},
    }
    return BenchSpec.model_validate(values | extra)


def test_history_k_adds_a_responder_per_k_and_k_0_is_the_baseline(tmp_path, pairs, fake_provider):
    spec = _spec(pairs)
    assert spec.modes == ["baseline", "history@0", "history@1", "history@2"]
    result = run_bench(spec, out=tmp_path / "run")
    by_mode = {}
    for record in result.records:
        assert record["error"] is None
        by_mode.setdefault(record["mode"], {})[record["persona_id"]] = record["answer"]
    assert by_mode["history@0"] == by_mode["baseline"]  # the same requests, so the same cache entries
    assert set(result.manifest.metrics.modes) == {"baseline", "history@0", "history@1", "history@2"}
    shown = [json.dumps(call["messages"]) for call in fake_provider.calls if "earlier questions" in json.dumps(call)]
    assert len(shown) == 2 * 3  # history@1 and history@2 for 3 personas; history@0 asked nothing new
    for text in shown:
        persona = int(text.split("An answer for persona ")[1].split(" ")[0])
        assert f"An answer for persona {persona} to 0." in text  # its own earliest train pair
        assert "to 3." not in text  # its test prompt, never
        assert all(f"persona {other} to" not in text for other in range(3) if other != persona)


def test_a_history_that_shows_a_question_under_test_fails_the_run(tmp_path, pairs, fake_provider):
    asked = question_pool(_spec(pairs))[0].text
    path = pairs / "pairs.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[4]["prompt"] = asked  # a train pair of persona 1 now shows a held-out question the bench may ask
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = tmp_path / "bench.toml"
    fake = '{ model = "fake/model", max_tokens = 64 }'
    spec.write_text(
        f'kind = "bench"\npersonas = "{pairs}"\nhistory = "{pairs}"\nhistory_k = [1]\nmodes = ["baseline"]\n'
        f"questions = 1\n[models]\nresponder = {fake}\njudge = {fake}\n"
    )
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "line 5" in message and "a history must never show a question under test" in message
    assert not (tmp_path / "run").exists()


def test_too_few_train_pairs_or_no_history_is_refused_by_name(pairs):
    with pytest.raises(Exception, match="history@k responders need `history`"):
        BenchSpec.model_validate({"modes": ["history@1"], "models": {"responder": FAKE, "judge": FAKE}})
    with pytest.raises(Exception, match="each k must be between 0 and 16"):
        _spec(pairs, history_k=[17])
    from persona.errors import InputError
    from persona.experiments.bench import read_bench

    with pytest.raises(InputError, match=r"history@4: persona p-\w+ has 3 train pairs"):
        read_bench(_spec(pairs, history_k=[4]))


def test_a_bench_spec_without_history_keeps_its_fingerprint(pairs):
    plain = BenchSpec.model_validate({"models": {"responder": FAKE, "judge": FAKE}})
    assert plain.fingerprint() == BenchSpec.model_validate(plain.model_dump() | {"history_k": []}).fingerprint()
    assert _spec(pairs).fingerprint() != _spec(pairs, history_k=[0, 1]).fingerprint()


def test_pass_at_k_draws_from_a_history_responder_and_needs_the_pairs(tmp_path, pairs, fake_provider):
    from persona.experiments.passk import PassKSpec, run_passk

    models = {"responder": FAKE, "judge": FAKE}
    with pytest.raises(Exception, match="history@k responders need `history`"):
        PassKSpec.model_validate({"mode": "history@2", "models": models})
    with pytest.raises(Exception, match="a history shows at most 16 train pairs"):
        PassKSpec.model_validate({"mode": "history@17", "history": str(pairs), "models": models})
    values = {"personas": str(pairs), "history": str(pairs), "mode": "history@2", "samples": 3, "k_max": 2}
    spec = PassKSpec.model_validate(values | {"n_personas": 3, "resamples": 100, "models": models})
    result = run_passk(spec, out=tmp_path / "passk")
    assert len(result.records) == 3 * 3 and all(r["error"] is None for r in result.records)
    shown = [json.dumps(call["messages"]) for call in fake_provider.calls if "earlier questions" in json.dumps(call)]
    assert len(shown) == 3 * 3  # every draw of every persona saw its history
    for text in shown:
        persona = int(text.split("An answer for persona ")[1].split(" ")[0])
        assert f"persona {persona} to 1." in text and "to 2." not in text and "to 3." not in text  # k = 2 earliest
    plain = PassKSpec.model_validate({"models": models})
    assert plain.fingerprint() == PassKSpec.model_validate(plain.model_dump() | {"history": None}).fingerprint()
    with pytest.raises(Exception, match=r"history@4: persona p-\w+ has 3 train pairs"):
        run_passk(PassKSpec.model_validate(values | {"mode": "history@4", "models": models}), out=tmp_path / "four")


def test_optimize_compiles_a_history_responder_and_bench_runs_the_compiled_program(tmp_path, fake_provider):
    from persona.experiments.optimize import OptimizeSpec, run_optimize

    import_pairs(write(published_frame(personas=10, prompts=4), tmp_path / "p.parquet"), tmp_path / "pairs")
    pairs = str(tmp_path / "pairs")
    models = {"responder": FAKE, "judge": FAKE}
    with pytest.raises(Exception, match=r"history@k \(k >= 1, with `history`\)"):
        OptimizeSpec.model_validate({"mode": "history@0", "history": pairs, "models": models})
    values = {"personas": pairs, "history": pairs, "mode": "history@2", "n_personas": 10, "train": 4, "val": 2}
    result = run_optimize(
        OptimizeSpec.model_validate(values | {"eval_items": 4, "seed": 1, "models": models}), out=tmp_path / "opt"
    )
    assert result.records and all(r["error"] is None for r in result.records)
    shown = [json.dumps(call["messages"]) for call in fake_provider.calls if "earlier questions" in json.dumps(call)]
    assert shown and all("to 2." not in text and "to 3." not in text for text in shown)  # k = 2; never a test pair
    assert all("race:" not in text for text in shown)  # the model under test never sees a profile
    state = json.loads((tmp_path / "opt" / "program.json").read_text())
    assert state["program.respond"]["demos"][0]["choices"].startswith("This user's earlier choices")  # tuned demos

    spec = _spec(tmp_path / "pairs", history_k=[], modes=["baseline"], program=str(tmp_path / "opt" / "program.json"))
    assert spec.program_mode == "history@2"
    before = len(fake_provider.calls)
    bench = run_bench(spec, out=tmp_path / "bench")
    compiled = [r for r in bench.records if r["mode"] == "program"]
    assert len(compiled) == 10 and all(r["error"] is None for r in compiled)
    asked = [c["messages"] for c in fake_provider.calls[before:] if "earlier questions" in json.dumps(c["messages"])]
    assert len(asked) == 10 and all(len(messages) > 2 for messages in asked)  # its bootstrapped demos come along
    with pytest.raises(Exception, match="history@k responders need `history`"):
        _spec(tmp_path / "pairs", history=None, history_k=[], program=str(tmp_path / "opt" / "program.json"))


def test_passk_and_optimize_take_history_on_the_command_line(tmp_path, pairs, fake_provider):
    fake = ["--model", "fake/model", "--judge", "fake/model"]
    common = ["--personas", str(pairs), "--history", str(pairs), "--mode", "history@1", *fake]
    result = runner.invoke(
        app, ["bench", "passk", *common, "--samples", "2", "--k-max", "2", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["spec"]["history"] == str(pairs)
    result = runner.invoke(
        app, ["optimize", "--mode", "history@1", *fake, "--personas", str(pairs), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "history@k responders need `history`" in result.output
