"""The CLI surface: help, models, one-line errors with a nonzero exit."""

from typer.testing import CliRunner

from persona.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "quickstart", "models"):
        assert command in result.output


def test_models_shows_the_embedded_model():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0 and "local/smollm2" in result.output


def test_bad_spec_is_one_line_and_exit_2(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "x"\n[models.judge]\nmodel = "opnai/gpt-4o"\n')
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "models.judge.model" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_missing_spec_file_exit_2(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2 and "no such run spec" in result.stderr


def test_run_on_the_scripted_backend_prints_a_summary(tmp_path, fake_provider):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "cli"\n[personas]\nn = 1\n[prompts]\nper_persona = 1\n'
        + "".join(f'[models.{role}]\nmodel = "fake/model"\n' for role in ("generator", "persona", "judge"))
    )
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "bench pass rate" in result.output and (tmp_path / "out" / "manifest.json").is_file()
