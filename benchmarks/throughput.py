"""Run-engine throughput against the OpenAI-compatible test server, side by side with raw litellm.

For each concurrency C the engine runs N items, one LM call each (a DSPy predictor through the described-JSON
adapter, the run cache and the executor), against a server answering after a fixed latency L; raw litellm sends
the very same requests (same messages, same schema) with ``litellm.acompletion`` at the same concurrency. The ideal is
C / L calls per second. The server runs in its own process, as a remote backend would.

    .venv/bin/python benchmarks/throughput.py [--latency 0.2] [--concurrency 1 4 16 64] [--quickstart]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import persona  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm loads)

ROOT = Path(__file__).resolve().parents[1]
PAPER_PAIRS = 317_200  # PERSONA's preference pairs
CALLS_PER_PAIR = 4  # answer, critique, revision, and one role-play verification


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "openai_server.py"), "--port", str(port), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and "serving" in process.stdout.readline()
    return process, f"http://127.0.0.1:{port}/v1"


def engine_rate(base_url: str, concurrency: int, calls: int, tag: str) -> float:
    import dspy

    from persona.lm import ModelConfig, make_lm
    from persona.lm.adapter import DescribedJSONAdapter
    from persona.programs.retrying import ReaskingPredict
    from persona.runs import ItemLog, run_cache, run_items
    from persona.signatures import AnswerWithoutPersona

    os.environ["PERSONA_BENCH_KEY"] = "sk-bench"
    lm = make_lm(
        ModelConfig(model="openai/bench", api_base=base_url, api_key_env="PERSONA_BENCH_KEY", response_schema=True),
        role="generator",
    )
    predict = ReaskingPredict(AnswerWithoutPersona)
    predict.lm = lm
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_cache(Path(tmp) / "cache"),
        dspy.context(adapter=DescribedJSONAdapter()),
    ):
        start = time.perf_counter()
        result = run_items(
            [f"{tag} question {i}?" for i in range(calls)],
            key=lambda q: q,
            work=lambda q: {"answer": predict(question=q).answer},
            log=ItemLog(Path(tmp) / "items.jsonl"),
            concurrency=concurrency,
        )
        elapsed = time.perf_counter() - start
    assert result.failed == 0
    return calls / elapsed


def raw_rate(base_url: str, concurrency: int, calls: int, tag: str) -> float:
    """The engine's exact requests (same messages and schema, formatted by the same adapter), sent bare."""
    import litellm

    from persona.lm.adapter import DescribedJSONAdapter
    from persona.signatures import AnswerWithoutPersona

    adapter = DescribedJSONAdapter()
    requests = [adapter.format(AnswerWithoutPersona, [], {"question": f"{tag} question {i}?"}) for i in range(calls)]
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "DSPyProgramOutputs",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }

    async def main() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(messages: list[dict]) -> None:
            async with gate:
                await litellm.acompletion(
                    model="openai/bench",
                    api_base=base_url,
                    api_key="sk-bench",
                    messages=messages,
                    response_format=schema,
                )

        start = time.perf_counter()
        await asyncio.gather(*(one(messages) for messages in requests))
        return calls / (time.perf_counter() - start)

    return asyncio.run(main())


def quickstart_times() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "persona", "quickstart", "--out", tmp], check=True, capture_output=True
            )
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--seconds", type=float, default=4.0, help="target duration of each ideal-rate run")
    parser.add_argument("--quickstart", action="store_true", help="also time a cold and a warm quickstart")
    args = parser.parse_args()
    console = Console(width=130)

    server, base_url = start_server(args.latency)
    rows = []
    try:
        engine_rate(base_url, 4, 8, "warmup")
        raw_rate(base_url, 4, 8, "warmup")
        for c in args.concurrency:
            ideal = c / args.latency
            calls = max(2 * c, int(ideal * args.seconds))
            ours = engine_rate(base_url, c, calls, f"e{c}")
            raw = raw_rate(base_url, c, calls, f"r{c}")
            rows.append((c, calls, ideal, ours, raw))
    finally:
        server.terminate()

    table = Table(
        title=f"Throughput vs a {args.latency * 1000:.0f} ms test server ({os.cpu_count()} CPUs, server "
        "in its own process)"
    )
    for column in (
        "C",
        "calls",
        "ideal C/L",
        "engine calls/s",
        "% of ideal",
        "raw litellm calls/s",
        "engine % of raw",
        "engine overhead ms/call",
    ):
        table.add_column(column, justify="right")
    for c, calls, ideal, ours, raw in rows:
        overhead = 1000 * (c / ours - args.latency)
        table.add_row(
            str(c),
            str(calls),
            f"{ideal:.1f}",
            f"{ours:.1f}",
            f"{100 * ours / ideal:.0f}%",
            f"{raw:.1f}",
            f"{100 * ours / raw:.0f}%",
            f"{overhead:.1f}",
        )
    console.print(table)

    ceiling = max(ours for *_, ours, _ in rows)
    calls = PAPER_PAIRS * CALLS_PER_PAIR
    projection = Table(
        title=f"Projection: the paper's dataset, {PAPER_PAIRS:,} pairs x {CALLS_PER_PAIR} calls = "
        f"{calls:,} LM calls; engine ceiling here {ceiling:.0f} calls/s"
    )
    for column in ("backend rate (calls/s)", "limited by", "wall time"):
        projection.add_column(column, justify="right")
    for backend in (10, 50, 200, 1000):
        rate = min(backend, ceiling)
        projection.add_row(
            str(backend), "backend" if backend <= ceiling else "engine (this machine)", f"{calls / rate / 3600:.1f} h"
        )
    console.print(projection)

    if args.quickstart:
        cold, warm = quickstart_times()
        table = Table(title="quickstart on the embedded model, same run dir twice")
        table.add_column("run")
        table.add_column("wall time (s)", justify="right")
        table.add_row("cold (every LM call runs)", f"{cold:.1f}")
        table.add_row("warm (all items resumed from the run dir)", f"{warm:.1f}")
        console.print(table)


if __name__ == "__main__":
    main()
