"""Every event the session receives, on its way in (the client's dispatcher thread).

:class:`EventIntake` keeps each event, raw, in the event history; learns what
completion needs (event names, variable names, channels that hung up) from the
raw bytes, cheaply; and hands the event to the display, or counts it unparsed
when the display would not keep it (off, paused, a flood): under a flood, most
events are never parsed at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..message import Message
from .eventhistory import EventHistory
from .events import EventView

__all__ = ["EventIntake"]

#: The most names (of events, of variables) remembered for completion.
MAX_NAMES = 2000


class EventIntake:
    """The client's ``event_prefilter`` and ``event_callback`` for the shell."""

    def __init__(self, view: EventView, history: EventHistory) -> None:
        self.view = view
        self.history = history
        self.event_names: dict[str, None] = {}
        #: Variable names seen in VarSet events.
        self.variables: dict[str, None] = {}
        #: Told the name of each channel whose Hangup arrives.
        self.on_hangup: Callable[[str], None] = lambda name: None
        #: Replace the display: every event goes here instead (batch mode).
        self.event_sink: Callable[[Message], None] | None = None
        #: First lines of events counted unparsed whose name was already learned.
        self._heads_seen: set[bytes] = set()

    def prefilter(self, frame: bytes) -> bool:
        """Keep every event in the history; count, unparsed, an event the view
        would not keep (a flood, a pause). False: no need to parse it."""
        self.history.add(frame, time.time())
        if frame.startswith((b"Event: Hangup\r", b"Event: VarSet\r")):
            self._learn_from(frame)
        if self.event_sink is not None or not self.view.skip_unparsed():
            return True
        end = frame.find(b"\n")
        head = frame[:end] if end >= 0 else frame
        # Each distinct first line is looked at once ("Event: Newstate" ...).
        if head not in self._heads_seen:
            if len(self._heads_seen) < MAX_NAMES:
                self._heads_seen.add(head)
            if head.startswith(b"Event:"):
                self._learn_name(head[6:].strip().decode("utf-8", "replace"))
        return False

    def on_event(self, msg: Message) -> None:
        """A parsed event: to the batch sink (and the log), or to the display."""
        sink = self.event_sink
        if sink is not None:
            log = self.view.log
            if log is not None:
                log.write(msg)
            sink(msg)
            return
        self.view.push(msg)
        self._learn_name(msg.get("Event"))

    def _learn_from(self, frame: bytes) -> None:
        """Completion follows the PBX: a hung-up channel is no longer offered, a
        variable set on a channel is."""
        if frame.startswith(b"Event: Hangup"):
            channel = _raw_header(frame, b"Channel")
            if channel:
                self.on_hangup(channel)
            return
        name = _raw_header(frame, b"Variable")
        if name and name not in self.variables and len(self.variables) < MAX_NAMES:
            self.variables[name] = None

    def _learn_name(self, name: object) -> None:
        """Remember an event name for completion (a bounded set)."""
        if isinstance(name, str) and name and name not in self.event_names and (
            len(self.event_names) < MAX_NAMES
        ):
            self.event_names[name] = None


def _raw_header(frame: bytes, key: bytes) -> str:
    """The value of header ``key`` in a raw frame ("" when absent)."""
    at = frame.find(b"\n" + key + b":")
    if at < 0:
        return ""
    end = frame.find(b"\n", at + 1)
    line = frame[at + len(key) + 2 : end if end >= 0 else None]
    return line.strip().decode("utf-8", "replace")
