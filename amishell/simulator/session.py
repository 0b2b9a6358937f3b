"""One manager session: a reader thread that runs actions, a writer thread that sends.

The reader only reads, cuts messages and runs actions (one at a time, in
order, as the server does). Everything sent goes through the session's own
bounded queue to its writer thread, so a client that reads slowly only ever
holds up itself. A client that falls too far behind (the queue passes
``max_queue_bytes``, or one write blocks longer than ``write_timeout``) loses
its session the way it does on a real server: no more answers and no more
events, and no end-of-file either.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import actions
from .config import CLASS_BITS, Faults, User, authority_text, mask_from_text
from .filters import EventFilter, make_filter
from .netio import LineReader, Transport
from .wire import Event, Request, ack, error, lines_bytes

if TYPE_CHECKING:
    from .server import Simulator

__all__ = ["Session", "SessionStats"]

SYSTEM = CLASS_BITS["system"]
SECURITY = CLASS_BITS["security"]


@dataclass(frozen=True)
class SessionStats:
    """What one session has been sent so far."""

    session_id: str
    username: str
    remote: tuple[str, int]
    messages_sent: int
    bytes_sent: int
    bursts_pending: int
    bursts_completed: int
    dropped: bool
    closed: bool


@dataclass(frozen=True)
class _Burst:
    block: bytes
    repeat: int
    tail: bytes
    messages: int


class _Close:
    pass


_CLOSE = _Close()


class Session:
    """A client connection to the simulated server."""

    def __init__(
        self,
        server: Simulator,
        transport: Transport,
        remote: tuple[str, int],
        local: tuple[str, int],
        faults: Faults,
    ) -> None:
        self.server = server
        self.transport = transport
        self.remote = remote
        self.local = local
        self.faults = faults
        self.id = f"0x{id(self):x}"
        self.started = time.time()
        self.authenticated = False
        self.username = ""
        self.read_mask = 0
        self.write_mask = 0
        self.send_events = 0
        self.challenge = ""
        self.includes: list[EventFilter] = []
        self.excludes: list[EventFilter] = []
        self._out: deque[bytes | _Burst | _Close] = deque()
        self._cond = threading.Condition()
        self._queued = 0
        self._held: list[bytes] | None = None
        self.messages_sent = 0
        self.bytes_sent = 0
        self.bursts_pending = 0
        self.bursts_completed = 0
        self.dropped = False
        self.closed = False
        self._closing = False
        self._stopped = threading.Event()
        self._reader = threading.Thread(
            target=self._read_loop, name="amishell-sim-reader", daemon=True
        )
        self._writer = threading.Thread(
            target=self._write_loop, name="amishell-sim-writer", daemon=True
        )

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self._reader.start()
        self._writer.start()

    @property
    def closing(self) -> bool:
        """The session is ending (Logoff, failed login, client gone, server stop)."""
        return self._closing or self._stopped.is_set()

    def pause(self, seconds: float) -> None:
        """Sleep in the session's reader, cut short when the server stops."""
        self._stopped.wait(seconds)

    def stop(self) -> None:
        """Close at once (server stop)."""
        self._stopped.set()
        self._closing = True
        with self._cond:
            self._out.clear()
            self._out.append(_CLOSE)
            self._cond.notify()
        self.transport.shutdown()

    def join(self, timeout: float) -> None:
        for t in (self._reader, self._writer):
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout)

    def stats(self) -> SessionStats:
        return SessionStats(
            self.id,
            self.username,
            self.remote,
            self.messages_sent,
            self.bytes_sent,
            self.bursts_pending,
            self.bursts_completed,
            self.dropped,
            self.closed,
        )

    # -- output --------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue one message for the client."""
        if self.dropped or self._closing:
            return
        with self._cond:
            if self._queued + len(data) > self.server.max_queue_bytes:
                self._drop()
                return
            self._out.append(data)
            self._queued += len(data)
            self._cond.notify()

    def deliver(self, ev: Event) -> None:
        """An event from the PBX: sent if the session's masks and filters let it through."""
        if not self.authenticated or self.dropped:
            return
        cat = ev.category
        if (self.read_mask & cat) != cat or (self.send_events & cat) != cat:
            return
        if (self.includes or self.excludes) and not self._passes(ev):
            return
        if self._held is not None:
            self._held.append(ev.data)
        else:
            self.send(ev.data)

    def _passes(self, ev: Event) -> bool:
        if self.includes and not any(f.match(ev) for f in self.includes):
            return False
        return not any(f.match(ev) for f in self.excludes)

    def hold_events(self) -> None:
        """Keep events back while an action holds the session (sync Originate)."""
        with self.server.pbx.lock:
            self._held = []

    def release_events(self) -> None:
        held, self._held = self._held or [], None
        for data in held:
            self.send(data)

    def queue_burst(self, block: bytes, repeat: int, tail: bytes, messages: int) -> bool:
        if self.dropped or self._closing or not self.authenticated:
            return False
        with self._cond:
            self.bursts_pending += 1
            self._out.append(_Burst(block, repeat, tail, messages))
            self._cond.notify()
        return True

    def _drop(self) -> None:
        """Lose the session as a real server does a slow reader: silence, no EOF."""
        with self._cond:
            self.dropped = True
            self._out.clear()
            self._queued = 0

    def _close_after_reply(self) -> None:
        self._closing = True
        with self._cond:
            self._out.append(_CLOSE)
            self._cond.notify()

    # -- login ---------------------------------------------------------------
    def login(self, req: Request, name: str, user: User) -> None:
        pbx = self.server.pbx
        with pbx.lock:
            self.authenticated = True
            self.username = name
            self.read_mask = user.read_mask
            self.write_mask = user.write_mask
            events = req.get("Events")
            mask = mask_from_text(events) if events else -1
            self.send_events = self.read_mask & mask if mask >= 0 else self.read_mask
            self.send(ack(req, "Authentication accepted"))
            if self.send_events & SYSTEM:
                up = int(time.time() - pbx.started)
                reload = int(time.time() - pbx.last_reload)
                self.send(
                    lines_bytes(
                        [
                            ("Event", "FullyBooted"),
                            ("Privilege", authority_text(SYSTEM)),
                            ("Uptime", up),
                            ("LastReload", reload),
                            ("Status", "Fully Booted"),
                        ]
                    )
                )
            now = _tv(time.time())
            proto = "TLS" if self.transport.tls else "TCP"
            pbx.emit(
                "SuccessfulAuth",
                SECURITY,
                [
                    ("EventTV", now),
                    ("Severity", "Informational"),
                    ("Service", "AMI"),
                    ("EventVersion", 1),
                    ("AccountID", name),
                    ("SessionID", self.id),
                    ("LocalAddress", _addr(proto, self.local)),
                    ("RemoteAddress", _addr(proto, self.remote)),
                    ("UsingPassword", 0),
                    ("SessionTV", _tv(self.started)),
                ],
            )

    def fail_login(self, req: Request) -> None:
        self.pause(self.server.auth_fail_delay)
        self.send(error(req, "Authentication failed"))

    def add_filter(self, criteria: str, pattern: str) -> str:
        """Add an event filter (the Filter action); an error message, or "" when added."""
        result = make_filter(criteria, pattern)
        if isinstance(result, str):
            return result
        with self.server.pbx.lock:
            (self.excludes if result.exclude else self.includes).append(result)
        return ""

    # -- reader --------------------------------------------------------------
    def _read_loop(self) -> None:
        try:
            if self.transport.tls:
                try:
                    self.transport.handshake(10.0)
                except (OSError, ValueError):
                    return  # a client that fails TLS just goes away
            self._greet()
            reader = LineReader()
            while not self._closing:
                data = self.transport.recv(0.2)
                if data is None:
                    if not self.authenticated and (
                        time.time() - self.started > self.server.auth_timeout
                    ):
                        break
                    continue
                if not data:
                    break
                if self.dropped:
                    continue
                for msg in reader.feed(data):
                    if self._closing or self.dropped:
                        break
                    if self._handle(msg.lines, msg.too_long, msg.too_many):
                        self._close_after_reply()
                        break
        except Exception:  # a broken session must not take the server down
            from .pbx import log

            log.exception("session reader failed")
        finally:
            if not self._closing:
                self._close_after_reply()
            self.server.pbx.remove_sink(self)

    def _greet(self) -> None:
        if self.faults.no_greeting:
            return
        text = self.faults.greeting_text
        line = text if text is not None else f"Asterisk Call Manager/{self.server.version}"
        with self._cond:
            self._out.append(_Greeting(f"{line}\r\n".encode()))
            if self.faults.garbage:
                self._out.append(_Greeting(self.faults.garbage))
            self._cond.notify()

    def _handle(self, lines: list[str], too_long: bool, too_many: bool) -> bool:
        req = Request(lines)
        if self.faults.delay:
            self.pause(self.faults.delay)
        if too_many:
            self.send(error(req, "Too many lines in message or allocation failure"))
            return False
        if too_long:
            self.send(error(req, "Failed to parse message: line too long"))
            return False
        return actions.dispatch(self, req)

    # -- writer --------------------------------------------------------------
    def _write_loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._out:
                        self._cond.wait()
                    items = list(self._out)
                    self._out.clear()
                    self._queued = 0
                if not self._write_items(items):
                    break
        except OSError:
            pass
        finally:
            self.closed = True
            self.transport.close()
            self.server._session_closed(self)

    def _write_items(self, items: list[bytes | _Burst | _Close]) -> bool:
        """Send items in order; False once the connection must end."""
        batch: list[bytes] = []
        for item in items:
            if isinstance(item, _Close):
                self._flush(batch)
                return False
            if isinstance(item, _Burst):
                self._flush(batch)
                batch = []
                self._run_burst(item)
                continue
            if self.dropped:
                continue
            batch.append(item)
            if self._faulty() and not self._fault_step(batch):
                return False
        self._flush(batch)
        return True

    def _faulty(self) -> bool:
        f = self.faults
        return bool(
            f.close_after_bytes is not None
            or f.close_after_messages is not None
            or f.silent_after is not None
            or f.garbage_every
        )

    def _fault_step(self, batch: list[bytes]) -> bool:
        """Apply the fault knobs after one more message joined ``batch``."""
        f = self.faults
        size = self.bytes_sent + sum(len(b) for b in batch)
        count = self.messages_sent + sum(1 for b in batch if not isinstance(b, _Greeting))
        if f.close_after_bytes is not None and size >= f.close_after_bytes:
            data = b"".join(batch)
            cut = len(data) - (size - f.close_after_bytes)
            batch.clear()
            self._send_raw(data[:cut], messages=0)
            return False
        if f.close_after_messages is not None and count >= f.close_after_messages:
            self._flush(batch)
            return False
        if f.silent_after is not None and count >= f.silent_after:
            self._flush(batch)
            batch.clear()
            self._drop()
            return True
        if (
            f.garbage_every
            and f.garbage
            and count % f.garbage_every == 0
            and not isinstance(batch[-1], _Greeting)
        ):
            batch.append(_Greeting(f.garbage))
        return True

    def _flush(self, batch: list[bytes]) -> None:
        if not batch:
            return
        messages = sum(1 for b in batch if not isinstance(b, _Greeting))
        data = b"".join(batch)
        batch.clear()
        self._send_raw(data, messages)

    def _send_raw(self, data: bytes, messages: int) -> None:
        view = memoryview(data)
        limit = self.server.write_timeout
        blocked_since = time.monotonic()
        while view:
            if self._closing and self.server.stopping:
                raise OSError("server stopping")
            n = self.transport.send(view, 0.2)
            if n:
                view = view[n:]
                self.bytes_sent += n
                blocked_since = time.monotonic()
            elif limit is not None and time.monotonic() - blocked_since > limit:
                self._drop()
                return
        self.messages_sent += messages

    def _run_burst(self, burst: _Burst) -> None:
        try:
            if not self.dropped:
                for _ in range(burst.repeat):
                    self._send_raw(burst.block, 0)
                    if self.dropped:
                        break
                if burst.tail and not self.dropped:
                    self._send_raw(burst.tail, 0)
                if not self.dropped:
                    self.messages_sent += burst.messages
        finally:
            self.bursts_pending -= 1
            self.bursts_completed += 1


class _Greeting(bytes):
    """Bytes that are not a message (greeting, garbage): counted as bytes only."""


def _tv(t: float) -> str:
    ms = int(t * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}+0000"


def _addr(proto: str, addr: tuple[str, int]) -> str:
    family = "IPV6" if ":" in addr[0] else "IPV4"
    return f"{family}/{proto}/{addr[0]}/{addr[1]}"
