"""The simulated server's CLI, reached through the Command action.

:func:`run` answers a command line with ``(ok, output lines)``. A few commands
really run (``core show version|uptime|channels|calls``, ``dialplan show``,
``manager show command|commands|connected``, ``manager show events|event|users|user|settings``
(:mod:`.cli_manager`), ``database ...``, ``queue show``,
``channel request hangup``); ``_command matchesarray "LINE" "WORD"`` completes
over the word tree of every command the recorded server had
(:mod:`.cli_words`), the way ``asterisk -r`` completes; anything else is
answered as the real server answers an unknown command.
"""

from __future__ import annotations

import os
import platform
import shlex
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Final

from . import cli_manager, dialplan
from .channels import STATE_DESC
from .cli_words import COMMANDS

if TYPE_CHECKING:
    from .session import Session

__all__ = ["complete", "run"]

Result = tuple[bool, list[str]]
_RSVD: Final = "[]{}|*%"


def _tokens(syntax: str) -> list[tuple[str, ...]]:
    """``core show channels [concise|verbose]`` -> words, each a tuple of choices."""
    return [tuple(w.strip("[]{}").split("|")) if w[0] in "[{" else (w,) for w in syntax.split()]


_TABLE: Final = [(syntax, _tokens(syntax)) for syntax in COMMANDS]


def _parse(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


# ---------------------------------------------------------------------------
# Completion


def _dynamic(words: list[str], s: Session) -> list[str] | None:
    """Values a command takes after its fixed words (channel names, actions...)."""
    pbx = s.server.pbx
    key = " ".join(w.lower() for w in words)
    if key == "manager show command":
        return s.server.catalog.names()
    if key == "manager show event":
        return cli_manager.event_names()
    if key == "manager show user":
        return cli_manager.user_names(s)
    if key in ("core show channel", "channel request hangup", "channel redirect"):
        return [*pbx.channels, *(["all"] if key == "channel request hangup" else [])]
    if key == "dialplan show":
        return list(dialplan.CONTEXTS)
    if key == "queue show":
        return list(pbx.queues)
    return None


def complete(s: Session, line: str, word: str) -> list[str]:
    """The server's completions: the common prefix first, then each match."""
    args = _parse(line)
    index = len(args) - 1 if word and args else len(args)
    done = args[:index]
    found: set[str] = set()
    for syntax, tokens in _TABLE:
        if syntax.startswith("_") or len(tokens) < len(done):
            continue
        if not all(w.lower() in (c.lower() for c in t) for w, t in zip(done, tokens, strict=False)):
            continue
        if len(tokens) > index:
            found.update(c for c in tokens[index] if c.lower().startswith(word.lower()))
        elif len(tokens) == index:
            values = _dynamic(done, s)
            if values:
                found.update(v for v in values if v.lower().startswith(word.lower()))
    if not found:
        return []
    matches = sorted(found)
    return [os.path.commonprefix(matches), *matches]


# ---------------------------------------------------------------------------
# Unknown commands


def _word_match(word: str, cli_word: str) -> bool:
    if not word or not cli_word:
        return False
    if cli_word[0] not in _RSVD:
        return word.lower() == cli_word.lower()
    return word.lower() in (c.lower() for c in cli_word.strip("[]{}").split("|"))


def _find_cli(args: list[str]) -> bool:
    """Whether some command is a near match (the server's ``find_cli``, loose mode)."""
    for syntax, _ in _TABLE:
        dst = syntax.split()
        i = 0
        while i < len(args) and i < len(dst) and _word_match(args[i], dst[i]):
            i += 1
        if i >= len(dst) or (dst[i][0] == "[" and i + 1 == len(dst)):
            if i >= len(args):
                return True
            continue
        if i >= len(args):
            continue
        if i + 1 == len(args) and i + 1 == len(dst):
            return True
    return False


def _find_best(args: list[str]) -> str:
    best: list[str] = []
    for word in args:
        best.append(word)
        if not _find_cli(best):
            break
    return " ".join(best)


def _no_such(line: str, args: list[str]) -> Result:
    shown = " ".join(args)
    text = f"No such command '{shown}' (type 'core show help {_find_best(args)}' for other"
    return False, [f"{text} possible commands)"]


# ---------------------------------------------------------------------------
# Commands that run


def _ess(n: int) -> str:
    return "" if n == 1 else "s"


def _uptime_text(seconds: int) -> str:
    parts = []
    for size, unit in (
        (31536000, "year"),
        (604800, "week"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds > size:
            n, seconds = divmod(seconds, size)
            parts.append(f"{n} {unit}{_ess(n)}")
    if seconds > 0 or not parts:
        parts.append(f"{seconds} second{_ess(seconds)}")
    return ", ".join(parts)


def c_version(s: Session, args: list[str]) -> Result:
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(s.server.pbx.started))
    machine = platform.machine() or "x86_64"
    version = s.server.asterisk_version
    text = f"Asterisk {version} built by amishell @ simulator on a {machine} running Linux"
    return True, [f"{text} on {built}"]


def c_uptime(s: Session, args: list[str]) -> Result:
    pbx = s.server.pbx
    now = time.time()
    up, reload = int(now - pbx.started), int(now - pbx.last_reload)
    if args and args[0].lower() == "seconds":
        return True, [f"System uptime: {up}", f"Last reload: {reload}"]
    if args:
        return _usage("core show uptime [seconds]")
    return True, [f"System uptime: {_uptime_text(up)}", f"Last reload: {_uptime_text(reload)}"]


def c_channels(s: Session, args: list[str]) -> Result:
    pbx = s.server.pbx
    mode = args[0].lower() if args else ""
    if len(args) > 1 or mode not in ("", "concise", "verbose", "count"):
        return _usage("core show channels [concise|verbose|count]")
    out: list[str] = []
    chans = list(pbx.channels.values())
    if mode == "":
        out.append(
            f"{'Channel':<64.64} {'Location':<32.32} {'State':<7.7} {'Application(Data)':<30.30}"
        )
    elif mode == "verbose":
        out.append(
            f"{'Channel':<80.80} {'Context':<24.24} {'Extension':<24.24} {'Priority':<4.4} "
            f"{'State':<7.7} {'Application':<12.12} {'Data':<25.25} {'CallerID':<15.15} "
            f"{'Duration':>8.8} {'Accountcode':<11.11} {'PeerAccount':<11.11} {'BridgeID':<20.20}"
        )
    for ch in chans:
        state = STATE_DESC[ch.state]
        bridge = ch.bridge.uniqueid if ch.bridge else ""
        if mode == "concise":
            out.append(
                f"{ch.name}!{ch.context}!{ch.exten}!{ch.priority}!{state}!{ch.appl or '(None)'}!"
                f"{ch.data}!{ch.caller[0]}!{ch.accountcode}!!3!{ch.uptime}!{bridge}!{ch.uniqueid}"
            )
        elif mode == "verbose":
            out.append(
                f"{ch.name:<80.80} {ch.context:<24.24} {ch.exten:<24.24} {ch.priority:>4} "
                f"{state:<7.7} {ch.appl or '(None)':<12.12} {ch.data or '(Empty)':<25.25} "
                f"{ch.caller[0]:<15.15} {ch.duration_text():>8.8} {ch.accountcode:<11.11} "
                f"{'':<11.11} {bridge:<20.20}"
            )
        elif mode == "":
            loc = f"{ch.exten}@{ch.context}:{ch.priority}" if ch.context and ch.exten else "(None)"
            app = f"{ch.appl}({ch.data})"[:39] if ch.appl else "(None)"
            out.append(f"{ch.name:<64.64} {loc[:39]:<32.32} {state:<7.7} {app:<30.30}")
    if mode != "concise":
        out += _counts(s)
    return True, out


def _counts(s: Session) -> list[str]:
    pbx = s.server.pbx
    n, calls, done = len(pbx.channels), pbx.active_calls, pbx.processed_calls
    return [
        f"{n} active channel{_ess(n)}",
        f"{calls} active call{_ess(calls)}",
        f"{done} call{_ess(done)} processed",
    ]


def c_calls(s: Session, args: list[str]) -> Result:
    lines = _counts(s)[1:]
    if args and args[0].lower() == "uptime":
        up = int(time.time() - s.server.pbx.started)
        lines.append(f"System uptime: {_uptime_text(up)}")
    return True, lines


def c_dialplan(s: Session, args: list[str]) -> Result:
    lines = dialplan.render_show(args[0] if args else "")
    if lines is None:
        what = args[0] if args else ""
        if "@" in what:
            exten, _, context = what.partition("@")
            return False, [f"There is no existence of {exten}@{context} extension"]
        return False, [f"There is no existence of '{what}' context"]
    return True, lines


def c_manager_command(s: Session, args: list[str]) -> Result:
    from ..catalog import render_manager_show

    if not args:
        return _usage("manager show command <actionname> [<actionname> [<actionname> [...]]]")
    out: list[str] = []
    for name in args:
        spec = s.server.catalog.get(name)
        if spec is not None:
            out += render_manager_show(spec)
    return True, out or [""]


def c_manager_commands(s: Session, args: list[str]) -> Result:
    catalog = s.server.catalog
    out = [f"  {'Action':<30.30}  {'Synopsis':<30.30}", f"  {'------':<30.30}  {'--------':<30.30}"]
    out += [f"  {n:<30.30}  {catalog.actions[n].synopsis}" for n in catalog.names()]
    return True, out


def c_manager_connected(s: Session, args: list[str]) -> Result:
    fmt = "  {:<15.15}  {:<55.55}  {:<10.10}  {:<10.10}  {:<8.8}  {:<8.8}  {:<10.10}  {:<10.10}"
    out = [
        fmt.format(
            "Username",
            "IP Address",
            "Start",
            "Elapsed",
            "FileDes",
            "HttpCnt",
            "ReadPerms",
            "WritePerms",
        )
    ]
    now = time.time()
    sessions = [x for x in s.server.sessions() if x.authenticated]
    for x in sessions:
        out.append(
            fmt.format(
                x.username,
                x.remote[0],
                str(int(x.started)),
                str(int(now - x.started)),
                "-1",
                "0",
                str(x.read_mask),
                str(x.write_mask),
            )
        )
    out.append(f"{len(sessions)} users connected.")
    return True, out


def c_database(s: Session, args: list[str]) -> Result:
    db = s.server.pbx.db
    if not args:
        return _usage("database show|get|put|del|deltree")
    verb, rest = args[0].lower(), args[1:]
    if verb == "show":
        prefix = "/" + "/".join(rest) if rest else ""
        keys = sorted(k for k in db if not prefix or k == prefix or k.startswith(prefix + "/"))
        lines = [f"{k:<50}: {db[k]:<25}" for k in keys]
        return True, [*lines, f"{len(keys)} results found."]
    if verb == "put" and len(rest) == 3:
        db[f"/{rest[0]}/{rest[1]}"] = rest[2]
        return True, ["Updated database successfully"]
    if verb == "get" and len(rest) == 2:
        value = db.get(f"/{rest[0]}/{rest[1]}")
        if value is None:
            return True, ["Database entry not found."]
        return True, [f"Value: {value}"]
    if verb == "del" and len(rest) == 2:
        if db.pop(f"/{rest[0]}/{rest[1]}", None) is None:
            return True, ["Database entry does not exist."]
        return True, ["Database entry removed."]
    if verb == "deltree" and rest:
        prefix = "/" + "/".join(rest[:2])
        keys = [k for k in db if k == prefix or k.startswith(prefix + "/")]
        for k in keys:
            del db[k]
        if not keys:
            return True, ["Database entries do not exist."]
        return True, [f"{len(keys)} database entries removed."]
    return _usage(f"database {verb}")


def c_queue_show(s: Session, args: list[str]) -> Result:
    pbx = s.server.pbx
    out: list[str] = []
    queues = [q for q in pbx.queues.values() if not args or q.name == args[0]]
    if args and not queues:
        return False, [f"No such queue: {args[0]}."]
    for q in queues:
        out.append(
            f"{q.name} has {len(q.callers)} calls (max unlimited) in '{q.strategy}' strategy "
            f"({q.holdtime}s holdtime, {q.talktime}s talktime), W:0, C:{q.completed}, "
            f"A:{q.abandoned}, SL:0.0%, SL2:0.0% within 0s"
        )
        if q.members:
            out.append("   Members: ")
            for m in q.members:
                state = "In use" if m.reported == 2 else "Not in use"
                kind = " (dynamic)" if m.dynamic else ""
                paused = " (paused)" if m.paused else ""
                out.append(
                    f"      {m.name}{kind} (ringinuse enabled){paused} ({state}) has taken "
                    f"{m.calls} calls (last was {int(time.time()) - m.last_call if m.calls else 0}"
                    " secs ago)"
                )
        else:
            out.append("   No Members")
        if q.callers:
            out.append("   Callers: ")
            for pos, (ch, since) in enumerate(q.callers, 1):
                wait = int(pbx.elapsed(since))
                out.append(f"      {pos}. {ch.name} (wait: {wait // 60}:{wait % 60:02d}, prio: 0)")
        else:
            out.append("   No Callers")
        out.append("")
    return True, out


def c_request_hangup(s: Session, args: list[str]) -> Result:
    from .calls import request_hangup

    pbx = s.server.pbx
    if len(args) != 1:
        return _usage("channel request hangup <channel>|<all>")
    if args[0].lower() == "all":
        chans = list(pbx.channels.values())
    else:
        ch = pbx.find_channel(args[0])
        if ch is None:
            return True, [f"{args[0]} is not a known channel"]
        chans = [ch]
    out = []
    for ch in chans:
        out.append(f"Requested Hangup on channel '{ch.name}'")
        pbx.call_soon(partial(request_hangup, ch, 16))
    return True, out


def c_matchesarray(s: Session, args: list[str]) -> Result:
    if len(args) != 2:
        return _usage('_command matchesarray "<line>" text')
    matches = complete(s, args[0], args[1])
    return True, ["".join(f"{m} " for m in matches) + "_EOF_"]


def _usage(syntax: str) -> Result:
    return False, [f"Usage: {syntax}"]


_RUN: Final[list[tuple[tuple[str, ...], Callable[[Session, list[str]], Result]]]] = [
    (("_command", "matchesarray"), c_matchesarray),
    (("core", "show", "version"), c_version),
    (("core", "show", "uptime"), c_uptime),
    (("core", "show", "channels"), c_channels),
    (("core", "show", "calls"), c_calls),
    (("dialplan", "show"), c_dialplan),
    (("manager", "show", "command"), c_manager_command),
    (("manager", "show", "commands"), c_manager_commands),
    (("manager", "show", "connected"), c_manager_connected),
    (("manager", "show", "events"), cli_manager.c_events),
    (("manager", "show", "event"), cli_manager.c_event),
    (("manager", "show", "users"), cli_manager.c_users),
    (("manager", "show", "user"), cli_manager.c_user),
    (("manager", "show", "settings"), cli_manager.c_settings),
    (("database",), c_database),
    (("queue", "show"), c_queue_show),
    (("channel", "request", "hangup"), c_request_hangup),
]


def run(s: Session, line: str) -> Result:
    """Run a CLI command line: ``(ok, output lines)``."""
    args = _parse(line)
    lowered = [a.lower() for a in args]
    size, handler = 0, None
    for words, candidate in _RUN:
        if tuple(lowered[: len(words)]) == words and len(words) > size:
            size, handler = len(words), candidate
    if handler is None or (size == 1 and len(args) == 1):
        return _no_such(line, args)
    with s.server.pbx.lock:
        return handler(s, args[size:])
