"""The engine's guarantees, once per kind of run, against a real HTTP backend (the fault-injecting test server).

For every kind: a failing backend gives failure records and exit 1, or exit 3 at --max-failures; a run killed
with SIGKILL mid-way and then resumed ends byte for byte where an uninterrupted run ends, without asking the
backend anything twice; and an API key (from the environment, and in a header) reaches the backend but no file
of the run dir nor the terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, Faults
from test_kinds import _specs, every_kind
from typer.testing import CliRunner

from persona.cli import app

KEY_ENV = "PERSONA_KIND_TEST_KEY"
PLANTED_KEY = "sk-planted-kinds-5e8a1c-DO-NOT-LEAK"
HEADER_KEY = "gw-planted-kinds-93b7d2-DO-NOT-LEAK"


@pytest.fixture(autouse=True)
def planted_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)


def _model(server: FakeOpenAI) -> str:
    return (
        f'{{ model = "openai/persona-test", api_base = "{server.base_url}", api_key_env = "{KEY_ENV}", '
        "response_schema = true, timeout = 5.0, num_retries = 0, max_tokens = 64, "
        f'extra = {{ extra_headers = {{ "X-Gateway-Key" = "{HEADER_KEY}" }} }} }}'
    )


def _spec(tmp_path: Path, kind: str, server: FakeOpenAI, name: str) -> Path:
    path = tmp_path / f"{name}.toml"  # the files a spec names are the same for both, so results can be equal
    path.write_text(_specs(tmp_path, _model(server))[kind])
    return path


def _run(spec: Path, out: Path, *flags: str):
    # One item at a time: concurrent items that send one and the same request both miss the cache, which would make
    # the count of answers depend on timing.
    return CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--concurrency", "1", *flags])


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def _failure_lines(run_dir: Path) -> int:
    return sum("failed after" in line for line in (run_dir / "run.log").read_text().splitlines())


def _leaks(run_dir: Path, *texts: str) -> list[str]:
    return [
        str(path)
        for path in run_dir.rglob("*")
        if path.is_file() and any(secret.encode() in path.read_bytes() for secret in (PLANTED_KEY, HEADER_KEY))
    ] + [text[:80] for text in texts if PLANTED_KEY in text or HEADER_KEY in text]


@pytest.mark.parametrize("kind", every_kind())
def test_failures_kill_9_resume_and_keys_hold_for_every_kind(kind, tmp_path):
    reference, served = FakeOpenAI(latency=0.002).start(), FakeOpenAI(latency=0.002).start()
    try:
        # The uninterrupted run every other run of this kind must end equal to.
        done = _run(_spec(tmp_path, kind, reference, "reference"), tmp_path / "ref")
        assert done.exit_code in (0, 1), done.output
        expected, total = _manifest(tmp_path / "ref")["files"], reference.stats.answered
        assert total > 1 and reference.api_keys[f"Bearer {PLANTED_KEY}"] == reference.stats.received
        assert reference.headers["x-gateway-key"] == {HEADER_KEY}

        spec, run_dir = _spec(tmp_path, kind, served, "served"), tmp_path / "run"
        served.faults = Faults(server_error=1.0)
        stopped = _run(spec, run_dir, "--max-failures", "1")
        assert stopped.exit_code == 3, stopped.output
        assert _manifest(run_dir)["aborted"] is True
        assert _failure_lines(run_dir) == 1  # nothing started after the first failure
        failed = _run(spec, run_dir)
        assert failed.exit_code == 1, failed.output
        manifest = _manifest(run_dir)
        assert sum(manifest["failures"].values()) > 0 and not manifest["aborted"]
        assert _failure_lines(run_dir) - 1 >= sum(manifest["failures"].values()) > 0  # each on record in run.log

        served.faults = Faults()
        killed = subprocess.Popen(
            [sys.executable, "-m", "persona", "run", str(spec), "--out", str(run_dir), "--concurrency", "1"],
            env={**os.environ, KEY_ENV: PLANTED_KEY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        served.kill_client_when_answered(killed.pid, total // 2, settle=0.3)
        assert killed.wait(timeout=300) == -9
        resumed = _run(spec, run_dir)
        assert resumed.exit_code == done.exit_code, resumed.output
    finally:
        reference.stop()
        served.stop()
    manifest = _manifest(run_dir)
    assert manifest["files"] == expected  # byte for byte what the uninterrupted run wrote
    # Nothing asked twice but what an uninterrupted run asks twice too (a re-ask of an unparseable output at
    # temperature 0 is the same request).
    assert served.stats.answered == total and served.stats.duplicates() == reference.stats.duplicates()
    assert len(manifest["sessions"]) == 3 and manifest["sessions"][-1]["model_calls"] < total
    assert _leaks(run_dir, stopped.output, failed.output, resumed.output) == []
