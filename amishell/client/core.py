"""The AMI client, :class:`AMIClient`: the parts of :mod:`amishell.client` put together.

Threads, per client: the **reader** of the current connection (only reads and
frames; :mod:`.reader`), the **dispatcher** (callbacks and the inbox;
:mod:`.dispatcher`), and when asked for, the **keep-alive** and the
**reconnect** threads. Failures are returned, not raised: a manufactured
``Response: Error`` message, with :attr:`AMIClient.error` (its text) and
:attr:`AMIClient.last_error` (the exception) set for communication failures
and timeouts. Only wrong arguments raise ``ValueError``.
"""

from __future__ import annotations

import itertools
import ssl
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from ..errors import AMIConnectionError, AMIError, LoginFailed, NotConnected, ResponseTimeout
from ..message import Message
from ..protocol import DEFAULT_MAX_MESSAGE_SIZE, serialize
from .actions import Fields, build, filter_headers, timeout_for
from .connection import login, open_connection
from .dispatcher import Dispatcher
from .future import NOT_CONNECTED, TIMED_OUT, ActionFuture, error_reply
from .keepalive import Keepalive
from .reader import Reader
from .reconnect import Reconnector
from .router import Router
from .state import ConnectionChange, ConnectionState, Stats, WireObserver
from .stats import StatsView
from .transcript import Transcript
from .transport import parse_host

__all__ = ["AMIClient"]

EventCallback = Callable[[Message], object]
State = ConnectionState
Change = ConnectionChange


class AMIClient(StatsView):
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
        reconnect: bool = False,
        reconnect_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
        state_callback: Callable[[str, str], object] | None = None,
        wire_observer: WireObserver | None = None,
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
        self._debug_file: IO[str] | None = None
        self.event_callback = event_callback
        #: Optional ``prefilter(frame: bytes) -> bool``, called on the dispatcher
        #: thread with the raw bytes of every event not part of a list being
        #: collected, before it is parsed: False drops the event there (it still
        #: counts in :attr:`events_received`), so a consumer that wants few of
        #: many events does not pay to parse the rest.
        self.event_prefilter = event_prefilter
        self.disconnect_callback = disconnect_callback
        self.state_callback = state_callback
        self.timeout = float(timeout)
        self.tls = tls
        self.auth = auth
        #: The event mask sent with every Login (``Events:``); None sends none.
        self.events = events
        self.keepalive = keepalive
        self.max_queue_bytes = max_queue_bytes
        self.max_message_size = max_message_size
        self.reconnect = reconnect
        self.reconnect_delay = reconnect_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.greeting: str | None = None
        self.last_latency: float | None = None

        self._stats = Stats()
        self._transcript = Transcript(lambda: self._debug_file)
        self._wire_observer = wire_observer
        # Those who see the bytes: the parts read this list as it changes.
        self._observers: list[WireObserver] = []
        self.debug_file = debug_file if debug_file is not None else (
            sys.stderr if debug else None
        )
        self._dispatcher = Dispatcher(self, self._stats)
        self._lock = threading.RLock()
        self._state = State.CLOSED
        self._reader: Reader | None = None
        self._keepalive: Keepalive | None = None
        self._reconnector: Reconnector | None = None
        self._filters: list[list[tuple[str, str]]] = []
        self.last_error: AMIError | None = None

    # ------------------------------------------------------------------ state
    @property
    def debug_file(self) -> IO[str] | None:
        """Where the transcript goes (None: no transcript); settable at any time."""
        return self._debug_file

    @debug_file.setter
    def debug_file(self, value: IO[str] | None) -> None:
        self._debug_file = value
        self._update_observers()

    @property
    def wire_observer(self) -> WireObserver | None:
        """Told of every byte sent and read (a capture); settable at any time."""
        return self._wire_observer

    @wire_observer.setter
    def wire_observer(self, value: WireObserver | None) -> None:
        self._wire_observer = value
        self._update_observers()

    def _update_observers(self) -> None:
        observers: list[WireObserver] = [self._transcript] if self._debug_file is not None else []
        if self._wire_observer is not None:
            observers.append(self._wire_observer)
        self._observers[:] = observers

    @property
    def error(self) -> str | None:
        """The last communication error (its text), or None."""
        return None if self.last_error is None else str(self.last_error)

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is State.CONNECTED

    @property
    def ami_version(self) -> str | None:
        if self.greeting and "/" in self.greeting:
            return self.greeting.rsplit("/", 1)[1]
        return None

    @property
    def queued_bytes(self) -> int:
        return self._dispatcher.queued_bytes

    @property
    def filters(self) -> list[list[tuple[str, str]]]:
        """The headers of each filter added with :meth:`add_filter`, in order."""
        return [list(f) for f in self._filters]

    def _enter(self, state: ConnectionState, change: ConnectionChange | None = None,
               detail: str = "") -> None:
        """Move to ``state``; tell ``state_callback(change, detail)`` (on the
        dispatcher thread) when there is a change to tell."""
        with self._lock:
            self._state = state
        callback = self.state_callback
        if change is not None and callback is not None:
            self._dispatcher.call_soon(lambda: callback(change, detail))

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return (
            f"<AMIClient {self.username}@{self.host}:{self.port} {state}"
            f" tls={bool(self.tls)} auth={self.auth}>"
        )

    def __enter__(self) -> AMIClient:
        if not self.connect():
            raise self.last_error or AMIError("Connection failed")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.connected:
            self.disconnect()
        self.close()

    # --------------------------------------------------------------- connect
    def connect(self) -> bool:
        """Open the connection and log in. False on failure, with :attr:`error`."""
        if self.connected:
            return True
        self._stop_reconnecting()
        self._drop_link()
        self._enter(State.CONNECTING)
        self._dispatcher.start()
        try:
            self._establish()
        except AMIError as exc:
            self.last_error = exc
            self._drop_link()
            self._enter(State.CLOSED)
            self._dispatcher.stop()
            self._transcript.stop()
            return False
        self._enter(State.CONNECTED, Change.CONNECTED)
        if self.keepalive and self._keepalive is None:
            self._keepalive = Keepalive(self, self.keepalive)
        return True

    def _establish(self) -> None:
        """Open a connection, log in, add the remembered filters (raises AMIError)."""
        opened = open_connection(
            self.host, self.port, timeout=self.timeout, tls=self.tls,
            max_message_size=self.max_message_size, observers=self._observers,
        )
        self.greeting = opened.greeting
        self.last_error = None
        reader = Reader(
            opened.transport, opened.framer, Router(), sink=self._dispatcher.put,
            observers=self._observers, stats=self._stats, on_drop=self._dropped,
            host=self.host,
        )
        with self._lock:
            self._reader = reader
        reader.start(opened.frames)
        login(self._login_action, self.username, self._secret, self.auth, self.events)
        for headers in self._filters:
            reply = self._login_action([("Action", "Filter"), *headers]).result()
            if reply.is_error:
                raise LoginFailed(f"Filter failed: {reply.value('Message')}")

    def _login_action(self, pairs: list[tuple[str, Any]]) -> ActionFuture:
        future = self._request(pairs, {}, internal=True)
        future.result()  # waits, or marks it timed out
        return future

    def _dropped(self, reader: Reader, error: AMIConnectionError) -> None:
        """A connection ended (reader thread, or whoever saw it end)."""
        with self._lock:
            current = reader is self._reader
            lost = current and self._state is State.CONNECTED and not reader.leaving
            if lost:
                self.last_error = error
                self._state = State.LOST
        text = (self.error if current else None) or str(error)
        reader.router.close(text)
        self._dispatcher.wake()
        if not lost:
            return
        self._enter(State.LOST, Change.LOST, text)
        callback = self.disconnect_callback
        if callback is not None:
            self._dispatcher.call_soon(lambda: callback(text))
        if self.reconnect:
            with self._lock:
                if self._reconnector is None or not self._reconnector.running:
                    self._reconnector = Reconnector(self)

    def _drop_link(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.fail(NotConnected(NOT_CONNECTED))
            reader.close()
            reader.join(2.0)

    # -------------------------------------------------------------- reconnect
    def reconnect_now(self) -> None:
        """Skip the wait before the next reconnect attempt."""
        reconnector = self._reconnector
        if reconnector is not None:
            reconnector.now()

    def _stop_reconnecting(self) -> None:
        with self._lock:
            reconnector, self._reconnector = self._reconnector, None
        if reconnector is not None:
            reconnector.stop()

    # ------------------------------------------------------------- disconnect
    def disconnect(self) -> bool:
        """Log off and close. False on failure, with :attr:`error`."""
        reader = self._reader
        if not self.connected or reader is None:
            self.last_error = NotConnected(NOT_CONNECTED)
            self.close()
            return False
        reader.leaving = True
        reply = self.action({"Action": "Logoff"})
        ok = reply.value("Response", "") == "Goodbye"
        if not ok:
            text = reply.value("Message") or reply.value("Response")
            self.last_error = AMIConnectionError(f"Logoff failed: {text}")
        self.close()
        return ok

    def close(self) -> None:
        """Close the connection without logging off (idempotent)."""
        self._stop_reconnecting()
        with self._lock:
            was, self._state = self._state, State.CLOSED
            keepalive, self._keepalive = self._keepalive, None
        self._drop_link()
        if keepalive is not None:
            keepalive.stop()
        if was is not State.CLOSED:
            self._enter(State.CLOSED, Change.CLOSED)
        self._dispatcher.wake()
        self._dispatcher.stop()
        self._transcript.stop()

    def flush_debug(self, timeout: float = 2.0) -> None:
        """Wait until the transcript queued so far is written (``action()``
        does this itself before it returns)."""
        self._transcript.flush(timeout)

    # ---------------------------------------------------------------- actions
    def submit(self, fields: Fields = None, /, **headers: Any) -> ActionFuture:
        """Send an action and return its :class:`ActionFuture` at once."""
        return self._submit(fields, headers)

    def _submit(self, fields: Fields, headers: dict[str, Any], internal: bool = False,
                leading: bool = False) -> ActionFuture:
        pairs, action = build(fields, headers)
        action_id = str(next(self._ids))  # atomic: count() is one C call
        pairs.append(("ActionID", action_id))
        data = serialize(pairs)  # raises LocalProtocolError (a ValueError)
        if len(action) == 9:  # perhaps an Originate, with a timeout of its own
            wait, holds = timeout_for(action, pairs, self.timeout)
            future = ActionFuture(self, action_id, action, wait, holds)
        else:
            future = ActionFuture(self, action_id, action, self.timeout)
        reader = self._reader
        if reader is None or not reader.alive or not (internal or self._state is State.CONNECTED):
            self.last_error = NotConnected(NOT_CONNECTED)
            future.set(error_reply(NOT_CONNECTED, action_id))
            return future
        reader.router.add(future)
        if not future.done():
            reader.send(data, leading=leading)
        return future

    def _request(self, fields: Fields, headers: dict[str, Any], internal: bool = False
                 ) -> ActionFuture:
        """Send an action and wait: reading the response in this thread when
        no other thread is reading (taking the read lock before sending, so
        that the reader thread leaves the response to it), else waiting for
        the thread that reads."""
        reader = self._reader
        lock = reader.transport.read_lock if reader is not None else None
        if reader is None or lock is None or not lock.acquire(False):
            future = self._submit(fields, headers, internal)
        else:
            try:
                future = self._submit(fields, headers, internal, leading=True)
                reader.lead(future)
            finally:
                lock.release()
        return future

    def action(self, fields: Fields = None, /, **headers: Any) -> Message:
        """Send an action and wait for its response (and its event list)."""
        message = self._request(fields, headers).result()
        if self._debug_file is not None:
            self._transcript.flush(1.0)  # its response's lines are written
        return message

    def send_action(self, fields: Fields = None, /, **headers: Any) -> str | None:
        """Send an action without waiting; its response goes to :meth:`read_response`."""
        pairs, _action = build(fields, headers)
        reader = self._reader
        if reader is None or not reader.alive or not self.connected:
            self.last_error = NotConnected(NOT_CONNECTED)
            return None
        action_id = str(next(self._ids))  # atomic: count() is one C call
        pairs.append(("ActionID", action_id))
        if not reader.send(serialize(pairs)):
            return None
        return action_id

    def ping(self, timeout: float | None = None) -> float | None:
        """Round-trip time of one Ping in seconds, or None (see :attr:`error`)."""
        future = self.submit({"Action": "Ping"})
        reply = future.result(timeout)
        if reply.is_error:
            return None
        self.last_latency = (future.done_at or future.sent_at) - future.sent_at
        return self.last_latency

    def ping_future(self) -> tuple[Reader, ActionFuture] | None:
        """A keep-alive Ping sent now, with its connection (None when down)."""
        reader = self._reader
        if reader is None or not self.connected:
            return None
        return reader, self.submit({"Action": "Ping"})

    def add_filter(self, filter: str | None = None, *, match_criteria: str | None = None
                   ) -> Message:
        """Add a server-side event filter and remember it (re-added on reconnect)."""
        headers = filter_headers(filter, match_criteria)
        reply = self.action([("Action", "Filter"), *headers])
        if not reply.is_error:
            self._filters.append(headers)
        return reply

    def set_filters(self, filters: list[list[tuple[str, str]]]) -> bool:
        """Exactly these filters: AMI cannot remove one, so this logs in again on
        a fresh connection and adds them. False on failure, with :attr:`error`."""
        self._filters = [[(str(k), str(v)) for k, v in f] for f in filters]
        self.close()
        return self.connect()

    # ----------------------------------------------------------- read_response
    def read_response(self, timeout: float | None = None) -> Message | None:
        """The next message no :meth:`action` is waiting for.

        ``timeout=None`` waits forever; a number returns None when it passes.
        On a dead connection, the manufactured read error once the queue is empty.
        """
        return self._dispatcher.read(timeout, self._gone)

    def _gone(self) -> Message | None:
        if self.connected:
            return None
        if self.last_error is None:
            self.last_error = NotConnected(NOT_CONNECTED)
        return error_reply(self.error or NOT_CONNECTED)

    # ------------------------------------------------- what the parts call back
    def run_callbacks(self, future: ActionFuture, callbacks: list[Callable[[Message], object]]
                      ) -> None:
        def job() -> None:
            message = future.message()
            for fn in callbacks:
                fn(message)

        self._dispatcher.call_soon(job)

    def timed_out(self) -> None:
        self.last_error = ResponseTimeout(TIMED_OUT)
