"""Meta commands (``.help``, ``.events`` ...): small handlers that return data.

Each handler takes the :class:`~amishell.shell.core.Shell` and the parsed
:class:`~amishell.shell.lineparse.MetaLine` and returns an ``Info``, a
``Problem``, a ``TableResult`` or ``Quit``; none of them prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..catalog import EVENT_CLASSES, KINDS
from .lineparse import CLI_PREFIX, META_PREFIX, MetaLine
from .render import FORMATS, Info, Problem, TableResult

if TYPE_CHECKING:
    from .core import Result, Shell

__all__ = ["COMMANDS", "run_meta", "summaries"]

Handler = Callable[["Shell", MetaLine], "Result"]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    handler: Handler
    details: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}
ALIASES: Final = {"exit": "quit", "q": "quit", "h": "help", "?": "help"}


def command(
    name: str, usage: str, summary: str, *details: str
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, summary, fn, details)
        return fn

    return register


def summaries() -> dict[str, str]:
    return {name: cmd.summary for name, cmd in COMMANDS.items()}


def run_meta(shell: Shell, line: MetaLine) -> Result:
    name = ALIASES.get(line.name, line.name)
    cmd = COMMANDS.get(name)
    if cmd is None:
        close = [n for n in COMMANDS if n.startswith(name[:2])]
        hint = f" (did you mean {', '.join(META_PREFIX + n for n in close)}?)" if close else ""
        return Problem(f"unknown shell command {META_PREFIX}{line.name}{hint}; type .help")
    return cmd.handler(shell, line)


# Help

HELP_INTRO: Final = [
    "Type an action, an Asterisk CLI command or a shell command:",
    "  Originate Channel=Local/100@demo Exten=200 Context=demo Priority=1 Variable=A=1",
    "                        an action on one line: Key=Value pairs, \"quotes\" around spaces,",
    "                        keys may repeat, action names in any case",
    "  Action: Ping          an action as a block of Key: Value lines; an empty line sends it",
    "                        (a pasted raw AMI block works too)",
    f"  {CLI_PREFIX}core show channels   a CLI command, completed by the server as in asterisk -r",
    f"  {META_PREFIX}help Originate       a shell command; this one lists an action's parameters",
    f"(No action name or CLI word starts with '{META_PREFIX}' or '{CLI_PREFIX}'; '!' is a CLI"
    " word.)",
    "",
    "Shell commands:",
]
HELP_KEYS: Final = [
    "",
    "Keys: Tab completes; Alt-Enter adds a line; Up, Down and Ctrl-R search history;",
    "Ctrl-C clears the line or stops waiting (a late response is still shown);",
    "Ctrl-D or .quit logs off.",
]


@command("help", ".help [ACTION|.command]", "this help, an action's parameters, a command's use")
def _help(shell: Shell, line: MetaLine) -> Result:
    if not line.args:
        width = max(len(c.usage) for c in COMMANDS.values()) + 2
        lines = list(HELP_INTRO)
        lines += [f"  {c.usage:<{width}}{c.summary}" for c in COMMANDS.values()]
        return Info(lines + HELP_KEYS)
    arg = line.args[0]
    word = arg.lstrip(META_PREFIX).lower()
    word = ALIASES.get(word, word)
    is_action = shell.catalog.get(arg) is not None or shell.offline.get(arg) is not None
    if word in COMMANDS and (arg.startswith(META_PREFIX) or not is_action):
        cmd = COMMANDS[word]
        return Info([f"{cmd.usage}  {cmd.summary}", *cmd.details])
    if arg.startswith(META_PREFIX):
        return Problem(f"no shell command {arg}; .help lists them")
    return _help_action(shell, arg)


def _help_action(shell: Shell, name: str) -> Result:
    spec = shell.catalog.get(name) or shell.offline.get(name)
    params = shell.sources.params(name)
    if spec is None and not params:
        return Problem(f"no action called {name!r}; Tab after typing a few letters lists them")
    canonical = spec.name if spec is not None else name
    lines = [canonical + (f": {spec.synopsis}" if spec is not None and spec.synopsis else "")]
    if spec is not None:
        lines.append(f"privileges: {','.join(spec.privileges) or 'none'}")
        if shell.catalog_live and shell.catalog.get(name) is None:
            lines.append("(not offered to this user by the connected server)")
    rows = [
        [p.name + ("*" if p.required else ""), "required" if p.required else "optional",
         KINDS.get(p.kind, p.kind)]
        for p in params
    ]
    example = " ".join([canonical, *(f"{p.name}=..." for p in params if p.required)])
    if not rows:
        return Info([*lines, "no parameters", f"example: {example}"])
    return TableResult(["Parameter", "", "Value"], rows, lines, f"example: {example}")


# Events


@command(
    "events",
    ".events [on|off|pause|resume]",
    "show events above the prompt, or not; counters",
    "  on, off        show events, or not (they are still counted and logged)",
    "  pause, resume  hold the display; resuming says how many were not shown",
    "  line, full     one line per event, or every header",
    "  mask CLASSES   the server's event mask (Events action): on, off, call,system...;",
    "                 re-applied on reconnect",
)
def _events(shell: Shell, line: MetaLine) -> Result:
    view = shell.view
    if not line.args or line.args[0] == "stats":
        lines = view.describe()
        client = shell.client
        if client is not None and client.dropped_events:
            lines.append(
                f"dropped before display (client queue bound): {client.dropped_events:,}"
            )
        return Info(lines + [f"server event mask: {shell.mask or 'default (all)'}"])
    word = line.args[0].lower()
    if word in ("on", "off", "pause"):
        view.state = word
    elif word == "resume":
        view.state = "on"
    elif word in ("line", "full"):
        view.mode = word
    elif word == "mask":
        return _mask(shell, line.args[1:])
    else:
        return Problem(f"unknown .events word {word!r}: on, off, pause, resume, line, full, mask")
    state = "paused" if view.state == "pause" else view.state
    return Info([f"events: {state}, {view.mode} format"], style="dim")


def _mask(shell: Shell, args: list[str]) -> Result:
    if len(args) != 1:
        return Problem(f"give one mask: on, off or classes such as call,system ({_classes()})")
    mask = args[0]
    bad = [c for c in mask.split(",") if c and c not in EVENT_CLASSES and c not in ("on", "off")]
    if bad:
        return Problem(f"unknown event class {bad[0]!r}; classes: {_classes()}")
    client = shell.client
    if client is None or not client.connected:
        shell.mask = mask
        return Info([f"event mask {mask} will be set when connected"], style="dim")
    reply = client.submit({"Action": "Events", "EventMask": mask}).result(10.0)
    if reply.is_error:
        return Problem(f"the server refused the mask: {reply.value('Message')}")
    shell.mask = mask
    return Info([f"server event mask: {mask} (re-applied on reconnect)"], style="dim")


def _classes() -> str:
    return ",".join(EVENT_CLASSES)


@command(
    "filter",
    ".filter [SPEC|off]",
    "show only matching events (local to the shell)",
    "  Hangup,Newchannel  these names      Queue*          names by glob",
    "  Channel=PJSIP/*    a header matches  !VarSet         all but these",
    "  Names are alternatives; header terms on different keys must all match.",
)
def _filter(shell: Shell, line: MetaLine) -> Result:
    from .events import EventFilter

    view = shell.view
    if not line.rest:
        return Info([f"filter: {view.filter.spec if view.filter else 'none (all events)'}"])
    if line.rest.strip().lower() in ("off", "none", "all"):
        view.filter = None
        return Info(["filter off: all events shown"], style="dim")
    try:
        view.filter = EventFilter(line.rest)
    except ValueError as e:
        return Problem(str(e))
    return Info([f"showing events matching {view.filter.spec}"], style="dim")


@command(
    "serverfilter",
    ".serverfilter [REGEX|list|clear]",
    "add a Filter on the server (re-added on reconnect)",
    "  The server then sends only events matching REGEX (!REGEX excludes). AMI cannot",
    "  list or remove filters, so the shell remembers them; clear then .reconnect.",
)
def _server_filter(shell: Shell, line: MetaLine) -> Result:
    regex = line.rest.strip()
    if not regex or regex == "list":
        if not shell.server_filters:
            return Info(["no server filters added in this session"])
        return Info([f"  {f}" for f in shell.server_filters])
    if regex == "clear":
        shell.server_filters.clear()
        return Info(["server filters forgotten; AMI cannot remove them from a session:"
                     " .reconnect starts one without them"], style="dim")
    client = shell.client
    if client is None or not client.connected:
        return Problem("not connected: the filter was not added")
    reply = client.submit({"Action": "Filter", "Operation": "Add", "Filter": regex}).result(10.0)
    if reply.is_error:
        return Problem(f"the server refused the filter: {reply.value('Message')}")
    if regex not in shell.server_filters:
        shell.server_filters.append(regex)
    return Info([f"server filter added: {regex} (re-added on reconnect)"], style="dim")


@command("log", ".log [FILE|off]", "every event to FILE as JSON Lines (mode 0600)")
def _log(shell: Shell, line: MetaLine) -> Result:
    from .events import EventLog

    view = shell.view
    if not line.rest:
        return Info([f"logging to {view.log.path}" if view.log else "not logging events"])
    old = view.log
    if line.rest.strip() == "off":
        view.log = None
        if old is not None:
            old.close()
        return Info(["event log closed"], style="dim")
    path = os.path.expanduser(line.rest.strip())
    try:
        view.log = EventLog(path, redact=shell.redact)
    except OSError as e:
        return Problem(f"cannot open {path}: {e.strerror}")
    if old is not None:
        old.close()
    return Info([f"logging every event to {path} (JSON Lines)"], style="dim")


# Output


@command("format", ".format [pretty|raw|json]", "how responses are shown")
def _format(shell: Shell, line: MetaLine) -> Result:
    if not line.args:
        return Info([f"format: {shell.renderer.format}"])
    fmt = line.args[0].lower()
    if fmt not in FORMATS:
        return Problem(f"unknown format {fmt!r}: pretty, raw or json")
    shell.renderer.format = fmt
    return Info([f"format: {fmt}"], style="dim")


@command("pager", ".pager [auto|never]", "page output longer than the screen")
def _pager(shell: Shell, line: MetaLine) -> Result:
    if not line.args:
        return Info([f"pager: {shell.pager}"])
    word = line.args[0].lower()
    if word not in ("auto", "never"):
        return Problem("pager is auto or never")
    shell.pager = word
    return Info([f"pager: {word}"], style="dim")


@command(
    "debug",
    ".debug [FILE|off]",
    "protocol transcript to FILE (secrets masked)",
    "  Every line sent (>>) and received (<<) from now on, appended to FILE (mode 0600);",
    "  Secret and Key values are starred out.",
)
def _debug(shell: Shell, line: MetaLine) -> Result:
    from .core import private_file

    if not line.rest:
        return Info([f"transcript: {shell.debug_path or 'off'}"])
    old = shell.debug_file
    word = line.rest.strip()
    if word == "off":
        shell.debug_file, shell.debug_path = None, None
        if shell.client is not None:
            shell.client.debug_file = None
        if old is not None:
            old.close()
        return Info(["transcript off"], style="dim")
    if word == "on":
        return Problem("give the transcript a file: .debug FILE (e.g. .debug ~/ami.txt)")
    path = os.path.expanduser(word)
    try:
        shell.debug_file = private_file(path, shell.redact)
    except OSError as e:
        return Problem(f"cannot open {path}: {e.strerror}")
    shell.debug_path = path
    if shell.client is not None:
        shell.client.debug_file = shell.debug_file
    if old is not None:
        old.close()
    return Info([f"transcript to {path} (secrets masked)"], style="dim")


# Connection


@command("connect", ".connect [HOST[:PORT]|PROFILE]", "connect to a server (-u USER)")
def _connect(shell: Shell, line: MetaLine) -> Result:
    args = list(line.args)
    if args:
        from .config import ConfigError, load_config, resolve_secret, resolve_username

        user = None
        if "-u" in args:
            i = args.index("-u")
            if i + 1 >= len(args):
                return Problem("-u needs a user name")
            user = args[i + 1]
            del args[i : i + 2]
        try:
            target = load_config(shell.ctx.env).target(args[0] if args else None)
            if user:
                target.username = user
            target.username = resolve_username(target, shell.ctx)
            secret = resolve_secret(target, shell.ctx)
        except ConfigError as e:
            return Problem(str(e))
        before = (shell.target, shell.username, shell._secret)
        shell.target, shell.username, shell._secret = target, target.username, secret
        error = shell.connect()
        if error is not None:
            shell.target, shell.username, shell._secret = before
            still = (f"; still connected to {shell.target.address}" if shell.connected
                     else "")
            return Problem(error + still)
        shell.sources.reset()
        return Info(shell.banner())
    error = shell.connect()
    if error is not None:
        return Problem(error)
    return Info(shell.banner())


@command("reconnect", ".reconnect", "log in again to the same server")
def _reconnect(shell: Shell, line: MetaLine) -> Result:
    shell.disconnect()
    error = shell.connect()
    if error is not None:
        return Problem(error)
    return Info([f"connected to {shell.target.address}"], style="ok")


@command("disconnect", ".disconnect", "log off (the shell stays)")
def _disconnect(shell: Shell, line: MetaLine) -> Result:
    reply = shell.disconnect()
    if reply is None:
        return Info(["not connected"], style="dim")
    return Info([f"logged off: {reply.value('Message') or reply.name}"], style="dim")


@command("status", ".status", "connection, server and counters")
def _status(shell: Shell, line: MetaLine) -> Result:
    client = shell.client
    lines = [f"{shell.state}: {shell.username}@{shell.target.address}"
             + (" (TLS)" if shell.target.tls else "")]
    if shell.info:
        lines.append(
            f"Asterisk {shell.info.get('AsteriskVersion', '?')}, AMI"
            f" {shell.info.get('AMIversion', '?')}, system {shell.info.get('SystemName', '?')}"
        )
    if client is not None:
        latency = client.last_latency
        lines.append(
            "keep-alive: " + (f"every {shell.target.keepalive:g}s" if shell.target.keepalive
                              else "off")
            + (f", last ping {latency * 1000:.1f} ms" if latency is not None else "")
        )
        if client.dropped_events:
            lines.append(f"events dropped by the client (memory bound): {client.dropped_events:,}")
    actions = "live" if shell.catalog_live else "offline catalogue"
    lines.append(f"{len(shell.catalog)} actions ({actions})")
    return Info(lines + shell.view.describe())


@command("history", ".history [N]", "the last N lines typed (secrets masked)")
def _history(shell: Shell, line: MetaLine) -> Result:
    count = 20
    if line.args:
        if not line.args[0].isdigit():
            return Problem(".history takes a number")
        count = int(line.args[0])
    path = shell.history_path
    if path is None or not os.path.exists(path):
        return Info(["no history yet"], style="dim")
    from .history import MaskedFileHistory

    entries = list(MaskedFileHistory(path).load_history_strings())[:count]
    lines = []
    for n, entry in enumerate(reversed(entries), 1):
        first, *more = entry.split("\n")
        lines.append(f"{n:>4}  {first}")
        lines += [f"      {m}" for m in more]
    return Info(lines)


@command("quit", ".quit", "log off and leave (also Ctrl-D)")
def _quit(shell: Shell, line: MetaLine) -> Result:
    from .core import Quit

    return Quit()


from . import tracecmd  # noqa: E402,F401  (registers .trace and .record)
