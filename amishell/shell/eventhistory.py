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
#: The bound in bytes of frames kept: with the shell itself, well under 100 MB.
DEFAULT_BYTES = 32 << 20


class Kept(NamedTuple):
    """One event of the history: its number in the session (from 1), when it
    arrived (``time.time()``), and the message, parsed on demand."""

    seq: int
    received: float
    message: Message


class EventHistory:
    """A bounded, thread-safe history of raw event frames.

    ``add`` is called on the client's dispatcher thread for each event and does
    no parsing; the other methods parse what they return. Frames and their times
    are kept in two plain deques (no object per event beyond the frame itself),
    so the bound in bytes is close to what the history really costs.
    """

    def __init__(self, max_events: int = DEFAULT_EVENTS, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_events = max(0, int(max_events))
        self.max_bytes = max(0, int(max_bytes))
        self._frames: collections.deque[bytes] = collections.deque()
        self._times: collections.deque[float] = collections.deque()
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
            return self._times[0] if self._times else None

    def add(self, frame: bytes, received: float) -> int:
        """Keep one raw event frame; returns its ``seq`` (0 when the history is off)."""
        if not self.max_events:
            return 0
        with self._lock:
            self.total += 1
            self._frames.append(frame)
            self._times.append(received)
            self._bytes += len(frame)
            while self._frames and (
                len(self._frames) > self.max_events or self._bytes > self.max_bytes
            ):
                self._bytes -= len(self._frames.popleft())
                self.lost_until = self._times.popleft()
                self.dropped += 1
            return self.total

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._times.clear()
            self._bytes = 0

    def _newest(self, count: int | None) -> list[tuple[int, float, bytes]]:
        """The newest ``count`` entries kept (all with None), oldest first, as
        ``(seq, time, frame)``: taken from the right end, never copying the rest."""
        with self._lock:
            kept = len(self._frames)
            n = kept if count is None else max(0, min(count, kept))
            frames = list(itertools.islice(reversed(self._frames), n))[::-1]
            times = list(itertools.islice(reversed(self._times), n))[::-1]
            first = self.total - n + 1
        return [(first + i, t, f) for i, (t, f) in enumerate(zip(times, frames, strict=True))]

    def since(self, seq: int, limit: int | None = None) -> list[Kept]:
        """The events kept whose ``seq`` is greater than ``seq``, oldest first; the
        oldest ``limit`` of them only when ``limit`` is given (the rest unparsed)."""
        entries = self._newest(max(0, self.total - seq))[:limit]
        return [Kept(s, t, _parse(f)) for s, t, f in entries]

    def last(self, n: int) -> list[Kept]:
        """The last ``n`` events kept, oldest first."""
        if n <= 0:
            return []
        return [Kept(s, t, _parse(f)) for s, t, f in self._newest(n)]

    def __iter__(self) -> Iterator[Kept]:
        """Every event kept, oldest first, parsed one at a time."""
        for s, t, f in self._newest(None):
            yield Kept(s, t, _parse(f))

    def missing_before(self, seq: int) -> int:
        """How many events after ``seq`` fell out of the bound (0: all still kept)."""
        with self._lock:
            first = self.total - len(self._frames) + 1
        return max(0, first - seq - 1)


def _parse(frame: bytes) -> Message:
    message = parse_frame(frame)
    message.raw = frame
    return message
