"""The run engine against a real HTTP backend: order, faults, kills, limits and secrets."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, Faults
from typer.testing import CliRunner

from persona.cli import app
from persona.data import read_jsonl
from persona.experiments.quickstart import RESULT_FILES, RunSpec, run
from persona.lm import ModelConfig, make_lm

KEY_ENV = "PERSONA_ENGINE_TEST_KEY"
PLANTED_KEY = "sk-planted-7d1f0c9e4b2a-DO-NOT-LEAK"


@pytest.fixture(autouse=True)
def planted_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)


@pytest.fixture
def server():
    started = FakeOpenAI(latency=0.005).start()
    yield started
    started.stop()


def _model(server: FakeOpenAI, **overrides) -> dict:
    return {
        "model": "openai/persona-test",
        "api_base": server.base_url,
        "api_key_env": KEY_ENV,
        "response_schema": True,
        "timeout": 1.0,
        "num_retries": 6,
        **overrides,
    }


def _spec_data(server: FakeOpenAI, personas: int = 2, per_persona: int = 3, **overrides) -> dict:
    model = _model(server)
    data = {
        "name": "engine",
        "seed": 5,
        "personas": {"n": personas},
        "prompts": {"per_persona": per_persona},
        "bench": {"samples": 1, "resamples": 100},
        "run": {"concurrency": 8},
        "models": {"generator": model, "persona": model, "judge": model},
    }
    data.update(overrides)
    return data


def _results(run_dir: Path) -> dict[str, bytes]:
    return {name: (run_dir / name).read_bytes() for name in RESULT_FILES}


def test_output_order_does_not_depend_on_concurrency(server, tmp_path):
    spec = RunSpec.model_validate(_spec_data(server))
    run(spec, out=tmp_path / "one", concurrency=1)
    run(spec, out=tmp_path / "many", concurrency=16)
    assert _results(tmp_path / "one") == _results(tmp_path / "many")


def test_per_role_concurrency_bounds_requests_in_flight(server):
    server.latency = 0.05
    lm = make_lm(ModelConfig.model_validate(_model(server, max_concurrency=3)), role="judge")
    threads = [
        threading.Thread(target=lm, kwargs={"messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.stats.answered == 12 and server.stats.peak_in_flight == 3


def test_faulty_backend_every_item_succeeds_or_is_a_recorded_failure(server, tmp_path):
    server.faults = Faults(
        rate_limit=0.10, server_error=0.10, timeout=0.05, truncated=0.025, garbage=0.025, retry_after=0.01
    )
    server.rng = random.Random(11)
    # 10 personas x 30 prompts = 300 items; each makes 5 LM calls (answer, critique, revision, response, judge).
    spec = RunSpec.model_validate(_spec_data(server, personas=10, per_persona=30, run={"concurrency": 32}))
    result = run(spec, out=tmp_path)
    pairs, bench = read_jsonl(tmp_path / "pairs.jsonl"), read_jsonl(tmp_path / "bench.jsonl")
    assert len(pairs) == len(bench) == 300
    assert {(r["persona_id"], r["prompt_id"]) for r in pairs} == {(r["persona_id"], r["prompt_id"]) for r in bench}
    for record in pairs + bench:
        if record["error"] is None:
            assert record.get("chosen") or record.get("answer")
        else:
            assert record["error"]["type"] and record["error"]["message"] and record["error"]["attempts"] >= 1
    assert sum(server.stats.faults.values()) > 300  # the faults really happened, and retries absorbed most
    assert result.manifest.failures == {
        "pairs.jsonl": sum(r["error"] is not None for r in pairs),
        "bench.jsonl": sum(r["error"] is not None for r in bench),
    }
    assert "retry" in (tmp_path / "run.log").read_text()


def test_max_failures_stops_the_run_with_exit_code_3(server, tmp_path):
    server.faults = Faults(server_error=1.0)
    data = _spec_data(server, personas=4, per_persona=5)
    data["models"] = {role: _model(server, num_retries=0) for role in ("generator", "persona", "judge")}
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(_toml(data))
    result = CliRunner().invoke(
        app, ["run", str(spec_path), "--out", str(tmp_path / "out"), "--max-failures", "3", "--concurrency", "1"]
    )
    assert result.exit_code == 3, result.output
    pairs = read_jsonl(tmp_path / "out" / "pairs.jsonl")
    kinds = [r["error"]["type"] for r in pairs]
    assert kinds.count("NotRun") == 20 - 3 and len(pairs) == 20
    assert server.stats.received == 3  # nothing started after the third failure


def test_failed_items_run_again_on_resume(server, tmp_path):
    server.faults = Faults(server_error=1.0)
    data = _spec_data(server, personas=1, per_persona=2)
    data["models"] = {role: _model(server, num_retries=0) for role in ("generator", "persona", "judge")}
    first = run(RunSpec.model_validate(data), out=tmp_path)
    assert first.manifest.failures == {"pairs.jsonl": 2, "bench.jsonl": 2}
    server.faults = Faults()
    second = run(RunSpec.model_validate(data), out=tmp_path)
    assert second.manifest.failures == {"pairs.jsonl": 0, "bench.jsonl": 0}


def _value(value: object) -> str:
    """A TOML value: scalars as JSON, dicts as inline tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _toml(data: dict) -> str:
    """Just enough TOML for these specs (tables of scalars and inline tables)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if section == "models":
            for role, model in table.items():
                lines.append(f"[models.{role}]")
                lines += [f"{k} = {_value(v)}" for k, v in model.items()]
        elif isinstance(table, dict):
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _persona_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "persona", *args]


def test_kill_9_three_times_then_resume_equals_an_uninterrupted_run(tmp_path):
    """SIGKILL at three random points of a 300-item run; each kill comes right after the server's K-th answer.

    The server holds later answers for a moment before the kill, so every answer it counted has reached the
    client; the run must then never ask for any of them again, nor lose or duplicate an item.
    """
    reference_server = FakeOpenAI(latency=0.002).start()
    killed_server = FakeOpenAI(latency=0.002).start()
    try:
        spec_path = tmp_path / "spec.toml"
        for server, name in ((reference_server, "reference"), (killed_server, "killed")):
            data = _spec_data(server, personas=10, per_persona=30, run={"concurrency": 16})
            (tmp_path / f"{name}.toml").write_text(_toml(data))
        env = {**os.environ, KEY_ENV: PLANTED_KEY}
        done = subprocess.run(
            _persona_cli("run", str(tmp_path / "reference.toml"), "--out", str(tmp_path / "ref")),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        total = reference_server.stats.answered  # distinct requests of a full run

        rng = random.Random(3)
        kill_points = sorted(rng.sample(range(50, total - 50), 3))
        spec_path = tmp_path / "killed.toml"
        for point in kill_points:
            process = subprocess.Popen(
                _persona_cli("run", str(spec_path), "--out", str(tmp_path / "run")),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            killed_server.kill_client_when_answered(process.pid, point)
            assert process.wait(timeout=600) == -9
            time.sleep(0.3)  # let the server unfreeze
        done = subprocess.run(
            _persona_cli("run", str(spec_path), "--out", str(tmp_path / "run")),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        reference_server.stop()
        killed_server.stop()

    assert _results(tmp_path / "run") == _results(tmp_path / "ref")
    pairs = read_jsonl(tmp_path / "run" / "pairs.jsonl")
    assert len({(r["persona_id"], r["prompt_id"]) for r in pairs}) == len(pairs) == 300
    assert killed_server.stats.duplicates() == 0
    assert killed_server.stats.answered == total  # backend calls == distinct requests


def test_a_planted_key_reaches_the_backend_and_no_artifact(server, tmp_path):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(_toml(_spec_data(server)))
    result = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert server.api_keys[f"Bearer {PLANTED_KEY}"] == server.stats.received > 0  # the key was really used
    files = [path for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert {"manifest.json", "report.md", "run.log", "pairs.jsonl"} <= {path.name for path in files}
    assert any("cache" in path.relative_to(tmp_path).parts for path in files)
    leaked = [str(path) for path in files if PLANTED_KEY.encode() in path.read_bytes()]
    assert leaked == [] and PLANTED_KEY not in result.output


def test_a_key_in_extra_headers_reaches_the_backend_and_no_artifact(server, tmp_path):
    model = _model(server, extra={"extra_headers": {"X-Gateway-Key": PLANTED_KEY}})
    data = _spec_data(server, per_persona=1) | {"models": {"generator": model, "persona": model, "judge": model}}
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(_toml(data))
    result = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert server.headers["x-gateway-key"] == {PLANTED_KEY}  # sent as given
    files = [path for path in (tmp_path / "out").rglob("*") if path.is_file()]
    leaked = [str(path) for path in files if PLANTED_KEY.encode() in path.read_bytes()]
    assert leaked == [] and PLANTED_KEY not in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["models"]["judge"]["args"]["extra_headers"] == {"X-Gateway-Key": "***"}


def test_two_processes_never_run_into_one_run_dir_and_a_killed_holder_is_taken_over(tmp_path):
    """The second process is refused while the first runs; after kill -9 of the first, a third resumes the run."""
    slow = FakeOpenAI(latency=0.6).start()  # 40 calls one at a time: the first run outlives the second's start
    try:
        spec_path = tmp_path / "spec.toml"
        spec_path.write_text(_toml(_spec_data(slow, personas=2, per_persona=4, run={"concurrency": 1})))
        env = {**os.environ, KEY_ENV: PLANTED_KEY}
        command = _persona_cli("run", str(spec_path), "--out", str(tmp_path / "run"))
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        pairs_log = tmp_path / "run" / "log" / "pairs.jsonl"
        while not (pairs_log.exists() and pairs_log.read_bytes()):  # under way, an item done, holding the run dir
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"error: {tmp_path / 'run'}: run dir in use by PID {first.pid}; wait for that run to finish, or give "
            "another --out"
        ]
        # killed with no answer in flight: an answer sent but not yet cached would rightly be asked again
        slow.kill_client_when_answered(first.pid, slow.stats.answered + 1)
        assert first.wait(timeout=60) == -9
        asked = slow.stats.answered
        third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert third.returncode == 0, third.stderr[-2000:]
    finally:
        slow.stop()
    assert slow.stats.duplicates() == 0 and slow.stats.answered > asked  # resumed, re-asking nothing
    pairs = read_jsonl(tmp_path / "run" / "pairs.jsonl")
    assert len(pairs) == 8 and all(r["error"] is None for r in pairs)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["resumed_items"]["pairs"] > 0


def test_transient_errors_are_retried_sync_and_async_with_attempts_on_the_final_error(server):
    import asyncio

    import dspy

    server.faults = Faults(rate_limit=0.8, retry_after=0.01)  # P(a call never gets through in 61 sends) ~ 1e-6
    lm = make_lm(ModelConfig.model_validate(_model(server, num_retries=60)), role="judge")
    for i in range(5):
        assert lm(messages=[{"role": "user", "content": f"sync {i}"}])
        assert asyncio.run(lm.acall(messages=[{"role": "user", "content": f"async {i}"}]))
    assert server.stats.answered == 10 and server.stats.faults["rate_limit"] > 0

    server.faults = Faults(server_error=1.0)
    stubborn = make_lm(ModelConfig.model_validate(_model(server, num_retries=2)), role="judge")
    with pytest.raises(dspy.utils.exceptions.LMServerError) as error:
        asyncio.run(stubborn.acall(messages=[{"role": "user", "content": "q3"}]))
    assert error.value.attempts == 3  # first send + 2 retries
