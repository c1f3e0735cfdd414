"""Every kind of run through the one engine: `persona run SPEC.toml` runs it, and a rerun replays it exactly.

The properties are checked once per kind here (parametrized), on the scripted backend: the spec file names its
kind, the run exits 0 and records its kind and spec file, and running it again into the same run dir calls no
model and rewrites the result files byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from published_files import published_frame, write
from survey_files import write_survey
from typer.testing import CliRunner

from persona.cli import app
from persona.data.pairs_dir import import_pairs
from persona.runs import kind_names, load_spec

FAKE = '{ model = "fake/model", max_tokens = 64 }'
# The scripted backend's consistency verdicts are coin flips: enough redraws that no persona slot runs out of them.
POPULATION = "{ max_draws = 20 }"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _specs(tmp_path: Path, model: str = FAKE) -> dict[str, str]:
    """A small spec of each kind, every role on ``model`` (a TOML inline table; default the scripted backend)."""
    prompts = _write(
        tmp_path / "asks.jsonl",
        "".join(
            json.dumps({"text": f"Should town number {i} spend more on its public parks?"}) + "\n" for i in range(6)
        ),
    )
    items = _write(
        tmp_path / "items.jsonl",
        "".join(
            json.dumps({"id": f"i{i}", "question": f"Q{i}?", "answer_a": f"yes {i}", "answer_b": f"no {i}"}) + "\n"
            for i in range(2)
        ),
    )
    survey = tmp_path / "survey" / "town.toml"
    if not survey.exists():  # a survey of the tests' own, its card beside its CSV: what `realism` reads
        write_survey(survey.parent)
    pairs = tmp_path / "published-pairs"
    if not pairs.exists():  # published-layout data, imported and split by persona: what `prefs` evaluates
        import_pairs(write(published_frame(personas=6, prompts=3), tmp_path / "persona.parquet"), pairs, unseen=3)
    return {
        "quickstart": (
            'name = "k"\n[personas]\nn = 1\n[prompts]\nper_persona = 1\n[bench]\nresamples = 100\n'
            f"[models]\ngenerator = {model}\npersona = {model}\njudge = {model}\n"
        ),
        "personas": f'kind = "personas"\nn = 2\nseed = 1\ncategories_per_persona = 1\nmodel = {model}\n',
        "curation": f'kind = "curation"\nsource = "{prompts}"\ntrain = 3\nheldout = 1\nmodel = {model}\n',
        "pairs": (
            'kind = "pairs"\nn_personas = 1\ntrain = 1\ntest_seen = 1\nheldout = 1\n'
            f"[models]\ngenerator = {model}\npersona = {model}\njudge = {model}\n"
        ),
        "bench": (
            'kind = "bench"\nn_personas = 2\nquestions = 1\nmodes = ["no_cot", "summary"]\nresamples = 100\n'
            f"[models]\nresponder = {model}\njudge = {model}\n"
        ),
        "passk": (
            'kind = "passk"\nn_personas = 1\nquestions = 1\nsamples = 2\nk_max = 2\nresamples = 100\n'
            f"[models]\nresponder = {model}\njudge = {model}\n"
        ),
        "loo": (
            'kind = "loo"\nn_personas = 30\nattributes = ["sex"]\npairs = 1\nquestions = 2\nseed = 2\n'
            f"population = {POPULATION}\n"
            f"[models]\nresponder = {model}\nannotator = {model}\n"
        ),
        "annotate": f'kind = "annotate"\nitems = "{items}"\npersonas = "draw:acs12"\nn_personas = 2\nmodel = {model}\n',
        "optimize": (
            'kind = "optimize"\nn_personas = 10\ntrain = 4\nval = 2\neval_items = 2\nseed = 1\nmetric = "proxy"\n'
            f"population = {POPULATION}\n"
            f"[models]\nresponder = {model}\njudge = {model}\n"
        ),
        "elicit": (
            'kind = "elicit"\npersonas = "draw:acs12"\nn_personas = 2\nquestions = 1\nturns = [0, 1]\n'
            f"resamples = 100\n[models]\nresponder = {model}\njudge = {model}\nuser = {model}\n"
        ),
        "diversity": (
            f'kind = "diversity"\npersonas = "{pairs}"\nitems = "{pairs}"\nn_personas = 3\nn_items = 2\n'
            f"model = {model}\n"
        ),
        "realism": (
            f'kind = "realism"\nsurvey = "{survey}"\nrespondents = 6\nmin_group_size = 2\nresamples = 100\n'
            f"[models]\nresponder = {model}\n"
        ),
        "prefs": (
            f'kind = "prefs"\npairs = "{pairs}"\nhistory_k = 1\nmin_group_size = 2\nresamples = 100\n'
            f"[models]\npredictor = {model}\n"
        ),
        # The examples/ plug-ins, through the same engine with the same guarantees: a kind and a responder of a
        # user's own, named by import path, with no edit to the package.
        PLUGIN_KIND: f'kind = "{PLUGIN_KIND}"\nn = 2\nmodel = {model}\n',
        PLUGIN_RESPONDER: (
            f'kind = "bench"\nn_personas = 2\nquestions = 1\nmodes = ["{PLUGIN_RESPONDER}"]\nresamples = 100\n'
            f"[models]\nresponder = {model}\njudge = {model}\n"
        ),
    }


PLUGIN_KIND = "examples.introductions:INTRODUCTIONS"
PLUGIN_RESPONDER = "examples.retrieval:RetrievalResponder"
KIND_OF = {PLUGIN_RESPONDER: "bench"}  # what each spec's `kind` key says, where it is not its name here


def every_kind() -> list[str]:
    """The installed kinds and the examples' plug-ins: what every-kind guarantee is checked for."""
    return [*kind_names(), PLUGIN_KIND, PLUGIN_RESPONDER]


@pytest.mark.parametrize("kind", every_kind())
def test_every_kind_runs_from_its_spec_file_and_replays_with_zero_calls(kind, tmp_path, fake_provider):
    spec_path = _write(tmp_path / "spec.toml", _specs(tmp_path)[kind])
    assert load_spec(spec_path).kind == KIND_OF.get(kind, kind)
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(out), "--concurrency", "2"])
    assert first.exit_code == 0, first.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["kind"] == KIND_OF.get(kind, kind) and manifest["spec_path"] == str(spec_path)
    assert manifest["model_calls"] > 0 and (out / "report.md").is_file()
    calls = len(fake_provider.calls)

    again = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(out)])
    assert again.exit_code == 0, again.output
    replay = json.loads((out / "manifest.json").read_text())
    assert replay["model_calls"] == 0 and len(fake_provider.calls) == calls
    assert replay["files"] == manifest["files"] and replay["files"]
    assert [s["model_calls"] for s in replay["sessions"]] == [manifest["model_calls"], 0]


@pytest.mark.parametrize("kind", every_kind())
def test_every_kind_refuses_a_key_it_does_not_have_with_exit_2_and_nothing_written(kind, tmp_path, fake_provider):
    text = _specs(tmp_path)[kind]
    head, _, tables = text.partition("\n[")  # a top-level key goes before the first table
    spec_path = _write(tmp_path / "spec.toml", f"{head}\nquestionz = 3\n" + (f"[{tables}" if tables else ""))
    result = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {spec_path}: questionz: Extra inputs are not permitted"
    assert not (tmp_path / "run").exists()


def test_an_unknown_kind_names_the_file_and_the_kinds(tmp_path):
    spec_path = _write(tmp_path / "odd.toml", 'kind = "figure-99"\n')
    result = CliRunner().invoke(app, ["run", str(spec_path)])
    assert result.exit_code == 2
    assert f"{spec_path}: kind: unknown kind 'figure-99'; the kinds are {', '.join(kind_names())}" in result.stderr


def test_a_key_the_kind_does_not_have_is_named(tmp_path):
    spec_path = _write(tmp_path / "bench.toml", 'kind = "bench"\nquestionz = 3\n')
    result = CliRunner().invoke(app, ["run", str(spec_path)])
    assert result.exit_code == 2 and f"{spec_path}: questionz: Extra inputs are not permitted" in result.stderr


def test_smoke_applies_its_table_and_puts_every_unnamed_role_on_the_embedded_model(tmp_path):
    spec_path = _write(
        tmp_path / "bench.toml",
        'kind = "bench"\nn_personas = 500\nquestions = 9\n[run]\nconcurrency = 16\nmax_failures = 5\n'
        '[models]\nresponder = { model = "openai/gpt-4o" }\njudge = { model = "openai/gpt-4o-mini" }\n'
        "[smoke]\nn_personas = 2\nrun = { concurrency = 1 }\n",
    )
    full, small = load_spec(spec_path), load_spec(spec_path, smoke=True)
    assert (full.n_personas, full.questions, full.models["judge"].model) == (500, 9, "openai/gpt-4o-mini")
    assert (small.n_personas, small.questions) == (2, 9)  # what [smoke] leaves alone stays
    assert (small.run.concurrency, small.run.max_failures) == (1, 5)  # tables merge one level deep
    assert {config.model for config in small.models.values()} == {"local/smollm2"}
    _write(spec_path, spec_path.read_text() + "questionz = 1\n")
    result = CliRunner().invoke(app, ["run", str(spec_path), "--smoke"])
    assert result.exit_code == 2 and f"{spec_path}: [smoke] questionz: Extra inputs are not permitted" in result.stderr


def test_a_record_its_stage_does_not_declare_fails_its_item_by_name(tmp_path, fake_provider, monkeypatch):
    """A stage's Record is checked as each item is stored: another shape is that item's error, and no row of the
    results holds a field its kind never declared."""
    import examples.introductions as intro

    spec_path = _write(tmp_path / "spec.toml", _specs(tmp_path)[PLUGIN_KIND])
    wrong = intro.personas(load_spec(spec_path))[0].id  # this persona's record gets a field nobody declared

    def misnamed(lms):
        return lambda p: {"introduction": "Hello, neighbour."} | ({"mood": "cheerful"} if p.id == wrong else {})

    monkeypatch.setattr(intro, "introducer", misnamed)
    result = CliRunner().invoke(app, ["run", str(spec_path), "--out", str(tmp_path / "run")])
    rows = [json.loads(line) for line in (tmp_path / "run" / "introductions.jsonl").read_text().splitlines()]
    assert all(set(row) == {"persona_id", "introduction", "error"} for row in rows)
    assert result.exit_code == 1 and "1 items failed" in result.output  # the run goes on, and says so
    assert [row["introduction"] for row in rows if row["persona_id"] != wrong] == ["Hello, neighbour."]
    (failed,) = [row for row in rows if row["persona_id"] == wrong]
    assert failed["introduction"] is None
    assert (failed["error"]["type"], failed["error"]["message"]) == (
        "RecordError",
        "Introduction mood: Extra inputs are not permitted",
    )
