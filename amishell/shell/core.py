"""The shell's state and what it does with a line, for both interactive and batch use.

:class:`Shell` holds the session (a :class:`~amishell.shell.connection.Connection`),
the catalogue, the event view and the renderer. Executing an action is split in
two so that the caller decides how to wait: :meth:`Shell.start` sends and
returns a :class:`Pending` (or a result that needs no waiting), :meth:`Shell.finish`
turns the response into fragments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from ..catalog import Catalog, load_offline
from ..message import Message
from .answers import events_turned_off, holds_session
from .base import Connecting, Pending, Quit, Result, TypedLines
from .commands import run_meta, summaries
from .config import Config, Target
from .connection import META_TIMEOUT, Connection, Login, describe, is_refusal
from .context import Context, ExitStatus
from .eventhistory import EventHistory
from .events import EventView
from .guard import Confirm, Guard
from .intake import EventIntake
from .jsonlines import received_at
from .lineparse import CLI_WORDS, ActionLine, CliLine, InputError, Item, MetaLine
from .logins import Connector
from .redact import redact
from .render import ClearScreen, Fragments, Info, Output, Problem, Renderer, TableResult
from .serverdocs import ServerDocs
from .sources import LiveSources

if TYPE_CHECKING:
    from ..capture import Capture
    from ..client import AMIClient

__all__ = ["Connecting", "Pending", "Quit", "Result", "Shell"]


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
        config: Config | None = None,
    ) -> None:
        self.ctx = ctx
        self.width = width
        self.view = EventView(per_tick=max(1, target.events_per_tick))
        #: Every event received, raw, whatever the display shows (``event_history``).
        self.history = EventHistory(target.event_history)
        self.renderer = Renderer(target.format, width())
        #: Read-only refusals and questions before harm (``read_only``, ``confirm``).
        self.guard = Guard(read_only=target.read_only, confirm=target.confirm)
        self.offline: Catalog = load_offline()
        self.catalog: Catalog = self.offline
        self.catalog_live = False
        self.info: dict[str, str] = {}
        self.status = ExitStatus.OK
        self.refused = False
        self.pager = target.pager
        self.debug_path: str | None = None
        #: Every event that arrives goes through it (history, counts, display).
        self.intake = EventIntake(self.view, self.history)
        #: Event and variable names seen, for completion.
        self.event_names = self.intake.event_names
        self.variables = self.intake.variables
        #: What Up recalls (set by the interactive shell); ``.history`` lists it.
        self.typed: TypedLines | None = None
        self.conn = Connection(
            Login(target, username, secret),
            on_event=self.intake.on_event,
            prefilter=self.intake.prefilter,
            on_login=self._on_login,
            notice=self.view.notice,
        )
        #: ``.connect``: the config file the shell started with, secrets per user@host.
        self.connector = Connector(self.conn, config or Config(), ctx)
        #: What the server documents about events, users and settings (cached).
        self.docs = ServerDocs(lambda: self.client, self.server_key, lambda: list(self.event_names))
        self.sources = LiveSources(
            lambda: self.client,
            lambda: self.catalog,
            meta=summaries,
            event_names=lambda: self.docs.names(wait=LiveSources.WAIT),
            event_headers=self.docs.headers,
            profiles=profiles,
            channels_seen=self._channels_seen,
            server_key=self.server_key,
            variables=lambda: list(self.variables),
        )
        self.intake.on_hangup = self.sources.forget_channel
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

    # -- the session, as the rest of the shell sees it ----------------------------------
    @property
    def client(self) -> AMIClient | None:
        return self.conn.client

    @property
    def state(self) -> str:
        return self.conn.state

    @property
    def target(self) -> Target:
        return self.conn.login.target

    @property
    def username(self) -> str:
        return self.conn.login.username

    @property
    def connected(self) -> bool:
        return self.conn.connected

    @property
    def mask(self) -> str | None:
        """The server-side event mask (Login ``Events:``), re-applied on reconnect."""
        return self.conn.mask

    @mask.setter
    def mask(self, value: str | None) -> None:
        self.conn.mask = value

    @property
    def server_filters(self) -> list[list[tuple[str, str]]]:
        """Filters added this session (the headers of each, without Action and
        Operation), re-added on every login: AMI can neither list nor remove them."""
        return self.conn.server_filters

    @server_filters.setter
    def server_filters(self, value: list[list[tuple[str, str]]]) -> None:
        self.conn.server_filters = value

    @property
    def debug_file(self) -> IO[str] | None:
        """The protocol transcript, for this session and the ones that follow."""
        return self.conn.debug_file

    @debug_file.setter
    def debug_file(self, value: IO[str] | None) -> None:
        self.conn.debug_file = value
        if self.client is not None:
            self.client.debug_file = value

    @property
    def event_sink(self) -> Callable[[Message], None] | None:
        """Replace the display: every event goes here instead (batch mode)."""
        return self.intake.event_sink

    @event_sink.setter
    def event_sink(self, value: Callable[[Message], None] | None) -> None:
        self.intake.event_sink = value

    @property
    def drop_sink(self) -> Callable[[str], None] | None:
        """Called instead of reconnecting when the connection drops (batch mode)."""
        return self.conn.drop_sink

    @drop_sink.setter
    def drop_sink(self, value: Callable[[str], None] | None) -> None:
        self.conn.drop_sink = value

    @property
    def reconnect_first(self) -> float:
        """Seconds before the first reconnect attempt (each failure doubles the wait)."""
        return self.conn.reconnect_first

    @reconnect_first.setter
    def reconnect_first(self, value: float) -> None:
        self.conn.reconnect_first = value

    @property
    def capture(self) -> Capture | None:
        """The session capture (``--record`` / ``.record``), told of every byte."""
        return self.conn.capture

    @capture.setter
    def capture(self, value: Capture | None) -> None:
        self.conn.capture = value

    def _channels_seen(self) -> list[str]:
        """Channel names in the recent event history, newest first (``.trace``)."""
        from ..trace import channel_names

        return channel_names(self.history.last(5000))

    def redact(self, text: str) -> str:
        """``text`` with the manager secret starred out (see :func:`.redact.redact`)."""
        return redact(text, self.conn.login.secret, self.username)

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

    def connect(self, login: Login | None = None) -> str | None:
        """Connect and log in (again, or as ``login``); None when it worked, else
        the error, in words."""
        login = login or self.conn.login
        error = self.conn.connect(login)
        #: The last login was refused by the server (a wrong secret, or an ACL).
        self.refused = error is not None and is_refusal(error)
        if error is not None:
            return describe(error, login)
        self.connector.remember(login)
        return None

    def connect_to(self, args: list[str]) -> Result:
        """``.connect ARGS``: a :class:`Connecting` to run, or the Problem with them."""
        return self.connector.plan(args, self._new_session)

    def _new_session(self) -> list[str]:
        self.sources.reset()
        self.guard.adopt(self.target.read_only, self.target.confirm)
        return self.banner()

    def cancel(self) -> None:
        """Stop what a shell command waits for (a ``.connect`` asking or connecting)."""
        self.connector.cancel()

    def reconnect(self) -> Result:
        """``.reconnect``: log off, then log in again to the same server."""
        self.conn.disconnect()
        error = self.connect()
        if error is not None:
            return Problem(error)
        return Info([f"connected to {self.target.address}"], style="ok")

    def _on_login(self, client: AMIClient) -> None:
        client.ping(META_TIMEOUT)  # the toolbar shows the latency from the start
        # The rest asked all at once: one wait for the server, not one each.
        asked = client.submit({"Action": "CoreSettings"})
        listing = client.submit({"Action": "ListCommands"})
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

    def disconnect(self) -> Message | None:
        """Log off (no reconnect). The Goodbye response, or None if not connected."""
        return self.conn.disconnect()

    def close(self) -> None:
        self.conn.close()
        if self.view.log is not None:
            self.view.log.close()
        debug = self.conn.debug_file
        if debug is not None:
            debug.close()
            self.conn.debug_file = None
        if self.capture is not None:
            self.capture.close()

    # -- running what the user typed ------------------------------------------------
    def start(self, item: Item) -> Pending | Result | Confirm:
        """Send an action or CLI command (a Pending), or run a meta command; an
        action the guard stops is a :class:`~.guard.Refused` or a :class:`Confirm`
        (send it with :meth:`send_confirmed` once the user said yes)."""
        if isinstance(item, MetaLine):
            return run_meta(self, item)
        if isinstance(item, CliLine):
            return self._guarded("cli", "Command", [("Command", item.command)])
        return self._start_action(item)

    def _start_action(self, item: ActionLine) -> Pending | Result | Confirm:
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
            from ..filters import FilterError, check_filter_action

            try:
                check_filter_action(fields)
            except FilterError as e:
                return Problem(f"Filter was not sent: {e}")
            kept = [(k, v) for k, v in fields if k.lower() in ("filter", "matchcriteria")]
            if kept not in self.server_filters:
                self.server_filters.append(kept)
        return self._guarded("action", name, fields, note)

    def _guarded(
        self, kind: str, name: str, fields: list[tuple[str, str]], note: str = ""
    ) -> Pending | Result | Confirm:
        verdict = self.guard.check(kind, name, fields, note)
        if verdict is None:
            return self._send(kind, name, fields, note)
        return verdict

    def send_confirmed(self, confirm: Confirm) -> Pending | Result:
        """Send what the user said yes to, exactly as typed."""
        return self._send(confirm.kind, confirm.name, confirm.fields, confirm.note)

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
        return Pending(future, kind, name, note, holds_session(name, fields), tuple(fields))

    def finish(
        self, pending: Pending, msg: Message, *, late: bool = False, notes: bool = True
    ) -> Fragments:
        """The fragments for a response, and the exit status noted; with ``notes``
        (and the pretty format) what :meth:`notes` says follows it."""
        self.renderer.width = self.width()
        if msg.is_error and self.status == ExitStatus.OK:
            self.status = ExitStatus.ACTION_ERROR
        future = pending.future
        if late and msg.raw is None:  # made up by the client (a lost connection): no answer
            return [("warn", f"no answer to {pending.name} (ActionID {future.action_id}):"
                             f" {msg.value('Message') or 'none'}\n")]
        elapsed = future.elapsed
        received = received_at(future.done_at)
        self.docs.saw_items(pending.name, msg)
        if pending.kind == "cli" and not late:
            frags = self.renderer.cli(msg, elapsed, received)
        else:
            frags = self.renderer.response(
                msg, None if late else elapsed, late=late, name=pending.name, received=received
            )
        if notes and self.renderer.format == "pretty":
            frags += self.notes(pending, msg)
        return frags

    def notes(self, pending: Pending, msg: Message) -> Fragments:
        """What the shell adds to a response: a hint after an error, a warning."""
        frags: Fragments = []
        if msg.is_error:
            frags += _hint(pending, msg, self.catalog)
        if pending.note:
            frags.append(("dim", pending.note + "\n"))
        warning = events_turned_off(pending.name, pending.fields, msg)
        if warning is not None:
            self.mask = "off"
            frags.append(("warn", warning + "\n"))
        return frags

    def render(self, result: Info | Problem | TableResult | ClearScreen | Output) -> Fragments:
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
