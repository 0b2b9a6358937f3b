"""The AMI client: one socket, a reader thread, ActionID futures, event dispatch.

Threads, per connection:

* the **reader** only reads the socket and frames bytes into messages
  (:class:`~amishell.protocol.Framer`). Frames carrying the ActionID of a waiting
  action go straight to that action; everything else is queued raw. It never
  parses headers of events, never calls user code and never touches a terminal,
  so it keeps up with any server (Asterisk drops a session that reads slowly).
* the **dispatcher** parses queued frames and calls ``event_callback`` (when one
  is set), runs futures' done-callbacks and ``disconnect_callback``.
* the **keep-alive** thread (with ``keepalive=seconds``) pings the server and
  closes a session that stopped answering.

Failures are returned, not raised: a manufactured ``Response: Error`` message,
with :attr:`AMIClient.error` set for communication failures and timeouts. Only
wrong arguments raise ``ValueError``.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import logging
import re
import socket
import ssl
import sys
import threading
import time
from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable, Iterable, Mapping
from operator import call as _call
from types import TracebackType
from typing import IO, Any

from .errors import AMIError
from .message import Message
from .protocol import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Framer,
    LocalProtocolError,
    legacy,
    parse_frame,
    serialize,
)
from .transport import LEAD_SLICE, PlainTransport, TLSTransport, Transport, parse_host

__all__ = ["AMIClient", "AMIError", "ActionFuture", "NOT_CONNECTED"]

log = logging.getLogger("amishell")

NOT_CONNECTED = "Not connected to Asterisk!"
TIMED_OUT = "Timed out waiting for response"
MASK = "********"
_SECRET_KEYS = frozenset({"secret", "key"})
_LIST_START = re.compile(rb"\nEventList:[ \t]*start", re.I)
_LIST_COMPLETE = re.compile(rb"\nEventList:[ \t]*complete", re.I)
_ORIGINATE_MARGIN = 5.0
_DEFAULT_ORIGINATE_TIMEOUT = 30.0
#: Most events the dispatcher takes from the queue at once.
_DISPATCH_BATCH = 512
#: How long the reader thread stays aside after a thread in action() read.
_LINGER = 0.002
#: Its longest nap while threads in action() keep reading: each nap doubles up
#: to this, so a long loop of actions wakes it rarely (every wake-up takes the
#: interpreter from the loop), and it is back at most this long after the last.
_LINGER_MAX = 0.016
#: Guards the state of every ActionFuture (held for a few instructions at a time).
_state = _allocate_lock()

EventCallback = Callable[[Message], object]


def _error(text: str, action_id: str | None = None) -> Message:
    pairs = [("Response", "Error")]
    if action_id is not None:
        pairs.append(("ActionID", action_id))
    pairs.append(("Message", text))
    return Message(pairs)


class ActionFuture:
    """The outcome of one action, matched by ActionID.

    :meth:`result` waits for it; :meth:`cancel` stops waiting without forgetting
    it, so a late response still reaches :meth:`add_done_callback` callbacks and
    is never mistaken for another action's.
    """

    __slots__ = (
        "action_id",
        "action",
        "_key",
        "_client",
        "_done",
        "_gate",
        "_response",
        "_items",
        "_complete",
        "_message",
        "_collecting",
        "_last",
        "_timeout",
        "_callbacks",
        "cancelled",
        "timed_out",
        "sent_at",
        "done_at",
    )

    def __init__(
        self, client: AMIClient | None, action_id: str, action: str, timeout: float
    ) -> None:
        self.action_id = action_id
        self.action = action
        self._key = action_id.encode()
        self._client = client
        self._done = False
        # Made only when a thread has to wait (see wait()): an action whose
        # thread reads its own response never needs one.
        self._gate: Any = None
        self._response: bytes | None = None
        self._items: list[bytes] = []
        self._complete: bytes | None = None
        self._message: Message | None = None
        self._collecting = False
        self._timeout = timeout
        self._callbacks: list[Callable[[Message], object]] | None = None
        self.cancelled = False
        self.timed_out = False
        self.sent_at = self._last = time.monotonic()
        self.done_at: float | None = None

    # -- called by the reader -----------------------------------------------
    def _set(self, message: Message | None = None) -> None:
        with _state:
            if self._done:
                return
            if message is not None:
                self._message = message
            self.done_at = time.monotonic()
            self._done = True
            gate = self._gate
            callbacks = self._callbacks
        if gate is not None:
            gate.release()
        if callbacks and self._client is not None:
            self._client._run_callbacks(self, callbacks)

    # -- public ---------------------------------------------------------------
    def done(self) -> bool:
        return self._done

    @property
    def elapsed(self) -> float:
        end = self.done_at if self.done_at is not None else time.monotonic()
        return end - self.sent_at

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; True when the outcome is there."""
        if self._done:
            return True
        with _state:
            if self._done:
                return True
            gate = self._gate
            if gate is None:
                # Locked until _set releases it; each waiter passes it on.
                gate = self._gate = _allocate_lock()
                gate.acquire()
        if gate.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            gate.release()
        return self._done

    def result(self, timeout: float | None = None) -> Message:
        """The response (with ``.events``/``.complete`` for a list).

        With ``timeout=None`` the client's policy applies: ``timeout`` seconds
        since the last sign of this action (each list item restarts it). A
        number waits at most that long. Either way, running out gives the
        manufactured ``Timed out waiting for response`` error.
        """
        if timeout is not None:
            if not self.wait(timeout):
                return self._expire()
            return self._build()
        while not self._done:
            remaining = self._last + self._timeout - time.monotonic()
            if remaining <= 0:
                return self._expire()
            self.wait(remaining)
        return self._build()

    def cancel(self) -> None:
        """Stop waiting. A late response still goes to the done-callbacks."""
        self.cancelled = True

    def add_done_callback(self, fn: Callable[[Message], object]) -> None:
        """Call ``fn(message)`` on the dispatcher thread when the outcome is there."""
        with _state:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        if self._client is not None:
            self._client._run_callbacks(self, [fn])
        else:
            fn(self._build())

    # -- internals --------------------------------------------------------------
    def _expire(self) -> Message:
        self.timed_out = True
        if self._client is not None:
            self._client._set_error(TIMED_OUT)
        return _error(TIMED_OUT, self.action_id)

    def _build(self) -> Message:
        msg = self._message
        if msg is not None:
            return msg
        assert self._response is not None
        msg = parse_frame(self._response)
        if self._collecting:
            msg.events = [parse_frame(f) for f in self._items]
            msg.complete = parse_frame(self._complete) if self._complete else None
        with _state:  # two threads may build at once: both return the first
            if self._message is None:
                self._message = msg
            return self._message


#: Actions already checked and serialized, without their ActionID, with the
#: action's name: the same action sent again (a Ping, a status poll) costs one
#: lookup, not the header checks.
_ENCODED: dict[tuple[tuple[str, Any], ...], tuple[bytes, str]] = {}
_ENCODED_LIMIT = 256
_ID_LINE_END = len(b"ActionID: 0\r\n\r\n")


def _encode(pairs: list[tuple[str, Any]], action_id: str, action: str) -> bytes:
    """``serialize(pairs + [("ActionID", action_id)])``, remembering the rest.

    ``pairs`` are those :meth:`AMIClient._build` checked, naming ``action``.
    """
    shape = tuple(pairs)
    try:
        known = _ENCODED.get(shape)
    except TypeError:  # unhashable (a list of Variables): no memory
        return serialize([*pairs, ("ActionID", action_id)])
    if known is None:
        # Checked with an ActionID line of its own, so that the limits hold.
        head = serialize([*pairs, ("ActionID", "0")])[:-_ID_LINE_END]
        # Kept only when every key and value is a str (1 == True == 1.0 as
        # dict keys, but not on the wire; no non-str value ever finds these),
        # and never with a secret in it (a Login is not worth remembering).
        if all(type(x) is str for pair in pairs for x in pair) and not any(
            key.lower() in _SECRET_KEYS for key, _ in pairs
        ):
            if len(_ENCODED) >= _ENCODED_LIMIT:
                _ENCODED.clear()
            _ENCODED[shape] = (head, action)
    else:
        head = known[0]
    return b"%sActionID: %s\r\n\r\n" % (head, action_id.encode())


def _fields(fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, headers: dict[str, Any]
            ) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    if fields is not None:
        pairs.extend(fields.items() if isinstance(fields, Mapping) else fields)
    pairs.extend(headers.items())
    return pairs


class AMIClient:
    """A client for the Asterisk Manager Interface.

    ``AMIClient(username, secret, host="localhost", port=5038)`` does no I/O;
    :meth:`connect` opens the connection and logs in.
    """

    def __init__(
        self,
        username: str | None,
        secret: str | None,
        host: str = "localhost",
        port: int = 5038,
        *,
        action_id: int = 1,
        debug: bool = False,
        debug_file: IO[str] | None = None,
        event_callback: EventCallback | None = None,
        event_prefilter: Callable[[bytes], bool] | None = None,
        timeout: float = 30.0,
        tls: bool | ssl.SSLContext = False,
        auth: str = "plain",
        events: str | None = None,
        keepalive: float | None = None,
        max_queue_bytes: int = 256 << 20,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        disconnect_callback: Callable[[str], object] | None = None,
        wire_observer: Any = None,
    ) -> None:
        if username is None:
            raise ValueError("Required parameter 'username' not defined")
        if secret is None:
            raise ValueError("Required parameter 'secret' not defined")
        if auth not in ("plain", "md5"):
            raise ValueError(f"auth must be 'plain' or 'md5', not {auth!r}")
        if timeout is None or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.username = username
        self._secret = secret
        self.host, self.port = parse_host(host, port)
        self._ids = itertools.count(int(action_id))
        self.debug_file: IO[str] | None = debug_file if debug_file is not None else (
            sys.stderr if debug else None
        )
        self.event_callback = event_callback
        #: Optional ``prefilter(frame: bytes) -> bool``, called on the dispatcher
        #: thread with each event's raw bytes before it is parsed: False drops
        #: the event there (it still counts in :attr:`events_received`), so a
        #: consumer that wants few of many events does not pay to parse the rest.
        self.event_prefilter = event_prefilter
        self.disconnect_callback = disconnect_callback
        #: Told of every byte both ways (``opened``/``sent``/``received``/``closed``).
        self.wire_observer = wire_observer
        self.timeout = float(timeout)
        self.tls = tls
        self.auth = auth
        self.events = events
        self.keepalive = keepalive
        self.max_queue_bytes = max_queue_bytes
        self.max_message_size = max_message_size

        self._error: str | None = None
        self._connected = False
        self._transport: Transport | None = None
        self._state_lock = threading.Lock()
        self._pending: dict[bytes, ActionFuture] = {}
        # Unclaimed frames (events, responses nobody waits for), oldest first.
        self._inbox: collections.deque[bytes] = collections.deque()
        self._inbox_bytes = 0
        self._cv = threading.Condition(threading.Lock())
        self._readers = 0  # threads waiting in read_response() (under _cv)
        self._jobs: collections.deque[Callable[[], object]] = collections.deque()
        self._outbox: collections.deque[Message] = collections.deque()
        self._open_lists: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._generation = 0
        self._debug_partial = b""
        self._logging_off = False
        self._leftover: list[bytes] = []
        self._debug_queue: collections.deque[str] = collections.deque()
        self._debug_cv = threading.Condition(threading.Lock())
        self._debug_thread: threading.Thread | None = None
        self._debug_closing = False
        self.messages_received = 0
        self.greeting: str | None = None
        self.dropped_events = 0
        self.events_received = 0
        self.protocol_errors = 0
        self.callback_errors = 0
        self.last_latency: float | None = None
        self.last_received: float | None = None

    # ------------------------------------------------------------------ state
    @property
    def error(self) -> str | None:
        """The last communication error, or None."""
        return self._error

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def ami_version(self) -> str | None:
        if self.greeting and "/" in self.greeting:
            return self.greeting.rsplit("/", 1)[1]
        return None

    @property
    def queued_bytes(self) -> int:
        return self._inbox_bytes

    def _set_error(self, text: str) -> None:
        self._error = text

    def __repr__(self) -> str:
        state = "connected" if self._connected else "not connected"
        return (
            f"<AMIClient {self.username}@{self.host}:{self.port} {state}"
            f" tls={bool(self.tls)} auth={self.auth}>"
        )

    def __enter__(self) -> AMIClient:
        if not self.connect():
            raise AMIError(self._error or "Connection failed")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connected:
            self.disconnect()
        self.close()

    # --------------------------------------------------------------- connect
    def connect(self) -> bool:
        """Open the connection and log in. False on failure, with :attr:`error`."""
        if self._connected:
            return True
        self.close()
        try:
            transport = self._open()
        except _ConnectFailed as exc:
            self._error = str(exc)
            self.close()  # ends the transcript writer too
            return False
        self._transport = transport
        self._stop = threading.Event()
        self._generation += 1
        self._connected = True
        self._logging_off = False
        self._error = None
        self._start_threads(transport)
        if not self._login():
            self.close()
            return False
        if self.keepalive:
            self._spawn(self._keepalive_loop, "amishell-keepalive", self._generation)
        return True

    def _open(self) -> Transport:
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        # A name in ASCII goes as bytes (getaddrinfo takes both): a str would
        # load the IDNA codec, milliseconds of every start-up, to encode it the same.
        host: str | bytes = self.host.encode() if self.host.isascii() else self.host
        try:
            sock = socket.create_connection(
                (host, self.port), timeout=self.timeout  # type: ignore[arg-type]
            )
        except TimeoutError:
            raise _ConnectFailed(f"Connection failed: timed out connecting to {where}") from None
        except OSError as exc:
            raise _ConnectFailed(f"Connection failed: {_reason(exc)} ({where})") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport: Transport
        try:
            if self.tls:
                context = self.tls if isinstance(self.tls, ssl.SSLContext) else (
                    ssl.create_default_context()
                )
                tls = TLSTransport(sock, context, self.host)
                tls.handshake()
                transport = tls
            else:
                transport = PlainTransport(sock)
            if self.wire_observer is not None:
                self.wire_observer.opened(f"{self.host}:{self.port}")
            self._framer = Framer(greeting=True, max_message_size=self.max_message_size)
            leftover = self._read_greeting(transport)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise _ConnectFailed(
                f"Connection failed: TLS certificate of {where} did not verify:"
                f" {exc.verify_message or exc.reason}"
            ) from None
        except ssl.SSLError as exc:
            sock.close()
            raise _ConnectFailed(
                f"Connection failed: TLS handshake with {where} failed: {exc.reason or exc}"
                " (is it a TLS port?)"
            ) from None
        except TimeoutError:
            sock.close()
            what = "TLS handshake or greeting" if self.tls else "the server's greeting"
            raise _ConnectFailed(
                f"Connection failed: no answer from {where} within {self.timeout:g}s"
                f" waiting for {what}"
            ) from None
        except _ConnectFailed:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise _ConnectFailed(f"Connection failed: {_reason(exc)} ({where})") from None
        sock.settimeout(None)
        self._leftover = leftover
        return transport

    def _read_greeting(self, transport: Transport) -> list[bytes]:
        framer = self._framer
        frames: list[bytes] = []
        while framer.greeting is None:
            data = transport.recv()
            if not data:
                raise _ConnectFailed("Connection closed without input")
            if self.wire_observer is not None:
                self.wire_observer.received(data)
            self._debug_in(data)
            frames.extend(framer.feed(data))
        self.greeting = str(framer.greeting)
        if not framer.greeting.is_ami:
            text = self.greeting if len(self.greeting) < 200 else self.greeting[:200] + "..."
            raise _ConnectFailed(f"Unknown protocol: {text}")
        return frames

    def _login(self) -> bool:
        if self.auth == "md5":
            challenge = self.action({"Action": "Challenge", "AuthType": "MD5"})
            if challenge.is_error or not challenge.value("Challenge"):
                reason = challenge.value("Message") or "no challenge"
                self._error = self._error or f"Login failed: {reason}"
                return False
            key = hashlib.md5(
                (challenge.value("Challenge", "") or "").encode() + self._secret.encode()
            ).hexdigest()
            login: list[tuple[str, Any]] = [
                ("Action", "Login"), ("AuthType", "MD5"), ("Username", self.username), ("Key", key)
            ]
        else:
            login = [("Action", "Login"), ("Username", self.username), ("Secret", self._secret)]
        if self.events is not None:
            login.append(("Events", self.events))
        try:
            reply = self.action(login)
        except LocalProtocolError as exc:  # a line break in the secret, an over-long name
            self._error = f"Login failed: {exc}"
            return False
        if reply.is_error:
            if reply.value("Message") in (TIMED_OUT, NOT_CONNECTED) or not self._connected:
                self._error = f"Login failed: {reply.value('Message')}"
            else:
                self._error = f"Login failed: {reply.value('Message') or 'unknown reason'}"
            return False
        return True

    # ------------------------------------------------------------- disconnect
    def disconnect(self) -> bool:
        """Log off and close. False on failure, with :attr:`error`."""
        if not self._connected:
            self._error = NOT_CONNECTED
            self.close()
            return False
        self._logging_off = True
        reply = self.action({"Action": "Logoff"})
        ok = reply.value("Response", "") == "Goodbye"
        if not ok:
            self._error = f"Logoff failed: {reply.value('Message') or reply.value('Response')}"
        self.close()
        return ok

    def close(self) -> None:
        """Close the connection without logging off (idempotent)."""
        transport = self._transport
        self._transport = None
        if transport is not None:
            self._fail(None, transport)
            transport.close()
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=2.0)
        self._threads = [t for t in self._threads if t.is_alive()]
        if not any(t.name == "amishell-dispatcher" for t in self._threads):
            self._drain_jobs()  # callbacks queued while the dispatcher was ending
        with self._debug_cv:  # the transcript writer finishes its queue, then ends
            self._debug_closing = True
            self._debug_cv.notify()
            writer = self._debug_thread
        if writer is not None and writer is not current:
            writer.join(timeout=2.0)

    # ---------------------------------------------------------------- actions
    def _build(
        self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, headers: dict[str, Any]
    ) -> tuple[list[tuple[str, Any]], str]:
        if fields is None:
            pairs = list(headers.items())
        else:
            pairs = _fields(fields, headers)
        action = None
        for key, value in pairs:
            if not isinstance(key, str) or len(key) not in (6, 8):
                continue  # neither Action nor ActionID, in any case
            low = key.lower()
            if low == "actionid":
                raise ValueError("Do not pass an ActionID: it is assigned automatically")
            if low == "action" and action is None:
                action = value
        if action is None or action == "":
            raise ValueError("Required parameter 'Action' not defined")
        return pairs, str(action)

    def _timeout_for(self, action: str, pairs: list[tuple[str, Any]]) -> float:
        if action.lower() != "originate":
            return self.timeout
        values = {k.lower(): v for k, v in pairs if isinstance(k, str)}
        if str(values.get("async", "")).lower() in ("true", "yes", "1", "on"):
            return self.timeout
        try:
            wait = float(values["timeout"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            wait = _DEFAULT_ORIGINATE_TIMEOUT
        return max(self.timeout, wait + _ORIGINATE_MARGIN)

    def submit(
        self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **headers: Any
    ) -> ActionFuture:
        """Send an action and return its :class:`ActionFuture` at once."""
        return self._submit(fields, headers)

    def _submit(
        self,
        fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
        headers: dict[str, Any],
    ) -> ActionFuture:
        pairs, action = self._build(fields, headers)
        action_id = str(next(self._ids))  # atomic: count() is one C call
        data = _encode(pairs, action_id, action)  # raises LocalProtocolError (a ValueError)
        pairs.append(("ActionID", action_id))
        transport = self._transport
        if transport is None or not self._connected:
            future = ActionFuture(self, action_id, action, self.timeout)
            self._error = NOT_CONNECTED
            future._set(_error(NOT_CONNECTED, action_id))
            return future
        future = self._enroll(action_id, action, pairs)
        if future._done:
            return future
        if self.debug_file is not None:
            self._debug_out(pairs)
        try:
            transport.sendall(data)
            if self.wire_observer is not None:
                self.wire_observer.sent(data)
        except OSError as exc:
            self._fail(f"Writing to socket failed: {_reason(exc)}", transport)
        transport.want_reader()
        return future

    def _enroll(self, action_id: str, action: str, pairs: list[tuple[str, Any]]) -> ActionFuture:
        """A future for an action about to be sent (or just sent), waiting in
        :attr:`_pending` for the reader to route its response to it."""
        future = ActionFuture(
            self,
            action_id,
            action,
            # Only Originate has its own timeout ("originate" has 9 letters).
            self.timeout if len(action) != 9 else self._timeout_for(action, pairs),
        )
        self._pending[future._key] = future
        if not self._connected:  # dropped before registering
            self._pending.pop(future._key, None)
            future._set(_error(self._error or NOT_CONNECTED, action_id))
        return future

    def action(
        self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **headers: Any
    ) -> Message:
        """Send an action and wait for its response (and its event list)."""
        transport = self._transport
        if transport is None or not transport.read_lock.acquire(False):  # not blocking
            # Another thread is reading: it routes our response to us.
            return self._submit(fields, headers).result()
        transport.foreground = True
        try:
            outcome = self._lead_known(headers, transport) if fields is None else None
            if outcome is None:
                outcome = self._submit(fields, headers)
            elif isinstance(outcome, Message):
                return outcome
            future = outcome
            if not future._done:
                self._lead(future, transport)
        finally:
            transport.foreground_ended = time.monotonic()
            transport.foreground = False
            transport.read_lock.release()
        return future._build() if future._done else future.result()

    def _lead_known(
        self, headers: dict[str, Any], transport: Transport
    ) -> Message | ActionFuture | None:
        """``action()`` of an action sent before, by the thread holding ``read_lock``.

        The action's bytes are known (see :func:`_encode`). When the first read
        is its response and nothing else, that response is parsed and returned
        with no future at all; otherwise the action gets its future now (the
        caller goes on in :meth:`_lead`). None: not such an action, nothing sent.
        """
        try:
            known = _ENCODED.get(tuple(headers.items()))
        except TypeError:  # unhashable
            return None
        if known is None or not self._connected or self.debug_file is not None:
            return None
        head, action = known
        action_id = str(next(self._ids))
        line = b"ActionID: " + action_id.encode()
        sent = time.monotonic()
        try:
            transport.sendall(head + line + b"\r\n\r\n")
            if self.wire_observer is not None:
                self.wire_observer.sent(head + line + b"\r\n\r\n")
        except OSError as exc:
            future = self._enroll_sent(action_id, action, headers, sent)
            self._fail(f"Writing to socket failed: {_reason(exc)}", transport)
            return future
        try:
            data = transport.lead_recv(self.timeout if self.timeout < LEAD_SLICE else LEAD_SLICE)
        except (OSError, ssl.SSLError, ValueError) as exc:
            future = self._enroll_sent(action_id, action, headers, sent)
            self._fail(f"Reading from socket failed: {_reason(exc)}", transport)
            return future
        except BaseException:
            self._fail("Reading from socket failed: interrupted while reading", transport)
            raise
        if data:
            reply = self._response_alone(data, action_id)
            if reply is not None:
                if self.wire_observer is not None:
                    self.wire_observer.received(data)
                return reply
        future = self._enroll_sent(action_id, action, headers, sent)
        if data is not None:
            self._take(data, transport)  # on failure, _fail gives the future its error
        elif self._transport is not transport and not future._done:
            future._set(_error(self._error or NOT_CONNECTED, action_id))
        return future

    def _response_alone(self, data: bytes, action_id: str) -> Message | None:
        """``data`` (read by a thread in ``action()``) parsed, when it is one
        whole response to ``action_id`` and nothing else, the framer holding
        nothing before it; None when in doubt (it then goes the general way).
        What framing and routing would conclude, found quickly.
        """
        framer = self._framer
        if not (
            not framer.buffered
            and not framer._discarding
            and self.debug_file is None  # (the transcript shows every read)
            and data.endswith(b"\r\n\r\n")
            and data.startswith(b"Response: ")
            and data.lower().find(b"\neventlist:") < 0  # (routing would collect a list)
        ):
            return None
        # One message (its first empty line ends the read), CRLF lines only
        # (so framed as it ends), not legacy output, one ActionID.
        if (
            data.find(b"\r\n\r\n") != len(data) - 4
            or data.count(b"\n") != data.count(b"\r\n")
            or data.startswith(legacy.FOLLOWS)
        ):
            return None
        reply = parse_frame(data[:-4])
        if reply.get("ActionID") != action_id:
            return None
        self.last_received = time.monotonic()
        self.messages_received += 1
        return reply

    def _enroll_sent(
        self, action_id: str, action: str, headers: dict[str, Any], sent: float
    ) -> ActionFuture:
        future = self._enroll(action_id, action, [*headers.items(), ("ActionID", action_id)])
        future.sent_at = future._last = sent
        return future

    def send_action(
        self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **headers: Any
    ) -> str | None:
        """Send an action without waiting; its response goes to :meth:`read_response`."""
        pairs, _action = self._build(fields, headers)
        transport = self._transport
        if transport is None or not self._connected:
            self._error = NOT_CONNECTED
            return None
        action_id = str(next(self._ids))  # atomic: count() is one C call
        pairs.append(("ActionID", action_id))
        data = serialize(pairs)
        self._debug_out(pairs)
        try:
            transport.sendall(data)
            if self.wire_observer is not None:
                self.wire_observer.sent(data)
        except OSError as exc:
            self._fail(f"Writing to socket failed: {_reason(exc)}", transport)
            return None
        transport.want_reader()
        return action_id

    def ping(self, timeout: float | None = None) -> float | None:
        """Round-trip time of one Ping in seconds, or None (see :attr:`error`)."""
        start = time.monotonic()
        reply = self.submit({"Action": "Ping"}).result(timeout)
        if reply.is_error:
            return None
        self.last_latency = time.monotonic() - start
        return self.last_latency

    # ----------------------------------------------------------- read_response
    def read_response(self, timeout: float | None = None) -> Message | None:
        """The next message no :meth:`action` is waiting for.

        ``timeout=None`` waits forever; a number returns None when it passes.
        On a dead connection, the manufactured read error once the queue is empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                if self._outbox:
                    return self._outbox.popleft()
                if self._inbox and self.event_callback is None:
                    frame = self._inbox.popleft()
                    self._inbox_bytes -= len(frame)
                    return parse_frame(frame)
                if not self._connected:
                    text = self._error or NOT_CONNECTED
                    if self._transport is None and self._error is None:
                        self._error = NOT_CONNECTED
                    return _error(text)
                self._readers += 1
                try:
                    if deadline is None:
                        self._cv.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return None
                        self._cv.wait(remaining)
                finally:
                    self._readers -= 1

    # ------------------------------------------------------------- the reader
    def _start_threads(self, transport: Transport) -> None:
        leftover = self._leftover
        self._leftover = []
        if leftover:
            self._route(leftover)
        self._spawn(self._reader, "amishell-reader", transport)
        self._spawn(self._dispatcher, "amishell-dispatcher", self._stop)

    def _spawn(self, target: Callable[..., None], name: str, arg: Any) -> None:
        thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _reader(self, transport: Transport) -> None:
        """The reader thread: read whenever no thread in ``action()`` is reading."""
        while True:
            _stand_aside(transport)
            try:
                if not transport.wait_readable(None):
                    continue
            except (OSError, ValueError) as exc:
                self._fail(f"Reading from socket failed: {_reason(exc)}", transport)
                return
            if transport.foreground:
                continue  # the thread in action() reads this
            with transport.read_lock:
                if not self._read_once(transport):
                    return

    def _lead(self, future: ActionFuture, transport: Transport) -> None:
        """Wait for ``future`` by reading the socket in this thread.

        The caller holds ``transport.read_lock`` and has set
        ``transport.foreground`` (before sending, so the reader thread stands
        aside). Saves two thread hand-offs per action.
        """
        key = future._key
        try:
            while not future._done:
                remaining = future._last + future._timeout - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    data = transport.lead_recv(
                        remaining if remaining < LEAD_SLICE else LEAD_SLICE
                    )
                except (OSError, ssl.SSLError, ValueError) as exc:
                    self._fail(f"Reading from socket failed: {_reason(exc)}", transport)
                    return
                if data is None:
                    if self._transport is not transport:
                        return
                elif (reply := self._response_alone(data, future.action_id)) is not None:
                    if self.wire_observer is not None:
                        self.wire_observer.received(data)
                    # The common case: the read is our response and nothing else.
                    self._pending.pop(key, None)
                    future._response = reply.raw
                    future._set(reply)
                elif not self._take(data, transport):
                    return
        except BaseException:
            # Interrupted between reading and framing: the stream's position is
            # no longer known, so this session cannot go on.
            self._fail("Reading from socket failed: interrupted while reading", transport)
            raise

    def _read_once(self, transport: Transport) -> bool:
        """Read what is there, frame it, route it. False when the connection ended."""
        try:
            data = transport.recv_nowait()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._fail(f"Reading from socket failed: {_reason(exc)}", transport)
            return False
        if data is None:
            return True
        return self._take(data, transport)

    def _take(self, data: bytes, transport: Transport) -> bool:
        """Frame and route what was read. False when the connection ended."""
        if not data:
            self._fail("Reading from socket failed: connection closed by the server", transport)
            return False
        self.last_received = time.monotonic()
        if self.wire_observer is not None:
            self.wire_observer.received(data)
        if self.debug_file is not None:
            self._debug_in(data)
        framer = self._framer
        frames = framer.feed(data)
        if framer.errors:
            for err in framer.errors:
                self.protocol_errors += 1
                log.warning("protocol error from %s: %s", self.host, err)
                future = self._pending.pop(err.action_id.encode(), None) if (
                    err.action_id
                ) else None
                if future is not None:
                    future._set(_error(f"Protocol error: {err}", future.action_id))
            framer.errors.clear()
        if frames:
            self.messages_received += len(frames)
            self._route(frames)
        return True

    def _route(self, frames: list[bytes]) -> None:
        """Hand frames to waiting actions; queue the rest (reader thread)."""
        pending = self._pending
        # Futures are completed after the unclaimed frames are queued, so that
        # whatever arrived before a response is there when its action returns.
        finished: list[ActionFuture] = []
        if pending:
            unclaimed: list[bytes] = []
            for frame in frames:
                i = frame.find(b"\nActionID:")
                future = None
                if i >= 0:
                    j = frame.find(b"\n", i + 10)
                    key = (frame[i + 10 : j] if j >= 0 else frame[i + 10 :]).strip()
                    future = pending.get(key)
                if future is None:
                    unclaimed.append(frame)
                elif frame.startswith(b"Response:"):
                    future._response = frame
                    future._last = time.monotonic()
                    if _LIST_START.search(frame):
                        future._collecting = True
                    else:
                        pending.pop(key, None)
                        finished.append(future)
                elif future._collecting:
                    future._last = time.monotonic()
                    if _LIST_COMPLETE.search(frame):
                        future._complete = frame
                        pending.pop(key, None)
                        finished.append(future)
                    else:
                        future._items.append(frame)
                else:
                    unclaimed.append(frame)
            frames = unclaimed
        if frames:
            size = sum(map(len, frames))
            with self._cv:
                if self._inbox_bytes + size > self.max_queue_bytes:
                    frames = self._shed(frames)
                    size = sum(len(f) for f in frames)
                self._inbox.extend(frames)
                self._inbox_bytes += size
                # Wake only whoever takes frames: a read_response() caller, or
                # the dispatcher when there is a callback (not for nothing).
                if self._readers or self.event_callback is not None:
                    self._cv.notify_all()
        for future in finished:
            future._set()

    def _shed(self, frames: list[bytes]) -> list[bytes]:
        """Over the memory bound: keep responses and the events that still fit;
        drop (and count) the others."""
        room = self.max_queue_bytes - self._inbox_bytes
        kept = []
        for frame in frames:
            if frame.startswith(b"Response:") or len(frame) <= room:
                kept.append(frame)
                room -= len(frame)
        self.dropped_events += len(frames) - len(kept)
        return kept

    def _fail(self, reason: str | None, transport: Transport) -> None:
        """The connection is gone: wake everyone (idempotent)."""
        with self._state_lock:
            if transport is not self._transport and self._transport is not None:
                return
            was_connected = self._connected and not self._logging_off
            self._connected = False
            if reason is not None and was_connected:
                self._error = reason
            pending = list(self._pending.values())
            self._pending.clear()
        text = self._error or reason or NOT_CONNECTED
        if self.wire_observer is not None:
            self.wire_observer.closed()
        if reason is not None:
            transport.shutdown()
        for future in pending:
            future._set(_error(text, future.action_id))
        with self._cv:
            self._cv.notify_all()
            if reason is not None and was_connected and self.disconnect_callback is not None:
                callback = self.disconnect_callback
                self._jobs.append(lambda: callback(text))

    # --------------------------------------------------------- the dispatcher
    def _run_callbacks(self, future: ActionFuture, callbacks: list[Callable[[Message], object]]
                       ) -> None:
        def job() -> None:
            message = future._build()
            for fn in callbacks:
                fn(message)

        with self._cv:
            self._jobs.append(job)
            self._cv.notify_all()
        if not any(t.name == "amishell-dispatcher" and t.is_alive() for t in self._threads):
            self._drain_jobs()

    def _drain_jobs(self) -> None:
        while True:
            with self._cv:
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            self._safely(job)

    def _safely(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:
            self.callback_errors += 1
            log.exception("amishell callback raised")

    def _dispatcher(self, stop: threading.Event) -> None:
        cv = self._cv
        while True:
            with cv:
                while not self._jobs and not (self._inbox and self.event_callback is not None):
                    if stop.is_set():
                        return
                    cv.wait(0.5)
                jobs = list(self._jobs)
                self._jobs.clear()
                batch: list[bytes] = []
                if self.event_callback is not None and self._inbox:
                    # A bounded batch: what is taken out still counts against
                    # max_queue_bytes until it is delivered.
                    inbox = self._inbox
                    take = min(len(inbox), _DISPATCH_BATCH)
                    if take == len(inbox):
                        batch = list(inbox)
                        inbox.clear()
                    else:  # take popleft() calls, in C
                        batch = list(map(_call, itertools.repeat(inbox.popleft, take)))
            for job in jobs:
                self._safely(job)
            if batch:
                try:
                    self._dispatch(batch)
                finally:
                    size = sum(map(len, batch))
                    with cv:
                        self._inbox_bytes -= size

    def _dispatch(self, frames: list[bytes]) -> None:
        callback = self.event_callback
        prefilter = self.event_prefilter if callback is not None else None
        open_lists = self._open_lists
        responses: list[Message] = []
        received = 0  # events delivered or dropped, added to the count once
        try:
            for frame in frames:
                is_response = frame[0] == 82 and frame.startswith(b"Response:")  # b"R"
                # Anything that is not a response (events, and headers-only
                # oddities) goes to the callback, so the read_response() queue
                # only grows with the responses the user asked for.
                if callback is not None and not is_response:
                    if open_lists:  # an item of a list being collected?
                        message = parse_frame(frame)
                        aid = message.get("ActionID")
                        if isinstance(aid, str) and aid in open_lists:
                            if message.is_list_complete:
                                open_lists.discard(aid)
                            responses.append(message)
                            continue
                    else:
                        if prefilter is not None:
                            try:
                                wanted = prefilter(frame)
                            except Exception:
                                self.callback_errors += 1
                                log.exception("amishell event_prefilter raised")
                                wanted = True
                            if not wanted:
                                received += 1
                                continue
                        message = parse_frame(frame)
                    received += 1
                    try:
                        callback(message)
                    except Exception:
                        self.callback_errors += 1
                        log.exception("amishell event_callback raised")
                    continue
                message = parse_frame(frame)
                if message.is_list_start and message.action_id:
                    open_lists.add(message.action_id)
                responses.append(message)
                if len(responses) > 64:
                    self._post(responses)
                    responses = []
        finally:
            self.events_received += received
        if responses:
            self._post(responses)

    def _post(self, messages: list[Message]) -> None:
        with self._cv:
            self._outbox.extend(messages)
            self._cv.notify_all()

    # -------------------------------------------------------------- keep-alive
    def _keepalive_loop(self, generation: int) -> None:
        interval = float(self.keepalive or 0)
        stop = self._stop
        while not stop.wait(interval):
            if not self._connected or generation != self._generation:
                return
            start = time.monotonic()
            future = self.submit({"Action": "Ping"})
            limit = min(self.timeout, max(interval, 5.0))
            while not future.wait(limit):
                if stop.is_set() or not self._connected:
                    return
                if self._busy_before(future):
                    continue  # queued behind a long action (a synchronous Originate)
                transport = self._transport
                if transport is not None:
                    self._fail(
                        "Server stopped answering: no reply to a keep-alive Ping within"
                        f" {time.monotonic() - start:.0f}s. Asterisk drops a session that reads"
                        " too slowly, or the network or the server is down",
                        transport,
                    )
                return
            if not future.result().is_error:
                self.last_latency = (future.done_at or time.monotonic()) - start

    def _busy_before(self, ping: ActionFuture) -> bool:
        """Is an earlier action still legitimately running (so the Ping waits behind it)?"""
        now = time.monotonic()
        for future in list(self._pending.values()):
            if future is ping or future.sent_at > ping.sent_at:
                continue
            if future._last + future._timeout > now:
                return True
        return False

    # ------------------------------------------------------------------- debug
    def _debug_out(self, pairs: list[tuple[str, Any]]) -> None:
        out = self.debug_file
        if out is None:
            return
        lines = []
        for key, value in pairs:
            values = value if isinstance(value, list | tuple) else [value]
            for v in values:
                shown = MASK if str(key).lower() in _SECRET_KEYS else v
                lines.append(f">> {key}: {shown}\n")
        lines.append(">> \n")
        self._debug_write("".join(lines))

    def _debug_in(self, data: bytes) -> None:
        if self.debug_file is None:
            return
        data = self._debug_partial + data
        lines = data.split(b"\n")
        self._debug_partial = lines.pop()
        text = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if line[:7].lower() == "secret:":
                line = line[:7] + " " + MASK
            text.append(f"<< {line}\n")
        if text:
            self._debug_write("".join(text))

    def _debug_write(self, text: str) -> None:
        """Queue transcript text; a thread of its own writes it (never the reader)."""
        with self._debug_cv:
            self._debug_queue.append(text)
            self._debug_closing = False
            self._debug_cv.notify()
            if self._debug_thread is None or not self._debug_thread.is_alive():
                self._debug_thread = threading.Thread(
                    target=self._debug_writer, name="amishell-debug", daemon=True
                )
                self._debug_thread.start()

    def _debug_writer(self) -> None:
        while True:
            with self._debug_cv:
                while not self._debug_queue:
                    if self._debug_closing or (
                        not self._debug_cv.wait(5.0) and not self._debug_queue
                    ):
                        self._debug_thread = None
                        return
                chunks = list(self._debug_queue)
                self._debug_queue.clear()
            out = self.debug_file
            if out is None:
                continue
            try:
                out.write("".join(chunks))
                out.flush()
            except (OSError, ValueError):
                pass

    def flush_debug(self, timeout: float = 2.0) -> None:
        """Wait until the debug transcript queued so far is written."""
        deadline = time.monotonic() + timeout
        while self._debug_queue and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.005)


def _stand_aside(transport: Transport) -> None:
    """The reader thread's wait while a thread in ``action()`` reads, and for a
    moment after: naps that grow while that goes on, so that a loop of actions
    seldom wakes it, cut short by :meth:`Transport.want_reader`."""
    nap = _LINGER
    while transport.foreground or time.monotonic() - transport.foreground_ended < _LINGER:
        if transport.nudge.wait(nap):
            transport.nudge.clear()
            nap = _LINGER
        else:
            nap = min(nap * 2, _LINGER_MAX)


class _ConnectFailed(Exception):
    pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe (the server closed the connection)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or exc.__class__.__name__

