"""Meta commands (``.help``, ``.events`` ...): small handlers that return data.

Each handler takes the shell (as :class:`~amishell.shell.base.ShellAPI`) and the parsed
:class:`~amishell.shell.lineparse.MetaLine` and returns an ``Info``, a
``Problem``, a ``TableResult`` or ``Quit``; none of them prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..catalog import KINDS
from ..safety import refusal
from .base import Quit, Result
from .base import ShellAPI as Shell
from .examples import example_line, unit
from .lineparse import CLI_PREFIX, META_PREFIX, MetaLine
from .render import ClearScreen, Info, Problem, TableResult

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
#: The widest usage that shares its line with the summary in ``.help``.
USAGE_COLUMN: Final = 40
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
        # A usage too long for the column (.connect's) takes a line of its own.
        width = max(len(c.usage) for c in COMMANDS.values() if len(c.usage) <= USAGE_COLUMN) + 2
        lines = list(HELP_INTRO)
        for c in COMMANDS.values():
            if len(c.usage) <= USAGE_COLUMN:
                lines.append(f"  {c.usage:<{width}}{c.summary}")
            else:
                lines += [f"  {c.usage}", f"  {'':<{width}}{c.summary}"]
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


# Commands of the event display and of the session: registered on import, in
# this order in .help.
from . import displaycmds, sessioncmds  # noqa: E402, F401


@command(
    "top",
    ".top [channels|calls|bridges|queues|endpoints]",
    "a live full-screen view of what the PBX is doing",
    "  Kept current from events, resynced from CoreShowChannels, BridgeList, QueueStatus",
    "  and PJSIPShowEndpoints (where the server has it) every top_resync seconds (a",
    "  setting, default 5) and after a reconnect.",
    "  Keys: 1-5/Tab view, s sort, / filter, Up/Down move, Enter the row's last event,",
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
