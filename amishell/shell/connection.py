"""The shell's one AMI session: open it, replace it, reconnect, re-apply.

:class:`Connection` owns the client. Opening builds a fresh, logged-in client
and only then swaps it for the old one (a typo in ``.connect`` keeps the
working session), re-adds the server-side filters of the session, and runs the
shell's ``on_login`` (catalogue, server info). When the connection drops, the
client reconnects by itself (``reconnect=True``: a doubling wait, the event mask
re-applied) and tells the shell each step; the shell then re-adds its filters
and refreshes what it knows of the server. A script does not reconnect.

Messages about a failure are worded from the error's type (:func:`describe`).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Final, NamedTuple

from ..errors import (
    AMIError,
    ConnectFailed,
    LoginFailed,
    NotConnected,
    ReadFailed,
    ResponseTimeout,
    WriteFailed,
)
from ..message import Message
from .config import Target
from .options import tls_context

if TYPE_CHECKING:
    from ..capture import Capture
    from ..client import AMIClient

__all__ = ["Connection", "Login", "describe", "error_of", "probe"]

#: The shell's bound on events the client has read but not yet delivered. A
#: terminal shows a few thousand events a second at most; past this, events are
#: dropped, counted and shown in the toolbar, and memory stays well under 100 MB.
SHELL_QUEUE_BYTES: Final = 16 << 20
META_TIMEOUT: Final = 10.0
#: How long a host may take to accept a connection before anything is asked.
PROBE_TIMEOUT: Final = 5.0


class Login(NamedTuple):
    """Who logs in where: the target, the manager user and that user's secret."""

    target: Target
    username: str
    secret: str


# -- errors -------------------------------------------------------------------------


def error_of(client: AMIClient) -> AMIError:
    """The client's last error as an object of :mod:`amishell.errors`.

    The one place that maps a client without ``last_error`` (its text only)."""
    last = getattr(client, "last_error", None)
    if isinstance(last, AMIError):
        return last
    text = client.error or "connection failed"
    kinds: tuple[tuple[str, type[AMIError]], ...] = (
        ("Login failed", LoginFailed),
        ("Reading from socket failed", ReadFailed),
        ("Writing to socket failed", WriteFailed),
        ("Timed out", ResponseTimeout),
        ("Server stopped answering", ResponseTimeout),
        ("Not connected", NotConnected),
    )
    kind = next((k for start, k in kinds if text.startswith(start)), ConnectFailed)
    return kind(text)


def describe(error: AMIError, login: Login) -> str:
    """One line for the user about ``error`` in logging in as ``login``."""
    where = login.target.address
    if isinstance(error, LoginFailed) and _refused(error):
        return (
            f"{error} for {login.username}: a wrong secret, or permit/deny in"
            " manager.conf refuses this address"
        )
    if isinstance(error, LoginFailed | ConnectFailed):
        return str(error)
    return f"{error} ({where})"


def is_refusal(error: AMIError) -> bool:
    """The server said no to the login (not a timeout or a lost connection)."""
    return isinstance(error, LoginFailed) and _refused(error)


def _refused(error: LoginFailed) -> bool:
    from ..client import NOT_CONNECTED, TIMED_OUT

    text = str(error)
    return NOT_CONNECTED not in text and TIMED_OUT not in text


def probe(target: Target, timeout: float = PROBE_TIMEOUT) -> ConnectFailed | None:
    """Whether ``target``'s host resolves and accepts a connection (before anything
    is asked, so that a mistyped host fails at once); the failure, or None."""
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            return None
    except socket.gaierror as e:
        return ConnectFailed(f"Connection failed: cannot resolve {target.host}: {e.strerror}")
    except TimeoutError:
        return ConnectFailed(
            f"Connection failed: {target.address} did not accept a connection"
            f" within {timeout:g}s"
        )
    except OSError as e:
        reason = (e.strerror or type(e).__name__).lower()
        return ConnectFailed(f"Connection failed: {reason} ({target.address})")


# -- the session --------------------------------------------------------------------


class Connection:
    """Opens, replaces and closes the shell's session; reconnects after a drop."""

    def __init__(
        self,
        login: Login,
        *,
        on_event: Callable[[Message], None],
        prefilter: Callable[[bytes], bool],
        on_login: Callable[[AMIClient], None],
        notice: Callable[[str, str], None],
    ) -> None:
        self.login = login
        self.client: AMIClient | None = None
        #: disconnected, connecting, connected or reconnecting.
        self.state = "disconnected"
        self._mask: str | None = login.target.events
        #: Filter actions added this session, re-added on reconnect (AMI cannot list them).
        self.server_filters: list[list[tuple[str, str]]] = []
        self.debug_file: IO[str] | None = None
        #: The session capture (``--record`` / ``.record``), told of every byte.
        self.capture: Capture | None = None
        #: Called instead of reconnecting when the connection drops (batch mode).
        self.drop_sink: Callable[[str], None] | None = None
        self._on_event = on_event
        self._prefilter = prefilter
        self._on_login = on_login
        self.notice = notice
        self._swap_lock = threading.Lock()
        self._reconnect_first = 0.5

    @property
    def reconnect_first(self) -> float:
        """Seconds before the first reconnect attempt; each failure doubles the wait,
        up to the target's ``reconnect_max``."""
        return self._reconnect_first

    @reconnect_first.setter
    def reconnect_first(self, value: float) -> None:
        self._reconnect_first = value
        if self.client is not None:
            self.client.reconnect_delay = value

    @property
    def mask(self) -> str | None:
        """The server-side event mask (Login ``Events:``), re-applied on reconnect."""
        return self._mask

    @mask.setter
    def mask(self, value: str | None) -> None:
        self._mask = value
        if self.client is not None:
            self.client.events = value

    @property
    def connected(self) -> bool:
        client = self.client
        return client is not None and client.connected

    def connect(
        self, login: Login | None = None, stop: threading.Event | None = None
    ) -> AMIError | None:
        """(Re)connect with ``login`` (default: the current one), replacing the current
        session once the new one works. None when it did, else the error. ``stop``
        set meanwhile abandons the attempt and keeps the current session."""
        if not self.connected:
            self.state = "connecting"
        error = self.open(login or self.login, stop)
        self.state = "connected" if self.connected else "disconnected"
        return error

    def open(self, login: Login, stop: threading.Event | None = None) -> AMIError | None:
        """A fresh, logged-in client for ``login`` replaces the current one; the error
        if that fails. ``stop`` set meanwhile abandons the attempt (nothing changes)."""
        client = self._client(login)
        if not client.connect():
            client.close()
            return error_of(client)
        with self._swap_lock:  # never two live sessions
            if stop is not None and stop.is_set():
                client.disconnect_callback = None
                client.close()
                return ConnectFailed("Connection failed: stopped")
            old, self.client, self.login = self.client, client, login
            if old is not None:
                _drop(old)
        self._after_login(client)
        return None

    def _client(self, login: Login) -> AMIClient:
        from ..client import AMIClient

        t = login.target
        client = AMIClient(
            login.username,
            login.secret,
            t.host,
            t.port,
            timeout=t.timeout,
            tls=tls_context(t) if t.tls else False,
            auth="md5" if t.md5 else "plain",
            events=self.mask,
            keepalive=t.keepalive or None,
            event_callback=self._on_event,
            disconnect_callback=self._on_drop,
            debug_file=self.debug_file,
            max_queue_bytes=SHELL_QUEUE_BYTES,
            wire_observer=self.capture,
            # A script ends on a drop (exit status 3): only the interactive shell waits.
            reconnect=t.reconnect and self.drop_sink is None,
            reconnect_delay=self._reconnect_first,
            reconnect_max_delay=t.reconnect_max,
            state_callback=self._on_state,
        )
        client.event_prefilter = self._prefilter
        return client

    def _after_login(self, client: AMIClient) -> None:
        """After every login, the first and each reconnect: the session's filters
        (AMI forgets them with the session) and what the shell learns at login."""
        filters = [
            client.submit([("Action", "Filter"), ("Operation", "Add"), *headers])
            for headers in self.server_filters
        ]
        self._on_login(client)
        for future in filters:
            future.result(META_TIMEOUT)

    def _on_drop(self, text: str) -> None:
        """The connection dropped (on the client's dispatcher thread)."""
        self.state = "disconnected"
        if self.drop_sink is not None:
            self.drop_sink(text)
            return
        client = self.client
        error = error_of(client) if client is not None else ReadFailed(text)
        self.notice(f"connection lost: {describe(error, self.login)}", "error")
        if client is None or not client.reconnect:
            self.notice("type .reconnect to connect again", "dim")

    def _on_state(self, change: str, detail: str) -> None:
        """The client's reconnect steps (on its dispatcher thread)."""
        client = self.client
        if client is None or self.drop_sink is not None:
            return
        address = self.login.target.address
        if change == "reconnecting":
            self.state = "reconnecting"
            number = detail.split()[1] if detail.startswith("attempt ") else ""
            if number.isdigit() and (int(number) <= 3 or int(number) % 10 == 0):
                failed = f" (last: {client.error})" if number != "1" else ""
                self.notice(f"reconnecting to {address}: {detail}{failed}", "dim")
        elif change == "reconnected":
            self.state = "connected"
            # The login's follow-up waits for answers: not on the dispatcher thread.
            threading.Thread(target=self._reconnected, args=(client,), daemon=True,
                             name="amishell-relogin").start()
        elif change == "closed" and self.state == "reconnecting":
            self.state = "disconnected"
            error = error_of(client)
            self.notice(f"reconnect stopped: {describe(error, self.login)}", "error")
            self.notice("type .reconnect to connect again", "dim")

    def _reconnected(self, client: AMIClient) -> None:
        self._after_login(client)
        self.notice(f"reconnected to {self.login.target.address}{self.reapplied()}", "ok")

    def reapplied(self) -> str:
        """What a reconnect re-applied, for its notice."""
        extra = []
        if self.mask is not None:
            extra.append(f"event mask {self.mask}")
        if self.server_filters:
            extra.append(f"{len(self.server_filters)} filter(s)")
        return f"; re-applied {' and '.join(extra)}" if extra else ""

    def disconnect(self) -> Message | None:
        """Log off (no reconnect). The Goodbye response, or None if not connected."""
        client = self.client
        self.state = "disconnected"
        if client is None or not client.connected:
            if client is not None:
                client.close()  # (stops reconnecting)
            return None
        client.disconnect_callback = None
        client.reconnect = False  # the server closes after its Goodbye: no reconnect
        reply = client.submit({"Action": "Logoff"}).result(5.0)
        client.close()
        return reply

    def close(self) -> None:
        client = self.client
        if client is not None:
            _drop(client)


def _drop(client: AMIClient) -> None:
    client.disconnect_callback = None
    if client.connected:
        client.disconnect()
    client.close()
