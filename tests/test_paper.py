"""The paper's experiments as spec files: each loads at paper scale with remote models, and runs in smoke mode.

Smoke mode is checked twice: every spec, in the order the experiments depend on each other, on the scripted
backend; and the bench and pairs specs on the real embedded model, exactly as `persona run SPEC --smoke` runs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from persona.cli import app
from persona.lm import ModelConfig
from persona.runs import load_spec, run_spec

PAPER = Path(__file__).resolve().parents[1] / "runs" / "paper"
# In the order the experiments depend on each other: prefs and history read pairs', agreement reads loo's.
ORDER = (
    "personas",
    "curation",
    "pairs",
    "prefs",
    "history",
    "bench",
    "elicit",
    "summary",
    "passk",
    "loo",
    "agreement",
    "realism",
)


def _roles(spec) -> dict[str, ModelConfig]:
    return dict(spec.models) if hasattr(spec, "models") else {"model": spec.model}


def test_every_paper_spec_is_here_and_loads_at_paper_scale_with_a_fixed_judge():
    assert sorted(p.stem for p in PAPER.glob("*.toml")) == sorted(ORDER)
    for name in ORDER:
        spec = load_spec(PAPER / f"{name}.toml")
        roles = _roles(spec)
        assert all(not config.model.startswith("local/") for config in roles.values()), name
        assert all(config.api_key_env == "OPENAI_API_KEY" for config in roles.values()), name
        if "judge" in roles and "responder" in roles:
            assert roles["judge"].model != roles["responder"].model, name  # the judge is not the model under test
        assert str(spec.out).startswith("outputs/paper/"), name
    assert load_spec(PAPER / "pairs.toml").train == 100 and load_spec(PAPER / "personas.toml").n == 1586
    passk = load_spec(PAPER / "passk.toml")
    assert (passk.mode, passk.samples, passk.k_max) == ("cot", 16, 16)
    loo = load_spec(PAPER / "loo.toml")
    assert (loo.pairs, loo.base_size, loo.questions) == (40, 3, 20)


def test_smoke_versions_are_small_offline_and_write_elsewhere():
    for name in ORDER:
        spec = load_spec(PAPER / f"{name}.toml", smoke=True)
        assert all(config.model == "local/smollm2" for config in _roles(spec).values()), name
        assert str(spec.out).startswith("outputs/paper-smoke/"), name


def test_every_paper_spec_runs_in_smoke_mode_on_the_scripted_backend(tmp_path, monkeypatch, fake_provider):
    monkeypatch.chdir(tmp_path)  # the specs' relative run dirs land here
    scripted = ModelConfig(model="fake/model", max_tokens=64)
    for name in ORDER:
        spec = load_spec(PAPER / f"{name}.toml", smoke=True)
        fake = {"models": dict.fromkeys(spec.models, scripted)} if hasattr(spec, "models") else {"model": scripted}
        result = run_spec(spec.model_copy(update=fake), spec_path=PAPER / f"{name}.toml")
        assert result.manifest.exit_code == 0, (name, result.manifest.failures)
        assert result.run_dir == Path(spec.out) and (tmp_path / spec.out / "manifest.json").is_file()
    assert (tmp_path / "outputs/paper-smoke/agreement/annotations.jsonl").read_text().count("\n") == 2 * 2


@pytest.mark.local_model
@pytest.mark.parametrize("name", ["bench", "pairs"])
def test_bench_and_pairs_smoke_on_the_embedded_model(name, tmp_path):
    result = CliRunner().invoke(app, ["run", str(PAPER / f"{name}.toml"), "--smoke", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["model_calls"] > 0 and {m["model"] for m in manifest["models"].values()} == {"local/smollm2"}
