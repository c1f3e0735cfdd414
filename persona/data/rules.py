"""Age and sex rules every persona obeys, whatever its source: what cannot apply to a person is filled or nulled."""

from __future__ import annotations

TOO_YOUNG_FOR_POLITICS = "Too young to have political views"
NEVER_MARRIED = "Never married or under 15 years old"  # the ACS label for both

# Attributes the ACS leaves "not in universe" below an age (PUMS data dictionary N/A labels).
NOT_IN_UNIVERSE_BELOW: dict[str, int] = {
    "employment status": 16,
    "class of worker": 16,
    "industry category": 16,
    "occupation category": 16,
    "veteran status": 17,
    "cognitive difficulty": 5,
    "ability to speak English": 5,
    "education": 3,
}
FERTILITY_AGES = (15, 50)


def school_grade(age: int) -> str | None:
    """The ACS education label a child of this age most likely holds (school entry at 5, one grade a year)."""
    if age < 3:
        return None
    if age < 5:
        return "Nursery school, preschool"
    if age == 5:
        return "Kindergarten"
    return f"Grade {min(age - 5, 12)}"


def apply_age_rules(person: dict[str, str | None], detailed_education: bool) -> dict[str, str | None]:
    """Enforce the structural rules: a 10-year-old is never married, has no job, earns 0 and is in grade school.

    Args:
        person: attributes with at least ``age``; changed copy is returned.
        detailed_education: whether the source's education already names school grades (PUMS SCHL does;
            the coarse ACS 2012 levels do not, so children get their grade from their age).
    """
    out = dict(person)
    age = int(out["age"])  # type: ignore[arg-type]
    for attribute, minimum in NOT_IN_UNIVERSE_BELOW.items():
        if age < minimum:
            out[attribute] = None
    if age < 15:
        out["marital status"] = NEVER_MARRIED
        out["income"] = "0"  # "N/A (less than 15 years old)" in the ACS; the paper's personas show 0
    if age < 18:
        out["political views"] = TOO_YOUNG_FOR_POLITICS
        out["ideology"] = TOO_YOUNG_FOR_POLITICS
        if not detailed_education:
            out["education"] = school_grade(age)
    low, high = FERTILITY_AGES
    if out.get("sex") != "Female" or not low <= age <= high:
        out["fertility"] = None
    return out
