"""The rows of the live views (``.top``): channels, calls, bridges, queues.

:class:`TopModel` feeds a :class:`~.livestate.LiveState` from the session's
event history (so events are parsed only while a view is open), resyncs it
from the list actions now and then, and turns it into rows: sorted, filtered,
each cell knowing when it last changed. No terminal here: :mod:`.top` draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple

from ..message import Message
from .codes import DEVICE_STATES
from .livestate import LiveState
from .tables import natural_key

if TYPE_CHECKING:
    from ..client import ActionFuture, AMIClient
    from .eventhistory import EventHistory

__all__ = ["VIEWS", "Row", "TopModel", "member_status"]

VIEWS: Final = ("channels", "calls", "bridges", "queues", "endpoints")

#: Most events parsed in one refresh (the rest wait for the next one).
_BATCH: Final = 50_000

_HEADERS: Final = {
    "channels": ("Channel", "State", "Caller", "Connected", "Application", "Location",
                 "Duration", "Bridge"),
    "calls": ("Call", "Caller", "Chans", "Channels", "State", "Duration"),
    "bridges": ("Bridge", "Type", "Members", "Age"),
    "queues": ("Queue", "Who", "Name", "State", "Info"),
    "endpoints": ("Endpoint", "State", "Channels", "Aor", "Transport"),
}


def member_status(code: str) -> str:
    """A queue member's Status in words (``2 in use``)."""
    words = DEVICE_STATES.get(code)
    return f"{code} {words.lower()}" if words else code


class Row(NamedTuple):
    """One row: what it is about (a Uniqueid, a Linkedid ...), its cells, when
    each cell last changed (0: never), the channel it acts on, and its call."""

    key: str
    cells: tuple[str, ...]
    changed: tuple[float, ...]
    channel: str = ""
    linkedid: str = ""
    last_event: Message | None = None


class TopModel:
    """The live views' data: kept from the history, resynced, as rows."""

    def __init__(
        self,
        history: EventHistory,
        client: Callable[[], AMIClient | None],
        *,
        resync: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self.state = LiveState()
        self._client = client
        self.resync_every = resync
        self._clock = clock
        self.view = "channels"
        self.sort_column = 0
        self.filter = ""
        #: The history position read so far; events before it are not applied.
        self.seq = history.total
        self._asked: dict[str, ActionFuture] = {}
        #: Lists the server refused (a server without PJSIP): not asked again.
        self.unavailable: dict[str, str] = {}
        self._last_resync = -1e9
        self._rates: list[tuple[float, int]] = []
        self.events_per_second = 0.0
        self.connected = False

    # -- keeping current ------------------------------------------------------------
    def refresh(self, limit: int = _BATCH) -> None:
        """Apply the events that arrived (``limit`` at most), take finished resyncs,
        ask for new ones."""
        now = self._clock()
        kept = self.history.since(self.seq, limit)
        for item in kept:
            self.state.apply(item.message, now)
        if kept:
            self.seq = kept[-1].seq
        self._rate(now)
        client = self._client()
        connected = client is not None and client.connected
        if connected and not self.connected:
            self._last_resync = -1e9  # (re)connected: resync at once
        self.connected = connected
        self._take_resyncs(now)
        if connected and not self._asked and now - self._last_resync >= self.resync_every:
            self.resync_now()

    def resync_now(self) -> None:
        """Ask the server for the lists (answers are taken by :meth:`refresh`)."""
        client = self._client()
        if client is None or not client.connected:
            return
        self._last_resync = self._clock()
        for name, action in (("channels", "CoreShowChannels"), ("bridges", "BridgeList"),
                             ("queues", "QueueStatus"), ("endpoints", "PJSIPShowEndpoints")):
            if name not in self._asked and name not in self.unavailable:
                future = self._asked[name] = client.submit({"Action": action})
                # Parsed on the client's dispatcher thread when it completes (a list
                # of hundreds of channels), not in the view's event loop.
                future.add_done_callback(_parsed)

    def _take_resyncs(self, now: float) -> None:
        for name, future in list(self._asked.items()):
            if not future.done():
                continue
            del self._asked[name]
            msg = future.result(0)
            if msg.is_error:  # not offered by this server or user: events alone
                text = msg.value("Message") or "refused"
                if name == "endpoints" and self.connected and "timed out" not in text.lower():
                    self.unavailable[name] = text
                continue
            getattr(self.state, f"resync_{name}")(msg.events, now)

    def _rate(self, now: float) -> None:
        self._rates.append((now, self.history.total))
        while len(self._rates) > 2 and now - self._rates[0][0] > 3.0:
            self._rates.pop(0)
        (t0, n0), (t1, n1) = self._rates[0], self._rates[-1]
        self.events_per_second = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    # -- rows --------------------------------------------------------------------------
    @property
    def headers(self) -> tuple[str, ...]:
        return _HEADERS[self.view]

    def rows(self) -> list[Row]:
        """The current view's rows, filtered and sorted."""
        now = self._clock()
        rows = getattr(self, f"_{self.view}")(now)
        if self.filter:
            needle = self.filter.lower()
            rows = [r for r in rows if any(needle in c.lower() for c in r.cells)]
        col = min(self.sort_column, len(self.headers) - 1)
        return sorted(rows, key=lambda r: natural_key(r.cells[col]))

    def _channels(self, now: float) -> list[Row]:
        rows = []
        for c in self.state.channels.values():
            ch = c.changed
            cells = (c.name, c.state, c.caller, c.connected, c.application, c.location,
                     _age(now - c.created), c.bridge[:8])
            changed = (ch.get("name", 0), ch.get("state", 0),
                       max(ch.get("caller_num", 0), ch.get("caller_name", 0)),
                       max(ch.get("connected_num", 0), ch.get("connected_name", 0)),
                       max(ch.get("app", 0), ch.get("data", 0)),
                       max(ch.get("exten", 0), ch.get("context", 0), ch.get("priority", 0)),
                       0.0, ch.get("bridge", 0))
            rows.append(Row(c.uniqueid, cells, changed, c.name, c.linkedid, c.last_event))
        return rows

    def _calls(self, now: float) -> list[Row]:
        rows = []
        for call in self.state.calls():
            first = call.first
            names = " ".join(c.name for c in sorted(call.channels, key=lambda c: c.created))
            latest = max(max(c.changed.values(), default=0) for c in call.channels)
            cells = (call.linkedid, first.caller, str(len(call.channels)), names,
                     first.state, _age(now - call.created))
            changed = (0.0, 0.0, latest, latest, first.changed.get("state", 0), 0.0)
            rows.append(Row(call.linkedid, cells, changed, first.name, call.linkedid,
                            first.last_event))
        return rows

    def _bridges(self, now: float) -> list[Row]:
        rows = []
        channels = self.state.channels
        for b in self.state.bridges.values():
            members = [channels[u].name for u in b.members if u in channels]
            linked = next((channels[u].linkedid for u in b.members if u in channels), "")
            cells = (b.uniqueid, b.type or b.technology, ", ".join(members), _age(now - b.created))
            rows.append(Row(b.uniqueid, cells, (0.0, b.changed.get("type", 0), 0.0, 0.0),
                            members[0] if members else "", linked))
        return rows

    def _queues(self, now: float) -> list[Row]:
        rows = []
        for q in self.state.queues.values():
            for caller in q.callers.values():
                cells = (q.name, "caller", caller.channel, f"waiting #{caller.position}",
                         f"{caller.caller} wait {_age(now - caller.joined)}")
                rows.append(Row(f"{q.name}\0{caller.uniqueid}", cells, (0.0,) * 5,
                                caller.channel))
            for m in q.members.values():
                paused = "paused" if m.paused == "1" else ""
                info = f"calls {m.calls_taken or 0}" + (", in a call" if m.incall == "1" else "")
                who = m.interface if m.name in ("", m.interface) else f"{m.name} ({m.interface})"
                cells = (q.name, "member", who,
                         " ".join(w for w in (member_status(m.status), paused) if w), info)
                ch = m.changed
                changed = (0.0, 0.0, 0.0, max(ch.get("status", 0), ch.get("paused", 0)),
                           max(ch.get("calls_taken", 0), ch.get("incall", 0)))
                rows.append(Row(f"{q.name}\0{m.interface}", cells, changed))
        return rows


    def _endpoints(self, now: float) -> list[Row]:
        rows = []
        for e in self.state.endpoints.values():
            cells = (e.name, e.state, e.channels, e.aor, e.transport)
            ch = e.changed
            rows.append(Row(e.name, cells, (0.0, ch.get("state", 0), ch.get("channels", 0),
                                            0.0, 0.0)))
        return rows


def _parsed(msg: Message) -> None:
    """Nothing: the callback's job is to have the response built off the view's loop."""


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
