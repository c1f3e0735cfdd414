"""An OpenAI-compatible chat server on 127.0.0.1 with configurable latency and faults, for tests and benchmarks.

Successful answers are a pure function of the request (so a resumed run gets the same answers as an
uninterrupted one); which request meets a fault is drawn from a seeded RNG. It counts every request it received
and every answer it delivered, per distinct request body, so tests can prove that nothing was asked twice.

    python tests/openai_server.py --port 8765 --latency 0.2     # standalone, for benchmarks
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Faults:
    """Probabilities per request; the rest succeed."""

    rate_limit: float = 0.0  # 429 with Retry-After
    server_error: float = 0.0  # 500
    timeout: float = 0.0  # never answers (the client's timeout fires)
    truncated: float = 0.0  # 200 with a body cut mid-JSON
    garbage: float = 0.0  # 200, valid envelope, message content that is not the JSON asked for
    retry_after: float = 0.05

    def draw(self, rng: random.Random) -> str | None:
        roll = rng.random()
        for name in ("rate_limit", "server_error", "timeout", "truncated", "garbage"):
            probability = getattr(self, name)
            if roll < probability:
                return name
            roll -= probability
        return None


@dataclass
class Stats:
    received: int = 0
    answered: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    faults: Counter = field(default_factory=Counter)
    answered_by_request: Counter = field(default_factory=Counter)
    received_at: list[float] = field(default_factory=list)  # time.monotonic() of each request's arrival

    def duplicates(self) -> int:
        """Answers delivered for a request that had already been answered."""
        return sum(count - 1 for count in self.answered_by_request.values() if count > 1)


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return response_format.get("json_schema", {}).get("schema", {})
    return None


def answer_for(body: dict[str, Any]) -> str:
    """Deterministic content: schema fields filled from a digest of the messages and seed."""
    digest = hashlib.sha256(json.dumps([body.get("messages"), body.get("seed")], sort_keys=True).encode()).hexdigest()
    schema = _schema(body)
    if schema is None:
        return f"answer {digest[:12]}"
    content: dict[str, Any] = {}
    for i, (name, prop) in enumerate(schema.get("properties", {}).items()):
        if prop.get("type") == "boolean":
            content[name] = int(digest[i], 16) % 2 == 0
        elif "enum" in prop:
            content[name] = prop["enum"][int(digest[i], 16) % len(prop["enum"])]
        else:
            content[name] = f"{name} {digest[:12]}"
    return json.dumps(content)


class FakeOpenAI:
    """The server. Start with ``start()`` (a background thread) or ``serve_forever()``; stop with ``stop()``."""

    def __init__(self, latency: float = 0.0, faults: Faults | None = None, seed: int = 0, port: int = 0) -> None:
        self.latency = latency
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.port = port
        self.stats = Stats()
        self.frozen = False  # hold every answer (tests use it to kill a client with nothing in flight)
        self.killed: list[int] = []  # what kill_client_when_answered killed
        self.api_keys: Counter = Counter()
        self.headers: defaultdict[str, set[str]] = defaultdict(set)  # custom (X-) request headers, by lower-case name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.stats.in_flight += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.stats.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.stats.received += 1
        self.stats.received_at.append(time.monotonic())
        self.api_keys[request.headers.get("Authorization", "")] += 1
        for name, value in request.headers.items():
            if name.lower().startswith("x-"):
                self.headers[name.lower()].add(value)
        fault = self.faults.draw(self.rng)
        if fault:
            self.stats.faults[fault] += 1
        await asyncio.sleep(self.latency)
        if fault == "timeout":  # hold the request until the client gives up on it
            while request.transport is not None and not request.transport.is_closing() and self._loop is not None:
                await asyncio.sleep(0.02)
            return web.Response(status=499)
        while self.frozen:
            await asyncio.sleep(0.01)
        if fault == "rate_limit":
            return web.json_response(
                {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                status=429,
                headers={"Retry-After": str(self.faults.retry_after)},
            )
        if fault == "server_error":
            return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=500)
        content = "Sure! Here is what I think: {{{" if fault == "garbage" else answer_for(body)
        payload = json.dumps(
            {
                "id": f"chatcmpl-{self.stats.received}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )
        if fault == "truncated":
            payload = payload[: len(payload) // 2]
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # the client is gone: nothing was delivered
        if fault is None:
            self.stats.answered += 1
            key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            self.stats.answered_by_request[key] += 1
        return web.Response(text=payload, content_type="application/json")

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        return app

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()

    def start(self) -> FakeOpenAI:
        """Serve from a daemon thread; returns once the port is bound."""

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            with contextlib.suppress(TimeoutError):
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def kill_client_when_answered(
        self, pid: int | Callable[[], int | None], answered: int, settle: float = 0.5
    ) -> None:
        """SIGKILL ``pid`` once ``answered`` answers went out, holding later answers so none is in flight.

        ``pid`` may be a function that finds the process to kill (asked until it names one, answers held meanwhile).
        """

        def watch() -> None:
            while self.stats.answered < answered:
                time.sleep(0.002)
            self.frozen = True
            time.sleep(settle)  # answers already sent reach the client's cache before it dies
            target = pid if isinstance(pid, int) else None
            deadline = time.monotonic() + 30
            while target is None and time.monotonic() < deadline:
                target = pid()  # type: ignore[operator]
                time.sleep(0.05)
            if target is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(target, signal.SIGKILL)
                self.killed.append(target)
            time.sleep(0.2)
            self.frozen = False

        threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible fault-injecting test server")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    server = FakeOpenAI(latency=args.latency, seed=args.seed, port=args.port)

    async def forever() -> None:
        await server._serve()
        print(f"serving on {server.base_url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(forever())


if __name__ == "__main__":
    main()
