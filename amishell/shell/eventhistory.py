"""The session's one event history: raw event frames with their receive times.

Whatever the display does (on, off, paused, filtered, flooded), every event the
session receives is kept here, unparsed, up to a bound (events and bytes): what
looks back (``.events last``, what a pause held back, ``.trace``, a filter
preview, ``.why``) parses only what it asks for. An event that falls out of the
bound is gone; :attr:`EventHistory.start` says when the kept part begins.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterator
from typing import NamedTuple

from ..message import Message
from ..protocol import parse_frame

__all__ = ["DEFAULT_EVENTS", "DEFAULT_BYTES", "EventHistory", "Kept"]

DEFAULT_EVENTS = 200_000
DEFAULT_BYTES = 64 << 20


class Kept(NamedTuple):
    """One event of the history: its number in the session (from 1), when it
    arrived (``time.time()``), and the message, parsed on demand."""

    seq: int
    received: float
    message: Message


class EventHistory:
    """A bounded, thread-safe history of raw event frames.

    ``add`` is called on the client's dispatcher thread for each event and does
    no parsing; the other methods parse what they return.
    """

    def __init__(self, max_events: int = DEFAULT_EVENTS, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_events = max(0, int(max_events))
        self.max_bytes = max(0, int(max_bytes))
        self._frames: collections.deque[tuple[int, float, bytes]] = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()
        #: Events added since the session began (the last one's ``seq``).
        self.total = 0
        #: Events that fell out of the bound.
        self.dropped = 0
        #: Receive time of the last event that fell out (None: nothing lost yet).
        self.lost_until: float | None = None

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def enabled(self) -> bool:
        return self.max_events > 0

    @property
    def start(self) -> float | None:
        """Receive time of the oldest event kept, or None when empty."""
        with self._lock:
            return self._frames[0][1] if self._frames else None

    def add(self, frame: bytes, received: float) -> int:
        """Keep one raw event frame; returns its ``seq`` (0 when the history is off)."""
        if not self.max_events:
            return 0
        with self._lock:
            self.total += 1
            self._frames.append((self.total, received, frame))
            self._bytes += len(frame)
            while self._frames and (
                len(self._frames) > self.max_events or self._bytes > self.max_bytes
            ):
                _, when, old = self._frames.popleft()
                self._bytes -= len(old)
                self.dropped += 1
                self.lost_until = when
            return self.total

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    def _snapshot(self, after: int = 0) -> list[tuple[int, float, bytes]]:
        with self._lock:
            if not after:
                return list(self._frames)
            # The seqs kept run up to total without a hole: take the newest from the
            # right end (a live view asks often, for few; never copy the whole bound).
            newer = min(len(self._frames), max(0, self.total - after))
            return list(itertools.islice(reversed(self._frames), newer))[::-1]

    def since(self, seq: int, limit: int | None = None) -> list[Kept]:
        """The events kept whose ``seq`` is greater than ``seq``, oldest first; the
        oldest ``limit`` of them only when ``limit`` is given (the rest unparsed)."""
        return [Kept(s, t, _parse(f)) for s, t, f in self._snapshot(seq)[:limit]]

    def last(self, n: int) -> list[Kept]:
        """The last ``n`` events kept, oldest first."""
        if n <= 0:
            return []
        return [Kept(s, t, _parse(f)) for s, t, f in self._snapshot()[-n:]]

    def __iter__(self) -> Iterator[Kept]:
        """Every event kept, oldest first, parsed one at a time."""
        for s, t, f in self._snapshot():
            yield Kept(s, t, _parse(f))

    def missing_before(self, seq: int) -> int:
        """How many events after ``seq`` fell out of the bound (0: all still kept)."""
        with self._lock:
            first = self._frames[0][0] if self._frames else self.total + 1
        return max(0, first - seq - 1)


def _parse(frame: bytes) -> Message:
    message = parse_frame(frame)
    message.raw = frame
    return message
