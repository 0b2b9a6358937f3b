"""Cutting a byte stream into message frames (and the greeting line)."""

from __future__ import annotations

import re
from typing import Final

from ..errors import ProtocolError
from . import legacy

GREETING_PREFIX: Final = "Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_SIZE: Final = 1 << 20
#: A greeting longer than this is not an AMI greeting.
MAX_GREETING_LENGTH: Final = 4096

#: The end of a message: the LF of its last line, then an empty line (``\r\n``
#: or ``\n``). Starting with a literal LF, it is searched for quickly.
_MESSAGE_END: Final = re.compile(rb"\n\r?\n")
_LONGEST_END: Final = 3


def decode(data: bytes) -> str:
    """UTF-8, or latin-1 when the bytes are not valid UTF-8 (never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class Greeting(str):
    """The server's first line, such as ``Asterisk Call Manager/13.0.0``."""

    @property
    def is_ami(self) -> bool:
        return self.startswith(GREETING_PREFIX)

    @property
    def version(self) -> str:
        return self[len(GREETING_PREFIX) :] if self.is_ami else ""


def split_greeting(data: bytes) -> tuple[Greeting | None, bytes]:
    """Split a greeting line off ``data``: ``(greeting, rest)`` or ``(None, data)``."""
    nl = data.find(b"\n")
    if nl < 0:
        return None, data
    return Greeting(decode(data[:nl].rstrip(b"\r"))), data[nl + 1 :]


class Framer:
    """Cuts a byte stream into message frames.

    ``feed(data)`` returns the complete frames found so far, each the bytes of
    one message without its closing empty line. Lines end in ``\\r\\n`` or a
    bare ``\\n``; empty lines between messages are skipped. A legacy
    ``Response: Follows`` message is framed by its ``--END COMMAND--`` line, so
    the empty lines inside its output do not cut it.

    With ``greeting=True`` the first line is the greeting, available as
    :attr:`greeting` once complete. An unfinished message larger than
    ``max_message_size`` is discarded up to the next empty line and reported in
    :attr:`errors` (a list of :class:`ProtocolError` the caller drains).
    """

    def __init__(
        self, *, greeting: bool = False, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        self.greeting: Greeting | None = None if greeting else Greeting("")
        self.errors: list[ProtocolError] = []
        self.max_message_size = max_message_size
        self._buf = b""  # the unfinished message (or empty lines before it)
        self._searched = 0  # how far into _buf its end was looked for already
        self._discarding = False  # skipping an oversized message
        self._carry = b""  # while discarding: the last bytes skipped

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by ``data``."""
        if self._discarding:
            data = self._skip_discarded(data)
        buf = self._buf + data if self._buf else data
        if self.greeting is None:
            buf = self._take_greeting(buf)
            if self.greeting is None:
                self._buf = buf
                return []
        frames: list[bytes] = []
        pos = 0
        while True:
            # Empty lines before a message are skipped.
            while True:
                if buf.startswith(b"\n", pos):
                    pos += 1
                elif buf.startswith(b"\r\n", pos):
                    pos += 2
                else:
                    break
            if buf.startswith(legacy.FOLLOWS, pos):
                found = self._legacy_end(buf, pos)
                if found is not None:
                    end, after = found
                    if end < 0:
                        break
                    frames.append(buf[pos:end])
                    pos = after
                    continue
            m = _MESSAGE_END.search(buf, pos + self._searched)
            if m is None:
                self._searched = max(len(buf) - pos - _LONGEST_END + 1, 0)
                break
            end = m.start()
            # (The last line is not empty, so it holds more than a CR.)
            frames.append(buf[pos : end - 1 if buf[end - 1] == 13 else end])
            pos = m.end()
            self._searched = 0
        self._buf = buf[pos:] if pos else buf
        if len(self._buf) > self.max_message_size:
            self._overflow()
        return frames

    def _legacy_end(self, buf: bytes, pos: int) -> tuple[int, int] | None:
        """Where the legacy message at ``pos`` ends: (end of its last line,
        start of the next line); (-1, -1) while its end has not arrived; None
        when it is not a legacy message after all."""
        first = buf.find(b"\n", pos)
        if first < 0:
            return -1, -1
        if not legacy.starts(buf[pos:first]):
            return None
        search = max(first + 1, pos + self._searched)
        while True:
            i = buf.find(legacy.END, search)
            if i < 0:
                self._searched = max(len(buf) - pos - len(legacy.END) + 1, first + 1 - pos)
                return -1, -1
            nl = buf.find(b"\n", i)
            if nl < 0:
                self._searched = i - pos
                return -1, -1
            start = buf.rfind(b"\n", 0, i) + 1
            end = nl - 1 if buf[nl - 1] == 13 else nl  # (an END line is never empty)
            if legacy.ends(buf[start:end]):
                self._searched = 0
                return end, nl + 1
            search = nl + 1

    def _take_greeting(self, buf: bytes) -> bytes:
        """Sets :attr:`greeting` once its line is whole (or too long to be
        one); returns what follows it, or ``buf`` while it is incomplete."""
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) <= MAX_GREETING_LENGTH:
                return buf
            self.greeting = Greeting(decode(buf[:MAX_GREETING_LENGTH]))
            return b""
        self.greeting = Greeting(decode(buf[:nl].rstrip(b"\r")[:MAX_GREETING_LENGTH]))
        return buf[nl + 1 :]

    def _overflow(self) -> None:
        size = len(self._buf)
        head = self._buf[:4096]
        action_id = None
        i = head.find(b"\nActionID:")
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
        self._carry = self._buf[-2:]
        self._buf = b""
        self._searched = 0
        self._discarding = True

    def _skip_discarded(self, data: bytes) -> bytes:
        """``data`` after the empty line that ends the discarded message, or
        nothing while that line has not come."""
        joined = self._carry + data
        ends = [i + len(p) for p in (b"\n\n", b"\n\r\n") if (i := joined.find(p)) >= 0]
        if not ends:
            self._carry = joined[-2:]
            return b""
        self._discarding = False
        self._carry = b""
        return joined[min(ends) :]
