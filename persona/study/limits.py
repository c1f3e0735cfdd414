"""What a slow or greedy client may hold of the study server: time to send a request's head, and connections.

uvicorn bounds idle keep-alive connections but not a request whose headers never finish: 150 half-sent requests
were still held open after 6 s. This protocol closes a connection whose request head is not complete within
``HEADER_TIMEOUT`` seconds of its first byte (or of the connection), and refuses a client's connection beyond
``PER_CLIENT``. Connections from this machine are not capped: behind a reverse proxy every connection comes from
it, and the proxy is where per-client limits belong then. Request bodies are bounded in time by the app's guard.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds to send a request line and headers
PER_CLIENT = 32  # open connections per client address (a browser opens six)
LOOPBACK = ("127.", "::1", "::ffff:127.")  # this machine: a reverse proxy in front, or the operator


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a cap on connections per client."""

    open_per_client: ClassVar[Counter[str]] = Counter()  # shared by every connection of the server process

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._counted: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        client = self.client[0] if self.client else "?"
        if client.startswith(LOOPBACK):
            self._arm()
            return
        if self.open_per_client[client] >= PER_CLIENT:
            transport.close()
            return
        self.open_per_client[client] += 1
        self._counted = client
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted is not None:
            self.open_per_client[self._counted] -= 1
            if self.open_per_client[self._counted] <= 0:
                del self.open_per_client[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # still waiting for (the rest of) a request head
            self._arm()
        else:
            self._disarm()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
