"""Shell commands of the event display: .events, .filter, .log, .format, .columns, .pager."""

from __future__ import annotations

import os

from ..catalog import EVENT_CLASSES
from .base import Result
from .base import ShellAPI as Shell
from .commands import command
from .lineparse import MetaLine
from .render import FORMATS, Info, Problem, TableResult
from .tables import LAYOUTS, kind_name, layout_for


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
