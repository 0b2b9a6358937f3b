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
from .transport import Transport

__all__ = ["Reader"]

log = logging.getLogger("amishell")

#: A thread in ``action()`` reading for itself looks up at least this often (s).
SLICE = 0.5

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
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set before a Logoff: the end of the connection is then no loss.
        self.leaving = False

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

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
    def send(self, data: bytes) -> bool:
        """Write ``data`` (observers first, in wire order); False when it failed."""
        try:
            with self._send_lock:
                for observer in self._observers:
                    observer.sent(data)
                self.transport.sendall(data)
        except OSError as exc:
            self.fail(WriteFailed(f"Writing to socket failed: {reason(exc)}"))
            return False
        return True

    # -- reading ----------------------------------------------------------------
    def _run(self) -> None:
        transport = self.transport
        lock = transport.read_lock
        while self.alive:
            try:
                if not transport.wait_readable(None):
                    continue
            except (OSError, ValueError) as exc:
                self.fail(ReadFailed(f"Reading from socket failed: {reason(exc)}"))
                return
            # A thread in action() may hold the lock and read this itself:
            # wait for it, then find out whether anything is left.
            with lock:
                if not self._read_once():
                    return

    def lead(self, future: ActionFuture) -> None:
        """Read in this thread until ``future`` is done or its time is up.

        The caller holds ``transport.read_lock`` (taken before sending, so
        that the reader thread leaves the response to it): a round trip then
        costs no hand-off between threads.
        """
        transport = self.transport
        try:
            while not future.done() and self.alive:
                remaining = future.remaining()
                if remaining <= 0:
                    return
                try:
                    ready = transport.wait_readable(min(remaining, SLICE), holder=True)
                except (OSError, ValueError) as exc:
                    self.fail(ReadFailed(f"Reading from socket failed: {reason(exc)}"))
                    return
                if ready and not self._read_once():
                    return
        except BaseException:
            # Interrupted between reading and framing: where the stream stands
            # is no longer known, so this session cannot go on.
            self.fail(ReadFailed("Reading from socket failed: interrupted while reading"))
            raise

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
            self._deliver(frames)
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
        if self._ended.is_set():
            return
        self._ended.set()
        self.transport.shutdown()
        for observer in self._observers:
            observer.closed()
        self._on_drop(self, error)

    def close(self) -> None:
        """Close the socket (after :meth:`fail`)."""
        self.transport.close()
