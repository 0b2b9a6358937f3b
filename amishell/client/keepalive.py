"""The keep-alive: a Ping every ``keepalive`` seconds; a server that stops
answering is declared lost within about ``keepalive`` + min(``timeout``,
max(``keepalive``, 5)) seconds, whatever else is pending.

Only an action that legitimately holds the session (a synchronous
Originate, within its own timeout) defers the verdict: Asterisk answers
nothing else on that session meanwhile.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from ..errors import ResponseTimeout
from .future import ActionFuture
from .reader import Reader

__all__ = ["Keepalive"]


class Pinger(Protocol):
    """What the keep-alive needs from the client."""

    timeout: float
    last_latency: float | None

    def ping_future(self) -> tuple[Reader, ActionFuture] | None: ...


class Keepalive:
    def __init__(self, client: Pinger, interval: float) -> None:
        self._client = client
        self.interval = float(interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amishell-keepalive", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        interval = self.interval
        stop = self._stop
        while not stop.wait(interval):
            sent = self._client.ping_future()
            if sent is not None:
                self.check(*sent)

    def check(self, reader: Reader, future: ActionFuture) -> None:
        """Wait for one keep-alive Ping; fail the connection when no answer comes."""
        start = future.sent_at
        limit = min(self._client.timeout, max(self.interval, 5.0))
        while not future.wait(limit):
            if self._stop.is_set() or not reader.alive:
                return
            if reader.router.holds_session(future.sent_at):
                continue  # queued behind a synchronous Originate
            reader.fail(ResponseTimeout(
                "Server stopped answering: no reply to a keep-alive Ping within"
                f" {time.monotonic() - start:.0f}s. Asterisk drops a session that reads"
                " too slowly, or the network or the server is down"
            ))
            return
        if not future.result().is_error:
            self._client.last_latency = (future.done_at or time.monotonic()) - start
