"""When and how long to wait before re-sending a failed LM request."""

from __future__ import annotations

import random

from dspy.utils.exceptions import LMUnexpectedError, is_retryable_lm_error

BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0
MAX_RETRY_AFTER_S = 120.0


def is_transient(exc: BaseException) -> bool:
    """Rate limits, 5xx, timeouts and connection resets (DSPy's classification), plus a reply that broke off.

    A body cut mid-JSON surfaces as an unexpected error from the SDK's decoder; re-sending is safe and usually
    cures it, where a clean, well-formed refusal (4xx) would only fail again.
    """
    if is_retryable_lm_error(exc):
        return True
    return isinstance(exc, LMUnexpectedError) and "json" in str(exc).lower()


def backoff_delay(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based).

    A server's Retry-After wins (capped, so a hostile header cannot stall a run for hours); otherwise exponential
    backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), which spreads a burst of
    simultaneous failures instead of re-sending them in lockstep.
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_RETRY_AFTER_S)
    return (rng or random).uniform(0.0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))
