"""Census decoding, procedural attributes and the persona schema."""

import numpy as np
import pandas as pd
import pytest

from persona.data import (
    ACS12_CENSUS_BACKED,
    ATTRIBUTES,
    Persona,
    decode_acs12,
    load_acs12,
    load_embedded_prompts,
    read_personas,
    write_jsonl,
)
from persona.data.attributes import big_five_correlation, level, sample_big_five, sample_religion
from persona.data.census import ACS12_DECODE, CensusSample
from persona.data.population import draw_profile, sample_personas


def test_every_acs12_row_decodes_to_known_labels():
    decoded = decode_acs12(load_acs12())
    assert len(decoded) == 2000
    for attribute, (_, table) in ACS12_DECODE.items():
        assert set(decoded[attribute].dropna()) <= set(table.values())
    assert tuple(decoded.columns) == ACS12_CENSUS_BACKED


def test_blanks_stay_null_and_children_have_no_income():
    frame = pd.DataFrame(
        [
            {
                "income": None,
                "employment": None,
                "race": "white",
                "age": 9,
                "gender": "female",
                "citizen": "yes",
                "lang": None,
                "married": "no",
                "edu": None,
                "disability": "no",
            }
        ]
    )
    sample = CensusSample("one row", decode_acs12(frame), np.ones(1), ACS12_CENSUS_BACKED, detailed_education=False)
    row = sample.attributes(0)
    assert row["income"] is None and row["employment status"] is None and row["household language"] is None
    assert row["age"] == "9" and row["sex"] == "Female"
    # Personas drawn from it follow the age rules: income 0 under 15, a school grade instead of a blank.
    person = draw_profile(sample, seed=0, slot=0)
    assert person.attributes["income"] == "0" and person.attributes["education"] == "Grade 4"
    assert person.attributes["marital status"] == "Never married or under 15 years old"


def test_unknown_code_is_an_error_naming_the_column():
    frame = load_acs12().head(1).assign(race="martian")
    with pytest.raises(ValueError, match=r"acs12 column 'race': unknown codes \['martian'\]"):
        decode_acs12(frame)


def test_personas_are_reproducible_and_respect_min_age():
    first = sample_personas(20, seed=7, min_age=18)
    assert first == sample_personas(20, seed=7, min_age=18)
    assert first != sample_personas(20, seed=8, min_age=18)
    assert all(int(p.attributes["age"]) >= 18 for p in first)
    assert len({p.id for p in first}) == 20


def test_minors_get_no_adult_only_attributes():
    minors = [p for p in sample_personas(300, seed=0) if int(p.attributes["age"]) < 18]
    assert minors and all(p.attributes["big five scores"] is None and p.attributes["religion"] is None for p in minors)


def test_big_five_correlations_reproduce_the_published_matrix():
    corr = big_five_correlation()
    assert np.allclose(corr, corr.T) and np.all(np.linalg.eigvalsh(corr) > 0)
    assert corr[1, 4] == -0.30  # Conscientiousness x Negative Emotionality, Soto & John (2017) Table 2
    scores = np.random.default_rng(0).multivariate_normal(np.zeros(5), corr, size=20000)
    assert np.allclose(np.corrcoef(scores.T), corr, atol=0.03)


def test_big_five_text_names_all_five_levels():
    text = sample_big_five(np.random.default_rng(0), 1)[0]
    assert [part.split(":")[0] for part in text.split(", ")] == [
        "Openness",
        "Conscientiousness",
        "Extraversion",
        "Agreeableness",
        "Neuroticism",
    ]
    assert level(-2.0) == "Extremely Low" and level(0.0) == "Average" and level(1.49) == "High"


def test_religion_shares_follow_the_published_table():
    draws = sample_religion(np.random.default_rng(0), 20000)
    # Protestant is 40 of 99.2 percentage points in the Pew 2023-24 table.
    assert abs(draws.count("Protestant") / 20000 - 40 / 99.2) < 0.015
    assert "Other Christian" in draws  # the label's parenthetical is dropped


def test_persona_schema_rejects_unknown_attributes_and_orders_known_ones():
    with pytest.raises(ValueError, match="unknown persona attributes"):
        Persona(id="x", attributes={"favourite colour": "blue"})
    persona = Persona.from_attributes({"sex": "Male", "age": "40"})
    assert list(persona.attributes) == list(ATTRIBUTES)
    assert persona.as_prompt() == "age: 40\nsex: Male"
    assert persona.as_line() == "age: 40; sex: Male"
    assert persona.id == Persona.from_attributes({"age": "40", "sex": "Male"}).id


def test_embedded_prompts_are_questions_with_topics():
    prompts = load_embedded_prompts()
    assert len(prompts) >= 30 and len({p.id for p in prompts}) == len(prompts)
    assert all(p.text.endswith("?") and p.topic for p in prompts)


def test_persona_renders_as_appendix_c_dict_and_round_trips(tmp_path):
    persona = Persona.from_attributes({"age": "73", "sex": "Female", "ancestry": "Filipino"})
    persona = persona.model_copy(update={"profile": {"core values": "Fairness"}})
    text = persona.as_dict_text()
    assert text.startswith("{'ability to speak English': nan,\n 'age': 73,\n 'ancestry': 'Filipino',")
    assert "'core values': 'Fairness'" in text and text.endswith("'vision difficulty': nan}")
    write_jsonl(tmp_path / "p.jsonl", [persona.model_dump()])
    assert read_personas(tmp_path / "p.jsonl") == [persona]
    (tmp_path / "bad.jsonl").write_text(
        '{"id": "x", "attributes": {"age": "1"}}\n{"id": "y", "attributes": {"eyes": "blue"}}\n'
    )
    with pytest.raises(ValueError, match=r"bad.jsonl: record 2: not a persona .*unknown persona attributes"):
        read_personas(tmp_path / "bad.jsonl")
