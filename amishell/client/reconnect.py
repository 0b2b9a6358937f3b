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
from .state import ConnectionChange, ConnectionState

State = ConnectionState
Change = ConnectionChange

__all__ = ["Reconnector"]


class Reconnecting(Protocol):
    """What the reconnector needs from the client."""

    reconnect_delay: float
    reconnect_max_delay: float
    last_error: AMIError | None

    def _enter(self, state: ConnectionState, change: ConnectionChange | None = None,
               detail: str = "") -> None: ...

    def _establish(self) -> None: ...

    def _drop_link(self) -> None: ...


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
            client._enter(State.RECONNECTING, Change.RECONNECTING,
                          f"attempt {number} in {delay:g} s")
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                client._drop_link()
                client._establish()
            except LoginFailed as exc:  # refused: trying again would not help
                client.last_error = exc
                client._drop_link()
                client._enter(State.CLOSED, Change.CLOSED, str(exc))
                return
            except AMIError as exc:
                client.last_error = exc
                client._drop_link()
                delay = min(max(delay * 2, 0.05), client.reconnect_max_delay)
                continue
            if not self._stop.is_set():
                client._enter(State.CONNECTED, Change.RECONNECTED)
            return
