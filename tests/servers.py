"""Small scripted AMI servers for tests: loopback, port 0, daemon threads.

A :class:`Server` accepts connections, sends the greeting and calls a handler
``handler(session, message)`` for each message a client sends. The handler
answers with :meth:`Session.reply` (which copies the request's ActionID) or
:meth:`Session.send`, and may close the session. :func:`standard` answers the
usual actions (Login, Challenge, Ping, Logoff) the way Asterisk does, so a test
handler only deals with what it is about and passes everything else on::

    def handler(session, msg):
        if msg.value("Action") == "Command":
            session.reply(msg, Response="Success", Output=["line 1", "line 2"])
        else:
            standard(session, msg)

    with Server(handler) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2)

A :class:`Pool` makes servers and clients for one test and closes them all at
the end (a pytest fixture is ``with Pool() as pool: yield pool``).
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from amishell.client import AMIClient
from amishell.message import Message
from amishell.protocol import Framer, format_pairs, parse_frame

__all__ = [
    "CHALLENGE",
    "GREETING",
    "SECRET",
    "USERNAME",
    "Pool",
    "Server",
    "Session",
    "silent",
    "standard",
]

GREETING = b"Asterisk Call Manager/13.0.0\r\n"
USERNAME = "admin"
SECRET = "s3cret-admin"
CHALLENGE = "757475512"

Handler = Callable[["Session", Message], None]
Pairs = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _pairs(fields: Pairs) -> list[tuple[str, str]]:
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        out.extend((key, str(v)) for v in values)
    return out



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

    def send(self, data: bytes | Pairs) -> None:
        """Send raw bytes, or one message given as a mapping or pairs."""
        raw = data if isinstance(data, bytes) else format_pairs(_pairs(data))
        with self._send_lock:
            try:
                self.sock.sendall(raw)
            except OSError:
                pass

    def reply(self, request: Message, fields: Pairs = (), /, **headers: Any) -> None:
        """Answer ``request``: Response first, then its ActionID, then the rest."""
        pairs = _pairs(fields) + _pairs(headers)
        first = [p for p in pairs if p[0] == "Response"]
        rest = [p for p in pairs if p[0] != "Response"]
        aid = request.value("ActionID")
        head = first + ([("ActionID", aid)] if aid is not None else [])
        self.send(head + rest)

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

    def serve(self) -> None:
        try:
            if self.server.tls is not None:
                try:
                    self.sock = self.server.tls.wrap_socket(self.sock, server_side=True)
                except (OSError, ssl.SSLError):
                    return
            if self.server.greeting:
                self.send(self.server.greeting)
            if self.server.on_connect is not None:
                self.server.on_connect(self)
            framer = Framer(greeting=False)
            while not self.closed.is_set():
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                self.raw += data
                for frame in framer.feed(data):
                    msg = parse_frame(frame)
                    self.received.append(msg)
                    self.server._record(msg)
                    self.server.handler(self, msg)
        finally:
            self.close()


class Server:
    """A loopback AMI server on port 0 in daemon threads.

    ``handler(session, message)`` is called on the session's thread for every
    message received. ``greeting`` is sent on connect (``b""`` sends nothing).
    ``on_connect(session)`` runs after the greeting, before the first read (it
    may close the session). ``family`` is ``socket.AF_INET`` or
    ``socket.AF_INET6``; ``tls`` a server side :class:`ssl.SSLContext`.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        greeting: bytes = GREETING,
        on_connect: Callable[[Session], None] | None = None,
        family: socket.AddressFamily = socket.AF_INET,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.handler: Handler = handler or standard
        self.greeting = greeting
        self.on_connect = on_connect
        self.tls = tls
        self.family = family
        self.sessions: list[Session] = []
        self.received: list[Message] = []
        self._cv = threading.Condition()
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self._listener.bind((self.host, 0))
        self._listener.listen(64)
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
            with self._cv:
                self.sessions.append(session)
                self._cv.notify_all()
            threading.Thread(target=session.serve, name="test-session", daemon=True).start()

    def _record(self, msg: Message) -> None:
        with self._cv:
            self.received.append(msg)
            self._cv.notify_all()

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

    def drop(self) -> None:
        """Close every open connection (the server's end of a dropped network)."""
        for session in list(self.sessions):
            session.close()

    def close(self) -> None:
        """Stop accepting and close every connection (idempotent)."""
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

    stop = close

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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

    def client(
        self,
        server: Server | str,
        secret: str = SECRET,
        *,
        username: str = USERNAME,
        timeout: float = 2.0,
        **kw: Any,
    ) -> AMIClient:
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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


def silent(session: Session, msg: Message) -> None:
    """Log in, then never answer anything again (a session the server dropped)."""
    if (msg.value("Action") or "").lower() == "login":
        standard(session, msg)
