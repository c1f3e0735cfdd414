"""Simulated annotators answering a study at once over HTTP, for the load test and benchmarks/study_load.py.

Each annotator starts, answers every question with its submit sent twice at the same moment (a double click), and
submits. The latency of every answer POST is recorded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp


def justification(label: str, position: int) -> str:
    return f"Annotator {label} answers question {position} this way for a reason."


async def _post(client: aiohttp.ClientSession, path: str, what: str, data: dict[str, str] | None = None) -> None:
    async with client.post(path, data=data, allow_redirects=False) as response:
        await response.read()
        if response.status != 303:
            raise RuntimeError(f"{what}: HTTP {response.status}")


async def _annotate(client: aiohttp.ClientSession, label: str, path: str, total: int, latencies: list[float]) -> None:
    await _post(client, path + "/start", f"{label} start")

    async def answer(position: int) -> None:
        started = time.perf_counter()
        data = {"choice": "AB"[position % 2], "justification": justification(label, position)}
        await _post(client, f"{path}/q/{position}", f"{label} q{position}", data)
        latencies.append(time.perf_counter() - started)

    for position in range(1, total + 1):
        await asyncio.gather(answer(position), answer(position))
    await _post(client, path + "/review", f"{label} submit")


async def _load(base: str, annotators: list[dict[str, str]], total: int) -> list[float]:
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=2 * len(annotators))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        await asyncio.gather(*(_annotate(client, a["annotator"], a["path"], total, latencies) for a in annotators))
    return latencies


def run_load(
    base: str, annotators: list[dict[str, str]], total: int, limit_s: float = 300
) -> tuple[list[float], float]:
    """All annotators at once against ``base``: (answer-submit latencies in seconds, wall seconds)."""
    started = time.perf_counter()
    latencies = asyncio.run(asyncio.wait_for(_load(base, annotators, total), limit_s))
    return latencies, time.perf_counter() - started


def stored(study: Path) -> list[tuple[str, int, str, int]]:
    """(annotator, position, justification, revisions) of every stored answer."""
    with sqlite3.connect(study / "study.db") as db:
        return db.execute(
            "SELECT s.label, a.position, a.justification, a.revisions FROM answers a "
            "JOIN assignments s ON s.id = a.assignment_id ORDER BY s.id, a.position"
        ).fetchall()
