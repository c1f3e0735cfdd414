"""Persona populations: the LM consistency check of a drawn profile and LM-written details (the draws themselves
are ``persona.data.population``).

Every draw is addressed by ``(seed, slot, draw)``: its random stream depends on nothing else, so slots can run in
any order or in parallel, and a rejected profile's replacement is the same in every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dspy

from persona.data.census import CensusSample
from persona.data.persona import Persona
from persona.data.population import JOB_DESCRIPTION, JOB_GUIDANCE, PROFILE_CATEGORIES, WORKING_AGE, draw_profile
from persona.programs.retrying import ReaskingPredict
from persona.signatures import CheckProfileConsistency, DescribeAttribute


class ConsistencyCheck(dspy.Module):
    """An LM vets a sampled profile for contradictions a census row plus procedural attributes can produce.

    Example:
        >>> ConsistencyCheck()(person="age: 9; marital status: Widowed").consistent  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.check = ReaskingPredict(CheckProfileConsistency)
        self.check.lm = lm

    def forward(self, person: str) -> dspy.Prediction:
        return self.check(person=person)


class OpenEndedFiller(dspy.Module):
    """An LM writes the details a table cannot hold: a job description and the chosen profile categories."""

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.describe = ReaskingPredict(DescribeAttribute)
        self.describe.lm = lm

    def forward(self, persona: Persona, categories: Sequence[str]) -> dspy.Prediction:
        attributes = dict(persona.attributes)
        if int(attributes["age"] or 0) >= WORKING_AGE:
            attributes[JOB_DESCRIPTION] = self._write(persona, JOB_DESCRIPTION, JOB_GUIDANCE)
        # Each detail is written from the drawn attributes only: shown earlier LM prose, small models copy it out.
        written = {category: self._write(persona, category, PROFILE_CATEGORIES[category]) for category in categories}
        profile = {**persona.profile, **written}  # lines the persona came with (a survey's extras) stay
        return dspy.Prediction(persona=persona.model_copy(update={"attributes": attributes, "profile": profile}))

    def _write(self, persona: Persona, attribute: str, guidance: str) -> str:
        request = f"Describe their {attribute}: {guidance}."
        return self.describe(person=persona.as_line(), request=request).sentence.strip()


class PersonaBuilder(dspy.Module):
    """One population slot: draw, vet, redraw what the check rejects (up to ``max_draws``), then fill in details.

    The returned ``draws`` list every candidate checked with its verdict, so the pruning rate can be reported.
    A slot whose every draw is rejected raises ``NoConsistentProfileError``; the run records it as a failed item.

    Args:
        source: the census sample to draw from.
        seed: the population's seed.
        min_age: draw only people at least this old.
        max_draws: candidates to try per slot.
        checker: the consistency check (None skips it: every first draw is kept).
        filler: the detail writer (None leaves open-ended attributes as drawn).
        draw: ``draw(slot, draw)``, a candidate; by default ``draw_profile`` from ``source`` (a survey's
            respondents come with their own).
    """

    def __init__(
        self,
        source: CensusSample,
        seed: int,
        min_age: int = 0,
        max_draws: int = 5,
        checker: ConsistencyCheck | None = None,
        filler: OpenEndedFiller | None = None,
        draw: Callable[[int, int], Persona] | None = None,
    ) -> None:
        super().__init__()
        self.source, self.seed, self.min_age, self.max_draws = source, seed, min_age, max_draws
        self.checker, self.filler = checker, filler
        self.draw = draw or (lambda slot, n: draw_profile(self.source, self.seed, slot, n, self.min_age))

    def forward(self, slot: int, categories: Sequence[str] = ()) -> dspy.Prediction:
        draws = []
        for draw in range(self.max_draws):
            candidate = self.draw(slot, draw)
            if self.checker is None:
                break
            verdict = self.checker(person=candidate.as_line())
            draws.append(
                {"draw": draw, "id": candidate.id, "consistent": verdict.consistent, "problems": verdict.problems}
            )
            if verdict.consistent:
                break
        else:
            raise NoConsistentProfileError(f"slot {slot}: all {self.max_draws} draws were judged inconsistent")
        persona = self.filler(persona=candidate, categories=categories).persona if self.filler else candidate
        return dspy.Prediction(persona=persona, draws=draws)


class NoConsistentProfileError(RuntimeError):
    """Every candidate for a slot was rejected by the consistency check."""
