"""The debug transcript: ``>>`` lines sent, ``<<`` lines received, secrets masked.

A :class:`Transcript` is a wire observer: it sees exactly the bytes written
and read. A thread of its own writes to the file, so a slow file never stalls
the reader; :meth:`Transcript.flush` waits (bounded) until what was queued so
far is written, which ``action()`` does before it returns: the transcript then
holds the lines of its response, in wire order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO

__all__ = ["MASK", "Transcript"]

MASK = "********"
#: Header names whose values never reach the transcript.
_SENT_SECRETS = (b"secret:", b"key:")
_RECEIVED_SECRETS = (b"secret:",)


def _lines(data: bytes, prefix: str, secrets: tuple[bytes, ...]) -> list[str]:
    out = []
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        low = line[:7].lower()
        for name in secrets:
            if low.startswith(name):
                line = line[: len(name)] + b" " + MASK.encode()
                break
        out.append(f"{prefix} {line.decode('utf-8', 'replace')}\n")
    return out


class Transcript:
    """Writes the transcript to ``target()`` (read at every write: None is off)."""

    def __init__(self, target: Callable[[], IO[str] | None]) -> None:
        self._target = target
        self._partial = b""
        self._queue: deque[str] = deque()
        self._cv = threading.Condition(threading.Lock())
        self._queued = 0  # chunks queued since the start
        self._written = 0  # chunks written (or given up on)
        self._thread: threading.Thread | None = None
        self._closing = False

    @property
    def active(self) -> bool:
        return self._target() is not None

    # -- the wire observer ------------------------------------------------------
    def opened(self, address: str) -> None:
        self._partial = b""

    def sent(self, data: bytes) -> None:
        if self._target() is None:
            return
        # One line per header and ">> " for the empty line that ends the action.
        body = data[:-1] if data.endswith(b"\n") else data
        self._write("".join(_lines(body, ">>", _SENT_SECRETS)))

    def received(self, data: bytes) -> None:
        if self._target() is None:
            return
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial = data
            return
        self._partial = data[cut + 1 :]
        self._write("".join(_lines(data[:cut], "<<", _RECEIVED_SECRETS)))

    def closed(self) -> None:
        self._partial = b""

    # -- the writer -------------------------------------------------------------
    def _write(self, text: str) -> None:
        with self._cv:
            self._queue.append(text)
            self._queued += 1
            self._closing = False
            self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._writer, name="amishell-transcript", daemon=True
                )
                self._thread.start()

    def _writer(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    if self._closing or (not self._cv.wait(5.0) and not self._queue):
                        self._thread = None
                        self._cv.notify_all()
                        return
                chunks = list(self._queue)
                self._queue.clear()
            out = self._target()
            try:
                if out is not None:
                    out.write("".join(chunks))
                    out.flush()
            except (OSError, ValueError):
                pass
            with self._cv:
                self._written += len(chunks)
                self._cv.notify_all()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait up to ``timeout`` s until what was queued so far is written."""
        deadline = time.monotonic() + timeout
        with self._cv:
            goal = self._queued
            while self._written < goal:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
            writer = self._thread
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=2.0)
