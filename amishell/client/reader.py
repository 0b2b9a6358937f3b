"""One live connection's reading side: the reader thread, and the caller that
reads its own response when nobody else is reading.

Whoever reads (the reader thread, or a thread in ``action()`` holding the
transport's ``read_lock``) goes the one way, :meth:`Reader.take`: the bytes
to the wire observers, framed by the :class:`~amishell.protocol.Framer`,
routed by the :class:`~.router.Router`, the unclaimed frames to the
dispatcher's inbox, then the completed actions told. The reader thread never
parses an event, never calls user code and never touches a terminal, so it
keeps up with any server (Asterisk drops a session that reads slowly).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence

from ..errors import AMIConnectionError, ReadFailed, WriteFailed
from ..protocol import Framer
from .connection import reason
from .future import ActionFuture
from .router import Router
from .state import Stats, WireObserver
from .transport import SLICE, Transport

__all__ = ["Reader"]

log = logging.getLogger("amishell")

#: How long the reader thread stays aside after a thread in ``action()`` read.
LINGER = 0.002
#: Its longest nap while threads in ``action()`` keep reading: a loop of
#: actions wakes it rarely, and it is back at most this long after the last.
LINGER_MAX = 0.016

Drop = Callable[["Reader", AMIConnectionError], None]


class Reader:
    """Reads one connection until it ends; :meth:`fail` ends it (once)."""

    def __init__(
        self,
        transport: Transport,
        framer: Framer,
        router: Router,
        *,
        sink: Callable[[list[bytes]], None],
        observers: Sequence[WireObserver],
        stats: Stats,
        on_drop: Drop,
        host: str = "",
    ) -> None:
        self.transport = transport
        self.framer = framer
        self.router = router
        self._sink = sink
        self._observers = observers
        self._stats = stats
        self._on_drop = on_drop
        self._host = host
        self._send_lock = threading.Lock()
        #: False once the connection ended (:meth:`fail`).
        self.alive = True
        self._thread: threading.Thread | None = None
        #: Set before a Logoff: the end of the connection is then no loss.
        self.leaving = False
        # A thread in action() reads (it holds read_lock), and since when not.
        self._leading = False
        self._lead_ended = 0.0
        self._nudge = threading.Event()
        self._fail_lock = threading.Lock()

    def start(self, frames: list[bytes]) -> None:
        """Route what came with the greeting, then read on a thread of its own."""
        if frames:
            self._deliver(frames)
        self._thread = threading.Thread(target=self._run, name="amishell-reader", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- writing ----------------------------------------------------------------
    def send(self, data: bytes, *, leading: bool = False) -> bool:
        """Write ``data`` (observers first, in wire order); False when it failed.
        ``leading``: the caller reads the answer itself (else the reader
        thread is called back)."""
        try:
            with self._send_lock:
                for observer in self._observers:
                    observer.sent(data)
                self.transport.sendall(data)
        except OSError as exc:
            self.fail(WriteFailed(f"Writing to socket failed: {reason(exc)}"))
            return False
        if not leading:
            self.call_back()
        return True

    # -- reading ----------------------------------------------------------------
    def _run(self) -> None:
        transport = self.transport
        lock = transport.read_lock
        while self.alive:
            self._stand_aside()
            try:
                if not transport.wait_readable(None):
                    continue
            except (OSError, ValueError) as exc:
                self.fail(ReadFailed(f"Reading from socket failed: {reason(exc)}"))
                return
            if self._leading:
                continue  # the thread in action() reads this
            with lock:
                if not self._read_once():
                    return

    def _stand_aside(self) -> None:
        """While threads in ``action()`` read for themselves, and for a moment
        after, the reader thread naps instead of waiting on the socket (every
        wake-up there would take the interpreter from them): naps that double
        up to :data:`LINGER_MAX`, cut short by :meth:`call_back`."""
        nap = LINGER
        while self._leading or time.monotonic() - self._lead_ended < LINGER:
            if self._nudge.wait(nap):
                self._nudge.clear()
                if not self._leading:
                    return
                nap = LINGER
            else:
                nap = min(nap * 2, LINGER_MAX)

    def call_back(self) -> None:
        """An action was sent that no thread in ``action()`` reads for: the
        reader thread, if it stands aside, comes back at once."""
        if not self._leading and not self._nudge.is_set():
            self._nudge.set()

    def lead(self, future: ActionFuture) -> None:
        """Read in this thread until ``future`` is done or its time is up.

        The caller holds ``transport.read_lock`` (taken before sending, so
        that the reader thread leaves the response to it): a round trip then
        costs no hand-off between threads.
        """
        transport = self.transport
        self._leading = True
        try:
            while not future.done() and self.alive:
                remaining = future.last + future.timeout - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    data = transport.recv_within(remaining if remaining < SLICE else SLICE)
                except (OSError, ssl.SSLError, ValueError) as exc:
                    self.fail(ReadFailed(f"Reading from socket failed: {reason(exc)}"))
                    return
                if data is not None and not self.take(data):
                    return
        except BaseException:
            # Interrupted between reading and framing: where the stream stands
            # is no longer known, so this session cannot go on.
            self.fail(ReadFailed("Reading from socket failed: interrupted while reading"))
            raise
        finally:
            self._lead_ended = time.monotonic()
            self._leading = False

    def _read_once(self) -> bool:
        """Read what is there and take it. False when the connection ended."""
        try:
            data = self.transport.recv_nowait()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.fail(ReadFailed(f"Reading from socket failed: {reason(exc)}"))
            return False
        if data is None:
            return True
        return self.take(data)

    def take(self, data: bytes) -> bool:
        """Frame and route what was read. False when the connection ended."""
        if not data:
            self.fail(ReadFailed("Reading from socket failed: connection closed by the server"))
            return False
        stats = self._stats
        stats.last_received = time.monotonic()
        for observer in self._observers:
            observer.received(data)
        framer = self.framer
        frames = framer.feed(data)
        if framer.errors:
            for err in framer.errors:
                stats.protocol_errors += 1
                log.warning("protocol error from %s: %s", self._host, err)
                if err.action_id:
                    self.router.fail(err.action_id, f"Protocol error: {err}")
            framer.errors.clear()
        if frames:
            stats.messages_received += len(frames)
            unclaimed, finished = self.router.route(frames)
            if unclaimed:
                self._sink(unclaimed)
            for future in finished:
                future.set()
        return True

    def _deliver(self, frames: list[bytes]) -> None:
        unclaimed, finished = self.router.route(frames)
        if unclaimed:
            self._sink(unclaimed)
        for future in finished:
            future.set()

    # -- the end ----------------------------------------------------------------
    def fail(self, error: AMIConnectionError) -> None:
        """The connection is gone (idempotent): shut it, tell the client."""
        with self._fail_lock:
            if not self.alive:
                return
            self.alive = False
        self._nudge.set()
        self.transport.shutdown()
        for observer in self._observers:
            observer.closed()
        self._on_drop(self, error)

    def close(self) -> None:
        """Close the socket (after :meth:`fail`)."""
        self.transport.close()
