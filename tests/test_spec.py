"""Run-spec validation: every bad spec is one clear error naming the file and the field."""

from pathlib import Path

import pytest

from persona.experiments.quickstart import RunSpec
from persona.runs import SpecError, load_spec, quickstart_spec_path

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_bundled_quickstart_is_valid_and_is_the_repo_file():
    spec = load_spec(quickstart_spec_path())
    assert spec.name == "quickstart" and set(spec.models) == set(RunSpec.ROLES)
    assert (REPO / "runs" / "quickstart.toml").read_text() == quickstart_spec_path().read_text()


def test_missing_roles_default_to_the_embedded_model(tmp_path):
    spec = load_spec(_write(tmp_path, 'name = "x"\n'))
    assert {c.model for c in spec.models.values()} == {"local/smollm2"}
    assert spec.default_dir() == Path("outputs/x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n[personas]\nn = 0\n', r"personas\.n: Input should be greater than 0"),
        ('name = "x"\n[models.judge]\nmodel = "opnai/gpt-4o"\n', r"models\.judge\.model: .*unknown provider 'opnai'"),
        (
            'name = "x"\n[models.critic]\nmodel = "local/smollm2"\n',
            r"models: unknown model roles \['critic'\]; the roles are generator, judge, persona",
        ),
        ('name = "x"\nsed = 1\n', r"sed: Extra inputs are not permitted"),
        ("seed = 1\n", r"name: Field required"),
        ('name = "x"\n[models.judge]\ntemperature = 9\n', r"models\.judge\.temperature"),
        ('name = "a b"\n', r"name: String should match pattern"),
        ('name = "x\n', r"not valid TOML"),
    ],
)
def test_bad_specs_name_file_and_field(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError, match=message) as error:
        load_spec(path)
    assert str(error.value).startswith(str(path))


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="no such run spec"):
        load_spec(tmp_path / "nope.toml")
