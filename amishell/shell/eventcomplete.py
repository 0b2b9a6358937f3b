"""Completion of event names, their header names and server filter criteria,
for ``.why``, ``.help event``, ``.filter`` and ``.serverfilter``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from prompt_toolkit.completion import Completion

from ..filters import ACTIONS, CRITERIA, METHODS

__all__ = ["criteria", "filter_spec", "names"]

_PART: Final = re.compile(r"^([A-Za-z_]+)\((.*)$")
_NAME_IN: Final = re.compile(r"(?:^|,)\s*name\(([^)]*)\)")
_PLAIN_NAME: Final = re.compile(r"^[A-Za-z][\w-]*$")


def _matching(words: Iterable[str], prefix: str, meta: str, suffix: str = "") -> Iterator[
    Completion
]:
    low = prefix.lower()
    for w in words:
        if w.lower().startswith(low):
            yield Completion(w + suffix, -len(prefix), display=w, display_meta=meta)


def names(event_names: Callable[[], list[str]], word: str) -> Iterator[Completion]:
    """Event names starting with ``word`` (any case)."""
    yield from _matching(event_names(), word, "event")


def filter_spec(
    event_names: Callable[[], list[str]], headers: Callable[[str], list[str]], word: str
) -> Iterator[Completion]:
    """A ``.filter`` term: event names, and after a plain event name among the
    earlier terms, that event's header names as ``Key=``."""
    head, _, part = word.rpartition(",")
    body = part.lstrip("!")
    if "=" in body:
        return
    yield from names(event_names, body)
    shown: set[str] = set()
    for term in head.split(","):
        term = term.lstrip("!")
        if _PLAIN_NAME.match(term):
            for h in headers(term):
                if h not in shown:
                    shown.add(h)
                    yield from _matching([h], body, f"{term} header", "=")


def criteria(
    event_names: Callable[[], list[str]], headers: Callable[[str], list[str]], word: str
) -> Iterator[Completion]:
    """A MatchCriteria being typed: its parts, actions, event names, an event's
    header names and the methods."""
    head, comma, part = word.rpartition(",")
    used = {m.group(1).lower() for m in re.finditer(r"([A-Za-z_]+)\(", head)}
    m = _PART.match(part)
    if m is None:
        for key in CRITERIA:
            if key not in used and key.startswith(part.lower()):
                yield Completion(key + "(", -len(part), display=key + "(...)",
                                 display_meta="MatchCriteria part")
        return
    key, arg = m.group(1).lower(), m.group(2)
    if ")" in arg:
        return
    start = -len(arg)
    if key == "action":
        words: list[str] = list(ACTIONS)
    elif key == "method":
        words = list(METHODS)
    elif key == "name":
        words = event_names()
    elif key == "header":
        found = _NAME_IN.search(head)
        words = headers(found.group(1)) if found else []
    else:
        return
    low = arg.lower()
    for w in words:
        if w.lower().startswith(low):
            yield Completion(w + ")", start, display=w, display_meta=key)
