"""The simulated server: listening socket, sessions, background traffic, bursts."""

from __future__ import annotations

import random
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Final

from ..catalog import Catalog, load_offline
from . import calls
from .calls import OriginateRequest
from .config import Faults, User
from .netio import Transport
from .pbx import PBX, Member, Queue, log
from .session import Session, SessionStats

__all__ = ["Simulator", "asterisk_version_for"]

#: AMI version -> the Asterisk release that announces it.
_RELEASES: Final = {
    "12": "23.0.0",
    "11": "22.0.0",
    "10": "21.0.0",
    "9": "20.0.0",
    "8": "19.0.0",
    "7": "18.0.0",
    "6": "17.0.0",
    "5": "16.0.0",
    "4": "15.0.0",
    "3": "14.0.0",
}

_NAMES: Final = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi")


def asterisk_version_for(ami_version: str) -> str:
    """The Asterisk version a server announcing ``ami_version`` runs."""
    major = ami_version.split(".", 1)[0]
    if major in _RELEASES:
        return _RELEASES[major]
    if major.isdigit() and int(major) <= 2:
        return "13.38.3"
    return "GIT-master-simulated"


class Simulator:
    """A simulated Asterisk PBX speaking AMI on a TCP (or TLS) socket.

    ``port=0`` picks a free port; :meth:`start` returns ``(host, port)``.
    ``users`` maps user names to :class:`User` (default: ``admin``/``admin``
    with every privilege). ``time_scale`` multiplies every dialplan delay
    (0.1 makes calls ten times faster). ``call_rate`` starts that many
    background calls per second, their callers named from ``caller_names``.
    ``disabled_events`` names events never sent (manager.conf ``disabledevents``).
    See the package documentation for the rest.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, User] | None = None,
        *,
        version: str = "13.0.0",
        asterisk_version: str | None = None,
        system_name: str = "amishell-sim",
        legacy_command: bool = False,
        auth_fail_delay: float = 1.0,
        auth_timeout: float = 30.0,
        call_rate: float = 0.0,
        ssl_context: ssl.SSLContext | None = None,
        faults: Faults | None = None,
        time_scale: float = 1.0,
        max_queue_bytes: int = 32 << 20,
        write_timeout: float | None = None,
        seed: int | None = None,
        catalog: Catalog | None = None,
        caller_names: Sequence[str] = (),
        disabled_events: Iterable[str] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.users: dict[str, User] = dict(users) if users is not None else {"admin": User("admin")}
        self.version = version
        self.asterisk_version = asterisk_version or asterisk_version_for(version)
        self.system_name = system_name
        self.legacy_command = legacy_command
        self.auth_fail_delay = auth_fail_delay
        self.auth_timeout = auth_timeout
        self.call_rate = call_rate
        self.ssl_context = ssl_context
        self.faults = faults or Faults()
        self.max_queue_bytes = max_queue_bytes
        self.write_timeout = write_timeout
        self.catalog = catalog if catalog is not None else load_offline()
        #: The caller names of background calls (any text: hostile ones test a client).
        self.caller_names: tuple[str, ...] = tuple(caller_names) or _NAMES
        self.pbx = PBX(time_scale=time_scale)
        self.pbx.disabled_events = {name.lower() for name in disabled_events}
        self.pbx.queues["support"] = Queue(
            "support", members=[Member("Local/100@demo", "Local/100@demo")]
        )
        self.pbx.queues["sales"] = Queue("sales", strategy="rrmemory")
        self.stopping = False
        self._rng = random.Random(seed)
        self._sock: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._sessions: list[Session] = []
        self._lock = threading.Lock()
        self._address: tuple[str, int] | None = None
        self._burst_cache: list[bytes] | None = None

    def __repr__(self) -> str:
        where = f"{self._address[0]}:{self._address[1]}" if self._address else "not started"
        return f"Simulator({where}, version={self.version!r})"

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        """Listen and start serving; returns the ``(host, port)`` it listens on."""
        if self._sock is not None:
            return self.address
        info = socket.getaddrinfo(
            self.host or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if info[0] == socket.AF_INET6 and self.host in ("", "::"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:
            sock.bind(info[4])
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.2)
        self._sock = sock
        self._address = (sock.getsockname()[0], sock.getsockname()[1])
        self.stopping = False
        self.pbx.start()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="amishell-sim-accept", daemon=True
        )
        self._accept_thread.start()
        if self.call_rate > 0:
            self.pbx.call_later(0.0, self._traffic)
        return self._address

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens (after :meth:`start`)."""
        if self._address is None:
            raise RuntimeError("the simulator is not started")
        return self._address

    def stop(self, timeout: float = 5.0) -> None:
        """Close every session and the listening socket; join all threads."""
        self.stopping = True
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() at once
            except OSError:
                pass
            sock.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
            self._accept_thread = None
        sessions = self.sessions()
        for session in sessions:
            session.stop()
        deadline = time.monotonic() + timeout
        for session in sessions:
            session.join(max(deadline - time.monotonic(), 0.1))
        self.pbx.stop(timeout)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self.stopping:
            sock = self._sock
            if sock is None:
                return
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._serve(conn, peer)
            except OSError:
                conn.close()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        local = conn.getsockname()
        # A response and the events after it are separate writes: without this,
        # Nagle holds the second until the client's delayed ACK (up to 40 ms).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            conn = self.ssl_context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
        transport = Transport(conn)
        session = Session(self, transport, (peer[0], peer[1]), (local[0], local[1]), self.faults)
        with self._lock:
            if self.stopping:
                transport.close()
                return
            self._sessions.append(session)
        self.pbx.add_sink(session)
        session.start()

    def _session_closed(self, session: Session) -> None:
        self.pbx.remove_sink(session)
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)

    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    # -- traffic ---------------------------------------------------------------
    def originate(
        self,
        channel: str = "Local/100@demo",
        *,
        context: str = "",
        exten: str = "",
        priority: int = 1,
        application: str = "",
        data: str = "",
        caller_id: tuple[str, str] = ("", ""),
        variables: Sequence[tuple[str, str]] = (),
        timeout: float = 30.0,
    ) -> str | None:
        """Start an asynchronous Originate; the name of its ``;1`` channel, or None."""
        req = OriginateRequest(
            channel=channel,
            context=context,
            exten=exten,
            priority=priority,
            application=application,
            data=data,
            caller=caller_id,
            variables=list(variables),
            timeout=timeout,
        )
        with self.pbx.lock:
            before = set(self.pbx.channels)
            self.pbx.spawn(calls.originate(self.pbx, req), "originate")
            new = [n for n in self.pbx.channels if n not in before and n.endswith(";1")]
        return new[0] if new else None

    def start_call(self, exten: str = "400", context: str = "demo") -> str | None:
        """Call ``exten``: a Local channel whose ``;2`` half runs it; returns ``;1``'s name."""
        return self.originate(f"Local/{exten}@{context}", application="Wait", data="3600")

    def channels(self) -> list[str]:
        """Names of the live channels."""
        with self.pbx.lock:
            return list(self.pbx.channels)

    def _traffic(self) -> None:
        if self.stopping or self.call_rate <= 0:
            return
        rng = self._rng
        name = rng.choice(self.caller_names)
        caller = (str(rng.randint(1001, 1099)), name)
        kind = rng.choices(("dial", "queue", "long", "event", "short"), (4, 1, 1, 1, 2))[0]
        try:
            if kind == "dial":
                self.originate(
                    f"Local/{rng.randint(900, 999)}@demo",
                    context="demo",
                    exten="200",
                    caller_id=caller,
                )
            elif kind == "queue":
                self.originate("Local/300@demo", application="Wait", data="20", caller_id=caller)
            elif kind == "long":
                wait = str(rng.randint(4, 12))
                self.originate("Local/400@demo", application="Wait", data=wait, caller_id=caller)
            elif kind == "event":
                self.originate("Local/500@demo", application="Wait", data="1", caller_id=caller)
            else:
                self.originate("Local/600@demo", context="demo", exten="100", caller_id=caller)
        except Exception:
            log.exception("background call failed")
        self.pbx.call_later(rng.expovariate(self.call_rate), self._traffic)

    # -- bursts ----------------------------------------------------------------
    def burst(self, count: int, payload: Sequence[bytes] | bytes | None = None) -> int:
        """Push ``count`` pre-rendered event messages to every logged-in session.

        The bytes go out as fast as each socket takes them, in large writes,
        ignoring event masks and filters. ``payload`` is one message or a
        sequence cycled through (default: the events of one simulated call).
        Returns how many sessions it was queued to; see :meth:`wait_bursts`.
        """
        if isinstance(payload, bytes):
            messages: list[bytes] = [payload]
        elif payload is None:
            messages = self.default_burst_payload()
        else:
            messages = list(payload)
        if count <= 0 or not messages:
            return 0
        one = b"".join(messages)
        per_block = max(1, (256 << 10) // max(len(one), 1))
        block = one * per_block
        block_messages = len(messages) * per_block
        repeat, rest = divmod(count, block_messages)
        tail = b"".join(messages[i % len(messages)] for i in range(rest))
        queued = 0
        for session in self.sessions():
            if session.queue_burst(block, repeat, tail, count):
                queued += 1
        return queued

    def wait_bursts(self, timeout: float = 30.0) -> bool:
        """Wait until every queued burst was written; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.bursts_pending == 0 or s.closed or s.dropped for s in self.sessions()):
                return True
            time.sleep(0.01)
        return False

    @property
    def stats(self) -> list[SessionStats]:
        """Per session: messages and bytes sent, bursts pending and done."""
        return [s.stats() for s in self.sessions()]

    def default_burst_payload(self) -> list[bytes]:
        """The events of one simulated call (Originate to ``Local/900@demo``, exten 200)."""
        if self._burst_cache is None:
            self._burst_cache = render_call_events()
        return self._burst_cache


class _Capture:
    def __init__(self) -> None:
        self.events: list[bytes] = []

    def deliver(self, ev: object) -> None:
        self.events.append(ev.data)  # type: ignore[attr-defined]


def render_call_events() -> list[bytes]:
    """Run one call on a private PBX at full speed and keep its events' bytes."""
    pbx = PBX(time_scale=0.0)
    pbx.queues["support"] = Queue("support", members=[Member("Local/100@demo", "Local/100@demo")])
    capture = _Capture()
    pbx.sinks.append(capture)
    req = OriginateRequest(
        channel="Local/900@demo", context="demo", exten="200", caller=("1001", "Alice")
    )
    with pbx.lock:
        pbx.spawn(calls.originate(pbx, req), "burst")
        pbx.run_until_idle()
    return capture.events
