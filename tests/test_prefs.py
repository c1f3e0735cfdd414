"""Preference prediction (`prefs`): predictors on standard and contrast pairs, and the metrics that say whom they
fail. The metric functions are checked against values worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from published_files import published_frame, write
from typer.testing import CliRunner

from persona.cli import app
from persona.data.io import read_jsonl
from persona.metrics.prefs import (
    brier,
    clustered_mean,
    expected_calibration_error,
    group_accuracy,
    group_of,
    position_consistency,
    worst_and_gap,
)

runner = CliRunner()
FAKE = '{ model = "fake/model", max_tokens = 64 }'
PLUGIN = "examples.predictor:WordOverlap"


@pytest.fixture
def split_pairs(tmp_path: Path) -> Path:
    """A published-layout file of 8 personas x 4 shared prompts, imported and split 4 / 4 by persona."""
    source = write(published_frame(personas=8, prompts=4), tmp_path / "persona.parquet")
    made = runner.invoke(app, ["pairs", "import", str(source), "--out", str(tmp_path / "pairs"), "--unseen", "4"])
    assert made.exit_code == 0, made.output
    return tmp_path / "pairs"


def _spec(tmp_path: Path, pairs: Path, extra: str = "") -> Path:
    text = (
        f'kind = "prefs"\npairs = "{pairs}"\npredictors = ["profile", "blind", "history", "{PLUGIN}"]\n'
        f"history_k = 2\nmin_group_size = 2\nresamples = 200\n{extra}[models]\npredictor = {FAKE}\n"
    )
    path = tmp_path / "prefs.toml"
    path.write_text(text)
    return path


def test_prefs_runs_every_predictor_on_unseen_personas_and_replays(tmp_path, split_pairs, fake_provider):
    spec = _spec(tmp_path, split_pairs)
    out = tmp_path / "run"
    first = runner.invoke(app, ["run", str(spec), "--out", str(out)])
    assert first.exit_code == 0, first.output
    rows = read_jsonl(out / "prefs.jsonl")
    pairs = read_jsonl(split_pairs / "pairs.jsonl")
    unseen = {p["persona_id"] for p in pairs if p["persona_split"] == "test_unseen"}
    assert {r["persona_id"] for r in rows} == unseen and len(unseen) == 4  # only unseen people are evaluated
    assert {r["prompt_split"] for r in rows} == {"test_heldout"}  # their train pairs are history, never asked
    assert all(r["error"] is None and r["correct"] is not None for r in rows)
    # 4 personas x 1 test prompt: 4 standard pairs; 2 contrast couples = 4 units; x 4 predictors x 2 orders
    assert len(rows) == (4 + 4) * 4 * 2
    manifest = json.loads((out / "manifest.json").read_text())
    scores = manifest["metrics"]["scores"]
    assert scores["contrast"]["blind"]["accuracy"]["value"] == 0.5  # blind to who asks: right exactly once a couple
    assert scores["standard"][PLUGIN]["brier"] is not None and scores["standard"]["profile"]["brier"] is None
    assert {"groups.png", "groups-contrast.png", "calibration.png"} <= set(manifest["files"])
    report = (out / "report.md").read_text()
    assert "| contrast | profile | sex |" in report and "gain over blind" in report
    calls = len(fake_provider.calls)
    again = runner.invoke(app, ["run", str(spec), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "manifest.json").read_text())["model_calls"] == 0 and len(fake_provider.calls) == calls
    assert read_jsonl(out / "prefs.jsonl") == rows


def _user_of(call: dict) -> str:
    text = call["messages"][-1]["content"]
    return text.split("[[ ## user ## ]]")[1].split("[[ ## question ## ]]")[0]


def test_each_builtin_predictor_sees_only_what_it_is_meant_to(tmp_path, split_pairs, fake_provider):
    spec = _spec(tmp_path, split_pairs, 'sets = ["standard"]\n')
    spec.write_text(spec.read_text().replace(f', "{PLUGIN}"', ""))
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    pairs = read_jsonl(split_pairs / "pairs.jsonl")
    evaluated = {p["prompt"] for p in pairs if p["split"] != "train"}
    users = [_user_of(call) for call in fake_provider.calls]
    histories = [u for u in users if "earlier choices" in u]
    profiles = [u for u in users if "political views:" in u]
    blind = [u for u in users if "Nothing is known about this user" in u]
    assert len(histories) == len(profiles) == len(blind) == 8  # 4 pairs x 2 orders each
    for user in histories:
        assert "political views" not in user and not any(question in user for question in evaluated)
        assert user.count("Earlier question") == 2  # history_k
    own = {p["persona_id"]: [q["prompt"] for q in pairs if q["persona_id"] == p["persona_id"]][:2] for p in pairs}
    assert any(all(q in user for q in own[pid]) for user in histories for pid in own)


def test_a_predictor_that_does_not_choose_a_or_b_fails_that_pair_and_is_counted(
    tmp_path, split_pairs, fake_provider, monkeypatch
):
    unseen = sorted({p["persona_id"] for p in read_jsonl(split_pairs / "pairs.jsonl") if p["persona_split"] != "train"})
    (tmp_path / "shaky.py").write_text(
        "class Shaky:\n"
        "    def __call__(self, ask):\n"
        f"        return 'C' if ask.persona.id == {unseen[0]!r} else {{'preferred': 'A', 'p_a': 0.9}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "shaky.toml"
    spec.write_text(
        f'kind = "prefs"\npairs = "{split_pairs}"\npredictors = ["shaky:Shaky"]\nsets = ["standard"]\n'
        f"[models]\npredictor = {FAKE}\n"
    )
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output  # the run goes on, and says items failed
    rows = read_jsonl(tmp_path / "run" / "prefs.jsonl")
    failed = [r for r in rows if r["error"] is not None]
    assert [r["persona_id"] for r in failed] == [unseen[0]] * 2 and all(r["correct"] is None for r in failed)
    assert failed[0]["error"]["type"] == "PredictorError" and "'C'" in failed[0]["error"]["message"]
    metrics = json.loads((tmp_path / "run" / "manifest.json").read_text())["metrics"]
    score = metrics["scores"]["standard"]["shaky:Shaky"]
    assert score["failed"] == 1 and score["accuracy"]["n"] == 3 and score["brier"] is not None


def test_an_unknown_predictor_or_a_data_without_persona_split_is_named(tmp_path, fake_provider):
    source = write(published_frame(personas=3, prompts=2), tmp_path / "p.parquet")
    assert runner.invoke(app, ["pairs", "import", str(source), "--out", str(tmp_path / "pairs")]).exit_code == 0
    bad = runner.invoke(app, ["prefs", "run", "--pairs", str(tmp_path / "pairs"), "--predictors", "oracle"])
    assert bad.exit_code == 2 and "unknown predictor 'oracle'" in bad.output
    missing = runner.invoke(app, ["prefs", "run", "--pairs", str(tmp_path / "pairs"), "--predictors", "nomod.x:Y"])
    assert missing.exit_code == 2 and "nomod.x:Y" in missing.output and "No module named 'nomod'" in missing.output
    unsplit = runner.invoke(
        app,
        ["prefs", "run", "--pairs", str(tmp_path / "pairs"), "--split", "test_unseen/test", "--model", "fake/model"],
    )
    assert unsplit.exit_code == 2 and "not split by persona" in " ".join(unsplit.output.split())


# The metrics, by hand.


def test_a_persona_clustered_interval_is_wider_than_one_over_pairs():
    # Persona x right on 10 of 10 pairs, persona y on 0 of 10. Resampling the two personas gives means 1, 0.5
    # or 0 with chances 1/4, 1/2, 1/4: the 95% interval is [0, 1]. Resampling 20 independent pairs would give
    # about 0.5 +- 0.22.
    estimate = clustered_mean([1.0] * 10 + [0.0] * 10, ["x"] * 10 + ["y"] * 10, resamples=2000, seed=0)
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (0.5, 0.0, 1.0, 20)
    same = clustered_mean([1.0, 0.0, 1.0, 0.0], ["x", "x", "y", "y"])
    assert (same.low, same.high) == (0.5, 0.5)  # every persona scores alike: nothing varies between them


def test_brier_ece_and_position_consistency_by_hand():
    assert brier([1.0, 0.5, 0.0]) == pytest.approx((0 + 0.25 + 1) / 3)
    # Bins of width 0.1: 0.15 and 0.15 (observed 1, 0: share 0.5, gap 0.35), 0.95 (observed 1: gap 0.05).
    ece = expected_calibration_error([0.15, 0.15, 0.95], [True, False, True])
    assert ece == pytest.approx((2 * 0.35 + 1 * 0.05) / 3)
    assert position_consistency([True, True, False, False], [True, False, False, True]) == 0.5
    assert math.isnan(brier([]))


def test_groups_worst_group_and_gap_by_hand():
    personas = {
        "a": {"sex": "Female", "age": "25"},
        "b": {"sex": "Female", "age": "70"},
        "c": {"sex": "Male", "age": "40"},
        "d": {"sex": "Male", "age": None},
        "e": {"sex": "Other", "age": "33"},
    }
    scores = pd.DataFrame(
        {"persona_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e"], "score": [1, 1, 1, 0, 0, 0, 0.5, 0, 0]}
    )
    table = group_accuracy(scores, personas, ["sex", "age band"], min_size=2, resamples=100)
    sex = table[table["attribute"] == "sex"].set_index("group")
    assert sex.loc["Female", "accuracy"] == 0.75 and sex.loc["Male", "accuracy"] == pytest.approx(0.125)
    assert not sex.loc["Other", "ranked"] and sex.loc["Other", "accuracy"] == 0  # too small to be the worst
    ages = table[table["attribute"] == "age band"].set_index("group")
    assert set(ages.index) == {"18-29", "30-44", "65+"} and ages.loc["30-44", "personas"] == 2  # d has no age
    assert ages.loc["30-44", "accuracy"] == 0 and not ages.loc["18-29", "ranked"]
    worst, gap = worst_and_gap(table)  # ranked: Female 0.75, Male 0.125, 30-44 0.0
    assert worst == {"attribute": "age band", "group": "30-44", "accuracy": 0.0}
    assert gap == 0.75
    alike = table.assign(accuracy=0.5)
    assert worst_and_gap(alike) == (None, 0.0)  # no group is served worse than another
    assert group_of("income band", {"income": "178900"}) == "$100k+" and group_of("age band", {"age": "x"}) is None
