"""``.why EVENT``: why an event does not arrive, check by check.

Each check is *passed*, *blocking* (with the command that fixes it) or
*unknown* (with why it cannot be checked): the user's read classes against the
event's class, the session's event mask, the server's disabled events, the
session's server filters, the shell's own display and filter, and what AMI
cannot show at all (a per-user ``eventfilter`` in manager.conf). Then when the
event last arrived, or since when the history holds none.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final, NamedTuple

from ..eventdocs import privilege_classes
from ..filters import lets_through
from ..message import Message
from ..textsafe import clean
from .commands import command
from .lineparse import MetaLine
from .render import Info, Problem
from .serverfilters import from_headers

if TYPE_CHECKING:
    from .base import Result
    from .base import ShellAPI as Shell
    from .eventhistory import Kept

__all__ = ["Check", "explain"]

PASSED: Final = "passed"
BLOCKING: Final = "blocking"
UNKNOWN: Final = "unknown"
_ALL_WORDS: Final = ("on", "yes", "true", "all")
_NONE_WORDS: Final = ("off", "no", "false", "0")


class Check(NamedTuple):
    status: str  # passed, blocking or unknown
    what: str
    detail: str


class _Event(NamedTuple):
    """The event looked into: a real one from the history, or one made up from its name."""

    name: str
    classes: tuple[str, ...] | None
    message: Message
    real: bool

    @property
    def text(self) -> str:
        raw = self.message.raw
        return raw.decode("utf-8", "replace") if raw else f"Event: {self.name}\r\n"


@command(
    "why",
    ".why EVENT",
    "why an event does not arrive: every check, passed or not",
    "  Checks the user's read classes, the event mask, the server's disabled events,",
    "  this session's server filters and the shell's own display; says what AMI",
    "  cannot show, and when the event last arrived.",
)
def _why(shell: Shell, line: MetaLine) -> Result:
    if len(line.args) != 1:
        return Problem("give one event name: .why Hangup (Tab completes names)")
    name = line.args[0]
    shell.docs.doc(name)  # asked once per server version; the toolbar shows its synopsis
    last, count = _last_seen(shell, name)
    if last is not None:
        name = last.message.value("Event") or name
    checks = explain(shell, name, last)
    width = max(len(c.what) for c in checks)
    lines = [f"why {clean(name)} may not arrive:"]
    lines += [f"  {c.status:<9} {c.what:<{width}}  {clean(c.detail)}" for c in checks]
    start = shell.history.start
    since = _clock(start) if start is not None else "now (the history is empty)"
    if last is not None:
        lines.append(f"{count:,} {clean(name)} event(s) in the history since {since}; the last"
                     f" arrived at {_clock(last.received)}")
    elif not any(c.status == BLOCKING for c in checks):
        lines.append(f"nothing found that blocks it; none has happened in the history since"
                     f" {since}")
    else:
        lines.append(f"none in the history since {since}")
    return Info(lines)


def explain(shell: Shell, name: str, last: Kept | None = None) -> list[Check]:
    """Every check for event ``name`` (``last``: its latest arrival, if any)."""
    event = _event(shell, name, last)
    return [
        _known(shell, event),
        _permission(shell, event),
        _mask(shell, event),
        _disabled(shell, event),
        _filters(shell, event),
        _display(shell, event),
        Check(UNKNOWN, "manager.conf eventfilter",
              f"an eventfilter in the [{shell.username}] section of the server's manager.conf"
              " cannot be seen over AMI: look there"),
    ]


def _last_seen(shell: Shell, name: str) -> tuple[Kept | None, int]:
    low = name.lower()
    last, count = None, 0
    for kept in shell.history:
        if (kept.message.value("Event") or "").lower() == low:
            last, count = kept, count + 1
    return last, count


def _event(shell: Shell, name: str, last: Kept | None) -> _Event:
    if last is not None:
        msg = last.message
        return _Event(msg.value("Event") or name,
                      privilege_classes(msg.value("Privilege") or ""), msg, True)
    info = shell.docs.info(name)
    classes = info.classes if info is not None and info.classes else None
    spelled = info.name if info is not None else name
    return _Event(spelled, classes, Message([("Event", spelled)]), False)


def _known(shell: Shell, event: _Event) -> Check:
    what = "event name"
    if event.real:
        return Check(PASSED, what, "it has arrived in this session")
    live = shell.docs.live_names()
    if live is None:
        known = shell.docs.info(event.name) is not None
        return Check(PASSED if known else UNKNOWN, what,
                     "in the offline catalogue" if known else
                     "in no catalogue and never seen (custom UserEvent names are free)")
    if event.name.lower() in (n.lower() for n in live):
        return Check(PASSED, what, "the server lists it (manager show events)")
    return Check(UNKNOWN, what, f"the server lists no event {clean(event.name)!r}: check the"
                 " spelling (a custom UserEvent name is not listed)")


def _class_text(event: _Event) -> str:
    return ",".join(event.classes) if event.classes else "?"


def _permission(shell: Shell, event: _Event) -> Check:
    what = "read permission"
    user = shell.username
    classes, why = shell.docs.read_classes(user)
    if classes is None:
        return Check(UNKNOWN, what, f"cannot ask the server for {user}'s read classes: {why}")
    if event.classes is None:
        return Check(UNKNOWN, what, f"the class of {event.name} is not known (not seen yet,"
                     " not in the catalogue)")
    missing = [c for c in event.classes if c not in classes and "all" not in classes]
    if missing:
        return Check(BLOCKING, what,
                     f"{user} may not read {','.join(missing)} ({event.name}'s class): add it"
                     f" to read= in [{user}] of manager.conf, then /manager reload")
    return Check(PASSED, what, f"{user} reads {_class_text(event)} ({event.name}'s class)")


def _mask(shell: Shell, event: _Event) -> Check:
    what = "event mask"
    mask = (shell.mask or "").strip().lower()
    if not mask or mask in _ALL_WORDS:
        return Check(PASSED, what, f"{mask or 'default'}: every class the user may read")
    if mask in _NONE_WORDS:
        return Check(BLOCKING, what, f"{mask}: no events at all; fix: .events mask on")
    if mask.isdigit():
        return Check(UNKNOWN, what, f"numeric mask {mask}: set it by class names to check it")
    if event.classes is None:
        return Check(UNKNOWN, what, f"{mask}, and the class of {event.name} is not known")
    words = [w.strip() for w in mask.split(",")]
    missing = [c for c in event.classes if c not in words and "all" not in words]
    if missing:
        return Check(BLOCKING, what,
                     f"{mask} leaves out {','.join(missing)}; fix: .events mask"
                     f" {','.join([*words, *missing])}")
    return Check(PASSED, what, f"{mask} includes {_class_text(event)}")


def _disabled(shell: Shell, event: _Event) -> Check:
    what = "disabled events"
    settings, why = shell.docs.settings()
    if settings is None:
        return Check(UNKNOWN, what, f"cannot ask the server (manager show settings): {why}")
    value = settings.get("disabled events", "")
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if event.name.lower() in names:
        return Check(BLOCKING, what,
                     f"the server disables {event.name} (disabledevents in manager.conf"
                     " [general]): remove it there, then /manager reload")
    return Check(PASSED, what, f"none of {clean(value)}" if value else "none disabled")


def _filters(shell: Shell, event: _Event) -> Check:
    what = "server filters"
    remembered = shell.server_filters
    if not remembered:
        return Check(PASSED, what, "none added in this session")
    headers = list(event.message.headers)
    text = event.text
    note = "" if event.real else " (tested on an event with only its name)"
    for n, h in enumerate(remembered, 1):
        flt = from_headers(h)
        if flt is not None and flt.exclude and flt.matches(event.name, headers, text):
            return Check(BLOCKING, what, f"filter {n} excludes it{note}; fix: .serverfilter"
                         f" remove {n}")
    filters = [f for f in map(from_headers, remembered) if f is not None]
    if not lets_through(filters, event.name, headers, text):
        return Check(BLOCKING, what,
                     f"no include filter matches it{note}; fix: .serverfilter match"
                     f" action(include),name({event.name})")
    return Check(PASSED, what, f"{len(remembered)} filter(s) let it through{note}")


def _display(shell: Shell, event: _Event) -> Check:
    what = "shell display"
    view = shell.view
    if view.state == "off":
        return Check(BLOCKING, what, "events are not shown (they still arrive and are kept);"
                     " fix: .events on")
    if view.state == "pause":
        return Check(BLOCKING, what, "the display is paused; fix: .events resume")
    if view.filter is not None and not view.filter.matches(event.message):
        return Check(BLOCKING, what, f"the shell's filter {view.filter.spec} hides it;"
                     " fix: .filter off")
    return Check(PASSED, what, "shown when it arrives")


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))
