"""A loopback AMI server that misbehaves on purpose, for the fault tests.

It listens on 127.0.0.1, port 0, serves each connection on a daemon thread,
sends the greeting and answers Challenge, Login, Ping, Logoff, a ``Status``
event list and any other action (``Response: Success`` echoing a ``Token``
header). Keyword knobs make it fail in one particular way::

    with FaultServer(close_when_waiting=50) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2)

Knobs (all off by default):

* ``close_before_greeting``: accept, then close at once.
* ``greeting``: the first line to send (``None``: never send one, keep the connection open).
* ``close_during_login``: close on receiving Login, without answering.
* ``after_login``: raw bytes sent right after the login response (garbage, a huge
  line, a huge message, latin-1 text ...); then the server carries on normally.
* ``close_mid_message``: answer the first action after login with half a response, then close.
* ``close_mid_list``: answer ``Status`` with the list start and two items, then close.
* ``close_when_waiting``: after login answer nothing; close once that many actions wait.
* ``trickle``: send every byte on its own, sleeping this many seconds after each.
* ``silent``: after login read everything and answer nothing, never closing.
* ``burst_bytes``: right after login, write about this many bytes of events
  (:attr:`events_sent` counts them, :attr:`writes_done` is set after the last write).
* ``delays``: ``{"originate": 2.0}`` answers that action after a pause (later
  actions wait behind it, as on one Asterisk session).
* ``drop_after``: called at each login; the connection is dropped (after a
  random part of a response, chosen by ``rng``) once that many more actions came in.

Actions ``Fail`` (answered ``Response: Error``) and ``Ignore`` (never answered)
exist for the tests.
"""

from __future__ import annotations

import hashlib
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType

from amishell.message import Message
from amishell.protocol import Framer, format_pairs, parse_frame

__all__ = [
    "CHALLENGE",
    "GREETING",
    "SECRET",
    "USERNAME",
    "FaultServer",
    "LeakCheck",
    "burst_event",
    "client_threads",
    "open_fds",
]

GREETING = b"Asterisk Call Manager/13.0.0\r\n"
USERNAME = "admin"
SECRET = "Xq7-secret-Zp9"
CHALLENGE = "486271953"
_PAD = "x" * 900


def burst_event(seq: int) -> bytes:
    """One event of a burst (about 1 KB)."""
    return format_pairs(
        [("Event", "Burst"), ("Privilege", "system,all"), ("Seq", str(seq)), ("Pad", _PAD)]
    )


class _Closed(Exception):
    """The handler decided to end the connection."""


class FaultServer:
    """The server; see the module's docstring for the knobs."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        greeting: bytes | None = GREETING,
        close_before_greeting: bool = False,
        close_during_login: bool = False,
        after_login: bytes = b"",
        close_mid_message: bool = False,
        close_mid_list: bool = False,
        close_when_waiting: int = 0,
        trickle: float = 0.0,
        silent: bool = False,
        burst_bytes: int = 0,
        delays: dict[str, float] | None = None,
        drop_after: Callable[[], int] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.tls = tls
        self.greeting = greeting
        self.close_before_greeting = close_before_greeting
        self.close_during_login = close_during_login
        self.after_login = after_login
        self.close_mid_message = close_mid_message
        self.close_mid_list = close_mid_list
        self.close_when_waiting = close_when_waiting
        self.trickle = trickle
        self.silent = silent
        self.burst_bytes = burst_bytes
        self.delays = {k.lower(): v for k, v in (delays or {}).items()}
        self.drop_after = drop_after
        self.rng = rng or random.Random(5)

        #: Every byte received from clients, all connections.
        self.received = bytearray()
        #: Unexpected exceptions in connection threads (a test may assert it is empty).
        self.errors: list[BaseException] = []
        self.connections = 0
        self.logins = 0
        self.drops = 0
        self.events_sent = 0
        self.writes_done = threading.Event()
        #: Set (with :attr:`closed_at`, a ``time.monotonic()``) when a fault closed a connection.
        self.closed = threading.Event()
        self.closed_at: float | None = None
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.host = "127.0.0.1"
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, name="faultserver", daemon=True)
        self._acceptor.start()

    # ------------------------------------------------------------ lifecycle
    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def active(self) -> int:
        """Connections whose thread is still running."""
        return sum(t.is_alive() for t in self._threads)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None:
            assert not self.errors, f"the server failed: {self.errors!r}"

    def stop(self) -> None:
        """Stop accepting, close every connection and wait for the threads."""
        self._stopping.set()
        try:  # wake the acceptor: closing a listening socket does not
            socket.create_connection((self.host, self.port), timeout=1.0).close()
        except OSError:
            pass
        self._acceptor.join(2.0)
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            _hard_close(sock)
        for thread in list(self._threads):
            thread.join(2.0)

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until every connection thread has finished."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.active

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                sock.close()
                return
            with self._lock:
                self._socks.add(sock)
                self.connections += 1
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(
                target=self._serve, args=(sock,), name="faultserver-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    # ----------------------------------------------------------- a connection
    def _serve(self, raw_sock: socket.socket) -> None:
        sock = raw_sock
        try:
            if self.tls is not None:
                raw_sock.settimeout(5.0)
                sock = self.tls.wrap_socket(raw_sock, server_side=True)
                sock.settimeout(None)
                with self._lock:
                    self._socks.add(sock)
            _Connection(self, sock).run()
        except (_Closed, OSError, ssl.SSLError):
            pass
        except Exception as exc:  # recorded for the test to see
            self.errors.append(exc)
        finally:
            with self._lock:
                self._socks.discard(raw_sock)
                self._socks.discard(sock)
            _hard_close(sock)
            if sock is not raw_sock:
                _hard_close(raw_sock)

    def _mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()


class _Connection:
    def __init__(self, server: FaultServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.logged_in = False
        self.challenge: str | None = None
        self.waiting = 0
        self.left: int | None = None

    def send(self, data: bytes) -> None:
        delay = self.server.trickle
        if not delay:
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            if self.server._stopping.is_set():
                raise _Closed
            self.sock.sendall(data[i : i + 1])
            time.sleep(delay)

    def reply(self, request: Message, pairs: list[tuple[str, str]]) -> None:
        self.send(_answer(request, pairs))

    def close(self) -> None:
        self.server._mark_closed()
        raise _Closed

    def run(self) -> None:
        server = self.server
        if server.close_before_greeting:
            self.close()
        if server.greeting is None:
            # Never greet: hold the connection until the client or the test ends it.
            while self.sock.recv(65536):
                pass
            return
        self.send(server.greeting)
        framer = Framer()
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            with server._lock:
                server.received += data
            for frame in framer.feed(data):
                self.handle(parse_frame(frame))

    def handle(self, msg: Message) -> None:
        action = (msg.value("Action") or "").lower()
        if not self.logged_in:
            self.before_login(action, msg)
            return
        server = self.server
        if server.silent:
            return
        if server.close_when_waiting:
            self.waiting += 1
            if self.waiting >= server.close_when_waiting:
                self.close()
            return
        if server.close_mid_message:
            data = _answer(msg, [("Response", "Success"), ("Ping", "Pong")])
            self.send(data[: len(data) // 2])
            self.close()
        if self.left is not None:
            self.left -= 1
            if self.left <= 0:
                data = _answer(msg, [("Response", "Success")])
                self.send(data[: server.rng.randrange(len(data))])
                with server._lock:
                    server.drops += 1
                self.close()
        delay = server.delays.get(action)
        if delay:
            time.sleep(delay)
        self.answer(action, msg)

    def before_login(self, action: str, msg: Message) -> None:
        server = self.server
        if action == "challenge":
            self.challenge = CHALLENGE
            self.reply(msg, [("Response", "Success"), ("Challenge", CHALLENGE)])
            return
        if action != "login":
            self.reply(msg, [("Response", "Error"), ("Message", "Permission denied")])
            return
        if server.close_during_login:
            self.close()
        if (msg.value("AuthType") or "").lower() == "md5":
            expected = hashlib.md5(((self.challenge or "") + SECRET).encode()).hexdigest()
            ok = msg.value("Key") == expected
        else:
            ok = msg.value("Secret") == SECRET
        if msg.value("Username") != USERNAME or not ok:
            self.reply(msg, [("Response", "Error"), ("Message", "Authentication failed")])
            raise _Closed
        self.logged_in = True
        with server._lock:
            server.logins += 1
        self.reply(msg, [("Response", "Success"), ("Message", "Authentication accepted")])
        if server.drop_after is not None:
            self.left = server.drop_after()
        if server.after_login:
            self.send(server.after_login)
        if server.burst_bytes:
            self.burst(server.burst_bytes)

    def burst(self, size: int) -> None:
        seq = 0
        sent = 0
        while sent < size:
            chunk = b"".join(burst_event(seq + i) for i in range(64))
            self.sock.sendall(chunk)
            seq += 64
            sent += len(chunk)
            self.server.events_sent = seq
        self.server.writes_done.set()

    def answer(self, action: str, msg: Message) -> None:
        if action == "ping":
            self.reply(msg, [("Response", "Success"), ("Ping", "Pong"),
                             ("Timestamp", f"{time.time():.6f}")])
        elif action == "logoff":
            self.reply(msg, [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")])
            raise _Closed
        elif action == "status":
            self.status(msg)
        elif action == "fail":
            self.reply(msg, [("Response", "Error"), ("Message", "Invalid/unknown command")])
        elif action == "ignore":
            pass
        else:
            pairs = [("Response", "Success")]
            token = msg.value("Token")
            if token is not None:
                pairs.append(("Echo", token))
            self.reply(msg, pairs)

    def status(self, msg: Message) -> None:
        self.reply(msg, [("Response", "Success"), ("EventList", "start"),
                         ("Message", "Channel status will follow")])
        for i in range(2):
            self.reply(msg, [("Event", "Status"), ("Channel", f"PJSIP/10{i}-0000000{i}")])
        if self.server.close_mid_list:
            self.close()
        self.reply(msg, [("Event", "StatusComplete"), ("EventList", "Complete"),
                         ("ListItems", "2")])


def _answer(request: Message, pairs: list[tuple[str, str]]) -> bytes:
    """Pairs as wire bytes, the request's ActionID right after the first line."""
    aid = request.value("ActionID")
    if aid is not None:
        pairs = [pairs[0], ("ActionID", aid), *pairs[1:]]
    return format_pairs(pairs)


def _hard_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# ---------------------------------------------------------------------------
# Leak checks shared by the fault tests


def client_threads() -> set[threading.Thread]:
    """The client library's live threads (their names start with ``amishell-``)."""
    return {t for t in threading.enumerate() if t.name.startswith("amishell-")}


def open_fds() -> int:
    import psutil  # type: ignore[import-untyped, unused-ignore]

    return int(psutil.Process().num_fds())


class LeakCheck:
    """Remembers the client threads and open descriptors, then checks they came back.

    ``check()`` waits (bounded) for stragglers, then asserts no new client thread
    is alive and no descriptor was left open.
    """

    def __init__(self) -> None:
        self.threads = client_threads()
        self.fds = open_fds()

    def check(self, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            extra = client_threads() - self.threads
            fds = open_fds()
            if (not extra and fds <= self.fds) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert not extra, f"client threads still alive: {sorted(t.name for t in extra)}"
        assert fds <= self.fds, f"{fds - self.fds} file descriptors leaked"
