"""Survey cards, respondents as personas, the non-LLM baselines, the realism metrics and the `realism` kind."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from survey_files import town_frame, write_survey
from typer.testing import CliRunner

from persona.cli import app
from persona.data.census import acs12_sample
from persona.data.respondents import respondent_persona
from persona.data.surveys import load_card, load_survey
from persona.errors import InputError
from persona.experiments.realism import RealismSpec, run_realism
from persona.metrics.realism import Resamples, banded, cell_ceiling, distributional, individual
from persona.programs.baselines import folds, predict_baselines

runner = CliRunner()
FAKE = {"model": "fake/model", "max_tokens": 64}


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return write_survey(tmp_path / "survey")


def test_a_card_decodes_its_own_csv_labels_demographics_and_keeps_missing_values_missing(card):
    survey = load_survey(card)
    assert len(survey) == 60 and survey.ids[0] == "t000" and survey.weights[0] == town_frame()["wt"][0]
    assert survey.label(0, "political views") == "Democrat" and survey.label(1, "political views") == "Republican"
    assert survey.label(7, "age") is None and set(survey.numeric) == {"age", "years in town"}
    assert survey.answers.at[0, "parks"] == "3" and pd.isna(survey.answers.at[3, "parks"])  # 3.0 read as code "3"
    assert survey.card.extra_lines() == ["years in town"]


def test_a_respondent_persona_has_their_demographics_never_their_answers(card):
    survey = load_survey(card)
    source = acs12_sample()
    persona = respondent_persona(survey, 7, source, seed=1)
    assert persona.attributes["age"] is None  # not given: null, never drawn
    assert persona.attributes["political views"] == "Republican" and persona.profile["years in town"]
    assert persona.attributes["sex"] == survey.label(7, "sex")
    assert persona.attributes["ideology"] is not None and persona.attributes["religion"] is not None  # drawn
    text = persona.as_prompt()
    assert "parks" not in text and "bus" not in text
    assert respondent_persona(survey, 7, source, seed=1) == persona  # its own random stream
    assert respondent_persona(survey, 9, source, seed=1).id != persona.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["party"]), "demographics.political views: the data has no column 'party'"),
        (lambda f: f.assign(party=["D", "R", "X", *["D"] * 57]), r"values without a label: \['X'\] \(rows \[2\]"),
        (lambda f: f.assign(parks=[9.0, *[1.0] * 59]), r"items.parks: answer codes \['9'\] are not options"),
        (lambda f: f.assign(rid=["same"] * 60), "must name each respondent once"),
    ],
)
def test_a_card_that_does_not_fit_its_data_is_refused_naming_card_key_and_value(tmp_path, change, message):
    card = write_survey(tmp_path / "s", change(town_frame()))
    with pytest.raises(InputError, match=message) as error:
        load_survey(card)
    assert str(card) in str(error.value)


def test_an_item_without_options_or_an_unreadable_file_is_refused_and_an_unused_option_warned(tmp_path):
    card = write_survey(tmp_path / "s", extra_option=', "m" = "Maybe"')
    with pytest.warns(UserWarning, match=r"items.bus: no respondent chose option\(s\) \['m'\]"):
        load_survey(card)
    card.write_text(card.read_text().replace('options = { "y" = "Yes", "n" = "No", "m" = "Maybe" }', "options = {}"))
    with pytest.raises(InputError, match=r"items\.1\.options"):
        load_card(card)
    (tmp_path / "s" / "town.csv").unlink()
    good = write_survey(tmp_path / "t")
    (tmp_path / "t" / "town.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="cannot be read"):
        load_survey(good)


def test_majority_is_the_weighted_mode_and_the_demographic_model_learns_what_demographics_decide(card):
    survey = load_survey(card)
    everyone = np.arange(len(survey))
    fit, predict = everyone[:40], everyone[40:]
    out = predict_baselines(survey, ["parks", "bus"], fit, predict, 0, ("majority", "uniform", "demographic"))
    real = survey.answers["parks"].to_numpy(dtype=object)[predict]
    # parks follows party exactly: the regression gets every answered respondent right, majority about half
    demographic = out["demographic"]["parks"].choices
    assert all(c == r for c, r in zip(demographic, real, strict=True) if r is not None and not pd.isna(r))
    weights = pd.Series(survey.weights[fit]).groupby(survey.answers["bus"].to_numpy(dtype=object)[fit]).sum()
    assert set(out["majority"]["bus"].choices) <= {weights.idxmax(), None}
    probs = np.array(out["demographic"]["bus"].probs)
    assert np.allclose(probs.sum(axis=1), 1) and probs.shape == (20, 2)
    assert out["uniform"]["parks"].probs[0] == [1 / 3] * 3
    parts = folds(60, 5, seed=2)
    assert sorted(np.concatenate(parts).tolist()) == list(range(60)) and all(len(p) == 12 for p in parts)


def _records() -> pd.DataFrame:
    """Two respondents (weights 1 and 3), one ordered 3-option item and one 2-option item, two predictors."""
    rows = []
    for respondent, weight, real_a, real_b in (("r1", 1.0, "1", "y"), ("r2", 3.0, "3", "n")):
        rows.append({"respondent": respondent, "weight": weight, "item": "a", "real": real_a})
        rows.append({"respondent": respondent, "weight": weight, "item": "b", "real": real_b})
    frame = pd.DataFrame(rows)
    good = frame.assign(predictor="good", choice=frame["real"], probs=None)
    bad = frame.assign(predictor="bad", choice=["3", "y", "1", "y"], probs=None)
    return pd.concat([good, bad], ignore_index=True)


def test_individual_accuracy_and_ordinal_error_weigh_respondents_by_hand():
    records = _records()
    boot = Resamples(records["respondent"].tolist(), resamples=200, seed=0)
    scores = individual(records, {"a": ["1", "2", "3"], "b": ["y", "n"]}, {"a": True, "b": False}, boot)
    assert scores["good"]["accuracy"][0].value == 1.0 and scores["good"]["ordinal_error"][0].value == 0.0
    # bad: r1 right on b only (weight 1), r2 wrong on both (weight 3): 1 of 8 weighted answers
    assert scores["bad"]["accuracy"][0].value == pytest.approx(1 / 8)
    assert scores["bad"]["ordinal_error"][0].value == pytest.approx(2.0)  # both a answers two steps off
    gap = boot.difference(scores["good"]["accuracy"], scores["bad"]["accuracy"])
    assert gap.value == pytest.approx(7 / 8) and gap.low <= gap.value <= gap.high


def test_distributional_distances_and_the_cell_ceiling_by_hand():
    records = _records()
    groups = pd.DataFrame({"sex": ["Female", "Female"]}, index=["r1", "r2"])
    boot = Resamples(["r1", "r2"], resamples=200, seed=0)
    scales, ordered = {"a": ["1", "2", "3"], "b": ["y", "n"]}, {"a": True, "b": False}
    table, overall = distributional(records, groups, scales, ordered, boot, min_group_size=1)
    by = {row.predictor: row for row in table}
    assert by["good"].tv == 0.0 and by["good"].representativeness == 1.0
    # bad on a: real shares (1: 1/4, 3: 3/4), predicted (3: 1/4, 1: 3/4): TV 0.5, W1 = (0.5 + 0.5) / 2 = 0.5
    # bad on b: real (y 1/4, n 3/4), predicted all y: TV 0.75; mean TV over the items 0.625
    assert by["bad"].tv == pytest.approx(0.625) and by["bad"].representativeness == pytest.approx(0.5)
    assert overall["bad"][0].value == pytest.approx(1 - 0.625)
    answers = pd.DataFrame({"a": ["1", "1", "2", "2", "2"], "b": ["y", "n", "y", "y", None]})
    ceiling = cell_ceiling(["x", "x", "z", "z", "z"], answers)
    # a: cell x 2 pairs agree of 2, cell z 6 of 6 -> 1.0; b: x 0 of 2, z 2 of 2 -> 0.5; mean 0.75
    assert ceiling.agreement == pytest.approx(0.75) and ceiling.respondents == 5
    # the rest of the cell's mode: a right 5 of 5; b: x y|n each judged by the other (wrong), z y,y right: 2 of 4
    assert ceiling.mode_accuracy == pytest.approx((1.0 + 0.5) / 2)
    bands = banded(pd.DataFrame({"age": ["20", "50", None]}), ["age"])
    assert bands["age"].tolist() == ["18-29", "45-64", "(missing)"]


def test_realism_runs_every_predictor_on_a_csv_card_and_replays(tmp_path, card, fake_provider):
    spec = RealismSpec.model_validate(
        {"survey": str(card), "respondents": 8, "resamples": 100, "min_group_size": 2, "models": {"responder": FAKE}}
    )
    result = run_realism(spec, out=tmp_path / "run")
    records = result.records
    assert {r["predictor"] for r in records} == {"roleplay", "blind", "majority", "uniform", "demographic"}
    assert all(
        r["error"] is None and r["choice"] in ({"1", "2", "3"} if r["item"] == "parks" else {"y", "n"}) for r in records
    )
    per = len(records) // 5
    assert per <= 16 and all(r["real"] is not None for r in records)  # answered items only
    metrics = result.manifest.metrics
    assert set(metrics.headline) == {"accuracy", "overlap"} and metrics.predictors["demographic"].accuracy.n == per
    report = (tmp_path / "run" / "report.md").read_text()
    assert all(f"| {name} |" in report for name in ("roleplay", "blind", "majority", "uniform", "demographic"))
    assert "Headline" in report and (tmp_path / "run" / "realism.png").is_file()
    roleplay = [c for c in fake_provider.calls if "who you are" in json.dumps(c["messages"])]
    blind = [c for c in fake_provider.calls if "who you are" not in json.dumps(c["messages"])]
    assert len(roleplay) == per  # one request per respondent and item; blind asks each item once, for everyone
    assert len(blind) == 2 and all("Democrat" not in json.dumps(c) and "Republican" not in json.dumps(c) for c in blind)
    calls = len(fake_provider.calls)
    again = run_realism(spec, out=tmp_path / "run")
    assert again.manifest.model_calls == 0 and len(fake_provider.calls) == calls


def test_baselines_alone_need_no_model_and_cross_fit_when_everyone_is_evaluated(tmp_path, card):
    spec = RealismSpec.model_validate(
        {"survey": str(card), "respondents": 0, "predictors": ["majority", "demographic"], "resamples": 100}
    )
    result = run_realism(spec, out=tmp_path / "run")
    assert result.manifest.model_calls == 0 and result.manifest.models == {}
    parks = [r for r in result.records if r["item"] == "parks" and r["predictor"] == "demographic"]
    assert len(parks) == 59 and all(r["choice"] == r["real"] for r in parks)  # learnt on the other folds
    assert "No model asked" in (tmp_path / "run" / "report.md").read_text()


def test_bad_realism_specs_are_named(tmp_path, card):
    with pytest.raises(InputError, match=r"respondents = 61: .* has 60 respondents"):
        run_realism(RealismSpec(survey=str(card), respondents=61, predictors=["majority"]), out=tmp_path / "a")
    with pytest.raises(InputError, match="items: 'trams' is not an item"):
        run_realism(RealismSpec(survey=str(card), items=["trams"], predictors=["majority"]), out=tmp_path / "b")
    with pytest.raises(ValueError, match="each once, from roleplay"):
        RealismSpec(predictors=["oracle"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_built_in_gss_card_and_survey_show(card):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every option of every item is chosen by someone
        survey = load_survey("gss2018-spending")
    assert len(survey) == 2348 and len(survey.card.items) == 18
    assert all(item.options == {"-1": "Too much", "0": "About right", "1": "Too little"} for item in survey.card.items)
    shown = runner.invoke(app, ["survey", "show", str(card)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert (
        "town-survey: 60 respondents, 2 items" in shown.output and "years in town (extra profile line)" in shown.output
    )
    missing = runner.invoke(app, ["survey", "show", "no-such-card"])
    assert missing.exit_code == 2 and "no built-in card of that name" in missing.output


def test_a_model_answer_that_is_not_an_option_is_re_asked_then_an_error():
    import dspy
    from dspy.utils import DummyLM
    from dspy.utils.exceptions import AdapterParseError

    from persona.programs.survey import SurveyAnswer

    options = {"1": "Less", "3": "More"}
    adapter = dspy.JSONAdapter()
    good = DummyLM([{"choice": "Maybe"}, {"choice": "More"}], adapter=adapter)
    with dspy.context(lm=good, adapter=adapter):
        assert SurveyAnswer()(question="Parks?", options=options, persona="age: 30").code == "3"
    with dspy.context(lm=DummyLM([{"choice": "1"}], adapter=adapter), adapter=adapter):
        assert SurveyAnswer(blind=True)(question="Parks?", options=options).code == "1"  # a code is an answer too
    never = DummyLM([{"choice": "Maybe"}] * 3, adapter=adapter)
    with dspy.context(lm=never, adapter=adapter), pytest.raises(AdapterParseError) as failed:
        SurveyAnswer()(question="Parks?", options=options, persona="age: 30")
    assert failed.value.attempts == 3 and len(never.history) == 3  # asked, re-asked twice, then an error


def test_when_asked_the_lm_checks_and_fills_what_was_drawn_never_what_they_said(tmp_path, card, fake_provider):
    spec = RealismSpec.model_validate(
        {
            "survey": str(card),
            "respondents": 6,
            "predictors": ["roleplay", "majority"],
            "resamples": 100,
            "population": {"check": True, "fill": True, "max_draws": 20, "categories_per_persona": 1},
            "models": {"responder": FAKE},
        }
    )
    result = run_realism(spec, out=tmp_path / "run")
    assert "population" in result.manifest.models
    survey = load_survey(card)
    personas = [json.loads(line) for line in (tmp_path / "run" / "personas.jsonl").read_text().splitlines()]
    by_id = {survey.ids[i]: i for i in range(len(survey))}
    kept = {r["respondent"] for r in result.records}
    assert len(personas) == len(kept) == 6 - result.manifest.metrics.left_out
    for persona, respondent in zip(personas, sorted(kept, key=by_id.get), strict=True):
        row = by_id[respondent]
        assert persona["attributes"]["political views"] == survey.label(row, "political views")  # what they said
        assert persona["profile"]["years in town"] == survey.label(row, "years in town")  # kept beside the filling
        assert len(persona["profile"]) == 2  # and one written category
    again = run_realism(spec, out=tmp_path / "run")
    assert again.manifest.model_calls == 0


def test_a_bad_card_on_the_command_line_exits_2_naming_it_and_writes_nothing(tmp_path):
    card = write_survey(tmp_path / "s", town_frame().drop(columns=["bus"]))
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["survey", "realism", "--survey", str(card), "--predictors", "majority", "--out", str(out)]
    )
    assert result.exit_code == 2 and "items.bus: the data has no column 'bus'" in result.output
    assert str(card) in result.output.replace("\n", "") and not out.exists()
