"""Persona population: age rules, procedural attributes, the check/redraw/fill program, and the generate run."""

from __future__ import annotations

import json
from collections import Counter

import dspy
import numpy as np
import pytest
from dspy.utils import DummyLM
from pums_files import write_pums
from typer.testing import CliRunner

from persona.cli import app
from persona.data.attributes import age_group, sample_politics, sample_traits, traits
from persona.data.census import acs12_sample
from persona.data.population import PROFILE_CATEGORIES, draw_profile, profile_plan, sample_personas
from persona.data.pums import read_pums, resolve_source
from persona.data.rules import TOO_YOUNG_FOR_POLITICS, apply_age_rules, school_grade
from persona.data.sources import load_source
from persona.experiments.personas import PopulationSpec, generate_personas, report
from persona.lm import ModelConfig
from persona.metrics.fidelity import categories, compare
from persona.programs.population import ConsistencyCheck, NoConsistentProfileError, OpenEndedFiller, PersonaBuilder


@pytest.fixture(scope="module")
def pums_sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pums")
    write_pums(folder, rows=3000, seed=5)
    return read_pums(*resolve_source(folder))


def test_a_ten_year_old_is_never_married_jobless_and_in_grade_school():
    person = {"age": "10", "sex": "Female", "marital status": "Married", "income": "52000", "education": None}
    person |= {"occupation category": "Legal", "employment status": "Employed", "veteran status": "Veteran"}
    ruled = apply_age_rules(person, detailed_education=False)
    assert ruled["marital status"] == "Never married or under 15 years old" and ruled["income"] == "0"
    assert ruled["occupation category"] is None and ruled["employment status"] is None
    assert ruled["veteran status"] is None and ruled["fertility"] is None
    assert ruled["education"] == "Grade 5" and ruled["political views"] == TOO_YOUNG_FOR_POLITICS
    assert [school_grade(a) for a in (2, 4, 5, 6, 17, 19)] == [
        None,
        "Nursery school, preschool",
        "Kindergarten",
        "Grade 1",
        "Grade 12",
        "Grade 12",
    ]


def test_rules_hold_on_every_persona_drawn_from_scrambled_census_rows(pums_sample):
    # The fixture's codes are drawn independently, so it is full of impossible rows for the rules to fix.
    for persona in sample_personas(400, seed=1, source=pums_sample):
        a = persona.attributes
        age = int(a["age"])
        if age < 15:
            assert a["marital status"] == "Never married or under 15 years old" and a["income"] == "0"
        if age < 16:
            assert a["occupation category"] is None and a["class of worker"] is None
        if age < 17:
            assert a["veteran status"] is None
        if a["fertility"] is not None:
            assert a["sex"] == "Female" and 15 <= age <= 50
        if age < 18:
            assert a["political views"] == a["ideology"] == TOO_YOUNG_FOR_POLITICS
            assert a["big five scores"] is None and a["religion"] is None
        else:
            assert a["political views"] != TOO_YOUNG_FOR_POLITICS and a["big five scores"].startswith("Openness:")


def test_traits_are_age_appropriate_and_lists_are_long_enough():
    lists = traits()
    for attribute, groups in lists.items():
        assert len(set().union(*groups.values())) >= 60, attribute
    rng = np.random.default_rng(0)
    adult_only = set(lists["personal time"]["adult"]) - set(lists["personal time"]["child"])
    child_draws = {sample_traits(rng, 8)["personal time"] for _ in range(300)}
    assert child_draws <= set(lists["personal time"]["child"]) and not child_draws & adult_only
    assert [age_group(a) for a in (0, 12, 13, 17, 18, 64, 65)] == [
        "child",
        "child",
        "teen",
        "teen",
        "adult",
        "adult",
        "senior",
    ]


def test_politics_are_conditioned_on_the_gss_respondents_like_the_persona():
    rng = np.random.default_rng(0)

    def democratic_share(person):
        draws = [sample_politics(rng, person)[0] for _ in range(1500)]
        return sum("Democrat" in d for d in draws) / len(draws)

    base = {"age": "45", "sex": "Male", "education": "Regular high school diploma"}
    black = democratic_share(base | {"race": "Black or African American alone"})
    white = democratic_share(base | {"race": "White alone"})
    assert black > white + 0.25  # GSS 2018: Black respondents identify as Democrats far more often


def test_profile_plan_covers_categories_evenly_without_repeats():
    plan = profile_plan(50, seed=3, per_persona=3)
    counts = Counter(c for slot in plan for c in slot)
    assert set(counts) == set(PROFILE_CATEGORIES) and max(counts.values()) - min(counts.values()) <= 1
    assert all(len(set(slot)) == 3 for slot in plan)
    assert plan == profile_plan(50, seed=3, per_persona=3) and plan != profile_plan(50, seed=4, per_persona=3)


def _rejecting_then_accepting():
    return DummyLM(
        [
            {"problems": "a toddler with a salary", "consistent": False},
            {"problems": "none", "consistent": True},
        ]
    )


def test_builder_redraws_rejected_profiles_deterministically():
    source = acs12_sample()
    built = PersonaBuilder(source, seed=9, min_age=18, checker=ConsistencyCheck(_rejecting_then_accepting()))(slot=4)
    assert [d["consistent"] for d in built.draws] == [False, True]
    assert built.persona == draw_profile(source, 9, 4, draw=1, min_age=18)  # the second candidate of slot 4
    assert built.draws[0]["id"] == draw_profile(source, 9, 4, draw=0, min_age=18).id


def test_builder_gives_up_after_max_draws():
    lm = DummyLM([{"problems": "impossible", "consistent": False}] * 3)
    builder = PersonaBuilder(acs12_sample(), seed=0, max_draws=3, checker=ConsistencyCheck(lm))
    with pytest.raises(NoConsistentProfileError, match="all 3 draws"):
        builder(slot=0)
    assert len(lm.history) == 3


def test_filler_writes_a_job_for_adults_and_the_chosen_categories():
    adult = draw_profile(acs12_sample(), 0, 0, min_age=30)
    lm = DummyLM([{"sentence": "Runs a bakery."}, {"sentence": "Honesty first."}, {"sentence": "Heights."}])
    filled = OpenEndedFiller(lm)(persona=adult, categories=["core values", "fears"]).persona
    assert filled.attributes["detailed job description"] == "Runs a bakery."
    assert filled.profile == {"core values": "Honesty first.", "fears": "Heights."}
    assert filled.id == adult.id  # the id names the drawn person, not the LM's prose
    prompts = [entry["messages"][-1]["content"] for entry in lm.history]
    assert "Describe their core values" in prompts[1] and "Runs a bakery." not in prompts[1]
    child = draw_profile(acs12_sample(), 0, 0)
    while int(child.attributes["age"]) >= 16:
        child = draw_profile(acs12_sample(), 0, int(child.attributes["age"]) + 1000)
    lm = DummyLM([{"sentence": "Bright and curious."}])
    filled = OpenEndedFiller(lm)(persona=child, categories=["core values"]).persona
    assert len(lm.history) == 1 and filled.attributes["detailed job description"] in ("Student", None)


def test_fidelity_metrics_match_hand_computation():
    source = ["a"] * 6 + ["b"] * 4
    weights = np.array([1.0] * 6 + [2.0] * 4)  # weighted shares a 6/14, b 8/14
    personas = ["a"] * 30 + ["b"] * 70
    result = compare("letter", source, weights, personas)
    assert result.tvd == pytest.approx(abs(0.3 - 6 / 14))
    expected = np.array([6 / 14, 8 / 14]) * 100
    chi2 = ((30 - expected[0]) ** 2 / expected[0]) + ((70 - expected[1]) ** 2 / expected[1])
    assert result.chi2 == pytest.approx(chi2) and result.dof == 1 and result.p_value < 0.01
    assert list(categories("age", ["3", "18", None, "80"])) == ["0-17", "18-24", "(not applicable)", "75+"]
    assert compare("letter", ["a"], None, ["a"] * 10 + ["z"] * 10).chi2 == float("inf")  # a value the source lacks
    assert np.isnan(compare("letter", ["a", "b"], None, ["a"]).chi2)  # too few personas to test


def _fake_spec(**overrides) -> PopulationSpec:
    return PopulationSpec(n=12, seed=2, categories_per_persona=1, model=ModelConfig(model="fake/model"), **overrides)


def test_generate_prunes_fills_reports_and_replays(tmp_path, fake_provider):
    result = generate_personas(_fake_spec(), out=tmp_path / "run")
    run_dir = result.run_dir
    m = result.manifest.metrics
    draws = [json.loads(line) for line in (run_dir / "draws.jsonl").read_text().splitlines()]
    assert m.profiles_checked == len(draws) + 5 * m.slots_failed and m.profiles_rejected > 0
    assert m.pruning_rate == pytest.approx(m.profiles_rejected / m.profiles_checked, abs=1e-4)
    assert len(result.personas) == 12 - m.slots_failed
    assert all(len(p.profile) == 1 for p in result.personas)
    for name in ("fidelity.md", "fidelity.png", "fidelity/age.png", "report.md", "manifest.json"):
        assert (run_dir / name).stat().st_size > 0, name
    fidelity_md = (run_dir / "fidelity.md").read_text()
    assert "| age |" in fidelity_md and (run_dir / "fidelity_joint.png").stat().st_size > 0
    backed = load_source("acs12").census_backed  # 10 attributes, so 45 pairs
    assert (
        all(f"| {name} |" in fidelity_md for name in backed) and m.joint_pairs == len(backed) * (len(backed) - 1) // 2
    )
    assert "| age x sex |" in fidelity_md and f"**{len(m.joint_flagged)} of {m.joint_pairs} pairs**" in fidelity_md
    calls = len(fake_provider.calls)
    snapshot = {n: (run_dir / n).read_bytes() for n in ("personas.jsonl", "draws.jsonl", "fidelity.md")}

    again = generate_personas(_fake_spec(), out=run_dir)
    assert len(fake_provider.calls) == calls and again.manifest.resumed_items == {"personas": 12 - m.slots_failed}
    assert {n: (run_dir / n).read_bytes() for n in snapshot} == snapshot
    report(run_dir)
    assert (run_dir / "fidelity.md").read_bytes() == snapshot["fidelity.md"]


def test_generate_from_pums_without_an_lm(tmp_path):
    write_pums(tmp_path / "pums", rows=2000, seed=8)
    spec = PopulationSpec(source=f"pums:{tmp_path / 'pums'}", n=40, check=False, fill=False)
    result = generate_personas(spec, out=tmp_path / "run")
    assert len(result.personas) == 40 and result.manifest.model_calls == 0
    assert "ancestry" in (tmp_path / "run" / "fidelity.md").read_text()
    assert (tmp_path / "run" / "fidelity" / "household-type.png").exists()


def test_cli_bad_source_fails_cleanly_and_writes_nothing(tmp_path):
    person_path, _ = write_pums(tmp_path / "pums", rows=5)
    person_path.write_text("SERIALNO,AGEP\n1,30\n")
    out = tmp_path / "out"
    for source in (f"pums:{person_path}", "pums:/no/such/dir", "census2040"):
        result = CliRunner().invoke(app, ["personas", "generate", "--source", source, "--n", "3", "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert not out.exists()
    assert "missing required PUMS person columns" in CliRunner().invoke(
        app, ["personas", "generate", "--source", f"pums:{person_path}", "--out", str(out)]
    ).output.replace("\n", "")


def test_cli_generate_and_report_without_lm(tmp_path):
    out = tmp_path / "run"
    args = ["personas", "generate", "--n", "25", "--seed", "1", "--no-check", "--no-fill", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "25 personas" in result.output and (out / "personas.jsonl").exists()
    (out / "fidelity.md").unlink()
    result = CliRunner().invoke(app, ["personas", "report", str(out)])
    assert result.exit_code == 0 and (out / "fidelity.md").exists() and "TVD" in result.output
    assert CliRunner().invoke(app, ["personas", "report", str(tmp_path)]).exit_code == 2


def test_dspy_settings_untouched():
    assert dspy.settings.lm is None


def test_cli_census_download_rejects_unknown_state_and_reports_offline(tmp_path):
    out = tmp_path / "pums"
    result = CliRunner().invoke(app, ["census", "download", "--year", "2023", "--state", "ZZ", "--out", str(out)])
    assert result.exit_code == 2 and "ZZ" in result.output and "CA" in result.output
    assert not out.exists()
    offline = CliRunner().invoke(
        app,
        [
            "census",
            "download",
            "--year",
            "2023",
            "--state",
            "CA",
            "--out",
            str(out),
            "--base-url",
            "http://127.0.0.1:9",
        ],
    )
    assert offline.exit_code == 2 and "could not be reached" in " ".join(offline.output.split())
    assert not list(out.glob("*.zip"))
