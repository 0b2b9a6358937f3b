"""The AMI wire format, sans-IO: bytes in, messages out; messages to bytes.

No sockets, no threads, no clock. Three layers:

* :class:`Framer` cuts a byte stream into whole messages (``bytes`` frames) and
  the greeting line. It is what the client's reader thread runs: it does not
  decode or parse headers, so it keeps up with any server.
* :func:`parse_frame` turns one frame into a :class:`~amishell.message.Message`
  (decoding UTF-8, falling back to latin-1 for the whole message).
* :class:`Parser` combines both in the h11 style: ``feed(data)`` then
  ``next_event()`` until it returns :data:`NEED_DATA`.

:func:`serialize` turns a mapping or pairs into bytes, refusing header injection
and the server's line limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from operator import itemgetter
from sys import intern
from typing import Any, Final

from .errors import LocalProtocolError, ProtocolError
from .message import Message

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "GREETING_PREFIX",
    "MAX_LINE_LENGTH",
    "MAX_LINES",
    "NEED_DATA",
    "Framer",
    "Greeting",
    "LocalProtocolError",
    "Parser",
    "ProtocolError",
    "HeaderCache",
    "decode",
    "header_cache",
    "cut_bare_lf",
    "parse_frame",
    "parse_plain",
    "serialize",
    "split_greeting",
]

GREETING_PREFIX: Final = "Asterisk Call Manager/"
#: Longest line Asterisk accepts from a client, and most lines per message.
MAX_LINE_LENGTH: Final = 1022
MAX_LINES: Final = 128
DEFAULT_MAX_MESSAGE_SIZE: Final = 1 << 20
#: A greeting longer than this is not an AMI greeting.
MAX_GREETING_LENGTH: Final = 4096
#: A buffered message larger than this is read incrementally, never rescanned.
_BIG: Final = 65536
LEGACY_END: Final = b"--END COMMAND--"
_LEGACY_START: Final = b"Response: Follows"


class Greeting(str):
    """The server's first line, such as ``Asterisk Call Manager/13.0.0``."""

    @property
    def is_ami(self) -> bool:
        return self.startswith(GREETING_PREFIX)

    @property
    def version(self) -> str:
        return self[len(GREETING_PREFIX) :] if self.is_ami else ""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


# ---------------------------------------------------------------------------
# Framing


class Framer:
    """Cuts a byte stream into message frames.

    ``feed(data)`` returns the complete frames found so far, each the bytes of
    one message without its closing empty line. Empty messages (stray blank
    lines) are skipped. A legacy ``Response: Follows`` message is framed by its
    ``--END COMMAND--`` line, so the empty lines inside its output do not cut it.

    With ``greeting=True`` the first line is the greeting, available as
    :attr:`greeting` once complete. An unfinished message larger than
    ``max_message_size`` is discarded up to the next empty line and reported in
    :attr:`errors` (a list of :class:`ProtocolError` the caller drains).
    """

    __slots__ = (
        "_tail", "_discarding", "_carry", "_resume", "greeting", "errors", "max_message_size"
    )

    def __init__(
        self, *, greeting: bool = False, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        self._tail = b""
        self._discarding = False
        self._carry = b""
        self._resume: tuple[int, int, bool, bool] | None = None
        self.greeting: Greeting | None = None if greeting else Greeting("")
        self.errors: list[ProtocolError] = []
        self.max_message_size = max_message_size

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished message."""
        return len(self._tail)

    def feed(self, data: bytes, *, trust_crlf: bool = False) -> list[bytes]:
        """The frames completed by ``data``.

        ``trust_crlf=True`` skips the search for bare LFs in the whole read
        (two byte scans, most of the framing time; a PBX writes CRLF): frames
        are then cut at CRLF empty lines only, and a frame may hold a message
        end made of bare LFs. The caller must then look at each frame that is
        not plain (:func:`parse_plain` returns None): :func:`cut_bare_lf`
        gives the frames the exact way finds there.
        """
        if self._discarding:
            data = self._skip_discarded(data)
            if not data:
                return []
        tail = self._tail
        if len(tail) > _BIG and not self._could_end(tail, data):
            # A large message still arriving: append, scan nothing twice.
            self._tail = tail + data
            if len(self._tail) > self.max_message_size:
                self._overflow()
            return []
        buf = tail + data if tail else data
        if self.greeting is None:
            buf = self._take_greeting(buf)
            if self.greeting is None:
                return []
        frames: list[bytes] | None = None
        if self._resume is None and (
            buf.find(_LEGACY_START) < 0
            if trust_crlf
            else buf.count(b"\n") == buf.count(b"\r\n")
        ):
            # Fast path: every line ends in \r\n (so the first \r\n\r\n is the
            # first empty line; trusted, or checked) and no message is a legacy one.
            frames = buf.split(b"\r\n\r\n")
            tail = frames.pop()
            if trust_crlf and tail.count(b"\n") != tail.count(b"\r\n"):
                frames = None  # a bare LF in the unfinished part may end a message now
            elif frames and min(frames) < b"\x0e":
                # An empty frame, or one starting with empty lines (rare): the
                # bytes sort before any header line. A legacy message may hide
                # there (trusted: already looked for in the whole read).
                if not trust_crlf and buf.find(_LEGACY_START) >= 0:
                    frames = None
                else:
                    frames = [f for f in map(_skip_empty_lines, frames) if f]
            elif not trust_crlf:
                # A legacy message starts a frame (or the tail, checked when it
                # becomes a frame): its empty lines are not message ends.
                for frame in frames:
                    if frame.startswith(_LEGACY_START):
                        frames = None
                        break
            if frames is not None:
                self._tail = tail
        if frames is None:  # a bare LF or legacy output: line by line
            frames = self._slow(buf)
        if len(self._tail) > self.max_message_size:
            self._overflow()
        return frames

    @staticmethod
    def _could_end(tail: bytes, data: bytes) -> bool:
        """Could ``data`` hold the end of a message (an empty line, a legacy end)?"""
        if data.find(b"\n\n") >= 0 or data.find(b"\n\r\n") >= 0:
            return True
        joint = tail[-2:] + data[:2]
        return joint.find(b"\n\n") >= 0 or joint.find(b"\n\r\n") >= 0

    def _take_greeting(self, buf: bytes) -> bytes:
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > MAX_GREETING_LENGTH:
                self.greeting = Greeting(decode(buf[:MAX_GREETING_LENGTH]))
                self._tail = b""
                return b""
            self._tail = buf
            return b""
        line = buf[:nl].rstrip(b"\r")
        self.greeting = Greeting(decode(line[:MAX_GREETING_LENGTH]))
        self._tail = b""
        return buf[nl + 1 :]

    def _slow(self, buf: bytes) -> list[bytes]:
        """Line by line: bare ``\\n`` endings and legacy Command output."""
        frames: list[bytes] = []
        if self._resume is not None:
            pos, last_end, in_frame, legacy = self._resume
            self._resume = None
        else:
            pos = last_end = 0
            in_frame = legacy = False
        start = 0
        find = buf.find
        while True:
            nl = find(b"\n", pos)
            if nl < 0:
                break
            end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
            if legacy:
                if buf[pos:end].rstrip().endswith(LEGACY_END):
                    frames.append(buf[start:end])
                    legacy = in_frame = False
                    start = nl + 1
            elif end == pos:
                if in_frame:
                    frames.append(buf[start:last_end])
                    in_frame = False
                start = nl + 1
            else:
                if not in_frame:
                    in_frame = True
                    start = pos
                    legacy = buf[pos:end].rstrip() == _LEGACY_START
                last_end = end
            pos = nl + 1
        self._tail = buf[start:]
        if len(self._tail) > _BIG:
            # Remember how far this unfinished message was read.
            self._resume = (pos - start, max(last_end - start, 0), in_frame, legacy)
        return frames

    def _overflow(self) -> None:
        size = len(self._tail)
        head = self._tail[:4096]
        i = head.find(b"\nActionID:")
        action_id = None
        if i >= 0:
            j = head.find(b"\n", i + 10)
            if j >= 0:
                action_id = decode(head[i + 10 : j]).strip() or None
        error = ProtocolError(
            f"message too large: more than {self.max_message_size} bytes without an"
            f" end ({size} buffered); discarding it up to the next empty line"
        )
        error.action_id = action_id
        self.errors.append(error)
        last = self._tail[-2:]
        self._tail = b""
        self._resume = None
        self._discarding = True
        self._carry = last

    def _skip_discarded(self, data: bytes) -> bytes:
        joined = self._carry + data
        best = -1
        for pattern in (b"\n\n", b"\n\r\n"):
            i = joined.find(pattern)
            if i >= 0 and (best < 0 or i < best):
                best = i + len(pattern)
        if best < 0:
            self._carry = joined[-2:]
            return b""
        self._discarding = False
        self._carry = b""
        return joined[best:]


def _skip_empty_lines(buf: bytes) -> bytes:
    """``buf`` without its leading empty lines (``\\r\\n`` or ``\\n``)."""
    i = 0
    while True:
        if buf.startswith(b"\r\n", i):
            i += 2
        elif buf.startswith(b"\n", i):
            i += 1
        else:
            return buf[i:] if i else buf


# ---------------------------------------------------------------------------
# Parsing a frame

_new_message = dict.__new__
_update = dict.update
_HEADER = re.compile(r"^([^:\r\n]+):[ \t]*([^\r\n]*)", re.M)
_OUTPUT_HEADER = re.compile(r"^([^:\r\n]+):([^\r\n]*)", re.M)


def decode(data: bytes) -> str:
    """UTF-8, or latin-1 when the bytes are not valid UTF-8 (never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _Unfit(Exception):
    """A line the line cache does not take: the message is parsed the slow way."""


#: Header names seen on plain lines, each kept as one (interned) string; a line
#: whose name is here needs fewer checks the first time it is seen.
_NAMES: dict[str, str] = {}
#: Names whose lines are always checked in full: a legacy ``Response: Follows``,
#: ``Output`` (its value keeps its indentation). (Timestamp and ActionID lines
#: never reach the full checks as plain lines: ``__missing__`` returns them.)
_CHECKED: Final = frozenset({"Response", "Output"})
_PADDING: Final = frozenset({" ", "\t"})


class HeaderCache(dict[str, tuple[str, str]]):
    """Header lines already parsed: ``"Key: value"`` -> ``("Key", "value")``.

    A PBX repeats most of its header lines (``Privilege: call,all``,
    ``ChannelStateDesc: Up``, the same channel in every event of a call), so
    :func:`parse_frame` looks each line up here and splits only the lines it
    has not seen. Only plain lines are kept: ``Key: value`` with one space, a
    key without a colon, a value that does not start with a space or a tab
    (``Output`` lines keep their indentation), no stray CR or LF. Any other
    line sends its message to the exact, slower parser, so the cache never
    changes a result. At most :attr:`limit` lines are kept: when full, it
    starts again empty.
    """

    limit = 4096

    def __missing__(self, line: str) -> tuple[str, str]:
        key, sep, value = line.partition(": ")
        if sep and value[:1] not in _PADDING and "\n" not in value and "\r" not in value:
            name = _NAMES.get(key)
            if name is not None:  # (so the key is plain: no colon, CR or LF)
                if len(self) >= self.limit:
                    self.clear()
                pair = self[line] = (name, value)
                return pair
            # Never the same twice, so never kept: the Timestamp of every Ping
            # response (and of every event, with timestampevents), an
            # ActionID the client did not enter itself while its action waits.
            if key == "Timestamp":
                return ("Timestamp", value)
            if key == "ActionID":
                return ("ActionID", value)
        return self._learn(line, key, sep, value)

    def _learn(self, line: str, key: str, sep: str, value: str) -> tuple[str, str]:
        """A line whose header name is new (or always checked), or that is not
        plain: every check, and the name learnt."""
        if (
            not sep
            or not key
            or ":" in key
            or "\n" in line
            or "\r" in line
            or (value[:1] in _PADDING and key != "Output")
            or (key == "Response" and value.rstrip() == "Follows")
        ):
            raise _Unfit
        if key in _CHECKED:
            key = intern(key)
        elif len(_NAMES) < self.limit:
            key = _NAMES.setdefault(key, intern(key))
        if len(self) >= self.limit:
            self.clear()
        pair = self[line] = (key, value)
        return pair


#: The line cache :func:`parse_frame` uses (shared by every client; thread-safe).
header_cache: Final = HeaderCache()
_lookup = header_cache.__getitem__


def parse_frame(frame: bytes) -> Message:
    """Parse one framed message (from :class:`Framer`) into a Message."""
    m = parse_plain(frame)
    if m is not None:
        return m
    text = decode(frame)
    try:
        # Every line plain and a key repeated: the pairs are right as they are.
        return Message(list(map(_lookup, text.split("\r\n"))), raw=frame)
    except _Unfit:
        return _parse_slow(frame, text)


def cut_bare_lf(frame: bytes) -> list[bytes] | None:
    """The frames :meth:`Framer.feed` finds in ``frame`` (a frame cut with
    ``trust_crlf=True``) when bare LFs end messages inside it; None when it is
    exactly one frame as it is."""
    if frame.count(b"\n") == frame.count(b"\r\n"):
        return None
    framer = Framer(max_message_size=len(frame) + 4)
    frames = framer.feed(frame + b"\r\n\r\n")
    return None if frames == [frame] else frames


def parse_plain(frame: bytes) -> Message | None:
    """:func:`parse_frame` for a frame of plain lines only, else None.

    Plain: valid UTF-8, every line a ``Key: value`` line :class:`HeaderCache`
    would keep, so no empty line, no bare CR or LF and no legacy output in the
    frame; no key twice.
    """
    try:
        lines = frame.decode().split("\r\n")
    except UnicodeDecodeError:
        return None
    m = _new_message(Message)
    try:
        _update(m, map(_lookup, lines))
    except _Unfit:
        return None
    if len(m) != len(lines):
        return None
    m._raw = frame
    return m


def _parse_slow(frame: bytes, text: str) -> Message:
    if text.startswith("Response: Follows") and text.partition("\n")[0].rstrip() == (
        "Response: Follows"
    ):
        return Message(_parse_legacy(text), raw=frame)
    if "Output:" in text:
        return Message(_parse_with_output(text), raw=frame)
    return Message(_HEADER.findall(text), raw=frame)


def _parse_with_output(text: str) -> list[tuple[str, str]]:
    # Output lines keep their indentation: only the one space after the colon goes.
    pairs: list[tuple[str, str]] = []
    for key, value in _OUTPUT_HEADER.findall(text):
        if key == "Output":
            pairs.append((key, value[1:] if value.startswith(" ") else value))
        else:
            pairs.append((key, value.lstrip(" \t")))
    return pairs


def _parse_legacy(text: str) -> list[tuple[str, str]]:
    """``Response: Follows``: CRLF headers, then raw output up to the end marker."""
    lines = text.split("\n")
    pairs: list[tuple[str, str]] = [("Response", "Follows")]
    i = 1
    while i < len(lines):
        line = lines[i]
        if not line.endswith("\r") or ":" not in line:
            break
        key, _, value = line[:-1].partition(":")
        pairs.append((key, value.lstrip(" \t")))
        i += 1
    output = lines[i:]
    if output and output[-1].rstrip().endswith("--END COMMAND--"):
        last = output.pop().rstrip()[: -len("--END COMMAND--")]
        if last:
            output.append(last)
    pairs.extend(("Output", line.rstrip("\r")) for line in output)
    return pairs


# ---------------------------------------------------------------------------
# The h11-style combined parser


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
        self._pending: list[Greeting | Message | ProtocolError] = []
        self._greeting_sent = not greeting
        self._index = 0

    def feed(self, data: bytes) -> None:
        if self._feed_plain(data):
            return
        frames = self._framer.feed(data)
        if not self._greeting_sent and self._framer.greeting is not None:
            self._greeting_sent = True
            self._pending.append(self._framer.greeting)
        # An oversized message is detected at the end of a feed: after its frames.
        self._pending.extend(parse_frame(f) for f in frames)
        if self._framer.errors:
            self._pending.extend(self._framer.errors)
            self._framer.errors.clear()

    def _feed_plain(self, data: bytes) -> bool:
        """The common case in one pass: CRLF lines only, no legacy output.

        Decodes the complete messages of the buffer at once, splits them and
        parses each message's lines through the header-line cache; the
        messages' ``raw`` bytes are rebuilt from their lines when asked for.
        Returns False, having changed nothing, when the framer must do it
        (anything unusual).
        """
        framer = self._framer
        tail = framer._tail
        if (
            framer._discarding
            or framer._resume is not None
            or framer.greeting is None
            or len(tail) > _BIG
        ):
            return False
        buf = tail + data if tail else data
        # (find, not "in": bytes "in" first tries the operand as an int and
        # raises and clears a TypeError, which costs more than the search.)
        if buf.find(_LEGACY_START) >= 0:
            return False
        cut = buf.rfind(b"\r\n\r\n")
        if cut <= 0:
            return False
        tail = buf[cut + 4 :]
        if tail.count(b"\n") != tail.count(b"\r\n"):
            return False  # a bare LF in the unfinished part: it may end a message now
        try:
            text = buf[:cut].decode()
        except UnicodeDecodeError:
            return False  # (the framer's way decodes each message on its own)
        pending = self._pending
        before = len(pending)
        append = pending.append
        for frame in text.split("\r\n\r\n"):
            lines = frame.split("\r\n")
            m = _new_message(Message)
            try:
                _update(m, map(_lookup, lines))
            except _Unfit:
                if not lines[0] or not lines[-1] or frame.count("\n") != len(lines) - 1:
                    # Empty lines between messages, or a bare LF (which may
                    # end a message where this way does not look): undo, the
                    # framer does it.
                    del pending[before:]
                    return False
                raw = frame.encode()
                m = _parse_slow(raw, frame)
            else:
                if len(m) != len(lines):
                    m = Message(list(map(_lookup, lines)), raw=frame.encode())
            append(m)
        framer._tail = tail
        if len(tail) > framer.max_message_size:
            framer._overflow()
            pending.extend(framer.errors)
            framer.errors.clear()
        return True

    def next_event(self) -> Greeting | Message | ProtocolError | _NeedData:
        if self._index < len(self._pending):
            item = self._pending[self._index]
            self._index += 1
            if self._index == len(self._pending):
                self._pending.clear()
                self._index = 0
            return item
        return NEED_DATA

    def events(self) -> list[Greeting | Message | ProtocolError]:
        """Every event available now."""
        out = self._pending[self._index :]
        self._pending = []
        self._index = 0
        return out

    @property
    def buffered(self) -> int:
        return self._framer.buffered


def split_greeting(data: bytes) -> tuple[Greeting | None, bytes]:
    """Split a greeting line off ``data``: ``(greeting, rest)`` or ``(None, data)``."""
    nl = data.find(b"\n")
    if nl < 0:
        return None, data
    return Greeting(decode(data[:nl].rstrip(b"\r"))), data[nl + 1 :]


# ---------------------------------------------------------------------------
# Serializing

Fields = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value.__class__ is str:
            out.append((key, value))
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out.extend((key, _text(key, v)) for v in value)
        else:
            out.append((key, _text(key, value)))
    return out


def _text(key: str, value: Any) -> str:
    if isinstance(value, bytes):
        raise LocalProtocolError(f"header {key!r}: give text, not bytes")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_BAD_KEY = re.compile(r"[\s:]")
_first = itemgetter(0)
#: Header names already found valid (a name is checked once, not per message).
_KNOWN_KEYS: set[str] = set()
_MAX_KNOWN_KEYS: Final = 4096


def check_header(key: str, value: str) -> None:
    """Raise LocalProtocolError for a header that cannot be sent as is."""
    if not isinstance(key, str) or not key:
        raise LocalProtocolError("header name must be a non-empty string")
    if _BAD_KEY.search(key):
        raise LocalProtocolError(f"header name {key!r} may not contain ':' or spaces")
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(
            f"the value of {key!r} contains a line break, which would end the header"
        )
    size = len(key) + 2 + len(value)
    if size > MAX_LINE_LENGTH // 4 and not (key.isascii() and value.isascii()):
        size = len(key.encode("utf-8", "replace")) + 2 + len(value.encode("utf-8", "replace"))
    if size > MAX_LINE_LENGTH:
        raise LocalProtocolError(
            f"header {key!r} is {size} bytes long;"
            f" Asterisk accepts at most {MAX_LINE_LENGTH} per line"
        )


def serialize(fields: Fields) -> bytes:
    """A mapping or (key, value) pairs as wire bytes; lists repeat a header.

    Raises :class:`LocalProtocolError` (a ValueError) for header injection, an
    over-long line or too many lines.
    """
    if fields.__class__ is list and len(fields) < MAX_LINES:
        # The common case, plain (str, str) pairs with names seen before, in
        # a few C calls; anything else takes the checks below.
        try:
            text = "".join([k + ": " + v + "\r\n" for k, v in fields])
        except (TypeError, ValueError):
            pass
        else:
            n = len(fields)
            if (
                len(text) <= MAX_LINE_LENGTH
                and text.count("\n") == n
                and text.count("\r") == n
                and text.isascii()
                and _KNOWN_KEYS.issuperset(map(_first, fields))
            ):
                return (text + "\r\n").encode()
    pairs = _pairs(fields)
    if len(pairs) > MAX_LINES - 1:
        raise LocalProtocolError(
            f"{len(pairs)} headers; Asterisk accepts at most {MAX_LINES} lines per message"
        )
    text = "".join([f"{key}: {value}\r\n" for key, value in pairs]) + "\r\n"
    lines = len(pairs) + 1
    try:
        known = _KNOWN_KEYS.issuperset([key for key, _ in pairs])
    except TypeError:  # an unhashable key: check_header says what is wrong
        known = False
    # Cheap whole-message checks; the exact per-header checks name the culprit.
    if (
        not known
        or len(text) > (MAX_LINE_LENGTH if text.isascii() else MAX_LINE_LENGTH // 4)
        or text.count("\n") != lines
        or text.count("\r") != lines
    ):
        for key, value in pairs:
            check_header(key, value)
        if len(_KNOWN_KEYS) < _MAX_KNOWN_KEYS:
            _KNOWN_KEYS.update(key for key, _ in pairs)
    return text.encode("utf-8")


def format_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Pairs as wire bytes with no checks (for servers and tests)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode("utf-8")
