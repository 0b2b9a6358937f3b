"""The one scripted AMI server for the tests: loopback, port 0, daemon threads.

A :class:`Server` accepts connections, sends the greeting and calls a handler
``handler(session, message)`` for each message a client sends. The handler
answers with :meth:`Session.reply` (which copies the request's ActionID) or
:meth:`Session.send`, and may close the session. :func:`standard` answers the
usual actions (Login, Challenge, Ping, Logoff) the way Asterisk does, so a test
handler deals only with what it is about and passes the rest on; :func:`lenient`
also answers a ``Status`` list and any other action (``Response: Success``,
echoing a ``Token`` header; ``Fail`` is answered with an error, ``Ignore`` never)::

    with Server(handler) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2)

Keyword knobs make every session misbehave in one particular way (all off by default):

* ``greeting``: the first line (``b""``: none, then serve; ``None``: never greet,
  hold the connection without answering).
* ``close_before_greeting``: accept, then close at once.
* ``close_during_login``: close on receiving Login, without answering.
* ``after_login``: raw bytes sent right after a successful login.
* ``burst_bytes``: right after login, about this many bytes of events
  (:attr:`Server.events_sent` counts them; :attr:`Server.writes_done` is set after the last).
* ``drop_after``: called at each login; the connection is dropped (after a random
  part of a response, chosen by ``rng``) once that many more actions came in.
* ``close_mid_message``: answer the first action after login with half a response, then close.
* ``close_mid_list``: (:func:`lenient`) close after two items of the ``Status`` list.
* ``close_when_waiting``: after login answer nothing; close once that many actions wait.
* ``silent``: after login read everything and answer nothing, never closing.
* ``trickle``: send every byte on its own, sleeping this many seconds after each.
* ``delays``: ``{"originate": 2.0}`` answers that action after a pause (later
  actions wait behind it, as on one Asterisk session).

A :class:`Pool` makes servers and clients for one test and closes them all at the end.
"""

from __future__ import annotations

import hashlib
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from amishell.client import AMIClient
from amishell.message import Message
from amishell.protocol import Framer, parse_frame

__all__ = [
    "CHALLENGE", "GREETING", "SECRET", "USERNAME", "LeakCheck", "Pool", "Server", "Session",
    "burst_event", "client_threads", "free_port", "lenient", "open_fds", "silent", "standard",
    "wait_until",
]

GREETING = b"Asterisk Call Manager/13.0.0\r\n"
USERNAME = "admin"
SECRET = "s3cret-admin"
CHALLENGE = "757475512"
_PAD = "x" * 900

Handler = Callable[["Session", Message], None]
Pairs = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _pairs(fields: Pairs) -> list[tuple[str, str]]:
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        out.extend((key, str(v)) for v in values)
    return out


def format_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Pairs as wire bytes, unchecked (a test server may send what a client must refuse)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


def burst_event(seq: int) -> bytes:
    """One event of a burst (about 1 KB)."""
    return format_pairs(
        [("Event", "Burst"), ("Privilege", "system,all"), ("Seq", str(seq)), ("Pad", _PAD)]
    )


def free_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class Session:
    """One accepted connection, served on its own daemon thread."""

    def __init__(self, server: Server, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.received: list[Message] = []
        #: Every byte the client sent, as received.
        self.raw = bytearray()
        self.closed = threading.Event()
        self.authenticated = False
        self.challenge: str | None = None
        self._send_lock = threading.Lock()
        self._waiting = 0
        self._left: int | None = None

    def send(self, data: bytes | Pairs) -> None:
        """Send raw bytes, or one message given as a mapping or pairs."""
        raw = data if isinstance(data, bytes) else format_pairs(_pairs(data))
        delay = self.server.knobs.get("trickle", 0.0)
        with self._send_lock:
            try:
                if not delay:
                    self.sock.sendall(raw)
                    return
                for i in range(len(raw)):
                    if self.closed.is_set():
                        return
                    self.sock.sendall(raw[i : i + 1])
                    time.sleep(delay)
            except OSError:
                pass

    def reply(self, request: Message, fields: Pairs = (), /, **headers: Any) -> None:
        """Answer ``request``: Response (or Event) first, then its ActionID, then the rest."""
        pairs = _pairs(fields) + _pairs(headers)
        first = [p for p in pairs if p[0] in ("Response", "Event")][:1]
        rest = [p for p in pairs if p not in first]
        aid = request.value("ActionID")
        self.send(first + ([("ActionID", aid)] if aid is not None else []) + rest)

    def close(self) -> None:
        """Close the connection (the client sees end-of-file)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed.set()

    def fault(self) -> None:
        """Close the connection on purpose (a knob's fault), noting when."""
        self.server.mark_closed()
        self.close()

    def serve(self) -> None:
        server = self.server
        knobs = server.knobs
        try:
            if server.tls is not None:
                self.sock.settimeout(10.0)  # longer than a client waits for a greeting
                self.sock = server.tls.wrap_socket(self.sock, server_side=True)
                self.sock.settimeout(None)
            if knobs.get("close_before_greeting"):
                self.fault()
                return
            if server.greeting is None:
                while self.sock.recv(65536):  # hold the connection, answer nothing
                    pass
                return
            if server.greeting:
                self.send(server.greeting)
            if server.on_connect is not None:
                server.on_connect(self)
            framer = Framer()
            while not self.closed.is_set():
                data = self.sock.recv(65536)
                if not data:
                    return
                self.raw += data
                for frame in framer.feed(data):
                    if self.closed.is_set():
                        return
                    msg = parse_frame(frame)
                    self.received.append(msg)
                    server.record(msg)
                    self.handle(msg)
        except (OSError, ssl.SSLError):
            pass
        except Exception as exc:  # recorded for the test to see
            server.errors.append(exc)
        finally:
            self.close()

    def handle(self, msg: Message) -> None:
        """Apply the knobs, then the handler."""
        server, knobs = self.server, self.server.knobs
        action = (msg.value("Action") or "").lower()
        if not self.authenticated:
            if action == "login" and knobs.get("close_during_login"):
                self.fault()
                return
            server.handler(self, msg)
            if self.authenticated:
                self._logged_in()
            return
        if knobs.get("silent"):
            return
        if knobs.get("close_when_waiting"):
            self._waiting += 1
            if self._waiting >= knobs["close_when_waiting"]:
                self.fault()
            return
        if knobs.get("close_mid_message"):
            data = _answer(msg, [("Response", "Success"), ("Ping", "Pong")])
            self.send(data[: len(data) // 2])
            self.fault()
            return
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                data = _answer(msg, [("Response", "Success")])
                self.send(data[: server.rng.randrange(len(data))])
                server.drops += 1
                self.fault()
                return
        delay = server.delays.get(action)
        if delay:
            time.sleep(delay)
        server.handler(self, msg)

    def _logged_in(self) -> None:
        server, knobs = self.server, self.server.knobs
        server.logins += 1
        if knobs.get("drop_after") is not None:
            self._left = knobs["drop_after"]()
        if knobs.get("after_login"):
            self.send(knobs["after_login"])
        size = knobs.get("burst_bytes", 0)
        seq = sent = 0
        while sent < size:
            chunk = b"".join(burst_event(seq + i) for i in range(64))
            self.sock.sendall(chunk)
            seq += 64
            sent += len(chunk)
            server.events_sent = seq
        if size:
            server.writes_done.set()


KNOBS = frozenset({
    "close_before_greeting", "close_during_login", "after_login", "burst_bytes", "drop_after",
    "close_mid_message", "close_mid_list", "close_when_waiting", "silent", "trickle",
})


class Server:
    """A loopback AMI server on port 0 in daemon threads (see the module's docstring).

    ``on_connect(session)`` runs after the greeting, before the first read (it
    may close the session). ``family`` is ``socket.AF_INET`` or
    ``socket.AF_INET6``; ``tls`` a server side :class:`ssl.SSLContext`.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        greeting: bytes | None = GREETING,
        on_connect: Callable[[Session], None] | None = None,
        family: socket.AddressFamily = socket.AF_INET,
        tls: ssl.SSLContext | None = None,
        delays: dict[str, float] | None = None,
        rng: random.Random | None = None,
        **knobs: Any,
    ) -> None:
        unknown = set(knobs) - KNOBS
        if unknown:
            raise TypeError(f"unknown knobs: {sorted(unknown)}")
        self.handler: Handler = handler or standard
        self.greeting = greeting
        self.on_connect = on_connect
        self.tls = tls
        self.family = family
        self.knobs = knobs
        self.delays = {k.lower(): v for k, v in (delays or {}).items()}
        self.rng = rng or random.Random(5)
        self.sessions: list[Session] = []
        self.received: list[Message] = []
        #: Unexpected exceptions in session threads (``with`` asserts there are none).
        self.errors: list[BaseException] = []
        self.connections = self.logins = self.drops = self.events_sent = 0
        self.writes_done = threading.Event()
        #: Set (with :attr:`closed_at`, a ``time.monotonic()``) when a knob closed a connection.
        self.closed = threading.Event()
        self.closed_at: float | None = None
        self._cv = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self._listener.bind((self.host, 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, name="test-server", daemon=True)
        self._thread.start()

    @property
    def hostport(self) -> str:
        """``host:port`` (``[::1]:port`` for IPv6), as AMIClient's host accepts it."""
        if self.family == socket.AF_INET6:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _addr = self._listener.accept()
            except OSError:
                return
            if self._stopped:
                sock.close()
                return
            session = Session(self, sock)
            thread = threading.Thread(target=session.serve, name="test-session", daemon=True)
            with self._cv:
                self.sessions.append(session)
                self.connections += 1
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                self._cv.notify_all()
            thread.start()

    def record(self, msg: Message) -> None:
        with self._cv:
            self.received.append(msg)
            self._cv.notify_all()

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Wait until ``predicate()`` (checked whenever a connection or message arrives)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cv.wait(min(remaining, 0.05))
        return True

    def actions(self) -> list[str]:
        """The Action of every message received so far, in order."""
        return [m.value("Action") or "" for m in list(self.received)]

    @property
    def raw(self) -> bytes:
        """Every byte clients sent, all sessions in turn."""
        return b"".join(bytes(s.raw) for s in list(self.sessions))

    @property
    def active(self) -> int:
        """Sessions whose thread is still running."""
        return sum(t.is_alive() for t in list(self._threads))

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until every session thread has finished."""
        return wait_until(lambda: not self.active, timeout, 0.01)

    def drop(self) -> None:
        """Close every open connection (the server's end of a dropped network)."""
        for session in list(self.sessions):
            session.close()

    def close(self) -> None:
        """Stop accepting, close every connection, wait for the threads (idempotent)."""
        self._stopped = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
        except OSError:
            pass
        try:
            self._listener.close()
        except OSError:
            pass
        self.drop()
        self._thread.join(timeout=2.0)
        for thread in list(self._threads):
            thread.join(timeout=2.0)

    stop = close

    def __enter__(self) -> Server:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        if exc is None:
            assert not self.errors, f"the server failed: {self.errors!r}"


class Pool:
    """Servers and clients for one test; :meth:`close` closes them all."""

    def __init__(self) -> None:
        self.servers: list[Server] = []
        self.clients: list[AMIClient] = []

    def server(self, handler: Handler | None = None, **kw: Any) -> Server:
        """A :class:`Server` (same arguments)."""
        server = Server(handler, **kw)
        self.servers.append(server)
        return server

    def client(self, server: Server | str, secret: str = SECRET, *, username: str = USERNAME,
               timeout: float = 2.0, **kw: Any) -> AMIClient:
        """An unconnected AMIClient for ``server`` (or a ``host:port`` string)."""
        host = server if isinstance(server, str) else server.hostport
        client = AMIClient(username, secret, host, timeout=timeout, **kw)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for server in self.servers:
            server.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# ---------------------------------------------------------------------------
# Handlers


def standard(session: Session, msg: Message, *, secret: str = SECRET) -> None:
    """Answer Login, Challenge, Ping and Logoff as Asterisk does; anything else is
    ``Permission denied`` before login and ``Invalid/unknown command`` after."""
    action = (msg.value("Action") or "").lower()
    if action == "login":
        if msg.value("AuthType", "").lower() == "md5":
            expected = hashlib.md5(((session.challenge or "") + secret).encode()).hexdigest()
            ok = session.challenge is not None and msg.value("Key") == expected
        else:
            ok = msg.value("Secret") == secret
        if ok and msg.value("Username") == USERNAME:
            session.authenticated = True
            session.reply(msg, Response="Success", Message="Authentication accepted")
        else:
            session.reply(msg, Response="Error", Message="Authentication failed")
            session.close()
    elif action == "challenge":
        session.challenge = CHALLENGE
        session.reply(msg, Response="Success", Challenge=CHALLENGE)
    elif action == "logoff":
        session.reply(msg, Response="Goodbye", Message="Thanks for all the fish.")
        session.close()
    elif not session.authenticated:
        session.reply(msg, Response="Error", Message="Permission denied")
    elif action == "ping":
        session.reply(msg, Response="Success", Ping="Pong", Timestamp="1795686309.685829")
    else:
        session.reply(
            msg,
            Response="Error",
            Message=f"Invalid/unknown command: {msg.value('Action')}."
            " Use Action: ListCommands to show available commands.",
        )


def lenient(session: Session, msg: Message) -> None:
    """:func:`standard`, but a ``Status`` list and any other action are answered."""
    action = (msg.value("Action") or "").lower()
    if not session.authenticated or action in ("login", "challenge", "logoff", "ping"):
        standard(session, msg)
    elif action == "status":
        session.reply(msg, Response="Success", EventList="start",
                      Message="Channel status will follow")
        for i in range(2):
            session.reply(msg, Event="Status", Channel=f"PJSIP/10{i}-0000000{i}")
        if session.server.knobs.get("close_mid_list"):
            session.fault()
            return
        session.reply(msg, Event="StatusComplete", EventList="Complete", ListItems="2")
    elif action == "fail":
        session.reply(msg, Response="Error", Message="Invalid/unknown command")
    elif action != "ignore":
        token = msg.value("Token")
        session.reply(msg, Response="Success", **({"Echo": token} if token is not None else {}))


def silent(session: Session, msg: Message) -> None:
    """Log in, then never answer anything again (a session the server dropped)."""
    if (msg.value("Action") or "").lower() == "login":
        standard(session, msg)


def _answer(request: Message, pairs: list[tuple[str, str]]) -> bytes:
    """Pairs as wire bytes, the request's ActionID right after the first line."""
    aid = request.value("ActionID")
    if aid is not None:
        pairs = [pairs[0], ("ActionID", aid), *pairs[1:]]
    return format_pairs(pairs)


# ---------------------------------------------------------------------------
# Leak checks


def client_threads() -> set[threading.Thread]:
    """The client library's live threads (their names start with ``amishell-``)."""
    return {t for t in threading.enumerate() if t.name.startswith("amishell-")}


def open_fds() -> int:
    import psutil  # type: ignore[import-untyped, unused-ignore]

    return int(psutil.Process().num_fds())


class LeakCheck:
    """Remembers the client threads and open descriptors; :meth:`check` waits
    (bounded) for stragglers, then asserts none is left."""

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
