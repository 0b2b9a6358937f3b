"""Socket plumbing for sessions: non-blocking transport and the server's line reader.

:class:`Transport` lets one thread read while another writes on the same
socket, plain or TLS (TLS calls are serialised with a lock, since one SSL
object must not be used by two threads at once). :class:`LineReader` cuts
input into header lines and messages exactly as the real server does: lines
end at ``\\n`` (an ``\\r`` before it is dropped), a line that does not fit the
server's 1,024-byte input buffer marks the message "line too long", and a
message keeps at most 128 header lines.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
from typing import Final

__all__ = ["LineReader", "ParsedMessage", "Transport"]

#: The server's input buffer (1,025 bytes, one kept for the terminating NUL).
INBUF: Final = 1024
MAX_HEADERS: Final = 128


class Transport:
    """A connected socket used by one reader and one writer thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.tls = isinstance(sock, ssl.SSLSocket)
        self._lock = threading.Lock() if self.tls else None
        sock.setblocking(False)
        self._rsel = selectors.DefaultSelector()
        self._rsel.register(sock, selectors.EVENT_READ)
        self._wsel = selectors.DefaultSelector()
        self._wsel.register(sock, selectors.EVENT_WRITE)
        self.closed = False

    def handshake(self, timeout: float) -> None:
        """Complete the TLS handshake (server side); raises OSError on failure."""
        assert isinstance(self.sock, ssl.SSLSocket)
        waited = 0.0
        while True:
            try:
                self.sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                ready = self._rsel.select(0.2)
            except ssl.SSLWantWriteError:
                ready = self._wsel.select(0.2)
            if not ready:
                waited += 0.2
                if waited >= timeout:
                    raise TimeoutError("TLS handshake timed out")

    def recv(self, wait: float) -> bytes | None:
        """Data, ``b""`` at end of file, or None if nothing came within ``wait``."""
        if self.closed:
            return b""
        pending = self.tls and self.sock.pending()  # type: ignore[attr-defined]
        if not pending and not self._rsel.select(wait):
            return None
        try:
            if self._lock is not None:
                with self._lock:
                    return self.sock.recv(65536)
            return self.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, InterruptedError):
            return None
        except (OSError, ValueError):
            return b""

    def send(self, data: memoryview, wait: float) -> int:
        """Bytes written (0 if the socket was not writable within ``wait``)."""
        if self.closed:
            raise OSError("transport closed")
        if not self._wsel.select(wait):
            return 0
        try:
            if self._lock is not None:
                with self._lock:
                    return self.sock.send(data)
            return self.sock.send(data)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, InterruptedError):
            return 0
        except ValueError as exc:
            raise OSError(str(exc)) from exc

    def shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.shutdown()
        for sel in (self._rsel, self._wsel):
            try:
                sel.close()
            except (OSError, ValueError, KeyError):
                pass
        try:
            self.sock.close()
        except OSError:
            pass


class ParsedMessage:
    """Header lines of one message, and whether a limit was broken on the way."""

    __slots__ = ("lines", "too_long", "too_many")

    def __init__(self, lines: list[str], too_long: bool, too_many: bool) -> None:
        self.lines = lines
        self.too_long = too_long
        self.too_many = too_many


class LineReader:
    """The server's input side: a 1,024-byte line buffer and 128-line messages."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._buf = bytearray()
        self._lines: list[str] = []
        self._too_long = False
        self._too_many = False

    def feed(self, data: bytes) -> list[ParsedMessage]:
        self._pending += data
        out: list[ParsedMessage] = []
        while True:
            line = self._next_line()
            if line is None:
                return out
            if not line:
                out.append(ParsedMessage(self._lines, self._too_long, self._too_many))
                self._lines = []
                self._too_long = self._too_many = False
            elif len(self._lines) < MAX_HEADERS:
                self._lines.append(_decode(line))
            else:
                self._too_many = True

    def _next_line(self) -> bytes | None:
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buf) >= INBUF:
                # No end of line in a full buffer: keep the last byte (it may
                # be the \r of a \r\n) and mark the message.
                del self._buf[:-1]
                self._too_long = True
            room = INBUF - len(self._buf)
            if not self._pending:
                return None
            self._buf += self._pending[:room]
            del self._pending[:room]


def _decode(line: bytes) -> str:
    line = line.split(b"\0", 1)[0]
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")
