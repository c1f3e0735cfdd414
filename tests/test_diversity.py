"""Preference diversity: how much a population disagrees, by hand and through a run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from published_files import published_frame, write
from typer.testing import CliRunner

from persona.cli import app
from persona.data.io import read_jsonl
from persona.metrics.agreement import kappa_matrix, preference_diversity

runner = CliRunner()


def test_preference_diversity_by_hand():
    # Items q1..q3 over personas p1..p4. q1: a a a b (25% minority: no 30/70 split); q2: a a b b (50/50: a split);
    # q3: b b b b (no split). Pairs alike: p1-p2 3/3, p1-p3 2/3, p1-p4 1/3, p2-p3 2/3, p2-p4 1/3, p3-p4 2/3.
    rows = {"q1": "aaab", "q2": "aabb", "q3": "bbbb"}
    choices = pd.DataFrame(
        [{"persona": f"p{i + 1}", "item": item, "choice": picks[i]} for item, picks in rows.items() for i in range(4)]
    )
    result = preference_diversity(choices, min_split=0.3, label="a")
    assert result["shares"] == {"q1": 0.75, "q2": 0.5, "q3": 0.0}
    assert result["split_share"] == pytest.approx(1 / 3)
    assert result["mean_agreement"] == pytest.approx((3 + 2 + 1 + 2 + 1 + 2) / 3 / 6)
    assert preference_diversity(choices, min_split=0.25, label="a")["split_share"] == pytest.approx(2 / 3)


def test_kappa_between_two_personas_by_hand():
    # p1: a a b b, p2: a b b b. Observed agreement 3/4; chance 0.5 x 0.25 + 0.5 x 0.75 = 0.5; kappa 0.25 / 0.5.
    choices = pd.DataFrame(
        [
            {"annotator": p, "item": f"q{i}", "choice": c}
            for p, picks in (("p1", "aabb"), ("p2", "abbb"))
            for i, c in enumerate(picks)
        ]
    )
    assert kappa_matrix(choices).loc["p1", "p2"] == pytest.approx(0.5)


def test_diversity_runs_on_an_imported_population_and_flags_one_of_one_mind(tmp_path, fake_provider, monkeypatch):
    source = write(published_frame(personas=5, prompts=3), tmp_path / "p.parquet")
    assert runner.invoke(app, ["pairs", "import", str(source), "--out", str(tmp_path / "pairs")]).exit_code == 0
    args = ["agreement", "diversity", "--personas", str(tmp_path / "pairs"), "--items", str(tmp_path / "pairs")]
    result = runner.invoke(app, [*args, "--model", "fake/model", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(tmp_path / "run" / "choices.jsonl")
    assert len(rows) == 5 * 3 and {r["choice"] for r in rows} <= {"answer_a", "answer_b"}
    metrics = json.loads((tmp_path / "run" / "manifest.json").read_text())["metrics"]
    assert metrics["personas"] == 5 and metrics["items"] == 3 and len(metrics["kappa"]) == 5
    shares = {i: sum(r["choice"] == "answer_a" for r in rows if r["item_id"] == i) / 5 for i in metrics["shares"]}
    assert metrics["shares"] == shares
    assert (tmp_path / "run" / "kappa.png").is_file() and "Preference diversity" in (
        tmp_path / "run" / "report.md"
    ).read_text()

    # A population whose every persona picks the generic answer splits on nothing: flagged homogeneous.
    import persona.programs.bench as bench

    class OneMind:
        def __init__(self, lm):
            pass

        def __call__(self, persona, question, answer_a, answer_b):
            generic = "A" if answer_a.startswith("A generic") else "B"
            return type("Verdict", (), {"choice": generic, "reasoning": "the usual"})()

    monkeypatch.setattr(bench, "RolePlayAnnotator", OneMind)
    same = runner.invoke(app, [*args, "--model", "fake/model", "--seed", "1", "--out", str(tmp_path / "same")])
    assert same.exit_code == 0, same.output
    flat = json.loads((tmp_path / "same" / "manifest.json").read_text())["metrics"]
    assert (flat["homogeneous"], flat["split_share"], flat["mean_agreement"]) == (True, 0.0, 1.0)
    assert set(flat["shares"].values()) == {1.0}  # answer_a of a pairs run dir is its generic answer
    assert "**Homogeneous**" in (tmp_path / "same" / "report.md").read_text()
