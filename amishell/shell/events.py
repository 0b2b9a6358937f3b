"""Events on screen: filters, the bounded hand-off to the display, floods, the log.

The client's dispatcher thread calls :meth:`EventView.push` for every event. It
only counts, filters, logs and appends to a bounded queue; it never touches the
terminal. The display side calls :meth:`EventView.take` every tick (about ten a
second) and shows at most ``per_tick`` events; whatever else arrived in that
tick is counted and summarised as ``... 3,412 events not shown``. Memory stays
bounded whatever the rate: the queue holds at most what the next tick shows
(and never more than ``max_pending`` events). :meth:`EventView.skip_unparsed`
lets the shell count an event that would not be kept without parsing it at all,
which is what keeps a flood from piling up unread in the client's queue.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Final

from ..message import Message
from .context import private_fd
from .eventline import format_event_line
from .jsonlines import message_json
from .render import Fragments, Renderer

__all__ = ["EventFilter", "EventLog", "EventView", "Batch", "format_event_line"]

STATES: Final = ("on", "off", "pause")
MODES: Final = ("line", "full")


class EventFilter:
    """Which events to show: names, globs, ``Key=glob`` header matches, ``!`` to exclude.

    ``Hangup,Newchannel`` shows those two; ``Queue*`` every name starting so;
    ``Channel=PJSIP/*`` events whose Channel matches; ``!VarSet`` hides VarSet.
    Name terms are alternatives; header terms on different keys must all match
    (several terms on one key are alternatives). Matching ignores case.
    """

    def __init__(self, spec: str) -> None:
        terms = [t for t in re.split(r"[,\s]+", spec.strip()) if t]
        if not terms:
            raise ValueError("empty filter: give names, globs or Key=glob, e.g. Hangup,Queue*")
        self.spec = ",".join(terms)
        names: list[str] = []
        no_names: list[str] = []
        headers: dict[str, list[str]] = {}
        no_headers: dict[str, list[str]] = {}
        for term in terms:
            negative = term.startswith("!")
            body = term[1:] if negative else term
            key, eq, pattern = body.partition("=")
            if not body or (eq and (not key or not pattern)):
                raise ValueError(f"bad filter term {term!r}: write Name, Glob* or Key=glob")
            if eq:
                target = no_headers if negative else headers
                target.setdefault(key.lower(), []).append(fnmatch.translate(pattern))
            else:
                (no_names if negative else names).append(fnmatch.translate(body))
        self._names = _either(names)
        self._no_names = _either(no_names)
        self._headers = [(k, _compile(p)) for k, p in headers.items()]
        self._no_headers = [(k, _compile(p)) for k, p in no_headers.items()]

    def matches(self, msg: Message) -> bool:
        name = _event_name(msg)
        if self._names is not None and self._names.match(name) is None:
            return False
        if self._no_names is not None and self._no_names.match(name) is not None:
            return False
        for key, pattern in self._headers:
            value = _header(msg, key)
            if value is None or pattern.match(value) is None:
                return False
        for key, pattern in self._no_headers:
            value = _header(msg, key)
            if value is not None and pattern.match(value) is not None:
                return False
        return True

    def __repr__(self) -> str:
        return f"EventFilter({self.spec!r})"


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


def _either(patterns: list[str]) -> re.Pattern[str] | None:
    return _compile(patterns) if patterns else None


def _event_name(msg: Message) -> str:
    got = dict.get(msg, "Event")
    if isinstance(got, str):
        return got
    return msg.value("Event") or ""


def _header(msg: Message, lower_key: str) -> str | None:
    for key, value in msg.headers:
        if key.lower() == lower_key:
            return value
    return None


class EventLog:
    """Events as JSON Lines, every one of them, in a file created mode 0600."""

    def __init__(
        self,
        path: str,
        clock: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = str,
    ) -> None:
        fd = private_fd(path)
        self.path = path
        self._file: IO[str] = os.fdopen(fd, "a", encoding="utf-8", buffering=1 << 16)
        self._lock = threading.Lock()
        self._clock = clock
        self._redact = redact
        self._flushed = clock()
        self._dirty = False
        self.written = 0
        #: Why writing stopped (a full disk...), or None.
        self.failed: str | None = None

    def write(self, msg: Message, received: float | None = None) -> None:
        line = self._redact(message_json(msg, received if received is not None else time.time()))
        with self._lock:
            if self._file.closed or self.failed:
                return
            try:
                self._file.write(line + "\n")
            except (OSError, ValueError) as e:  # a full disk must not stop the events
                self.failed = getattr(e, "strerror", None) or str(e)
                return
            self.written += 1
            self._dirty = True
            now = self._clock()
            if now - self._flushed > 0.5:
                self._flush(now)

    def flush_if_due(self) -> None:
        """Flush what was written more than half a second ago (called by the display
        every tick, so that ``tail -f`` sees the last events of a quiet spell)."""
        with self._lock:
            now = self._clock()
            if self._dirty and not self._file.closed and now - self._flushed > 0.5:
                self._flush(now)

    def _flush(self, now: float) -> None:
        try:
            self._file.flush()
        except (OSError, ValueError):
            pass
        self._flushed = now
        self._dirty = False

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __repr__(self) -> str:
        return f"EventLog({self.path!r}, written={self.written})"


class Batch:
    """What one display tick shows."""

    __slots__ = ("events", "not_shown", "notices")

    def __init__(
        self,
        events: list[tuple[float, Message]],
        not_shown: int = 0,
        notices: list[Fragments] | None = None,
    ) -> None:
        self.events = events
        #: Events that arrived but are not shown in this batch (flood, pause, overflow).
        self.not_shown = not_shown
        self.notices: list[Fragments] = [] if notices is None else notices

    def __repr__(self) -> str:
        return f"Batch({len(self.events)} events, not_shown={self.not_shown})"

    def __bool__(self) -> bool:
        return bool(self.events or self.not_shown or self.notices)


class EventView:
    """The bounded hand-off from the client's dispatcher thread to the display."""

    def __init__(
        self,
        *,
        per_tick: int = 100,
        max_pending: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_tick = per_tick
        self.max_pending = max_pending
        self.state = "on"
        self.mode = "line"
        self.filter: EventFilter | None = None
        self.log: EventLog | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: deque[tuple[float, Message]] = deque()
        self._notices: deque[Fragments] = deque(maxlen=200)
        self._unshown = 0
        self._paused = 0
        #: The event history's ``total`` when the current pause began.
        self.held_from = 0
        # Counters (written by the dispatcher thread only).
        self.received = 0
        self.shown = 0
        self.filtered = 0
        #: Events received while the display was off (not "filtered": nothing chose them).
        self.off = 0
        self.not_shown = 0
        self._rate_mark = (time.monotonic(), 0)
        self._rate = 0.0

    # -- dispatcher side --------------------------------------------------------
    def push(self, msg: Message) -> None:
        """Take one event (called on the client's dispatcher thread)."""
        self.received += 1
        now = self._clock()
        log = self.log
        if log is not None:
            log.write(msg, now)
        state = self.state
        if state == "off":
            self.off += 1
            return
        flt = self.filter
        if flt is not None and not flt.matches(msg):
            self.filtered += 1
            return
        self._offer(state, msg, now)

    def skip_unparsed(self) -> bool:
        """Count one event that would be neither kept nor logged, before it is parsed.

        True when it was counted (as :meth:`push` would have counted it); False
        when its message is needed (a filter or a log is on, or it would be shown).
        """
        if self.log is not None:
            return False
        state = self.state
        if state == "off":
            self.received += 1
            self.off += 1
            return True
        if self.filter is not None or not self._offer(state, None):
            return False
        self.received += 1
        return True

    def _offer(self, state: str, msg: Message | None, now: float = 0.0) -> bool:
        """Count an event the next tick will not show, or queue ``msg``.

        False only when the event would be queued but there is no message yet.
        """
        with self._lock:
            if state == "pause":
                self._paused += 1
            elif len(self._pending) >= self._room():
                self._unshown += 1
            elif msg is None:
                return False
            else:
                self._pending.append((now, msg))
        return True

    def _limit(self) -> int:
        """How many events one tick shows."""
        return self.per_tick if self.mode == "line" else max(1, self.per_tick // 10)

    def _room(self) -> int:
        # Events beyond what the next tick shows are only counted: keeping them
        # would cost memory and show nothing more.
        return min(self._limit(), self.max_pending)

    def notice(self, text: str, style: str = "warn") -> None:
        """A line for the user (connection state, late responses), from any thread."""
        self.notice_fragments([(style, text.rstrip("\n") + "\n")])

    def notice_fragments(self, fragments: Fragments) -> None:
        with self._lock:
            self._notices.append(fragments)

    # -- display side -----------------------------------------------------------
    def take(self) -> Batch:
        """Up to ``per_tick`` events; the rest of this tick's arrivals are counted."""
        with self._lock:
            pending, self._pending = self._pending, deque()
            unshown, self._unshown = self._unshown, 0
            notices = list(self._notices)
            self._notices.clear()
            paused = 0
            if self._paused and self.state != "pause":
                paused, self._paused = self._paused, 0
        limit = self._limit()
        events = [pending.popleft() for _ in range(min(limit, len(pending)))]
        unshown += len(pending)
        self.shown += len(events)
        self.not_shown += unshown + paused
        if paused:
            notices.append([("warn", f"... {paused:,} events not shown while paused\n")])
        return Batch(events, unshown, notices)

    @property
    def paused(self) -> int:
        """Events that arrived during the current pause."""
        return self._paused

    def resume(self) -> int:
        """Show events again; how many the pause held back (the caller shows them:
        they are no longer counted as not shown)."""
        with self._lock:
            self.state = "on"
            held, self._paused = self._paused, 0
        return held

    def render(self, batch: Batch, renderer: Renderer) -> Fragments:
        frags: Fragments = []
        for notice in batch.notices:
            frags += notice
        for ts, msg in batch.events:
            if renderer.format == "json":
                frags.append(("", message_json(msg, ts) + "\n"))
            elif renderer.format == "raw":
                frags += renderer.response(msg)
            elif self.mode == "full":
                frags.append(("time", time.strftime("%H:%M:%S", time.localtime(ts)) + "\n"))
                frags += renderer.event_block(msg)
                frags.append(("", "\n"))
            else:
                frags += format_event_line(ts, msg, renderer.width)
        if batch.not_shown:
            spec = f" {self.filter.spec}" if self.filter is not None else ""
            frags.append((
                "warn",
                f"... {batch.not_shown:,} events not shown"
                f" (.events last {batch.not_shown}{spec} shows them)\n",
            ))
        return frags

    def rate(self) -> float:
        """Events per second received, over the last second or so."""
        now = time.monotonic()
        then, count = self._rate_mark
        if now - then >= 1.0:
            self._rate = (self.received - count) / (now - then)
            self._rate_mark = (now, self.received)
        return self._rate

    def counters(self) -> dict[str, object]:
        """The display's state and counts (what ``.events`` says, for JSON)."""
        return {
            "display": self.state, "format": self.mode,
            "filter": self.filter.spec if self.filter else None,
            "received": self.received, "shown": self.shown, "filtered": self.filtered,
            "hidden_while_off": self.off,
            "not_shown": self.not_shown + self._unshown + self._paused,
            "per_tick": self.per_tick,
            "log": self.log.path if self.log is not None else None,
        }

    def describe(self) -> list[str]:
        flt = self.filter.spec if self.filter else "none"
        lines = [
            f"display: {'paused' if self.state == 'pause' else self.state}, {self.mode} format,"
            f" at most {self._limit()} events a tick; filter: {flt}",
            f"received {self.received:,}, shown {self.shown:,}, filtered out"
            f" {self.filtered:,}, hidden while off {self.off:,}, not shown (flood/pause)"
            f" {self.not_shown + self._unshown + self._paused:,}",
        ]
        if self.log is not None:
            lines.append(f"logging to {self.log.path} ({self.log.written:,} written)")
            if self.log.failed:
                lines.append(f"the event log stopped: {self.log.failed}")
        return lines
