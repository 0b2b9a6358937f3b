"""Meta commands (``.help``, ``.events`` ...): small handlers that return data.

Each handler takes the shell (as :class:`~amishell.shell.base.ShellAPI`) and the parsed
:class:`~amishell.shell.lineparse.MetaLine` and returns an ``Info``, a
``Problem``, a ``TableResult`` or ``Quit``; none of them prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..catalog import EVENT_CLASSES, KINDS
from ..safety import refusal
from .base import Quit, Result
from .base import ShellAPI as Shell
from .context import private_file
from .examples import example_line, unit
from .lineparse import CLI_PREFIX, META_PREFIX, MetaLine
from .options import CONNECT_USAGE
from .render import FORMATS, ClearScreen, Info, Problem, TableResult
from .tables import LAYOUTS, kind_name, layout_for

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
ALIASES: Final = {"exit": "quit", "q": "quit", "h": "help", "?": "help", "cls": "clear"}


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
    " word. exit, quit and clear alone on a line are the shell's own.)",
    "",
    "Shell commands:",
]
HELP_KEYS: Final = [
    "",
    "Keys: Tab completes; Alt-Enter adds a line; Up, Down and Ctrl-R search history;",
    "Ctrl-C clears the line or stops waiting (a late response is still shown);",
    "Ctrl-D or .quit logs off.",
]


@command(
    "help",
    ".help [ACTION|event NAME|.command]",
    "this help, an action's parameters, an event, a command's use",
)
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
    if word == "event" and not is_action:
        from .eventhelp import help_event

        return help_event(shell, line.args[1:])
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
    if refusal({"Action": canonical}) is not None and canonical.lower() != "command":
        lines.append("may change the PBX: refused when read-only, asked about with confirm on")
    rows = [
        [p.name + ("*" if p.required else ""), "required" if p.required else "optional",
         KINDS.get(p.kind, p.kind) + (f" ({u})" if (u := unit(canonical, p.name)) else "")]
        for p in params
    ]
    from .eventhelp import item_events_line

    lines += item_events_line(shell, canonical)
    example = example_line(canonical, params, _live_examples(shell))
    if not rows:
        return Info([*lines, "no parameters", f"example: {example}"])
    return TableResult(["Parameter", "", "Value"], rows, lines, f"example: {example}")


def _live_examples(shell: Shell) -> Callable[[str], list[str]]:
    """Values for examples from the server, only when already known (never a wait)."""
    def live(kind: str) -> list[str]:
        return shell.sources.values(kind) if shell.connected else []

    return live


# Events


@command(
    "events",
    ".events [on|off|pause|resume|last N]",
    "show events above the prompt, or not; counters",
    "  on, off        show events, or not (they are still counted, kept and logged)",
    "  pause, resume  hold the display; resuming shows what was held back",
    "  last N [FILTER]  the last N events kept (FILTER as in .filter), e.g. last 50 Hangup",
    "  per_tick N     show at most N events a tick (ten ticks a second); the rest: last N",
    "  line, full     one line per event, or every header",
    "  mask CLASSES   the server's event mask (Events action): on, off, call,system...;",
    "                 re-applied on reconnect",
)
def _events(shell: Shell, line: MetaLine) -> Result:
    from . import lookback

    view = shell.view
    if not line.args or line.args[0] == "stats":
        lines = view.describe()
        client = shell.client
        if client is not None and client.dropped_events:
            lines.append(f"dropped before display (client queue bound): {client.dropped_events:,}")
        data = {**view.counters(), "server_mask": shell.mask,
                "history": {"kept": len(shell.history), "dropped": shell.history.dropped}}
        lines.append(f"server event mask: {shell.mask or 'default (all)'}")
        return Info(lines + lookback.history_lines(shell), data=data)
    word = line.args[0].lower()
    if word in ("resume", "on") and view.state == "pause":
        return lookback.resume(shell)
    if word == "last":
        return lookback.events_last(shell, line.args[1:])
    if word == "pause":
        lookback.pause(shell)
    elif word in ("on", "off"):
        view.state = word
    elif word == "resume":
        view.state = "on"
    elif word == "per_tick":
        return lookback.per_tick(shell, line.args[1:])
    elif word in ("line", "full"):
        view.mode = word
    elif word == "mask":
        return _mask(shell, line.args[1:])
    else:
        return Problem(f"unknown .events word {word!r}: on, off, pause, resume, last, per_tick,"
                       " line, full, mask")
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


@command(
    "columns",
    ".columns [ITEM [COLUMN ...|default]]",
    "the columns of event list tables, per item type",
    "  .columns                          every item type with its columns",
    "  .columns QueueMember              the columns of one item type",
    "  .columns QueueMember Name Status Paused CallsTaken   choose them, in order",
    "  .columns QueueMember default      back to the shell's choice",
    "  Headers of any list item can be named; a table shows those that fit the width.",
)
def _columns(shell: Shell, line: MetaLine) -> Result:
    chosen = shell.renderer.columns
    if not line.args:
        kinds = sorted({*(k.lower() for k in LAYOUTS), *chosen})
        rows = [
            [kind_name(k), " ".join(_current(shell, k)), "set" if k in chosen else ""]
            for k in kinds
        ]
        return TableResult(["Item", "Columns", ""], rows)
    kind = line.args[0]
    key = kind.lower()
    names = [c for arg in line.args[1:] for c in arg.split(",") if c]
    if not names:
        columns = _current(shell, key)
        if not columns:
            return Info([f"{kind}: every header, in the server's order (no layout of its own)"])
        note = "" if key in chosen else " (default)"
        return Info([f"{kind_name(key)}: {' '.join(columns)}{note}"])
    if len(names) == 1 and names[0].lower() == "default":
        chosen.pop(key, None)
        return Info([f"{kind_name(key)}: {' '.join(_current(shell, key)) or 'every header'}"],
                    style="dim")
    bad = [c for c in names if not c.replace("-", "").replace("_", "").isalnum()]
    if bad:
        return Problem(f"{bad[0]!r} is not a header name (letters, digits, - and _)")
    chosen[key] = names
    return Info([f"{kind_name(key)}: {' '.join(names)}"], style="dim")


def _current(shell: Shell, key: str) -> list[str]:
    layout = layout_for(key, shell.renderer.columns)
    return list(layout.columns) if layout is not None else []


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


@command(
    "connect",
    CONNECT_USAGE,
    "connect to a server (the session is replaced once the new one works)",
    "  -u USER          the manager user (default: this session's, or the profile's)",
    "  -p PORT          the port, when HOST has none (default 5038, 5039 with TLS)",
    "  --tls            TLS; --tls-ca FILE verifies the server against that CA,",
    "                   --tls-insecure verifies nothing",
    "  --md5            MD5 challenge login",
    "  PROFILE is read from the config file the shell started with. A secret is",
    "  reused only for the same user on the same host; otherwise it is asked for.",
    "  Without words: log in again to the same server.",
)
def _connect(shell: Shell, line: MetaLine) -> Result:
    return shell.connect_to(list(line.args))


@command("reconnect", ".reconnect", "log in again to the same server")
def _reconnect(shell: Shell, line: MetaLine) -> Result:
    return shell.reconnect()


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
        system = shell.info.get("SystemName")
        lines.append(
            f"Asterisk {shell.info.get('AsteriskVersion', '?')}, AMI"
            f" {shell.info.get('AMIversion', '?')}" + (f", system {system}" if system else "")
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
    latency = client.last_latency if client is not None else None
    data = {"state": shell.state, "username": shell.username, "address": shell.target.address,
            "tls": shell.target.tls, "server": dict(shell.info), "latency_s": latency,
            "actions": len(shell.catalog), "catalogue": actions, "events": shell.view.counters()}
    return Info(lines + shell.view.describe(), data=data)


@command("history", ".history [N]", "the last N lines typed (secrets masked)")
def _history(shell: Shell, line: MetaLine) -> Result:
    count = 20
    if line.args:
        if not line.args[0].isdigit():
            return Problem(".history takes a number")
        count = int(line.args[0])
    # The lines Up recalls: the prompt's own history (in memory with --no-history).
    typed = shell.typed
    entries = list(typed.load_history_strings())[:count] if typed is not None else []
    if not entries:
        return Info(["no history yet"], style="dim")
    lines = []
    for n, entry in enumerate(reversed(entries), 1):
        first, *more = entry.split("\n")
        lines.append(f"{n:>4}  {first}")
        lines += [f"      {m}" for m in more]
    return Info(lines)


@command(
    "top",
    ".top [channels|calls|bridges|queues]",
    "a live full-screen view of what the PBX is doing",
    "  Kept current from events, resynced from CoreShowChannels, BridgeList and",
    "  QueueStatus every top_resync seconds (a setting, default 5) and after a reconnect.",
    "  Keys: 1-4/Tab view, s sort, / filter, Up/Down move, Enter the row's last event,",
    "  v its variables, t trace its call, h hang up (asks y/N), r redirect, q or Esc back.",
    "  Events go on being read, counted and logged while the view is open.",
)
def _top(shell: Shell, line: MetaLine) -> Result:
    # The interactive shell runs the view itself; a script cannot show one.
    return Problem(".top needs an interactive terminal")


@command(
    "watch",
    ".watch [--count N] SECONDS LINE",
    "run an action or /CLI command every SECONDS, marking what changed",
    "  .watch 2 QueueStatus",
    "  .watch 5 /core show channels",
    "  .watch --count 3 1 CoreStatus      three runs, one second apart",
    "  Lines that differ from the previous run are marked; Ctrl-C stops.",
)
def _watch(shell: Shell, line: MetaLine) -> Result:
    # The interactive shell runs it; a script has .repeat.
    return Problem(".watch needs an interactive terminal; a script can use .repeat")


@command(
    "repeat",
    ".repeat N LINE",
    "run LINE N times (ranges such as {900..949} work in any line)",
    "  .repeat 50 Ping                       fifty Pings, one after the other",
    "  Originate Channel=Local/{900..949}@demo Application=Wait Data=5 Async=true",
    "                                        fifty Originates, 900 to 949",
    "  A range is digits only ({007..010} keeps the zeros); \\{1..2} is a literal brace;",
    "  ${VAR} is left alone. At most 10,000 lines from one line.",
)
def _repeat(shell: Shell, line: MetaLine) -> Result:
    # Reached only when the line could not be expanded (parse() expands it).
    return Problem(".repeat takes a count and a line: .repeat 10 Ping")


@command("clear", ".clear", "clear the screen (also: clear)")
def _clear(shell: Shell, line: MetaLine) -> Result:
    return ClearScreen()


@command("quit", ".quit", "log off and leave (also Ctrl-D, exit, quit)")
def _quit(shell: Shell, line: MetaLine) -> Result:
    return Quit()


# Commands defined in modules of their own register themselves on import.
from . import serverfilters, tracecmd, why  # noqa: E402, F401
