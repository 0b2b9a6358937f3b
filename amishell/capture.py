"""Recording a session's traffic both ways: a capture file to keep, send and replay.

:class:`Capture` is a wire observer (``opened`` / ``sent`` / ``received`` /
``closed``, called by the client on its writing and reading threads). It only
queues what it is given; its own thread writes JSON Lines, the format of the
recorded transcripts in ``tests/data/asterisk``::

    {"t": 0.0002, "dir": "open", "data": "127.0.0.1:5038"}
    {"t": 0.0004, "dir": "recv", "data": "Asterisk Call Manager/13.0.0\\r\\n"}
    {"t": 0.3015, "dir": "send", "data": "Action: Login\\r\\n...Secret: ********\\r\\n..."}
    {"t": 9.1, "dir": "close"}

``t`` counts seconds from the start of the capture. A chunk that is not valid
UTF-8 is kept as ``{"t", "dir", "b64"}``. The values of ``Secret:`` and ``Key:``
lines the client sends are starred (a line split between two writes is held
until it is whole). When the disk falls more than ``max_behind`` bytes behind,
further chunks are counted instead of queued, and ``{"t", "dir": "gap",
"lost_bytes": N}`` marks the place; :attr:`Capture.lost_bytes` says so.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Final

__all__ = ["Capture", "MASK", "open_private"]

MASK: Final = "********"
#: How far (bytes queued, not yet written) the disk may fall behind.
DEFAULT_MAX_BEHIND: Final = 32 << 20

_SECRET_LINE = re.compile(rb"^([ \t]*(?:secret|key)[ \t]*:[ \t]*)([^\r\n]*)", re.I | re.M)


def open_private(path: str) -> IO[str]:
    """``path`` created (or emptied) for writing, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding="utf-8")


def star_secrets(data: bytes) -> bytes:
    """``data`` (whole lines) with the values of Secret and Key lines starred."""
    if b"ecret" not in data and b"ECRET" not in data and b"ey" not in data and b"EY" not in data:
        return data
    return _SECRET_LINE.sub(lambda m: m.group(1) + MASK.encode() if m.group(2) else m.group(0),
                            data)


class Capture:
    """A capture file being written; thread-safe, never blocks its callers."""

    def __init__(
        self,
        path: str,
        *,
        redact: Callable[[str], str] = str,
        max_behind: int = DEFAULT_MAX_BEHIND,
        clock: Callable[[], float] = time.monotonic,
        on_gap: Callable[[int], object] | None = None,
    ) -> None:
        self.path = path
        self._file = open_private(path)
        self._redact = redact
        self.max_behind = max_behind
        self._clock = clock
        #: Called (on the caller's thread, never blocking) when chunks start being lost.
        self.on_gap = on_gap
        self._start = clock()
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._queued = 0
        self._cv = threading.Condition(threading.Lock())
        self._closing = False
        self._open = False
        self._held = b""  # an unfinished line sent (it may be a Secret's)
        #: Bytes not captured because the disk fell behind (0: nothing lost).
        self.lost_bytes = 0
        self._gap = 0  # bytes lost since the last gap record
        #: Chunks written so far, and why writing stopped (a full disk), if it did.
        self.written = 0
        self.failed: str | None = None
        self._thread = threading.Thread(target=self._writer, name="amishell-capture", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<Capture {self.path} written={self.written} lost={self.lost_bytes}>"

    # -- the wire observer -------------------------------------------------------------
    def opened(self, address: str) -> None:
        self._open = True
        self._held = b""
        self._put("open", address.encode(), 0)

    def sent(self, data: bytes) -> None:
        data = self._held + data
        end = data.rfind(b"\n") + 1
        self._held = data[end:]
        if end:
            self._put("send", star_secrets(data[:end]), end)

    def received(self, data: bytes) -> None:
        self._put("recv", data, len(data))

    def closed(self) -> None:
        if not self._open:
            return
        self._open = False
        if self._held:
            self._put("send", star_secrets(self._held), len(self._held))
            self._held = b""
        self._put("close", b"", 0)

    # -- queueing and writing ---------------------------------------------------------
    def _put(self, direction: str, data: bytes, size: int) -> None:
        t = round(self._clock() - self._start, 4)
        with self._cv:
            if self._closing:
                return
            if not size or self._queued + size <= self.max_behind:
                if self._gap:
                    self._queue.append({"t": t, "dir": "gap", "lost_bytes": self._gap})
                    self._gap = 0
                self._queue.append({"t": t, "dir": direction, "raw": data})
                self._queued += size
                self._cv.notify()
                return
            self.lost_bytes += size
            starting = not self._gap
            self._gap += size
        if starting and self.on_gap is not None:
            self.on_gap(self.lost_bytes)

    def _writer(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                batch = list(self._queue)
                self._queue.clear()
                done = self._closing
            lines = [self._line(record) for record in batch]
            size = sum(len(r.get("raw", b"")) for r in batch)
            if lines and self.failed is None:
                try:
                    self._file.write("".join(lines))
                    self._file.flush()
                    self.written += len(lines)
                except (OSError, ValueError) as e:
                    self.failed = getattr(e, "strerror", None) or str(e)
            with self._cv:
                self._queued -= size
            if done and not self._queue:
                return

    def _line(self, record: dict[str, Any]) -> str:
        raw = record.pop("raw", None)
        if raw is not None and (raw or record["dir"] not in ("close",)):
            try:
                record["data"] = self._redact(raw.decode("utf-8"))
            except UnicodeDecodeError:
                record["b64"] = base64.b64encode(raw).decode("ascii")
        return json.dumps(record, ensure_ascii=False) + "\n"

    def close(self) -> None:
        """Write what is queued (and a gap record for what was lost), then close."""
        with self._cv:
            if self._closing:
                return
            if self._gap:
                t = round(self._clock() - self._start, 4)
                self._queue.append({"t": t, "dir": "gap", "lost_bytes": self._gap})
                self._gap = 0
            self._closing = True
            self._cv.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)
        try:
            self._file.close()
        except OSError as e:
            self.failed = self.failed or e.strerror or str(e)
