"""A preference predictor of your own, in its own module: no LM, a probability for every pair.

It stands in for the reward model a user would train on the train split: each answer is scored by the words it
shares with what the person chose before (their history's preferred answers) and with their profile, minus the
words it shares with what they turned down; P(A preferred) is the logistic of the difference. Because it gives a
probability, a `prefs` run reports its Brier score and calibration beside its accuracy.

Run it beside the built-in predictors (nothing in persona-testbed is edited to add it):

    persona prefs run --pairs outputs/pairs --predictors profile,blind,history,examples.predictor:WordOverlap
"""

from __future__ import annotations

import math
import re

from persona import Choice, PairAsk

WORD = re.compile(r"[a-z]{3,}")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


class WordOverlap:
    """Scores answers against the person's earlier choices and profile; ``scale`` sets how sure it is."""

    version = "1"  # its identity in the fingerprint: bump it when its behaviour changes

    def __init__(self, scale: float = 0.5) -> None:
        self.scale = scale

    def __call__(self, ask: PairAsk) -> Choice:
        liked = words(ask.persona_text).union(*(words(h.preferred) for h in ask.history))
        disliked = set().union(*(words(h.other) for h in ask.history)) - liked

        def score(answer: str) -> int:
            mine = words(answer)
            return len(mine & liked) - len(mine & disliked)

        margin = score(ask.answer_a) - score(ask.answer_b)
        p_a = 1 / (1 + math.exp(-self.scale * margin))
        preferred = "A" if margin > 0 or (margin == 0 and len(ask.answer_a) <= len(ask.answer_b)) else "B"
        return Choice(preferred=preferred, p_a=p_a, rationale=f"word-overlap margin {margin}")
