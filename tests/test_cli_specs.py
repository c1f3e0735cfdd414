"""The command line builds the same specs a spec file does and holds no defaults of its own."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

import persona.runs
from persona.cli import app
from persona.cli.flags import EXECUTION
from persona.runs import kind_names, load_spec
from persona.runs.spec import default_spec, spec_class

# Each experiment's subcommand, with the arguments it cannot run without.
COMMANDS = {
    "personas": ["personas", "generate"],
    "curation": ["prompts", "curate"],
    "pairs": ["pairs", "generate"],
    "bench": ["bench", "run"],
    "passk": ["bench", "passk"],
    "loo": ["bench", "loo"],
    "annotate": ["agreement", "annotate", "--items", "items.jsonl", "--personas", "draw:acs12"],
    "optimize": ["optimize"],
    "prefs": ["prefs", "run", "--pairs", "pairs"],
    "diversity": ["agreement", "diversity", "--personas", "p", "--items", "i"],
    "elicit": ["bench", "elicit"],
    "realism": ["survey", "realism"],
}
REQUIRED = {
    "annotate": {"items": "items.jsonl", "personas": "draw:acs12"},
    "prefs": {"pairs": "pairs"},
    "diversity": {"personas": "p", "items": "i"},
}


class CapturedError(Exception):
    """Raised by the stand-in for run_spec, carrying the spec the command built."""


@pytest.fixture
def built(monkeypatch):
    """The spec a command line builds, without running it."""

    def capture(spec, **_):
        raise CapturedError(spec)

    monkeypatch.setattr(persona.runs, "run_spec", capture)

    def build(args: list[str]):
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, CapturedError), result.output
        return result.exception.args[0]

    return build


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_a_subcommand_without_flags_builds_the_spec_classs_defaults(kind, built):
    assert built(COMMANDS[kind]) == spec_class(kind).model_validate(REQUIRED.get(kind, {}))


def test_flags_land_on_their_spec_keys_and_roles_keep_their_defaults(built):
    spec = built(["bench", "run", "--judge", "openai/gpt-4o", "--n", "3", "--modes", "cot,summary", "--no-subtlety"])
    assert (spec.n_personas, spec.modes, spec.subtlety) == (3, ["cot", "summary"], False)
    judge, responder = spec.models["judge"], spec.models["responder"]
    assert (judge.model, judge.max_tokens, judge.extra) == ("openai/gpt-4o", 160, {})  # no local-only penalty
    assert responder.model == "local/smollm2" and responder.extra  # the repeat penalty of local models

    pairs = built(["pairs", "generate", "--model", "openai/gpt-4o-mini", "--annotator", "openai/gpt-4o"])
    assert [pairs.models[role].model for role in ("generator", "persona", "judge")] == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o-mini",  # the critic runs on the generator's backend unless named
        "openai/gpt-4o",
    ]
    curation = built(["prompts", "curate", "--split", "30:10", "--model", "ollama/llama3"])
    assert (curation.train, curation.heldout, curation.model.model) == (30, 10, "ollama/llama3")


def test_a_role_left_out_borrows_the_named_roles_backend_but_keeps_its_own_length(built):
    spec = built(["bench", "loo", "--annotator", "hosted_vllm/m", "--api-base", "http://gpu:8000/v1"])
    annotator, responder = spec.models["annotator"], spec.models["responder"]
    assert (
        (responder.model, responder.api_base)
        == (annotator.model, annotator.api_base)
        == (
            "hosted_vllm/m",
            "http://gpu:8000/v1",
        )
    )
    assert (annotator.max_tokens, responder.max_tokens) == (160, 200)


def test_a_bad_flag_value_is_named_by_its_flag(tmp_path):
    result = CliRunner().invoke(app, ["bench", "run", "--judge", "opnai/gpt-4o", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.stderr.startswith("error: --judge: ")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", kind_names())
def test_persona_spec_prints_every_default_as_toml_that_loads_back_to_the_same_spec(kind, tmp_path):
    result = CliRunner().invoke(app, ["spec", kind])
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{kind}.toml"
    path.write_text(result.stdout)
    assert f'kind = "{kind}"' in result.stdout
    loaded = load_spec(path)
    expected = {"name": kind} if kind == "quickstart" else {n: f"<{n}>" for n in REQUIRED.get(kind, {})}
    assert loaded == spec_class(kind).model_validate(expected)


def _click_command(args: list[str]):
    command = typer.main.get_command(app)
    for name in args:
        if name.startswith("--"):
            break
        command = command.commands[name]
    return command


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_every_flag_of_a_kind_shows_the_default_its_spec_has(kind):
    """--help reads each default from the spec: the spec's default rendered, never one of the command's own."""
    default = default_spec(kind)
    command = _click_command(COMMANDS[kind])
    params = command.get_params(command.make_context("persona", []))
    shown = {p.name: p for p in params if p.name not in EXECUTION and p.name != "help"}
    assert shown
    for name, param in shown.items():
        assert isinstance(param.show_default, str) and param.help, name
    if "seed" in shown:
        assert shown["seed"].show_default == str(default.seed)
    if "questions" in shown:
        assert shown["questions"].show_default == str(default.questions)


def test_help_shows_what_the_paper_defaults_are_and_refuses_values_out_of_the_specs_bounds():
    result = CliRunner().invoke(app, ["bench", "passk", "--help"], env={"COLUMNS": "200"})
    samples = next(line for line in result.stdout.splitlines() if "--samples" in line)
    mode = next(line for line in result.stdout.splitlines() if "--mode " in line)
    assert "[default: (16)]" in samples and "x>=1" in samples  # bound from the spec's gt=0
    assert "(cot)" in mode
    refused = CliRunner().invoke(app, ["bench", "passk", "--samples", "0"])
    assert refused.exit_code == 2 and "--samples" in refused.output


def test_run_help_shows_the_smoke_table_by_name():
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "[smoke] table" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["agreement", "annotate", "--items", "items.jsonl"],
        ["annotate", "create", "--items", "items.jsonl"],
    ],
)
def test_a_bare_census_source_is_refused_where_no_pipeline_builds_personas(args, tmp_path):
    """``acs12`` means the full pipeline's personas in every kind; where none is built, only ``draw:acs12`` draws."""
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "q1", "question": "Q?", "answer_a": "A", "answer_b": "B"}\n')
    args = [str(items) if arg == "items.jsonl" else arg for arg in args]
    result = CliRunner().invoke(app, [*args, "--personas", "acs12", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "ask for a bare procedural draw by name: draw:acs12" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
