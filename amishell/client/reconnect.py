"""Reconnecting after a drop (``AMIClient(..., reconnect=True)``).

Attempts follow each other with a doubling delay, from ``reconnect_delay``
up to ``reconnect_max_delay``. Each logs in again, which sends the event
mask, and re-adds the filters the client remembers. A refused login stops
reconnecting; so do ``close()`` and ``disconnect()``.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ..errors import AMIError, LoginFailed

__all__ = ["Reconnector"]


class Reconnecting(Protocol):
    """What the reconnector needs from the client."""

    reconnect_delay: float
    reconnect_max_delay: float

    def attempt_reconnect(self, number: int, delay: float) -> None: ...

    def reestablish(self) -> None: ...

    def reconnect_failed(self, error: AMIError, final: bool) -> None: ...

    def reconnected(self) -> None: ...


class Reconnector:
    """One reconnecting run on a thread of its own."""

    def __init__(self, client: Reconnecting) -> None:
        self._client = client
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amishell-reconnect", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def now(self) -> None:
        """Skip the wait before the next attempt."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        client = self._client
        delay = max(client.reconnect_delay, 0.0)
        number = 0
        while not self._stop.is_set():
            number += 1
            client.attempt_reconnect(number, delay)
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                client.reestablish()
            except LoginFailed as exc:
                client.reconnect_failed(exc, final=True)
                return
            except AMIError as exc:
                client.reconnect_failed(exc, final=False)
                delay = min(max(delay * 2, 0.05), client.reconnect_max_delay)
                continue
            if self._stop.is_set():
                return
            client.reconnected()
            return
