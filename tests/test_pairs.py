"""Preference datasets: the paper's layout, verification records, export round trips and the CLI."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from persona.cli import app
from persona.data.export import COLUMNS, PairsFormatError, export_pairs, load_pairs, pairs_table
from persona.experiments.pairs import PairsSpec, generate_pairs

FAKE = {"model": "fake/model", "max_tokens": 64}  # validated once the fake provider is registered


def _spec(**overrides) -> PairsSpec:
    values = {"n_personas": 3, "train": 4, "test_seen": 2, "heldout": 2, "seed": 5}
    values["models"] = {"generator": FAKE, "persona": FAKE, "judge": FAKE}
    return PairsSpec(**(values | overrides))


@pytest.fixture
def built(tmp_path, fake_provider):
    return generate_pairs(_spec(), out=tmp_path / "run")


def test_layout_per_persona_follows_the_spec_and_never_mixes_splits(built):
    pairs = built.pairs
    assert len(pairs) == 3 * (4 + 2 + 2)
    per_persona = Counter((p["persona_id"], p["split"]) for p in pairs)
    assert set(per_persona.values()) == {4, 2} and len({p for p, _ in per_persona}) == 3
    for persona in {p["persona_id"] for p in pairs}:
        mine = [p for p in pairs if p["persona_id"] == persona]
        assert len({p["prompt_id"] for p in mine}) == len(mine)  # no prompt twice for one persona
    curated_heldout = {p["prompt_id"] for p in pairs if p["split"] == "test_heldout"}
    assert not curated_heldout & {p["prompt_id"] for p in pairs if p["split"] != "test_heldout"}
    assert all(p["generator"] == "fake/model" and isinstance(p["chosen_tokens"], int) for p in pairs)


def test_verification_records_and_report(built):
    run_dir = built.run_dir
    checks = [json.loads(line) for line in (run_dir / "verification.jsonl").read_text().splitlines()]
    assert len(checks) == len(built.pairs) and all(c["error"] is None for c in checks)
    m = built.manifest.metrics
    agreement = sum(c["prefers_chosen"] for c in checks) / len(checks)
    assert m.agreement_with_chosen.value == pytest.approx(agreement)
    assert m.picked_first.value == pytest.approx(sum(c["picked_first"] for c in checks) / len(checks))
    # Un-swapping: the annotator preferred the chosen side exactly when its pick matched the chosen position.
    assert all(c["prefers_chosen"] == (c["picked_first"] == c["chosen_shown_first"]) for c in checks)
    assert 0 < sum(c["chosen_shown_first"] for c in checks) < len(checks)
    assert "annotator prefers the chosen side" in (run_dir / "report.md").read_text()


def test_rerun_replays_without_calls(tmp_path, fake_provider):
    generate_pairs(_spec(), out=tmp_path / "run")
    calls = len(fake_provider.calls)
    snapshot = (tmp_path / "run" / "pairs.jsonl").read_bytes()
    again = generate_pairs(_spec(), out=tmp_path / "run")
    assert len(fake_provider.calls) == calls and again.manifest.model_calls == 0
    assert (tmp_path / "run" / "pairs.jsonl").read_bytes() == snapshot


@pytest.mark.parametrize("fmt", ["parquet", "hf"])
def test_export_round_trips(built, tmp_path, fmt):
    paths = export_pairs(built.run_dir, fmt, tmp_path / fmt)
    loaded = load_pairs(paths[0].parent if fmt == "parquet" else paths[0])
    original = pairs_table(built.run_dir)
    key = ["split", "persona_id", "prompt_id"]
    left = loaded[list(COLUMNS)].sort_values(key).reset_index(drop=True)
    right = original.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


def test_trl_export_puts_the_persona_in_the_system_turn(built, tmp_path):
    paths = export_pairs(built.run_dir, "trl", tmp_path / "trl")
    assert [p.name for p in paths] == ["train.jsonl", "test_seen.jsonl", "test_heldout.jsonl"]
    records = [json.loads(line) for line in paths[0].read_text().splitlines()]
    table = pairs_table(built.run_dir)
    train = table[table["split"] == "train"].reset_index(drop=True)
    assert len(records) == len(train)
    first = records[0]
    assert [m["role"] for m in first["prompt"]] == ["system", "user"]
    assert first["prompt"][0]["content"] == train.loc[0, "persona"] and first["prompt"][0]["content"].startswith("age:")
    assert first["chosen"] == [{"role": "assistant", "content": train.loc[0, "chosen"]}]
    assert first["rejected"][0]["content"] == train.loc[0, "rejected"]


def test_loader_names_the_file_and_missing_columns(tmp_path):
    pd.DataFrame({"prompt": ["Q?"], "chosen": ["a"]}).to_parquet(tmp_path / "train.parquet")
    with pytest.raises(PairsFormatError, match=r"missing columns \['persona_id', 'persona', 'rejected'\]"):
        load_pairs(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PairsFormatError, match=r"empty: no \*.parquet files"):
        load_pairs(tmp_path / "empty")
    with pytest.raises(PairsFormatError, match=r"missing: no such file"):
        load_pairs(tmp_path / "missing")


def test_too_few_prompts_for_the_layout_is_a_clear_error(tmp_path, fake_provider):
    with pytest.raises(ValueError, match=r"each persona needs 500 train-split and 2 held-out prompts"):
        generate_pairs(_spec(train=498), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_cli_pairs_generate_and_export(tmp_path, fake_provider):
    out = tmp_path / "run"
    args = ["pairs", "generate", "--model", "fake/model", "--n-personas", "2", "--train", "2", "--test-seen", "1"]
    result = CliRunner().invoke(app, [*args, "--heldout", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pairs: 4 train, 2 test_seen, 2 test_heldout; 0 failed" in result.output
    exported = CliRunner().invoke(app, ["pairs", "export", str(out), "--format", "trl"])
    assert exported.exit_code == 0 and (out / "export" / "train.jsonl").exists()
    bad = CliRunner().invoke(app, ["pairs", "export", str(out), "--format", "csv"])
    assert bad.exit_code == 2 and "unknown export format" in bad.output


def test_a_spec_with_unseen_splits_whole_personas_and_keeps_its_old_fingerprint_without(tmp_path, fake_provider):
    plain = _spec()
    assert _spec(unseen=None).fingerprint() == plain.fingerprint()  # old run dirs keep claiming their spec
    split = _spec(n_personas=3, unseen=1)
    assert split.fingerprint() != plain.fingerprint()
    result = generate_pairs(split, out=tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    sides = {r["persona_id"]: {x["persona_split"] for x in rows if x["persona_id"] == r["persona_id"]} for r in rows}
    assert sorted(len(s) for s in sides.values()) == [1, 1, 1]  # each persona on one side only
    assert sorted(next(iter(s)) for s in sides.values()) == ["test_unseen", "train", "train"]
    assert list(rows[0])[:4] == ["persona_id", "prompt_id", "split", "persona_split"]
    counts = result.manifest.metrics.persona_splits
    assert counts["test_unseen"]["personas"] == 1 and counts["train"]["personas"] == 2
    assert "Persona split (no persona on both sides): train 2 personas" in (tmp_path / "report.md").read_text()
