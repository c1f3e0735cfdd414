"""Sharded runs (``--workers``, ``--ray``) keep every guarantee of a one-process run, against the HTTP test backend.

Result files are byte for byte those of ``--workers 1``; a run whose driver or one of whose workers is killed with
SIGKILL resumes to the same files without asking the backend anything twice; a role's ``rpm`` holds for the whole
run; and planted keys reach the backend but no file of the run dir, nor Ray's logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAI
from published_files import published_frame, write
from typer.testing import CliRunner

from persona.cli import app
from persona.data.pairs_dir import import_pairs

KEY_ENV = "PERSONA_WORKERS_TEST_KEY"
PLANTED_KEY = "sk-planted-workers-41c9e7-DO-NOT-LEAK"
HEADER_KEY = "gw-planted-workers-7d20b5-DO-NOT-LEAK"


@pytest.fixture(autouse=True)
def planted_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED_KEY)


def _model(server: FakeOpenAI, rpm: float | None = None) -> str:
    limit = f"rpm = {rpm}, " if rpm else ""
    return (
        f'{{ model = "openai/persona-test", api_base = "{server.base_url}", api_key_env = "{KEY_ENV}", {limit}'
        "response_schema = true, timeout = 10.0, num_retries = 0, max_tokens = 64, "
        f'extra = {{ extra_headers = {{ "X-Gateway-Key" = "{HEADER_KEY}" }} }} }}'
    )


SPECS = {
    "bench": (
        'kind = "bench"\nn_personas = 3\nquestions = 2\nmodes = ["no_cot", "summary"]\nresamples = 100\n'
        "[models]\nresponder = {m}\njudge = {m}\n"
    ),
    "pairs": (
        'kind = "pairs"\nn_personas = 2\ntrain = 2\ntest_seen = 1\nheldout = 1\n'
        "[models]\ngenerator = {m}\npersona = {m}\njudge = {m}\n"
    ),
    "prefs": (
        'kind = "prefs"\npairs = "{pairs}"\n'
        'predictors = ["profile", "blind", "history", "examples.predictor:WordOverlap"]\n'
        "history_k = 1\nresamples = 100\n[models]\npredictor = {m}\n"
    ),
    # The examples/ plug-ins: a user's kind and a user's responder shard like the built-in kinds.
    "plugin-kind": 'kind = "examples.introductions:INTRODUCTIONS"\nn = 4\nmodel = {m}\n',
    "plugin-responder": (
        'kind = "bench"\nn_personas = 2\nquestions = 2\nmodes = ["examples.retrieval:RetrievalResponder"]\n'
        "resamples = 100\n[models]\nresponder = {m}\njudge = {m}\n"
    ),
}


def _spec(tmp_path: Path, kind: str, server: FakeOpenAI) -> Path:
    path = tmp_path / f"{kind}-{server.port}.toml"
    pairs = tmp_path / "published-pairs"
    if kind == "prefs" and not pairs.exists():
        import_pairs(write(published_frame(personas=6, prompts=3), tmp_path / "persona.parquet"), pairs, unseen=3)
    path.write_text(SPECS[kind].format(m=_model(server), pairs=pairs))
    return path


def _run(spec: Path, out: Path, *flags: str):
    return CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--concurrency", "2", *flags])


def _command(spec: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "persona",
        "run",
        str(spec),
        "--out",
        str(out),
        "--concurrency",
        "2",
        "--workers",
        "2",
    ]


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def _leaks(*roots: Path) -> list[str]:
    return [
        str(path)
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and any(key.encode() in path.read_bytes() for key in (PLANTED_KEY, HEADER_KEY))
    ]


def _reference(tmp_path: Path, kind: str) -> tuple[dict, FakeOpenAI]:
    """The files, and the server's count, of the one-process run every sharded run must equal."""
    server = FakeOpenAI(latency=0.002).start()
    try:
        done = _run(_spec(tmp_path, kind, server), tmp_path / f"ref-{kind}")
        assert done.exit_code == 0, done.output
    finally:
        server.stop()
    return _manifest(tmp_path / f"ref-{kind}")["files"], server


@pytest.mark.parametrize("kind", list(SPECS))
def test_workers_and_ray_give_the_files_of_one_process(kind, tmp_path, monkeypatch):
    expected, reference = _reference(tmp_path, kind)
    ray_logs = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    monkeypatch.setenv("RAY_TMPDIR", str(ray_logs))  # where the local Ray keeps its session logs
    for name, flags in [("workers", ["--workers", "2"]), ("ray", ["--workers", "2", "--ray"])]:
        server = FakeOpenAI(latency=0.002).start()
        try:
            done = _run(_spec(tmp_path, kind, server), tmp_path / name, *flags)
        finally:
            server.stop()
        assert done.exit_code == 0, done.output
        manifest = _manifest(tmp_path / name)
        assert manifest["files"] == expected, name
        assert manifest["spec"]["run"]["workers"] == 2
        assert manifest["model_calls"] == reference.stats.answered == server.stats.answered
        assert server.api_keys[f"Bearer {PLANTED_KEY}"] == server.stats.received
        assert server.headers["x-gateway-key"] == {HEADER_KEY}
        assert PLANTED_KEY not in done.output and HEADER_KEY not in done.output
        assert not list((tmp_path / name / "log").glob("*.shard-*")), "shard logs are merged and removed"
    try:
        assert any(ray_logs.rglob("*.log")) and _leaks(tmp_path / "workers", tmp_path / "ray", ray_logs) == []
    finally:
        shutil.rmtree(ray_logs, ignore_errors=True)


def _workers_of(pid: int) -> int | None:
    """A shard worker started by ``pid``, if one runs now."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"persona.runs.worker" in command:
            return int(proc.name)
    return None


@pytest.mark.parametrize("victim", ["driver", "worker"])
def test_a_killed_driver_or_worker_resumes_to_the_same_files_asking_nothing_twice(victim, tmp_path):
    expected, reference = _reference(tmp_path, "bench")
    total = reference.stats.answered
    served = FakeOpenAI(latency=0.002).start()
    spec, run_dir = _spec(tmp_path, "bench", served), tmp_path / "run"
    try:
        driver = subprocess.Popen(_command(spec, run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        target = driver.pid if victim == "driver" else (lambda: _workers_of(driver.pid))
        served.kill_client_when_answered(target, total // 2, settle=0.3)
        code = driver.wait(timeout=300)
        assert served.killed, "the kill came too late: the run had ended"
        if victim == "driver":
            assert code == -9
            time.sleep(0.5)
            assert _workers_of(driver.pid) is None  # its workers went with it
        else:
            stderr = driver.stderr.read().decode() if driver.stderr else ""
            assert code == 1 and "SIGKILL" in stderr, stderr
            assert _manifest(run_dir)["metrics"] is None
        resumed = subprocess.run(_command(spec, run_dir), capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
    finally:
        served.stop()
    manifest = _manifest(run_dir)
    assert manifest["files"] == expected
    assert served.stats.answered == total and served.stats.duplicates() == reference.stats.duplicates()
    # A killed driver always leaves work; a killed worker may have finished its share while the server held its
    # sibling's answers (static shards on a busy machine), and then the resume rightly has nothing to ask.
    assert (0 if victim == "worker" else 1) <= manifest["model_calls"] < total


def _ray_task_worker() -> int | None:
    """A Ray worker process running a shard (Ray titles it after the task's function)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"ray::_run_shard" in (proc / "cmdline").read_bytes():
                    return int(proc.name)
            except OSError:
                continue
    return None


def test_ray_reruns_a_task_whose_worker_died_and_the_rerun_resumes(tmp_path, monkeypatch):
    expected, reference = _reference(tmp_path, "bench")
    ray_logs = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(ray_logs))
    served = FakeOpenAI(latency=0.002).start()
    try:
        served.kill_client_when_answered(_ray_task_worker, reference.stats.answered // 2, settle=0.3)
        done = _run(_spec(tmp_path, "bench", served), tmp_path / "run", "--workers", "2", "--ray")
    finally:
        served.stop()
        shutil.rmtree(ray_logs, ignore_errors=True)
    assert served.killed, "no Ray worker was running at the kill"
    assert done.exit_code == 0, done.output  # Ray re-ran the task; the run never stopped
    assert _manifest(tmp_path / "run")["files"] == expected
    assert served.stats.answered == reference.stats.answered
    assert served.stats.duplicates() == reference.stats.duplicates()


def test_a_role_rpm_holds_for_the_whole_run_across_workers(tmp_path):
    server = FakeOpenAI().start()
    rpm = 240.0  # 4 requests a second for the run, so 2 a second per worker
    spec = tmp_path / "personas.toml"
    spec.write_text(f'kind = "personas"\nn = 8\nseed = 3\ncategories_per_persona = 1\nmodel = {_model(server, rpm)}\n')
    try:
        done = _run(spec, tmp_path / "run", "--workers", "2")
    finally:
        server.stop()
    assert done.exit_code in (0, 1), done.output  # a persona the check keeps refusing fails; the pace is the point
    times = server.stats.received_at
    assert len(times) >= 16
    rate = (len(times) - 1) / (times[-1] - times[0]) * 60
    print(f"{len(times)} requests at {rate:.1f}/min against rpm {rpm}")
    assert rate <= rpm * 1.1, rate
    assert rate >= rpm * 0.75, rate  # both workers were sending: not one worker's share alone


def test_a_split_that_breaks_a_whole_run_limit_is_refused_before_anything_runs(tmp_path):
    server = FakeOpenAI()
    spec = _spec(tmp_path, "bench", server)
    refused = _run(spec, tmp_path / "run", "--workers", "3")
    assert refused.exit_code == 2 and "run.workers (3) is more than run.concurrency (2)" in refused.output
    assert not (tmp_path / "run").exists()


def test_ray_alone_means_a_local_ray_and_a_missing_ray_names_the_extra(tmp_path, monkeypatch):
    from persona.cli.base import with_execution
    from persona.runs.spec import spec_class

    spec = spec_class("bench").model_validate({})
    local = with_execution(spec, {"ray": "local", "workers": 3}).run
    assert (local.executor, local.ray_address, local.workers) == ("ray", None, 3)
    assert with_execution(spec, {"ray": "ray://head:10001"}).run.ray_address == "ray://head:10001"
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    server = FakeOpenAI()
    missing = _run(_spec(tmp_path, "bench", server), tmp_path / "run", "--ray")
    assert missing.exit_code == 2 and "pip install 'persona-testbed[ray]'" in missing.output, missing.output


def test_a_worker_sees_its_share_of_the_whole_run_limits():
    from persona.lm import ModelConfig
    from persona.runs.shards import ShardTask, shard_config, share

    assert [share(5, i, 2) for i in range(2)] == [3, 2] and sum(share(7, i, 3) for i in range(3)) == 7
    task = ShardTask(None, Path("."), None, "s", 1, 2, 2, {}, 1)
    config = shard_config(ModelConfig(model="openai/x", rpm=120, max_concurrency=5), task)
    assert (config.rpm, config.max_concurrency) == (60, 2)


def test_python_runs_a_spec_with_workers_too(tmp_path):
    """``run_spec`` (no CLI) shards by the spec's own ``[run]`` table."""
    from persona.runs import load_spec, run_spec

    expected, _ = _reference(tmp_path, "bench")
    server = FakeOpenAI(latency=0.002).start()
    spec_path = _spec(tmp_path, "bench", server)
    spec_path.write_text(spec_path.read_text() + "[run]\nworkers = 2\nconcurrency = 2\n")
    try:
        result = run_spec(load_spec(spec_path), out=tmp_path / "run")
    finally:
        server.stop()
    assert result.manifest.files == expected
    assert os.path.exists(tmp_path / "run" / "bench.jsonl")


def test_a_replica_that_gets_past_its_stage_writes_no_report_or_manifest(tmp_path):
    from persona.runs.session import Session
    from persona.runs.shards import SHARD, ShardError, ShardTask
    from persona.runs.spec import spec_class

    spec = spec_class("bench").model_validate({})
    token = SHARD.set(ShardTask(spec, tmp_path, None, "bench", 0, 2, 1, {}, 1))
    try:
        with Session(tmp_path, spec, {}) as session:
            with pytest.raises(ShardError, match="only the driver"):
                session.finish(files=[], metrics=None, report=str)
            with pytest.raises(ShardError, match="only the driver"):
                session.stop("why")
    finally:
        SHARD.reset(token)
    assert not (tmp_path / "manifest.json").exists() and not (tmp_path / "report.md").exists()
