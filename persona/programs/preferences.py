"""Per-persona preference pairs by Direct Principle Feedback, and a role-play check of which side the persona likes."""

from __future__ import annotations

import dspy
import litellm

from persona.data.pairs import chosen_goes_first
from persona.programs.retrying import ReaskingPredict
from persona.signatures import AnswerWithoutPersona, ChoosePreferred, CritiqueForPersona, ReviseForPersona

RETRY_TEMPERATURE = 0.7  # a retry at the same settings would replay the same (longer) revision


def count_tokens(lm: dspy.LM | None, text: str) -> int:
    """Tokens of ``text`` as litellm counts them for this LM's model (its tokenizer where known, else cl100k)."""
    model = (lm or dspy.settings.lm).model
    return int(litellm.token_counter(model=model, text=text))


class DPFPair(dspy.Module):
    """Build one preference pair: the generic answer is rejected, its persona-guided revision is chosen.

    The revision must be shorter than the answer, in tokens; one that is not is redrawn once (at a higher
    temperature under its own rollout id), and the record says whether the final one is shorter.

    Args:
        generator: LM that answers and revises (default: the configured ``dspy.settings.lm``).
        critic: LM that role-plays the persona to critique the answer (default: the generator).

    Example:
        >>> pair = DPFPair()(question="Is a degree worth it?", persona="age: 67\\nincome: 12000")  # doctest: +SKIP
        >>> pair.chosen, pair.rejected  # doctest: +SKIP
    """

    def __init__(self, generator: dspy.LM | None = None, critic: dspy.LM | None = None) -> None:
        super().__init__()
        self.answer = ReaskingPredict(AnswerWithoutPersona)
        self.answer.lm = generator
        self.refine = PersonaRefinement(generator, critic)

    def forward(self, question: str, persona: str) -> dspy.Prediction:
        rejected = self.answer(question=question).answer
        refined = self.refine(question=question, answer=rejected, persona=persona)
        return dspy.Prediction(
            rejected=rejected,
            critique=refined.critique,
            chosen=refined.revision,
            rejected_tokens=refined.answer_tokens,
            chosen_tokens=refined.revision_tokens,
            revision_attempts=refined.revision_attempts,
        )


class PersonaRefinement(dspy.Module):
    """DPF's second and third steps for a given answer: critique it as the persona, then revise it, subtly and
    shorter (a revision that is not shorter in tokens is redrawn once, at a higher temperature under its own
    rollout id). Leave-one-out refines its baseline answers with it, so equal inputs are equal, cached requests.
    """

    def __init__(self, generator: dspy.LM | None = None, critic: dspy.LM | None = None) -> None:
        super().__init__()
        self.critique = ReaskingPredict(CritiqueForPersona)
        self.revise = ReaskingPredict(ReviseForPersona)
        self.revise.lm = generator
        self.critique.lm = critic or generator
        self.generator = generator

    def forward(self, question: str, answer: str, persona: str) -> dspy.Prediction:
        critique = self.critique(question=question, answer=answer, persona=persona).critique
        revision = self.revise(question=question, answer=answer, critique=critique).revision
        answer_tokens, revision_tokens = count_tokens(self.generator, answer), count_tokens(self.generator, revision)
        attempts = 1
        if revision_tokens >= answer_tokens:
            attempts = 2
            retry = {"rollout_id": 1, "temperature": RETRY_TEMPERATURE}
            revision = self.revise(question=question, answer=answer, critique=critique, config=retry).revision
            revision_tokens = count_tokens(self.generator, revision)
        return dspy.Prediction(
            critique=critique,
            revision=revision,
            answer_tokens=answer_tokens,
            revision_tokens=revision_tokens,
            revision_attempts=attempts,
        )


class PreferenceAnnotator(dspy.Module):
    """A role-playing annotator: as this persona, which of two answers would you prefer?

    The pair is shown in a seeded random order; the result is un-swapped, so ``prefers_chosen`` refers to the
    DPF sides whichever position the chosen answer had, and ``picked_first`` records the position picked (for
    position bias).
    """

    def __init__(self, lm: dspy.LM | None = None, seed: int = 0) -> None:
        super().__init__()
        self.choose = ReaskingPredict(ChoosePreferred)
        self.choose.lm = lm
        self.seed = seed

    def forward(self, key: str, question: str, persona: str, chosen: str, rejected: str) -> dspy.Prediction:
        first = chosen_goes_first(self.seed, key)
        answer_a, answer_b = (chosen, rejected) if first else (rejected, chosen)
        verdict = self.choose(persona=persona, question=question, answer_a=answer_a, answer_b=answer_b)
        picked_first = verdict.preferred == "A"
        return dspy.Prediction(
            prefers_chosen=picked_first == first,
            picked_first=picked_first,
            chosen_shown_first=first,
            reasoning=verdict.reasoning,
        )
