"""``.help event NAME``: the server's documentation of an event, else what the
shell knows offline (header names and classes, from the packaged catalogue).
Also the item events a list action returns, for ``.help ACTION``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..textsafe import clean
from .render import Info, Problem

if TYPE_CHECKING:
    from .base import Result
    from .base import ShellAPI as Shell

__all__ = ["about", "help_event", "item_events_line", "synopsis", "word_at"]

_WORD = re.compile(r"[A-Za-z][\w-]*")


def help_event(shell: Shell, args: list[str]) -> Result:
    if len(args) != 1:
        return Problem("give one event name: .help event Hangup (Tab completes names)")
    name = args[0]
    docs = shell.docs
    doc, why = docs.doc(name)
    if doc is not None:
        lines = [clean(line) for line in doc.lines]
        while lines and not lines[-1].strip():
            lines.pop()
        info = docs.offline.get(name)
        if info is not None and info.classes:
            lines.append(f"class (seen in its Privilege): {','.join(info.classes)}")
        return Info(lines)
    info = docs.info(name)
    if info is None:
        live = docs.live_names()
        where = "the server lists" if live is not None else "the shell knows"
        return Problem(f"{where} no event called {name!r}; Tab after a few letters lists them")
    lines = [f"{info.name} (offline catalogue: the server's documentation is not available:"
             f" {why})"]
    lines.append(f"class: {','.join(info.classes) or 'not known'}")
    if info.headers:
        lines.append("headers: " + ", ".join(info.headers))
    else:
        lines.append("headers: not known")
    return Info([clean(line) for line in lines])


def item_events_line(shell: Shell, action: str) -> list[str]:
    """``returns events: ...`` for a list action, or nothing."""
    names, source = shell.docs.item_events(action)
    if not names:
        return []
    return [f"returns events: {clean(', '.join(names))} ({source})"]


def about(shell: Shell, line: str, cursor: int) -> str:
    """The toolbar's line about the name under the cursor: an event's synopsis
    after a command that takes events, else an action's."""
    head = line.lstrip().lower()
    events = head.startswith((".why", ".help event", ".filter", ".serverfilter"))
    found = synopsis(shell, word_at(line, cursor), event=events)
    if found or events:
        return found
    return synopsis(shell, word_at(line, -1))  # the action the line starts with


def synopsis(shell: Shell, name: str, *, event: bool = False) -> str:
    """A one-line synopsis of an action (or with ``event``, an event) from what is
    already cached (no question to the server): for the toolbar."""
    if not name:
        return ""
    spec = None if event else shell.catalog.get(name)
    if spec is not None and spec.synopsis:
        return clean(f"{spec.name}: {spec.synopsis}")
    got = shell.docs.cached(f"manager show event {shell.docs.canonical(name)}")
    if got is not None and got.lines:
        from ..eventdocs import parse_event_doc

        doc = parse_event_doc(got.lines)
        if doc is not None and doc.synopsis:
            return clean(f"{doc.name}: {doc.synopsis}")
    return ""


def word_at(line: str, cursor: int) -> str:
    """The name under the cursor in ``line`` (else the line's first word)."""
    for m in _WORD.finditer(line):
        if m.start() <= cursor <= m.end():
            return m.group(0)
    first = _WORD.match(line.lstrip())
    return first.group(0) if first else ""
