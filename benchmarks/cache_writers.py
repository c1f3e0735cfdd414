"""How many LM-cache writes per second one run dir's cache takes from many processes at once.

Sharded runs (``--workers N``, Ray) write every answer into the run's one cache; this measures whether that
store keeps up (and loses no write) with N writer processes, against the 1,000 writes/s a fast backend makes.

    python benchmarks/cache_writers.py --processes 1 2 4 8 --writes 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

VALUE = {"choices": [{"message": {"content": "x" * 1500}}], "usage": {"prompt_tokens": 300}}


def _writer(directory: str, worker: int, writes: int, ready: Any, times: Any) -> None:
    from persona.runs.cache import RunCache

    cache = RunCache(Path(directory))
    ready.wait()  # every process has imported and opened the cache
    start = time.time()
    for i in range(writes):
        cache.put({"model": "bench/model", "messages": [f"{worker}-{i}"]}, VALUE)
    times.put((start, time.time()))
    cache.close()


def measure(processes: int, writes: int) -> tuple[float, int]:
    """Writes/s over all processes, and how many of the writes a fresh reader finds."""
    with tempfile.TemporaryDirectory() as directory:
        from persona.runs.cache import RunCache

        RunCache(Path(directory)).close()  # create the shards before the clock starts
        context = multiprocessing.get_context("spawn")
        ready, times = context.Barrier(processes), context.Queue()
        jobs = [context.Process(target=_writer, args=(directory, w, writes, ready, times)) for w in range(processes)]
        for job in jobs:
            job.start()
        spans = [times.get() for _ in jobs]
        for job in jobs:
            job.join()
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
        reader = RunCache(Path(directory))
        found = sum(
            reader.get({"model": "bench/model", "messages": [f"{w}-{i}"]}) is not None
            for w in range(processes)
            for i in range(writes)
        )
        reader.close()
    return processes * writes / elapsed, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--writes", type=int, default=2000, help="writes per process")
    args = parser.parse_args()
    table = Table(title=f"one run cache, {args.writes} writes of ~1.6 kB per process")
    for column in ("processes", "writes/s", "written", "found after"):
        table.add_column(column, justify="right")
    for processes in args.processes:
        rate, found = measure(processes, args.writes)
        table.add_row(str(processes), f"{rate:,.0f}", f"{processes * args.writes:,}", f"{found:,}")
    Console().print(table)


if __name__ == "__main__":
    main()
