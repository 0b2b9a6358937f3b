"""Event filters of the Filter action, matched the way the server matches them.

A legacy filter is a regular expression over the whole event text, an
exclusion when it starts with ``!``. ``MatchCriteria`` (``name(Event)``,
``header(Key)``, ``method(regex|exact|starts_with|ends_with|contains|none)``,
``action(include|exclude)``) narrows it to one event or one header. With
include filters an event must match one; any matching exclude drops it.
"""

from __future__ import annotations

import re
from typing import Final

from .wire import Event

__all__ = ["EventFilter", "make_filter"]

_BAD: Final = "Filter was formatted incorrectly.  Check the syntax of the filter given."
_BAD_REGEX: Final = "Filter did not compile.  Check the syntax of the filter given."
_METHODS: Final = ("regex", "exact", "starts_with", "ends_with", "contains", "none")


class EventFilter:
    """One filter: what it matches and whether it includes or excludes."""

    __slots__ = ("regex", "exact", "method", "event", "header", "exclude")

    def __init__(self) -> None:
        self.regex: re.Pattern[str] | None = None
        self.exact = ""
        self.method = "regex"
        self.event = ""
        self.header = ""
        self.exclude = False

    def match(self, ev: Event) -> bool:
        if self.event and ev.name.lower() != self.event.lower():
            return False
        if not self.header:
            return self._match_text(ev.text)
        for line in ev.text.split("\r\n"):
            if line.startswith(self.header):
                value = line[len(self.header) :].lstrip(" \t")
                if value and self._match_text(value):
                    return True
        return False

    def _match_text(self, text: str) -> bool:
        if self.method == "regex":
            return self.regex is not None and self.regex.search(text) is not None
        if self.method == "exact":
            return text == self.exact
        if self.method == "starts_with":
            return text.startswith(self.exact)
        if self.method == "ends_with":
            return text.endswith(self.exact)
        if self.method == "contains":
            return self.exact in text
        return True


def make_filter(criteria: str, pattern: str) -> EventFilter | str:
    """A filter from the Filter action's ``MatchCriteria`` and ``Filter``, or an error."""
    f = EventFilter()
    if pattern.startswith("!"):
        f.exclude = True
        pattern = pattern[1:]
    if criteria:
        problem = _advanced(f, criteria, pattern)
        if problem:
            return problem
    elif not pattern:
        return _BAD
    if f.method == "regex" and pattern:
        try:
            f.regex = re.compile(pattern)
        except re.error:
            return _BAD_REGEX
    f.exact = pattern
    return f


def _advanced(f: EventFilter, criteria: str, pattern: str) -> str:
    """Read ``MatchCriteria`` (``name(X),header(Y),method(Z),action(A)``) into ``f``."""
    items = re.findall(r"(\w+)\s*\(([^)]*)\)", criteria)
    if not items:
        return _BAD
    f.method = ""
    for key, raw in items:
        value = raw.strip()
        if key == "action" and value in ("include", "exclude"):
            f.exclude = value == "exclude"
        elif key == "name" and value:
            f.event = value
        elif key == "header" and value:
            f.header = value if value.endswith(":") else value + ":"
        elif key == "method" and value in _METHODS:
            f.method = value
        else:
            return _BAD
    f.method = f.method or ("regex" if pattern else "none")
    if bool(pattern) == (f.method == "none"):
        return _BAD
    if f.method == "none" and not f.event and not f.header:
        return _BAD
    return ""
