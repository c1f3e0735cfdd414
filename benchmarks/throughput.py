"""Run-engine throughput against the OpenAI-compatible test server, side by side with raw litellm.

For each concurrency C the engine runs N items, one LM call each (a DSPy predictor through the described-JSON
adapter, the run cache and the executor), against a server answering after a fixed latency L; raw litellm sends
the very same requests (same messages, same schema) with ``litellm.acompletion`` at the same concurrency. The ideal is
C / L calls per second. The server runs in its own process, as a remote backend would.

    .venv/bin/python benchmarks/throughput.py [--latency 0.2] [--concurrency 1 4 16 64] [--quickstart]

With ``--workers N [N ...]`` it measures the sharded engine instead: a real ``curation`` run (two LM calls per
prompt) with ``[run] workers = N`` at each total concurrency C, next to raw litellm sharded the same way (N processes,
C/N in flight each). The engine's rate is taken between its first and last finished item, so it is the rate with the
workers up; their start-up (imports, replaying the run up to the stage) is the "start-up s" column. ``--ray`` adds
the same runs through a local Ray.

    .venv/bin/python benchmarks/throughput.py --workers 1 4 16 --concurrency 16 64 256 [--ray]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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
            make_work=lambda: lambda q: {"answer": predict(question=q).answer},
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


def _tail_times(folder: Path, pattern: str, times: list[float], stop: threading.Event) -> None:
    """Record when each entry of the item logs matching ``pattern`` appeared (new bytes read every 10 ms)."""
    from persona.runs.shards import LogTail

    tails: dict[Path, LogTail] = {}
    while not stop.is_set():
        for path in folder.glob(pattern):
            arrived = len(tails.setdefault(path, LogTail(path)).read())
            times.extend([time.perf_counter()] * arrived)
        time.sleep(0.01)


def sharded_engine_rate(base_url: str, concurrency: int, calls: int, workers: int, ray: bool) -> tuple[float, float]:
    """Calls/s of a curation run sharded over ``workers`` (between its first and last finished item), and the
    seconds before its first item finished."""
    from persona.runs import run_spec
    from persona.runs.spec import spec_class

    tag = f"{'ray' if ray else 'w'}{workers}c{concurrency}"
    os.environ["PERSONA_BENCH_KEY"] = "sk-bench"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "prompts.jsonl"
        source.write_text(
            "".join(
                json.dumps({"text": f"Should the council of town {tag}-{i} raise taxes to fund public parks?"}) + "\n"
                for i in range(calls // 2)
            )
        )
        spec = spec_class("curation").model_validate(
            {
                "source": str(source),
                "model": {
                    "model": "openai/bench",
                    "api_base": base_url,
                    "api_key_env": "PERSONA_BENCH_KEY",
                    "response_schema": True,
                },
                "run": {"workers": workers, "concurrency": concurrency, "executor": "ray" if ray else "process"},
            }
        )
        logs, times, stop = Path(tmp) / "run" / "log", [], threading.Event()
        pattern = "classify.shard-*.jsonl" if workers > 1 or ray else "classify.jsonl"
        watcher = threading.Thread(target=_tail_times, args=(logs, pattern, times, stop))
        start = time.perf_counter()
        watcher.start()
        try:
            result = run_spec(spec, out=Path(tmp) / "run")
        finally:
            stop.set()
            watcher.join()
    assert result.manifest.metrics is not None and sum(result.manifest.failures.values()) == 0
    items = len(times)
    return 2 * (items - 1) / (times[-1] - times[0]), times[0] - start


def _raw_shard(base_url: str, concurrency: int, calls: int, tag: str, ready: Any, spans: Any) -> None:
    raw_rate(base_url, 1, 1, f"{tag}-warmup")  # imports and connection set-up are not part of the rate
    ready.wait()
    start = time.perf_counter()
    raw_rate(base_url, concurrency, calls, tag)
    spans.put((start, time.perf_counter()))


def sharded_raw_rate(base_url: str, concurrency: int, calls: int, workers: int) -> float:
    """Raw litellm in ``workers`` processes, ``concurrency / workers`` in flight each, started together."""
    context = multiprocessing.get_context("spawn")
    ready, spans = context.Barrier(workers), context.Queue()
    jobs = [
        context.Process(
            target=_raw_shard,
            args=(
                base_url,
                max(1, concurrency // workers),
                calls // workers,
                f"raw{workers}-{concurrency}-{w}",
                ready,
                spans,
            ),
        )
        for w in range(workers)
    ]
    for job in jobs:
        job.start()
    done = [spans.get() for _ in jobs]
    for job in jobs:
        job.join()
    return workers * (calls // workers) / (max(end for _, end in done) - min(start for start, _ in done))


def sharded_table(args: argparse.Namespace, base_url: str, console: Console) -> None:
    table = Table(
        title=f"Sharded engine vs a {args.latency * 1000:.0f} ms test server ({os.cpu_count()} CPUs, server in its "
        "own process); engine rate with its workers up"
    )
    for column in (
        "executor",
        "workers",
        "C",
        "calls",
        "ideal C/L",
        "engine calls/s",
        "% of ideal",
        "raw litellm, same shards",
        "engine % of raw",
        "start-up s",
    ):
        table.add_column(column, justify="right")
    executors = ["process", "ray"] if args.ray else ["process"]
    for workers in args.workers:
        for c in (c for c in args.concurrency if c >= workers):
            ideal = c / args.latency
            calls = max(4 * c, int(ideal * args.seconds))
            raw = sharded_raw_rate(base_url, c, calls, workers)
            for executor in executors:
                ours, startup = sharded_engine_rate(base_url, c, calls, workers, executor == "ray")
                table.add_row(
                    executor,
                    str(workers),
                    str(c),
                    str(calls),
                    f"{ideal:.0f}",
                    f"{ours:.0f}",
                    f"{100 * ours / ideal:.0f}%",
                    f"{raw:.0f}",
                    f"{100 * ours / raw:.0f}%",
                    f"{startup:.1f}",
                )
    console.print(table)


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
    parser.add_argument("--workers", type=int, nargs="+", help="measure the sharded engine at these worker counts")
    parser.add_argument("--ray", action="store_true", help="with --workers: also through a local Ray")
    args = parser.parse_args()
    console = Console(width=150)
    if args.workers:
        server, base_url = start_server(args.latency)
        try:
            raw_rate(base_url, 4, 8, "warmup")
            sharded_table(args, base_url, console)
        finally:
            server.terminate()
        return

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
