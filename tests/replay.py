"""Replay a recorded Asterisk transcript to a client over loopback.

A :class:`ReplayServer` plays one transcript of ``tests/data/asterisk/`` (JSON
lines ``{"t", "dir", "data"}``) to every client that connects, on its own
daemon thread:

* ``recv`` entries (what Asterisk sent) are sent as recorded, chunk by chunk;
* a ``send`` entry (what the recording client sent) waits for the client's next
  message and compares the two **by meaning**: the Action name ignoring case,
  then every other header with its key ignoring case and its value exactly, in
  any order (a repeated key's values in their order). ``ActionID`` is not
  compared: the recorded one is mapped to the client's, and every later
  ``ActionID:`` line carrying it (the response, list items, OriginateResponse)
  is rewritten to the client's (or dropped when the client sent none).
  ``Secret`` and ``Key`` compare by value. An MD5 Login's ``Key`` depends on the
  challenge, so it is checked on its own: it must be ``md5(challenge + secret)``
  exactly when the recorded Key was (a recorded wrong Key expects a wrong one);
* a ``close`` entry closes the connection (what came after it in the recording
  never reached a server and is dropped).

A mismatch, or no message within ``client_timeout``, is appended to
:attr:`ReplayServer.errors` (secrets masked) and the connection is closed, so
the client fails fast; :meth:`ReplayServer.check` then raises AssertionError.
A test that provokes a mismatch on purpose asserts on ``server.errors`` and
then clears it.

Usage, through the ``replay`` fixture of ``conftest.py`` (it stops the server
and calls :meth:`~ReplayServer.check` at teardown)::

    def test_ping(replay):
        server = replay("login_ping_logoff")
        ami = AMIClient("admin", "s3cret-admin", server.host, server.port, timeout=2)
        assert ami.connect()
        assert ami.ping() is not None
        assert ami.disconnect()
        assert b"Secret: s3cret-admin" in server.sent

or directly: ``with ReplayServer("login_ping_logoff") as server: ...`` (then
call ``server.check()`` yourself).

Options (keyword arguments of :class:`ReplayServer` and of the fixture):

``speed``
    None (default): no recorded delay is kept, only the order. A number keeps
    the recorded delays divided by it (1.0 = real time, 10.0 = ten times
    faster); delays count from the moment the client's message arrived.
``secret``
    the secret for checking an MD5 Key; by default the recording's own
    (``admin``/``s3cret-admin``, ``monitor``/``m0nitor``, ``restricted``/``r3stricted``).
``ignore``
    header names (any case) left out of the comparison, besides ActionID.
``skip``
    indices (0-based, counting recorded ``send`` entries) of exchanges to leave
    out: that message and the recorded answer up to the next ``send``.
``close_after`` / ``silent_after``
    after the client's N-th message, close the connection (a dropped
    connection) or stop answering while keeping it open (a silent server).
    The N-th message itself is compared but gets no answer.
``end``
    what happens once the transcript has been played: ``"auto"`` (default)
    closes after a ``Response: Goodbye`` as Asterisk does and otherwise holds
    the connection open; ``"close"``; ``"hold"``. While held, a further
    message from the client is an error.
``partial``
    True when a test plays only part of the transcript on purpose; otherwise
    ``check()`` also requires every connection to have reached its end.
``client_timeout``
    seconds to wait for each expected client message (default 5).
``host``
    ``"127.0.0.1"`` (default) or ``"::1"``.

What the server saw:

``server.host``, ``server.port``, ``server.hostport`` (``"host:port"``);
``server.errors`` (list of str); ``server.sent`` (every byte clients sent, raw:
search it for a secret); ``server.messages`` (each client message as ordered
``(key, value)`` pairs); ``server.sessions`` (one :class:`ReplaySession` per
connection, with its own ``sent``, ``messages``, ``complete``);
``server.wait_complete(timeout)``, ``server.wait_closed(timeout)``.

:func:`recorded_actions` gives the messages the recording client sent (ActionID
removed) as :class:`~amishell.message.Message` objects, ready for
``client.action(...)``, to drive a client through a long transcript.
"""

from __future__ import annotations

import hashlib
import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from amishell.message import Message

__all__ = [
    "DATA",
    "SECRETS",
    "Entry",
    "ReplayServer",
    "ReplaySession",
    "load_transcript",
    "recorded_actions",
]

DATA = Path(__file__).parent / "data" / "asterisk"
#: The users of the recording server (fixtures README).
SECRETS = {"admin": "s3cret-admin", "monitor": "m0nitor", "restricted": "r3stricted"}
MASK = "********"
_SECRET_KEYS = frozenset({"secret", "key"})
_ACTION_ID = re.compile(r"^(ActionID:[ \t]*)([^\r\n]*)(\r?\n)", re.M | re.I)
_CHALLENGE = re.compile(r"^Challenge:[ \t]*([^\r\n]*)\r?$", re.M | re.I)
_GOODBYE = re.compile(r"^Response:[ \t]*Goodbye\r?$", re.M | re.I)
_MESSAGE_END = re.compile(rb"\r?\n\r?\n")

Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class Entry:
    """One line of a transcript."""

    t: float
    dir: str  # "recv" (server to client), "send" (client to server) or "close"
    data: str


def _path(name: str | Path) -> Path:
    path = Path(name)
    if path.suffix == ".jsonl" or path.is_absolute():
        return path
    return DATA / f"{name}.jsonl"


def load_transcript(name: str | Path) -> list[Entry]:
    """The entries of a transcript (a fixture name or a path), up to its ``close``."""
    entries: list[Entry] = []
    with open(_path(name), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            raw = json.loads(line)
            entries.append(Entry(float(raw["t"]), raw["dir"], raw["data"]))
            if raw["dir"] == "close":
                break
    return entries


def parse_pairs(data: bytes | str) -> Pairs:
    """One message's ``(key, value)`` pairs: any line ending, leading blanks of a
    value dropped, lines without a colon ignored (as Asterisk reads a request)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    pairs: Pairs = []
    for line in text.split("\n"):
        key, colon, value = line.rstrip("\r").partition(":")
        if colon and key.strip():
            pairs.append((key.strip(), value.lstrip(" \t")))
    return pairs


def _without_action_id(pairs: Pairs) -> Pairs:
    return [(k, v) for k, v in pairs if k.lower() != "actionid"]


def recorded_actions(name: str | Path) -> list[Message]:
    """What the recording client sent, in order, without ActionIDs."""
    return [
        Message(_without_action_id(parse_pairs(e.data)))
        for e in load_transcript(name)
        if e.dir == "send"
    ]


def _first(pairs: Pairs, key: str) -> str | None:
    key = key.lower()
    return next((v for k, v in pairs if k.lower() == key), None)


def _describe(pairs: Pairs) -> str:
    shown = [f"{k}: {MASK if k.lower() in _SECRET_KEYS else v}" for k, v in pairs]
    return "{" + ", ".join(shown) + "}"


def _group(pairs: Pairs, leave_out: frozenset[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        lower = key.lower()
        if lower not in leave_out:
            out.setdefault(lower, []).append(value)
    return out


def _md5(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode()).hexdigest()


@dataclass
class _Step:
    kind: str  # "recv", "send" or "close"
    t: float
    data: str = ""
    index: int = -1  # for "send": its position among the recorded sends


def _script(entries: list[Entry], skip: Iterable[int]) -> list[_Step]:
    skipped = set(skip)
    steps: list[_Step] = []
    sends = 0
    dropping = False
    for e in entries:
        if e.dir == "send":
            dropping = sends in skipped
            if not dropping:
                steps.append(_Step("send", e.t, e.data, sends))
            sends += 1
        elif e.dir == "recv":
            if not dropping:
                steps.append(_Step("recv", e.t, e.data))
        elif e.dir == "close":
            steps.append(_Step("close", e.t))
            break
    return steps


def _rewrite(text: str, mapping: dict[str, str | None]) -> str:
    """Recorded ActionIDs replaced by the client's (a line dropped for None)."""
    if not mapping:
        return text

    def replace(m: re.Match[str]) -> str:
        old = m.group(2)
        if old not in mapping:
            return m.group(0)
        new = mapping[old]
        return "" if new is None else f"{m.group(1)}{new}{m.group(3)}"

    return _ACTION_ID.sub(replace, text)


@dataclass
class ReplaySession:
    """One client connection and what happened on it."""

    number: int
    #: Every byte the client sent, as received.
    sent: bytearray = field(default_factory=bytearray)
    #: Each message the client sent, as ordered pairs.
    messages: list[Pairs] = field(default_factory=list)
    #: True once the transcript was played to its end (or to close_after/silent_after).
    complete: bool = False
    #: What the session was waiting for when it ended early.
    stopped_at: str = ""
    closed: threading.Event = field(default_factory=threading.Event)


class _Closed(Exception):
    """The client closed the connection, or the server is stopping."""


class ReplayServer:
    """Plays one transcript to each client that connects (see the module docstring)."""

    def __init__(
        self,
        name: str | Path,
        *,
        speed: float | None = None,
        secret: str | None = None,
        ignore: Iterable[str] = (),
        skip: Iterable[int] = (),
        close_after: int | None = None,
        silent_after: int | None = None,
        end: str = "auto",
        partial: bool = False,
        client_timeout: float = 5.0,
        host: str = "127.0.0.1",
    ) -> None:
        if end not in ("auto", "close", "hold"):
            raise ValueError(f"end must be 'auto', 'close' or 'hold', not {end!r}")
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for no delays)")
        self.name = str(name)
        self.steps = _script(load_transcript(name), skip)
        self.speed = speed
        self.secret = secret
        self.ignore = frozenset(k.lower() for k in ignore) | {"actionid"}
        self.close_after = close_after
        self.silent_after = silent_after
        self.end = end
        self.partial = partial
        self.client_timeout = client_timeout
        self.host = host
        self.port = 0
        self.errors: list[str] = []
        self.sessions: list[ReplaySession] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None

    # -- life cycle ------------------------------------------------------------
    def start(self) -> ReplayServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        thread = threading.Thread(target=self._accept, name="replay-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop accepting, end every connection and wait for the threads (idempotent)."""
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the session; it closes the socket
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(timeout=3.0)

    close = stop

    def __enter__(self) -> ReplayServer:
        return self.start() if self._listener is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the server saw ---------------------------------------------------
    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def sent(self) -> bytes:
        """Every byte clients sent, connection after connection."""
        return b"".join(bytes(s.sent) for s in list(self.sessions))

    @property
    def messages(self) -> list[Pairs]:
        return [m for s in list(self.sessions) for m in s.messages]

    def _wait(self, predicate: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            sessions = list(self.sessions)
            if sessions and all(getattr(s, predicate) for s in sessions):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def wait_complete(self, timeout: float = 2.0) -> bool:
        """True once at least one client connected and every one reached the end."""
        return self._wait("complete", timeout)

    def wait_closed(self, timeout: float = 2.0) -> bool:
        """True once at least one client connected and every connection ended."""
        deadline = time.monotonic() + timeout
        while True:
            sessions = list(self.sessions)
            if sessions and all(s.closed.is_set() for s in sessions):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def check(self, complete: bool | None = None) -> None:
        """Raise AssertionError for any mismatch, or (unless ``partial``) for a
        transcript not played to its end."""
        if self.errors:
            raise AssertionError(f"replay of {self.name}: " + "; ".join(self.errors))
        if complete if complete is not None else not self.partial:
            if not self.sessions:
                raise AssertionError(f"replay of {self.name}: no client connected")
            deadline = time.monotonic() + 2.0
            while not self.wait_complete(0.0) and time.monotonic() < deadline:
                if all(s.closed.is_set() for s in list(self.sessions)):
                    break  # nothing more will happen
                time.sleep(0.01)
            if not self.wait_complete(0.0):
                where = [s.stopped_at or "still playing" for s in self.sessions if not s.complete]
                raise AssertionError(
                    f"replay of {self.name}: transcript not played to its end ({'; '.join(where)})"
                )

    def _error(self, session: ReplaySession, text: str) -> None:
        with self._lock:
            self.errors.append(f"connection {session.number}: {text}")

    # -- serving ---------------------------------------------------------------
    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                sock.close()
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                session = ReplaySession(len(self.sessions) + 1)
                self.sessions.append(session)
                self._socks.append(sock)
            thread = threading.Thread(
                target=_Player(self, session, sock).run, name="replay-session", daemon=True
            )
            self._threads.append(thread)
            thread.start()


class _Player:
    """Plays the script on one connection."""

    def __init__(self, server: ReplayServer, session: ReplaySession, sock: socket.socket) -> None:
        self.server = server
        self.session = session
        self.sock = sock
        self.buffer = b""
        self.mapping: dict[str, str | None] = {}
        self.challenge: str | None = None
        self.held = ""  # an unfinished line, sent with the next recorded data
        self.anchor = (time.monotonic(), 0.0)  # (wall clock, transcript time)
        self.received = 0

    def run(self) -> None:
        try:
            self._play()
        except _Closed:
            pass
        except OSError as exc:
            if not self.server._stopping.is_set():
                self.session.stopped_at = f"connection error: {exc}"
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            self.session.closed.set()

    # -- the script ---------------------------------------------------------------
    def _play(self) -> None:
        server, steps = self.server, self.server.steps
        last_recv = ""
        for step in steps:
            if step.kind == "recv":
                self._pace(step.t)
                last_recv = self._send_recorded(step.data)
            elif step.kind == "send":
                self._flush()
                if not self._expect(step):
                    return
                self.received += 1
                self.anchor = (time.monotonic(), step.t)
                if self.received == server.close_after:
                    self.session.complete = True
                    self._close_gracefully()
                    return
                if self.received == server.silent_after:
                    self.session.complete = True
                    self._hold(silent=True)
                    return
            else:  # close
                self._pace(step.t)
                self._flush()
                self.session.complete = True
                self._close_gracefully()
                return
        self._flush()
        self.session.complete = True
        if server.end == "close" or (server.end == "auto" and _GOODBYE.search(last_recv)):
            self._close_gracefully()
        else:
            self._hold(silent=False)

    def _pace(self, t: float) -> None:
        speed = self.server.speed
        if speed is None:
            return
        wall, recorded = self.anchor
        delay = wall + (t - recorded) / speed - time.monotonic()
        if delay > 0 and self.server._stopping.wait(delay):
            raise _Closed

    def _send_recorded(self, data: str) -> str:
        text = self.held + data
        cut = text.rfind("\n") + 1
        text, self.held = text[:cut], text[cut:]
        if not text:
            return ""
        text = _rewrite(text, self.mapping)
        for m in _CHALLENGE.finditer(text):
            self.challenge = m.group(1)
        self._sendall(text.encode("utf-8"))
        return text

    def _flush(self) -> None:
        if self.held:
            held, self.held = self.held, ""
            self._sendall(held.encode("utf-8"))

    def _sendall(self, data: bytes) -> None:
        if self.server._stopping.is_set():
            raise _Closed
        self.sock.sendall(data)

    # -- reading the client ---------------------------------------------------------
    def _read_message(self, timeout: float | None) -> Pairs | None:
        """The client's next message; None on timeout. Raises _Closed at end of file."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")
            m = _MESSAGE_END.search(self.buffer)
            if m:
                frame, self.buffer = self.buffer[: m.start()], self.buffer[m.end() :]
                pairs = parse_pairs(frame)
                self.session.messages.append(pairs)
                return pairs
            stopping = self.server._stopping.is_set()
            wait = 0.05
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                wait = min(wait, remaining)
            ready, _, _ = select.select([self.sock], [], [], 0 if stopping else wait)
            if not ready:
                if stopping:
                    raise _Closed
                continue
            data = self.sock.recv(65536)
            if not data:
                raise _Closed
            self.session.sent += data
            self.buffer += data

    def _expect(self, step: _Step) -> bool:
        expected = parse_pairs(step.data)
        action = _first(expected, "Action")
        what = f"message {step.index + 1} ({'Action: ' + action if action else 'no Action'})"
        self.session.stopped_at = f"waiting for {what}"
        try:
            got = self._read_message(self.server.client_timeout)
        except _Closed:
            self.session.stopped_at = f"the client closed the connection before {what}"
            raise
        if got is None:
            self.server._error(
                self.session,
                f"no message from the client within {self.server.client_timeout} s;"
                f" the transcript expects {what}: {_describe(expected)}",
            )
            self._close_gracefully()
            return False
        problems = self._compare(expected, got)
        if problems:
            self.server._error(
                self.session,
                f"{what} differs: {'; '.join(problems)}"
                f" (expected {_describe(expected)}, got {_describe(got)})",
            )
            self._close_gracefully()
            return False
        self.session.stopped_at = ""
        recorded_id = _first(expected, "ActionID")
        if recorded_id is not None:
            self.mapping[recorded_id] = _first(got, "ActionID")
        return True

    def _compare(self, expected: Pairs, got: Pairs) -> list[str]:
        problems: list[str] = []
        want_action, got_action = _first(expected, "Action"), _first(got, "Action")
        if (want_action or "").lower() != (got_action or "").lower():
            problems.append(f"Action: expected {want_action!r}, got {got_action!r}")
        leave_out = self.server.ignore | {"action"}
        md5_login = (want_action or "").lower() == "login" and (
            (_first(expected, "AuthType") or "").lower() == "md5"
        )
        if md5_login:
            leave_out |= {"key"}
            problems.extend(self._check_key(expected, got))
        want, have = _group(expected, leave_out), _group(got, leave_out)
        for key in sorted(set(want) | set(have)):
            if want.get(key) == have.get(key):
                continue
            if key in _SECRET_KEYS:
                problems.append(f"{key}: the client's value differs from the recording's")
            elif key not in have:
                problems.append(f"missing {key}: {want[key]}")
            elif key not in want:
                problems.append(f"unexpected {key}: {have[key]}")
            else:
                problems.append(f"{key}: expected {want[key]}, got {have[key]}")
        return problems

    def _check_key(self, expected: Pairs, got: Pairs) -> list[str]:
        username = _first(expected, "Username") or ""
        secret = self.server.secret if self.server.secret is not None else SECRETS.get(username)
        if self.challenge is None:
            return ["an MD5 Login before any Challenge was answered"]
        if secret is None:
            return [f"no secret known for {username!r} to check the Key (pass secret=)"]
        right = _md5(self.challenge, secret)
        recorded_ok = (_first(expected, "Key") or "").lower() == right
        key = _first(got, "Key")
        if key is None:
            return ["missing Key"]
        client_ok = key.strip().lower() == right
        if recorded_ok and not client_ok:
            return ["Key is not md5(challenge + secret)"]
        if client_ok and not recorded_ok:
            return ["Key is right, but the recording's Key was wrong (a failed login)"]
        return []

    # -- ending -----------------------------------------------------------------------
    def _close_gracefully(self) -> None:
        """Close as a server does: end of file for the client, whose further
        bytes are still read (and kept in ``sent``) for a moment."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                if self._read_message(deadline - time.monotonic()) is None:
                    return
            except (_Closed, OSError):
                return

    def _hold(self, *, silent: bool) -> None:
        """Keep the connection open, reading, until the client or the server ends it."""
        while True:
            pairs = self._read_message(None)
            if pairs is not None and not silent:
                self.server._error(
                    self.session,
                    f"unexpected message after the end of the transcript: {_describe(pairs)}",
                )
