"""Requests-per-minute caps, applied where a request really goes to the backend (a cache miss)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces requests at least ``60 / rpm`` seconds apart, across threads, with no burst allowance."""

    def __init__(self, rpm: float) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
