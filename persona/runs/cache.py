"""The run's LM cache: DSPy's disk cache, placed in the run dir, keyed on the endpoint too, counting per role."""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import dspy
from dspy.clients.cache import Cache

from persona.lm.registry import current_role
from persona.lm.usage import UNTAGGED, spend
from persona.runs.limits import RateLimiter
from persona.runs.manifest import CallCounts


class RunCache(Cache):
    """DSPy's two-level cache with two changes that replay needs.

    DSPy leaves ``api_base`` out of its key, so two servers behind one model string would share answers; here the
    endpoint joins the key (the key itself is a hash, and credentials never enter it). Lookups are counted per
    role, which is how a manifest proves that a replay made zero model calls. Every answer handed out, stored or
    fresh, reports its usage to ``persona.lm.usage`` (DSPy blanks it on a hit), so a replay records the same cost.
    """

    def __init__(self, directory: Path, limiters: dict[str, RateLimiter] | None = None) -> None:
        super().__init__(
            enable_disk_cache=True,
            enable_memory_cache=True,
            disk_cache_dir=str(directory),
            disk_size_limit_bytes=2**34,
        )
        self._counts: dict[str, CallCounts] = defaultdict(CallCounts)
        self._counts_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._limiters = limiters or {}

    def cache_key(self, request: dict[str, Any], ignored_args_for_cache_key: list[str] | None = None) -> str:
        # How long we wait for an answer does not change the answer.
        key = super().cache_key(request, [*(ignored_args_for_cache_key or []), "timeout"])
        endpoint = request.get("api_base") or request.get("base_url")
        return sha256(f"{key}\0{endpoint}".encode()).hexdigest() if endpoint else key

    def get(self, request: dict[str, Any], ignored_args_for_cache_key: list[str] | None = None) -> Any:
        result = super().get(request, ignored_args_for_cache_key)
        role = current_role() or UNTAGGED
        with self._counts_lock:
            counts = self._counts[role]
            if result is None:
                counts.misses += 1
            else:
                counts.hits += 1
        if result is None and role in self._limiters:
            self._limiters[role].wait()  # the caller sends this request to the backend next
        return result

    def _prepare_cached_response(self, response: Any) -> Any:
        spend(response)  # before DSPy blanks the usage of a cache hit
        return super()._prepare_cached_response(response)

    def put(
        self,
        request: dict[str, Any],
        value: Any,
        ignored_args_for_cache_key: list[str] | None = None,
        enable_memory_cache: bool = True,
    ) -> None:
        spend(value)  # a fresh answer
        # Many writer threads make SQLite's busy handler sleep-and-retry, which caps throughput far below what the
        # backend delivers; queueing writers on one lock costs each under a millisecond instead.
        with self._write_lock:
            super().put(request, value, ignored_args_for_cache_key, enable_memory_cache)

    def counts(self) -> dict[str, CallCounts]:
        with self._counts_lock:
            return {role: counts.model_copy() for role, counts in sorted(self._counts.items())}

    def close(self) -> None:
        if hasattr(self.disk_cache, "close"):
            self.disk_cache.close()


@contextlib.contextmanager
def run_cache(directory: Path, limiters: dict[str, RateLimiter] | None = None) -> Iterator[RunCache]:
    """Route every DSPy LM call in this process through a cache stored in ``directory``."""
    cache = RunCache(directory, limiters)
    namespace = vars(dspy)
    with dspy._cache_lock:
        # Read the attribute without triggering DSPy's lazy default cache in the home directory.
        previous = namespace.get("cache")
        namespace["cache"] = cache
    try:
        yield cache
    finally:
        with dspy._cache_lock:
            if previous is None:
                namespace.pop("cache", None)
            else:
                namespace["cache"] = previous
        cache.close()
