"""The shell's state and what it does with a line, for both interactive and batch use.

:class:`Shell` owns the client (and replaces it on reconnect), the catalogue,
the event view and the renderer. Executing an action is split in two so that
the caller decides how to wait: :meth:`Shell.start` sends and returns a
:class:`Pending` (or a result that needs no waiting), :meth:`Shell.finish`
turns the response into fragments.
"""

from __future__ import annotations

import io
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Final, NamedTuple, cast

from ..catalog import Catalog, load_offline
from ..message import Message
from .config import Target
from .context import Context, ExitStatus, private_fd
from .eventhistory import DEFAULT_EVENTS, EventHistory
from .events import EventView
from .lineparse import CLI_WORDS, MASK, ActionLine, CliLine, InputError, Item, MetaLine
from .render import Fragments, Info, Problem, Renderer, TableResult
from .sources import LiveSources

if TYPE_CHECKING:
    from ..capture import Capture
    from ..client import ActionFuture, AMIClient

__all__ = ["Pending", "Quit", "Shell"]

#: The shell's bound on events the client has read but not yet delivered. A
#: terminal shows a few thousand events a second at most; past this, events are
#: dropped, counted and shown in the toolbar, and memory stays well under 100 MB.
SHELL_QUEUE_BYTES = 64 << 20

META_TIMEOUT: Final = 10.0


class Quit:
    """Leave the shell."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quit)

    def __repr__(self) -> str:
        return "Quit()"


Result = Info | Problem | TableResult | Quit


class Pending(NamedTuple):
    """An action on its way: wait for ``future``, then :meth:`Shell.finish`."""

    future: ActionFuture
    kind: str  # "action" or "cli"
    name: str
    note: str = ""


class Shell:
    """Connection, catalogue, events and output settings of one shell."""

    def __init__(
        self,
        ctx: Context,
        target: Target,
        *,
        username: str,
        secret: str,
        width: Callable[[], int] = lambda: 100,
        profiles: Callable[[], list[str]] = list,
    ) -> None:
        self.ctx = ctx
        self.target = target
        self.username = username
        self._secret = secret
        self._redactor: tuple[str, re.Pattern[str]] | None = None
        self.width = width
        self.view = EventView()
        #: Every event received, raw, whatever the display shows (``event_history``).
        self.history = EventHistory(getattr(target, "event_history", DEFAULT_EVENTS))
        self.renderer = Renderer(target.format, width())
        self.offline: Catalog = load_offline()
        self.catalog: Catalog = self.offline
        self.catalog_live = False
        self.client: AMIClient | None = None
        self.info: dict[str, str] = {}
        #: The server-side event mask (Login ``Events:``), re-applied on reconnect.
        self.mask: str | None = target.events
        #: Filter actions added this session, re-added on reconnect (AMI cannot list them).
        self.server_filters: list[str] = []
        self.state = "disconnected"
        self.status = ExitStatus.OK
        self.pager = target.pager
        self.debug_file: IO[str] | None = None
        self.debug_path: str | None = None
        #: The session capture (``--record`` / ``.record``), told of every byte.
        self.capture: Capture | None = None
        self.event_names: dict[str, None] = {}
        #: First lines of events counted unparsed whose name was already learned.
        self._heads_seen: set[bytes] = set()
        self.history_path: str | None = None
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._stop_reconnect = threading.Event()
        self._reconnecting: threading.Thread | None = None
        self._wanted = False
        #: Seconds before the first reconnect attempt; each failure doubles the wait,
        #: up to the target's ``reconnect_max``.
        self.reconnect_first = 0.5
        #: Replace the display: every event goes here instead (batch mode).
        self.event_sink: Callable[[Message], None] | None = None
        #: Called instead of reconnecting when the connection drops (batch mode).
        self.drop_sink: Callable[[str], None] | None = None
        self.sources = LiveSources(
            lambda: self.client,
            lambda: self.catalog,
            meta=_meta_summaries,
            event_names=lambda: sorted(self.event_names),
            profiles=profiles,
            channels_seen=self._channels_seen,
            server_key=self.server_key,
        )
        if target.event_filter:
            from .events import EventFilter

            try:
                self.view.filter = EventFilter(target.event_filter)
            except ValueError as e:
                ctx.error(f"config event_filter: {e}")
        if target.event_display in ("on", "off", "pause"):
            self.view.state = target.event_display

    def __repr__(self) -> str:
        return f"<Shell {self.username}@{self.target.address} {self.state}>"

    def _channels_seen(self) -> list[str]:
        """Channel names in the recent event history, newest first (``.trace``)."""
        from ..trace import channel_names

        return channel_names(self.history.last(5000))

    def redact(self, text: str) -> str:
        """``text`` with the manager secret starred out (the last line of defence for
        anything the shell writes: a server may echo a header the user typed).

        Only a whole token is starred (not a part of a longer word or number), so a
        weak secret such as ``secret`` or ``1234`` does not garble ``secrets`` or a
        Uniqueid. A secret equal to the user name is no secret and is left alone.
        """
        secret = self._secret
        if len(secret) < 4 or secret not in text or secret == self.username:
            return text
        if self._redactor is None or self._redactor[0] != secret:
            self._redactor = (secret, _token_pattern(secret))
        return self._redactor[1].sub(MASK, text)

    def banner(self) -> list[str]:
        """What the shell says on connecting: where, which Asterisk, who."""
        info = self.info
        system = info.get("SystemName")
        where = self.target.address + (f" ({system})" if system else "")
        count = len(self.catalog)
        source = "" if self.catalog_live else " (offline catalogue)"
        client = self.client
        return [
            f"Connected to {where}" + (" over TLS" if self.target.tls else ""),
            f"Asterisk {info.get('AsteriskVersion', 'unknown')}, AMI"
            f" {info.get('AMIversion') or (client.ami_version if client else '?')},"
            f" logged in as {self.username}",
            f"{count} actions available{source}. Type .help for help, Tab to complete,"
            " Ctrl-D to quit.",
        ]

    # -- connection ---------------------------------------------------------------
    def server_key(self) -> str:
        return f"{self.target.address}/{self.info.get('AsteriskVersion', '?')}"

    def connect(self) -> str | None:
        """Connect and log in; None when it worked, else the error text."""
        self._wanted = True
        self._stop_reconnect.set()
        self.state = "connecting"
        error = self._open()
        self.state = "connected" if self.connected else "disconnected"
        return error

    def _open(self, stop: threading.Event | None = None) -> str | None:
        """Replace the client by a fresh, logged-in one; the error text if that fails.

        One at a time: a reconnect in the background and a ``.connect`` typed meanwhile
        never leave two live sessions. ``stop`` (the reconnect loop's) set meanwhile
        abandons the attempt."""
        with self._open_lock:
            if stop is not None and stop.is_set():
                return "stopped"
            return self._open_locked(stop)

    def _open_locked(self, stop: threading.Event | None) -> str | None:
        from ..client import AMIClient

        t = self.target
        tls: bool | ssl.SSLContext = False
        if t.tls:
            tls = ssl.create_default_context()
            if t.tls_insecure:
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
        client = AMIClient(
            self.username,
            self._secret,
            t.host,
            t.port,
            timeout=t.timeout,
            tls=tls,
            auth="md5" if t.md5 else "plain",
            events=self.mask,
            keepalive=t.keepalive or None,
            event_callback=self._on_event,
            disconnect_callback=self._on_drop,
            debug_file=self.debug_file,
            max_queue_bytes=SHELL_QUEUE_BYTES,
            wire_observer=self.capture,
        )
        client.event_prefilter = self._prefilter
        if not client.connect():
            client.close()
            return client.error or "connection failed"
        if stop is not None and stop.is_set():
            client.disconnect_callback = None
            client.close()
            return "stopped"
        old = self.client  # kept until the new session works (a typo keeps the old one)
        if old is not None:
            old.disconnect_callback = None
            if old.connected:
                old.disconnect()
            old.close()
        self.client = client
        self._after_login(client)
        return None

    def _after_login(self, client: AMIClient) -> None:
        client.ping(META_TIMEOUT)  # the toolbar shows the latency from the start
        # The rest asked all at once: one wait for the server, not one each.
        asked = client.submit({"Action": "CoreSettings"})
        listing = client.submit({"Action": "ListCommands"})
        filters = [
            client.submit({"Action": "Filter", "Operation": "Add", "Filter": regex})
            for regex in self.server_filters
        ]
        settings = asked.result(META_TIMEOUT)
        if not settings.is_error:
            self.info = {k: v for k, v in settings.headers if k.lower() != "actionid"}
        listed = listing.result(META_TIMEOUT)
        try:
            self.catalog = Catalog.from_list_commands(listed, self.offline)
            self.catalog_live = len(self.catalog) > 0
        except ValueError:
            self.catalog, self.catalog_live = self.offline, False
        if not self.catalog_live:
            self.catalog = self.offline
        for future in filters:
            future.result(META_TIMEOUT)

    def _prefilter(self, frame: bytes) -> bool:
        """Keep every event in the history; count, unparsed, an event the view
        would not keep (a flood, a pause)."""
        self.history.add(frame, time.time())
        if self.event_sink is not None or not self.view.skip_unparsed():
            return True
        end = frame.find(b"\n")
        head = frame[:end] if end >= 0 else frame
        # Each distinct first line is looked at once ("Event: Newstate" ...).
        if head not in self._heads_seen:
            if len(self._heads_seen) < 2000:
                self._heads_seen.add(head)
            if head.startswith(b"Event:"):
                self._learn_event_name(head[6:].strip().decode("utf-8", "replace"))
        return False

    def _learn_event_name(self, name: object) -> None:
        """Remember an event name for completion (a bounded set)."""
        if isinstance(name, str) and name and name not in self.event_names and (
            len(self.event_names) < 2000
        ):
            self.event_names[name] = None

    def _on_event(self, msg: Message) -> None:
        sink = self.event_sink
        if sink is not None:
            log = self.view.log
            if log is not None:
                log.write(msg)
            sink(msg)
            return
        self.view.push(msg)
        name = dict.get(msg, "Event")
        self._learn_event_name(name)

    def _on_drop(self, text: str) -> None:
        """The connection dropped (on the client's dispatcher thread)."""
        self.state = "disconnected"
        if self.drop_sink is not None:
            self.drop_sink(text)
            return
        self.view.notice(f"connection lost: {_plain(text)}", "error")
        if self.target.reconnect and self._wanted:
            self._start_reconnect()
        else:
            self.view.notice("type .reconnect to connect again", "dim")

    def _start_reconnect(self) -> None:
        with self._lock:
            if self._reconnecting is not None and self._reconnecting.is_alive():
                return
            self._stop_reconnect = threading.Event()
            thread = threading.Thread(
                target=self._reconnect_loop,
                args=(self._stop_reconnect,),
                name="amishell-reconnect",
                daemon=True,
            )
            self._reconnecting = thread
            thread.start()

    def _reconnect_loop(self, stop: threading.Event) -> None:
        delay = self.reconnect_first
        attempt = 0
        while not stop.is_set():
            self.state = "reconnecting"
            if stop.wait(delay):
                return
            attempt += 1
            error = self._open(stop)
            if stop.is_set():
                return
            if error is None:
                self.state = "connected"
                extra = []
                if self.mask is not None:
                    extra.append(f"event mask {self.mask}")
                if self.server_filters:
                    extra.append(f"{len(self.server_filters)} filter(s)")
                again = f"; re-applied {' and '.join(extra)}" if extra else ""
                self.view.notice(f"reconnected to {self.target.address}{again}", "ok")
                return
            delay = min(delay * 2, max(self.target.reconnect_max, self.reconnect_first))
            if attempt <= 3 or attempt % 10 == 0:
                self.view.notice(
                    f"reconnect failed: {_plain(error)}; next try in {delay:g}s", "dim"
                )

    def disconnect(self) -> Message | None:
        """Log off (no reconnect). The Goodbye response, or None if not connected."""
        self._wanted = False
        self._stop_reconnect.set()
        client = self.client
        self.state = "disconnected"
        if client is None or not client.connected:
            return None
        client.disconnect_callback = None
        reply = client.submit({"Action": "Logoff"}).result(5.0)
        client.close()
        return reply

    def close(self) -> None:
        self._wanted = False
        self._stop_reconnect.set()
        client = self.client
        if client is not None:
            client.disconnect_callback = None
            if client.connected:
                client.disconnect()
            client.close()
        if self.view.log is not None:
            self.view.log.close()
        if self.debug_file is not None:
            self.debug_file.close()
            self.debug_file = None
        if self.capture is not None:
            self.capture.close()

    @property
    def connected(self) -> bool:
        client = self.client
        return client is not None and client.connected

    # -- running what the user typed ------------------------------------------------
    def start(self, item: Item) -> Pending | Result:
        """Send an action or CLI command (a Pending), or run a meta command."""
        if isinstance(item, MetaLine):
            from .commands import run_meta

            return run_meta(self, item)
        if isinstance(item, CliLine):
            return self._send("cli", "Command", [("Command", item.command)])
        return self._start_action(item)

    def _start_action(self, item: ActionLine) -> Pending | Result:
        name = self.catalog.canonical(item.name) or self.offline.canonical(item.name)
        if name is None:
            if item.name.lower() in CLI_WORDS and not item.block:
                return Problem(
                    f"{item.name!r} is not an action; for the CLI command type"
                    f" /{item.name} ..., or .help for actions"
                )
            name = item.name
        low = name.lower()
        if low == "login":
            return Problem("already logging in through the shell: use .connect to log in again")
        if low == "logoff":
            from .commands import run_meta

            return run_meta(self, MetaLine("disconnect", []))
        fields = [(k, v) for k, v in item.fields if k.lower() != "actionid"]
        note = ""
        if len(fields) != len(item.fields):
            note = "(ActionID is set by the shell; yours was left out)"
        if low == "events":
            mask = next((v for k, v in fields if k.lower() == "eventmask"), None)
            if mask is not None:
                self.mask = mask
        elif low == "filter":
            op = next((v for k, v in fields if k.lower() == "operation"), "add")
            regex = next((v for k, v in fields if k.lower() == "filter"), None)
            if regex and op.lower() == "add" and regex not in self.server_filters:
                self.server_filters.append(regex)
        return self._send("action", name, fields, note)

    def _send(
        self, kind: str, name: str, fields: list[tuple[str, str]], note: str = ""
    ) -> Pending | Result:
        client = self.client
        if client is None or not client.connected:
            if self.state == "reconnecting":
                return Problem(
                    f"{name} was not sent: reconnecting to {self.target.address}"
                    " (.reconnect tries now)"
                )
            return Problem(f"not connected: {name} was not sent (type .connect or .reconnect)")
        try:
            future = client.submit([("Action", name), *fields])
        except ValueError as e:
            return Problem(str(e))
        return Pending(future, kind, name, note)

    def finish(self, pending: Pending, msg: Message, *, late: bool = False) -> Fragments:
        """The fragments for a response, and the exit status noted."""
        self.renderer.width = self.width()
        if msg.is_error and self.status == ExitStatus.OK:
            self.status = ExitStatus.ACTION_ERROR
        elapsed = pending.future.elapsed
        if pending.kind == "cli" and not late:
            frags = self.renderer.cli(msg, elapsed)
        else:
            frags = self.renderer.response(
                msg, None if late else elapsed, late=late, name=pending.name
            )
        if msg.is_error and self.renderer.format == "pretty":
            frags += _hint(pending, msg, self.catalog)
        if pending.note and self.renderer.format == "pretty":
            frags.append(("dim", pending.note + "\n"))
        return frags

    def render(self, result: Info | Problem | TableResult) -> Fragments:
        self.renderer.width = self.width()
        return self.renderer.result(result)

    def parse_error(self, error: InputError, text: str = "") -> Fragments:
        if self.status == ExitStatus.OK:
            self.status = ExitStatus.USAGE
        return self.render(Problem(self.explain(error, text)))

    def explain(self, error: InputError, text: str) -> str:
        """The error's text, or a better one when the first word is no action at all
        (``bad line here`` is not a badly written action)."""
        line = text.strip()
        message = str(error)
        if "\n" in line or not line or line[0] in ".:/#" or "is not Key=Value" not in message:
            return message
        word = line.split()[0]
        if "=" in word or self.catalog.get(word) or self.offline.get(word):
            return message
        return (
            f"{word!r} is not an action: Tab after a few letters lists them;"
            f" for a CLI command type /{line}"
        )


def _hint(pending: Pending, msg: Message, catalog: Catalog) -> Fragments:
    text = (msg.value("Message") or "").lower()
    if "invalid/unknown command" in text:
        return [("dim", "type .help for the actions this server offers\n")]
    if "missing" in text or "required" in text or "not specified" in text:
        return [("dim", f"type .help {pending.name} for its parameters\n")]
    if "permission denied" in text:
        return [("dim", "this user's manager.conf privileges do not allow it\n")]
    return []


_REDUNDANT: Final = ("Reading from socket failed: ", "Connection failed: ")


def _plain(error: str) -> str:
    """A client error to follow ``connection lost:`` or ``reconnect failed:``."""
    for prefix in _REDUNDANT:
        if error.startswith(prefix):
            error = error[len(prefix) :]
    if error[:1].isupper() and error[1:2].islower():
        error = error[0].lower() + error[1:]
    return error


def _token_pattern(secret: str) -> re.Pattern[str]:
    """``secret`` where it stands as a token of its own: not inside a word, a number
    (``1795.1234``), a channel name (``Local/1234@demo``) or an address."""
    return re.compile(
        r"(?<![\w@/-])(?<!\w\.)" + re.escape(secret) + r"(?![\w@/-])(?!\.\w)"
    )


def _meta_summaries() -> dict[str, str]:
    from .commands import summaries

    return summaries()


def private_file(path: str, redact: Callable[[str], str] = str) -> IO[str]:
    """A file for appending, readable by its owner only (see :func:`private_fd`),
    every write passed through ``redact`` first."""
    inner = os.fdopen(private_fd(os.path.expanduser(path)), "a", encoding="utf-8")
    return cast(IO[str], _Redacting(inner, redact))


class _Redacting(io.TextIOBase):
    """A text file that stars out the secret in whatever is written to it (the debug
    transcript: the client masks Secret and Key headers, this catches the secret
    anywhere else, such as a value typed or echoed by the server)."""

    def __init__(self, inner: IO[str], redact: Callable[[str], str]) -> None:
        super().__init__()
        self._inner = inner
        self._redact = redact

    def write(self, text: str) -> int:
        self._inner.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        if not self._inner.closed:
            self._inner.flush()

    def close(self) -> None:
        try:
            super().close()  # flushes
        finally:
            self._inner.close()

    def writable(self) -> bool:
        return True

