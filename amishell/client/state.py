"""The connection's state, the changes a program is told of, and the wire observer."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

__all__ = ["ConnectionChange", "ConnectionState", "Stats", "WireObserver"]


class ConnectionState(StrEnum):
    """Where the client's connection stands (:attr:`AMIClient.state`)."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    RECONNECTING = "reconnecting"


class ConnectionChange(StrEnum):
    """What ``state_callback(change, detail)`` is told."""

    CONNECTED = "connected"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    RECONNECTED = "reconnected"
    CLOSED = "closed"


class WireObserver(Protocol):
    """Sees every byte of every connection. Its methods are called on the
    writing thread and the reader thread: they must never block."""

    def opened(self, address: str) -> None:
        """A connection to ``"HOST:PORT"`` opened (at every reconnect too)."""

    def sent(self, data: bytes) -> None:
        """Exactly the bytes about to be written."""

    def received(self, data: bytes) -> None:
        """Each read, exactly as read (the greeting included)."""

    def closed(self) -> None:
        """The connection ended."""


class Stats:
    """The client's counters (kept across reconnects)."""

    __slots__ = ("messages_received", "events_received", "dropped_events", "protocol_errors",
                 "callback_errors", "last_received")

    def __init__(self) -> None:
        self.messages_received = 0
        self.events_received = 0
        self.dropped_events = 0
        self.protocol_errors = 0
        self.callback_errors = 0
        self.last_received: float | None = None
