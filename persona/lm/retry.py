"""When and how long to wait before re-sending a failed LM request."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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


def _seconds(value: object) -> float | None:
    """A Retry-After value: seconds (fractions allowed) or an HTTP date; None when unreadable."""
    if value is None:
        return None
    try:
        seconds = float(str(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after(exc: BaseException) -> float | None:
    """The server's requested wait, from DSPy's error or, failing that, the litellm error beneath it.

    DSPy reads Retry-After from the HTTP response object, which litellm leaves empty on some paths; litellm keeps
    the headers in ``litellm_response_headers`` instead.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if (hint := _seconds(getattr(seen, "retry_after", None))) is not None:
            return hint
        headers = getattr(seen, "litellm_response_headers", None) or {}
        if (millis := _seconds(headers.get("retry-after-ms"))) is not None:
            return millis / 1000
        if (hint := _seconds(headers.get("retry-after"))) is not None:
            return hint
        seen = seen.__cause__ or seen.__context__
    return None


def backoff_delay(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based).

    A server's Retry-After wins (capped, so a hostile header cannot stall a run for hours); otherwise exponential
    backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), which spreads a burst of
    simultaneous failures instead of re-sending them in lockstep.
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_RETRY_AFTER_S)
    return (rng or random).uniform(0.0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))
