"""Vetting a sampled profile: could one real person have all of these attributes at once?"""

import dspy


class CheckProfileConsistency(dspy.Signature):
    """You vet synthetic survey respondents before they are used in research. Decide whether one real person
    could hold all of these attributes at the same time: check age against schooling, work, income, marriage,
    household and military service, and the attributes against each other. Unusual combinations are fine; only
    impossible or wildly implausible ones (a widowed child, a toddler with a salary) make a person inconsistent."""

    person: str = dspy.InputField(desc="the person's attributes")
    problems: str = dspy.OutputField(desc="one sentence naming any contradiction, or 'none'")
    consistent: bool = dspy.OutputField(desc="true if one real person could hold all of these attributes")
