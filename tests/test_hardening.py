"""User mistakes end in one line and exit 2 with nothing written; no silent loss in export, agreement or replays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pums_files import write_pums
from typer.testing import CliRunner

from persona.cli import app, rate_text
from persona.data.export import export_pairs
from persona.data.persona import NullAttributes
from persona.errors import InputError, PersonaError
from persona.experiments.bench import BenchMetrics
from persona.experiments.loo import LooMetrics
from persona.experiments.quickstart import RunSpec, run
from persona.lm import ModelConfig, lm_secrets, make_lm
from persona.runs import RunDirError, claim_run_dir
from persona.runs.manifest import Manifest

FAKE = {"model": "fake/model", "max_tokens": 64}
ROLES = ("generator", "persona", "judge")


def _spec_toml(path: Path, personas: str = "n = 1", prompts: str = "per_persona = 1") -> Path:
    path.write_text(
        f'name = "hard"\n[personas]\n{personas}\n[prompts]\n{prompts}\n[bench]\nresamples = 100\n'
        + "".join(f'[models.{role}]\nmodel = "fake/model"\nmax_tokens = 64\n' for role in ROLES)
    )
    return path


def _snapshot(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(args: list[str], *, says: str, untouched: Path | None = None) -> None:
    """The command exits 2 with exactly one 'error:' line naming the problem, and leaves ``untouched`` as it was."""
    before = _snapshot(untouched) if untouched else None
    result = CliRunner().invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout.strip() == "", result.stdout  # no progress bar or blank line before the error
    assert says in lines[0], lines[0]
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    if untouched is not None:
        assert _snapshot(untouched) == before


@pytest.fixture
def finished(tmp_path, fake_provider) -> Path:
    """A finished `persona run` dir (two personas x two prompts, no split layout)."""
    spec = RunSpec.model_validate(
        {
            "name": "done",
            "seed": 3,
            "personas": {"n": 2},
            "prompts": {"per_persona": 2},
            "bench": {"resamples": 100},
            "models": dict.fromkeys(ROLES, FAKE),
        }
    )
    run(spec, out=tmp_path / "done")
    return tmp_path / "done"


def test_spec_values_out_of_range_name_the_file_and_key(tmp_path, fake_provider):
    out = tmp_path / "out"
    too_many = _spec_toml(tmp_path / "many.toml", prompts="per_persona = 500")
    _refused(["run", str(too_many), "--out", str(out)], says="prompts.per_persona: at most", untouched=out)
    too_old = _spec_toml(tmp_path / "old.toml", personas="n = 1\nmin_age = 200")
    _refused(["run", str(too_old), "--out", str(out)], says="found nobody aged >= 200", untouched=out)
    assert not out.exists()


def test_a_folder_given_as_the_spec(tmp_path):
    _refused(["run", str(tmp_path), "--out", str(tmp_path / "out")], says="a folder, not a run spec")


def test_out_naming_an_existing_file(tmp_path, fake_provider, finished):
    target = tmp_path / "taken.txt"
    target.write_text("mine\n")
    spec = _spec_toml(tmp_path / "spec.toml")
    before = sorted(tmp_path.iterdir()), sorted((finished).iterdir())
    _refused(["run", str(spec), "--out", str(target)], says="exists and is not a folder")
    _refused(["pairs", "export", str(finished), "--out", str(target)], says="exists and is not a folder")
    assert target.read_text() == "mine\n"
    assert (sorted(tmp_path.iterdir()), sorted((finished).iterdir())) == before


def test_a_file_where_the_run_keeps_its_log_folder(tmp_path, fake_provider):
    out = tmp_path / "out"
    out.mkdir()
    (out / "log").write_text("not a folder\n")
    spec = _spec_toml(tmp_path / "spec.toml")
    _refused(["run", str(spec), "--out", str(out)], says="log: a run keeps its log folder there", untouched=out)


def test_bench_inputs_that_cannot_be_read(tmp_path):
    out = tmp_path / "out"
    _refused(["bench", "run", "--personas", str(tmp_path / "missing.jsonl"), "--out", str(out)], says="missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\x9c\n")
    _refused(["bench", "run", "--personas", str(binary), "--out", str(out)], says="binary.jsonl")
    deep = "not " * 3000 + 'sex == "Female"'
    _refused(["bench", "run", "--slice", deep, "--out", str(out)], says="--slice")
    assert not out.exists()


def test_census_files_that_cannot_be_used_name_file_line_and_column(tmp_path):
    person, _ = write_pums(tmp_path / "pums", rows=5)
    frame = pd.read_csv(person, dtype=str, keep_default_na=False)
    frame.loc[2, "PWGTP"] = "12x"
    frame.to_csv(person, index=False)
    out = tmp_path / "out"
    args = ["personas", "generate", "--source", f"pums:{person}", "--n", "2", "--no-check", "--no-fill"]
    _refused([*args, "--out", str(out)], says="psam_p06.csv: line 4: column PWGTP value '12x' is not a number")
    frame.loc[2, "PWGTP"] = "10"
    text = frame.to_csv(index=False).rstrip("\n")
    person.write_text(text[: text.rindex("\n") + 20])  # a download cut off inside its last row
    _refused([*args, "--out", str(out)], says="the file looks truncated or malformed")
    assert not out.exists()


def test_prompt_files_keep_their_ids_through_the_cli(tmp_path):
    prompts = tmp_path / "asks.csv"
    prompts.write_text("id,text\n0,Should cities ban cars from their centres on weekends?\n")
    args = ["prompts", "curate", "--source", str(prompts), "--no-classify", "--split", "1:1"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in (tmp_path / "c" / "prompts.jsonl").open()] == ["0"]


def test_flag_values_the_spec_rejects_name_the_flag_without_pydantic_noise(tmp_path):
    out = tmp_path / "out"
    for args, says in (
        (["bench", "passk", "--samples", "4", "--k-max", "20"], "k_max=20 needs at least as many samples"),
        (["bench", "run", "--modes", "foo"], "--modes: unknown bench modes ['foo']"),
        (["prompts", "curate", "--split", "0:0"], "--split must be two positive whole numbers"),
    ):
        _refused([*args, "--out", str(out)], says=says)
        result = CliRunner().invoke(app, [*args, "--out", str(out)])
        assert "pydantic" not in result.stderr and "https://" not in result.stderr
    assert not out.exists()


def test_bench_report_refuses_a_run_it_cannot_compare(tmp_path, finished):
    _refused(["bench", "report", str(finished)], says="not a bench, pass@k or LOO run")
    loo = tmp_path / "loo"
    loo.mkdir()
    manifest = Manifest.model_validate_json((finished / "manifest.json").read_text())
    manifest.spec = {**manifest.spec, "kind": "loo"}
    nulls = NullAttributes(personas=0, attributes=0, mean=None, min=None, max=None)
    manifest.metrics = LooMetrics(attributes={}, kappas=[], failed_annotations=0, picked_a=None, personas=nulls)
    (loo / "manifest.json").write_text(manifest.model_dump_json())
    bench = tmp_path / "bench"
    bench.mkdir()
    manifest.spec = {**manifest.spec, "kind": "bench"}
    manifest.metrics = BenchMetrics(
        confidence=0.95, modes={}, dropped=[], dropped_judge_failures=0, slices=[], personas=nulls
    )
    (bench / "manifest.json").write_text(manifest.model_dump_json())
    _refused(["bench", "report", str(bench), str(loo), "--out", str(tmp_path / "cmp")], says="leave-one-out run")
    assert not (tmp_path / "cmp").exists()


def test_annotation_files_with_labels_outside_a_and_b_or_no_rows(tmp_path):
    header = "annotator,persona_id,item_id,choice\n"
    empty = tmp_path / "empty.csv"
    empty.write_text(header)
    _refused(["agreement", "compute", str(empty), "--out", str(tmp_path / "agr")], says="empty.csv")
    for label in ("C", "b"):
        bad = tmp_path / f"bad_{label}.csv"
        bad.write_text(header + "h1,p1,i1,A\nh1,p1,i2,B\nm1,p1,i1,A\n" + f"m1,p1,i2,{label}\n")
        _refused(["agreement", "compute", str(bad), "--out", str(tmp_path / "agr")], says=f"bad_{label}.csv")
    assert not (tmp_path / "agr").exists()


def test_every_library_input_error_is_one_family():
    from persona.data.export import PairsFormatError
    from persona.data.pums import PumsError
    from persona.data.sources import SourceError
    from persona.experiments.agreement import AnnotationError
    from persona.lm import LocalModelError, ModelStringError
    from persona.metrics.slices import PredicateError
    from persona.runs import LogCorruptError, SpecError

    for error in (PairsFormatError, PumsError, SourceError, LocalModelError, ModelStringError, PredicateError):
        assert issubclass(error, InputError) and issubclass(error, ValueError)
    for error in (LogCorruptError, SpecError, AnnotationError, RunDirError):
        assert issubclass(error, PersonaError)


def test_a_quickstart_style_run_exports_every_pair_under_the_split_all(tmp_path, finished):
    paths = export_pairs(finished, "parquet", tmp_path / "export")
    assert [p.name for p in paths] == ["all.parquet"]
    frame = pd.read_parquet(paths[0])
    assert len(frame) == 4 and frame["prompt"].notna().all() and frame["persona"].notna().all()
    assert set(frame["split"]) == {"all"}
    trl = export_pairs(finished, "trl", tmp_path / "trl")
    assert [p.name for p in trl] == ["all.jsonl"] and len(trl[0].read_text().splitlines()) == 4


def test_export_refuses_a_run_without_built_pairs(tmp_path, finished):
    pairs = finished / "pairs.jsonl"
    rows = [json.loads(line) | {"error": {"type": "X", "message": "m", "attempts": 1}} for line in pairs.open()]
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    _refused(["pairs", "export", str(finished), "--out", str(tmp_path / "e")], says="no built pairs to export")
    assert not (tmp_path / "e").exists()


def test_a_replay_keeps_the_original_cost_and_adds_its_own(finished):
    first = Manifest.model_validate_json((finished / "manifest.json").read_text())
    spec = RunSpec.model_validate(first.spec)
    replay = run(spec, out=finished).manifest
    assert replay.model_calls == 0
    assert [s.model_calls for s in replay.sessions] == [first.model_calls, 0]
    assert replay.total_model_calls == first.model_calls > 0
    assert replay.total_wall_time_s >= first.wall_time_s
    report = (finished / "report.md").read_text()
    assert f"Over all 2 sessions of this run dir: {first.model_calls} model calls" in report


def test_credentials_in_extra_headers_reach_the_backend_only():
    key = "sk-live-0123456789abcdefghijklmnop"
    config = ModelConfig(model="openai/gpt-4o", extra={"extra_headers": {"X-Gateway-Key": key, "X-Trace": "run-7"}})
    assert config.lm_args()["extra_headers"] == {"X-Gateway-Key": "***", "X-Trace": "run-7"}
    dumped = json.dumps(config.model_dump(mode="json")) + json.dumps(config.identity())
    assert key not in dumped and "run-7" in dumped
    shaped = ModelConfig(model="openai/gpt-4o", extra={"extra_headers": {"X-Custom": f"Bearer {key}"}})
    assert key not in json.dumps(shaped.lm_args())
    lm = make_lm(config)
    assert lm.kwargs["extra_headers"]["X-Gateway-Key"] == key  # what is sent is untouched
    assert lm_secrets([lm]) == [key]


def test_a_claimed_run_dir_refuses_a_second_process_and_is_taken_over_after_kill_9(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from persona.runs import claim_run_dir\n"
            "with claim_run_dir(sys.argv[1], 'f'):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path / "run"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(RunDirError, match=f"run dir in use by PID {holder.pid}"),
            claim_run_dir(tmp_path / "run", "f"),
        ):
            pass
    finally:
        holder.kill()  # SIGKILL: the holder never releases anything itself
        holder.wait(timeout=10)
    with claim_run_dir(tmp_path / "run", "f") as claimed:
        assert (claimed / ".lock.pid").read_text().strip() == str(os.getpid())
    assert not (tmp_path / "run" / ".lock.pid").exists()


def test_progress_rates_read_well_when_slow():
    assert [rate_text(s) for s in (None, 0.0, 2.5, 0.1, 0.004)] == ["", "", "2.5/s", "6.0/min", "250 s/item"]


def test_result_files_follow_the_umask(tmp_path, finished):
    previous = os.umask(0o022)
    os.umask(previous)
    expected = 0o666 & ~previous
    for name in ("report.md", "manifest.json", "pairs.jsonl", "bench.jsonl"):
        assert (finished / name).stat().st_mode & 0o777 == expected, name
