"""One frame into a :class:`Message`; :class:`Parser`, the framer and this together."""

from __future__ import annotations

import re
from collections import deque
from typing import Final

from ..errors import ProtocolError
from ..message import Message
from . import legacy
from .framer import DEFAULT_MAX_MESSAGE_SIZE, Framer, Greeting, decode

#: A header line: ``Key: value`` or ``Key:value``, the value up to the line's
#: end (a stray CR ends it too). A line without a colon is ignored, as
#: Asterisk ignores it.
_HEADER_LINE: Final = re.compile(r"([^:\r\n]+):([^\r\n]*)")


def _header(line: str) -> tuple[str, str] | None:
    """One line (without its LF) as a (key, value) pair, or None."""
    m = _HEADER_LINE.match(line)
    if m is None:
        return None
    key, value = m.groups()
    if key == "Output":  # command output keeps its indentation
        return key, value[1:] if value.startswith(" ") else value
    return key, value.lstrip(" \t")


class _SeenLines(dict[str, tuple[str, str] | None]):
    """Lines already parsed, with what :func:`_header` made of them.

    A PBX repeats most of its lines (``Privilege: call,all``, the same
    channel in every event of a call), so each is parsed once. Bounded: when
    full, it starts again empty.
    """

    limit: Final = 4096

    def __missing__(self, line: str) -> tuple[str, str] | None:
        pair = _header(line)
        if len(self) >= self.limit:
            self.clear()
        self[line] = pair
        return pair


_seen_line = _SeenLines().__getitem__


def parse_frame(frame: bytes) -> Message:
    """Parse one framed message (from :class:`Framer`) into a Message.

    The bytes are decoded as UTF-8, or as latin-1 when they are not valid
    UTF-8. ``message.raw`` is ``frame``.
    """
    text = decode(frame)
    if frame.startswith(legacy.FOLLOWS) and legacy.starts(frame.partition(b"\n")[0]):
        return Message(legacy.pairs(text), raw=frame)
    return Message(list(filter(None, map(_seen_line, text.split("\n")))), raw=frame)


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: What :meth:`Parser.next_event` returns when it needs more bytes.
NEED_DATA: Final = _NeedData()

Event = Greeting | Message | ProtocolError


class Parser:
    """Feed bytes, then call :meth:`next_event` until it returns ``NEED_DATA``.

    Events are a :class:`Greeting` (first, when ``greeting=True``), then
    :class:`Message` objects, with a :class:`ProtocolError` instance in the
    stream where an oversized message was discarded.
    """

    def __init__(
        self, *, greeting: bool = True, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        self._framer = Framer(greeting=greeting, max_message_size=max_message_size)
        self._events: deque[Event] = deque()
        self._greeting_due = greeting

    def feed(self, data: bytes) -> None:
        framer = self._framer
        frames = framer.feed(data)
        if self._greeting_due and framer.greeting is not None:
            self._greeting_due = False
            self._events.append(framer.greeting)
        self._events.extend(map(parse_frame, frames))
        # An oversized message is found at the end of a feed: after its frames.
        if framer.errors:
            self._events.extend(framer.errors)
            framer.errors.clear()

    def next_event(self) -> Event | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[Event]:
        """Every event available now."""
        out = list(self._events)
        self._events.clear()
        return out

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished message."""
        return self._framer.buffered
