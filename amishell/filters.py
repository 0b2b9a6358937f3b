"""Server-side event filters (the ``Filter`` action), checked before sending.

AMI refuses a bad ``MatchCriteria`` only as "formatted incorrectly", so
:func:`check_filter` names the mistake: which part, and what is allowed.
Regular expressions are compiled with Python's :mod:`re`, which only
approximates the server's POSIX extended regex: a regex that compiles here may
still be refused there (and the reverse), so the server has the last word;
:func:`regex_doubts` names the constructs that differ.

A :class:`ServerFilter` also matches events the way the server does, so the
shell can preview a filter on the events it has already received.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ACTIONS",
    "CRITERIA",
    "METHODS",
    "FilterError",
    "ServerFilter",
    "check_filter",
    "check_filter_action",
    "lets_through",
    "regex_doubts",
]

ACTIONS: Final = ("include", "exclude")
METHODS: Final = ("exact", "starts_with", "ends_with", "contains", "regex", "none")
CRITERIA: Final = ("action", "name", "header", "method")
_FORM: Final = "action(include|exclude),name(EVENT),header(NAME),method(METHOD)"
_ITEM: Final = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.S)
_CAMEL: Final = re.compile(r"(?<=[a-z])([A-Z])")
#: Python-only regex syntax, and what POSIX extended regex has instead.
_DOUBTS: Final = (
    (re.compile(r"\\d"), r"\d (POSIX has [0-9] or [[:digit:]])"),
    (re.compile(r"\\w"), r"\w (POSIX has [[:alnum:]_])"),
    (re.compile(r"\\s"), r"\s (POSIX has [[:space:]])"),
    (re.compile(r"\(\?"), "(?...) groups (POSIX has none)"),
    (re.compile(r"[*+?}]\?"), "lazy quantifiers such as *? (POSIX has none)"),
    (re.compile(r"\\[bB]"), r"\b (POSIX has no word boundary)"),
)


class FilterError(ValueError):
    """A filter the server would refuse; the text says which part and why."""


@dataclass(frozen=True)
class ServerFilter:
    """One checked filter: the headers to send, and how it matches."""

    value: str
    criteria: str = ""
    exclude: bool = False
    name: str = ""
    header: str = ""
    method: str = "regex"
    regex: re.Pattern[str] | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The Filter action's headers (without Action and Operation)."""
        out = [("MatchCriteria", self.criteria)] if self.criteria else []
        if self.value or not self.criteria:
            out.append(("Filter", self.value))
        return out

    def describe(self) -> str:
        return "  ".join(f"{k}: {v}" for k, v in self.headers)

    def matches(self, name: str, headers: Sequence[tuple[str, str]], text: str) -> bool:
        """Whether this filter matches an event (its name, headers and whole text)."""
        if self.name and name.lower() != self.name.lower():
            return False
        if not self.header:
            return self._match(text)
        want = self.header.lower()
        return any(k.lower() == want and self._match(v) for k, v in headers)

    def _match(self, text: str) -> bool:
        pattern = self.value
        if self.method == "regex":
            return self.regex is not None and self.regex.search(text) is not None
        if self.method == "exact":
            return text == pattern
        if self.method == "starts_with":
            return text.startswith(pattern)
        if self.method == "ends_with":
            return text.endswith(pattern)
        if self.method == "contains":
            return pattern in text
        return True


def lets_through(
    filters: Iterable[ServerFilter], name: str, headers: Sequence[tuple[str, str]], text: str
) -> bool:
    """The server's rule: with any include filter an event must match one; an
    event matching any exclude filter is dropped."""
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    if includes and not any(f.matches(name, headers, text) for f in includes):
        return False
    return not any(f.matches(name, headers, text) for f in excludes)


def regex_doubts(pattern: str) -> list[str]:
    """Python-only constructs in ``pattern`` the server's POSIX regex reads otherwise."""
    return [what for found, what in _DOUBTS if found.search(pattern)]


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as e:
        at = f" at position {e.pos}" if e.pos is not None else ""
        raise FilterError(
            f"{where} is not a valid regex: {e.msg}{at} (checked with Python's re, close to"
            " the server's POSIX regex: the server would most likely refuse it as"
            " 'did not compile')"
        ) from None


def check_filter(value: str, criteria: str = "") -> ServerFilter:
    """A filter from a ``Filter`` value and an optional ``MatchCriteria``, or
    :class:`FilterError` naming the mistake. A legacy value starting with ``!``
    excludes."""
    if not criteria:
        if not value.strip("!"):
            raise FilterError("the filter is empty: give a regex (!REGEX excludes)")
        exclude = value.startswith("!")
        regex = _compile(value[1:] if exclude else value, "the filter")
        return ServerFilter(value, exclude=exclude, regex=regex)
    found: dict[str, str] = {}
    for n, part in enumerate(_split(criteria), 1):
        key, arg = _item(part, n)
        if key in found:
            raise FilterError(f"MatchCriteria: {key}() is given twice; each part at most once")
        found[key] = arg
    if not found:
        raise FilterError(f"MatchCriteria is empty; its form: {_FORM}")
    method = found.get("method", "regex" if value else "none")
    if method == "none" and value:
        raise FilterError(
            "method(none) ignores the value, and the server refuses one: leave the value"
            " out, or choose exact, starts_with, ends_with, contains or regex"
        )
    if method != "none" and not value:
        raise FilterError(f"method({method}) needs a value to match: give it after the criteria")
    if method == "none" and not found.get("name") and not found.get("header"):
        raise FilterError("MatchCriteria without a value needs name(EVENT) or header(NAME)")
    pattern = _compile(value, "the value") if method == "regex" else None
    return ServerFilter(
        value,
        criteria,
        exclude=found.get("action") == "exclude",
        name=found.get("name", ""),
        header=found.get("header", "").rstrip(":"),
        method=method,
        regex=pattern,
    )


def check_filter_action(fields: Iterable[tuple[str, str]]) -> ServerFilter:
    """Check a whole Filter action's headers: ``Operation`` (only ``Add`` exists:
    AMI can neither list nor remove a filter), then the filter."""
    got = {k.lower(): v for k, v in fields}
    op = got.get("operation", "")
    if not op.strip():
        raise FilterError("give Operation: Add (the server refuses a Filter without it)")
    if op.strip().lower() != "add":
        raise FilterError(
            f"Operation: {op}: the Filter action only adds (AMI can neither list nor remove"
            " a session's filters; .serverfilter list / remove N do it by logging in again)"
        )
    return check_filter(got.get("filter", ""), got.get("matchcriteria", ""))


def _split(criteria: str) -> list[str]:
    """The comma-separated parts of ``criteria`` (commas inside parentheses kept)."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, c in enumerate(criteria):
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif c == "," and depth == 0:
            parts.append(criteria[start:i])
            start = i + 1
    parts.append(criteria[start:])
    return [p for p in parts if p.strip()] if criteria.strip() else []


def _item(part: str, n: int) -> tuple[str, str]:
    text = part.strip()
    m = _ITEM.match(text)
    if m is None:
        if "(" in text and ")" not in text:
            raise FilterError(f"MatchCriteria part {n} '{text}' lacks its closing ')'")
        raise FilterError(f"MatchCriteria part {n} '{text}' is not KEY(VALUE); the form: {_FORM}")
    key, arg = m.group(1).lower(), m.group(2).strip()
    if key not in CRITERIA:
        raise FilterError(
            f"MatchCriteria part {n}: unknown '{m.group(1)}('; parts are {', '.join(CRITERIA)}"
        )
    if key == "action" and arg not in ACTIONS:
        raise FilterError(f"action({arg}): the action is include or exclude")
    if key == "method" and arg not in METHODS:
        snake = _CAMEL.sub(lambda c: "_" + c.group(1).lower(), arg)
        hint = f" (did you mean {snake}? the server's own help shows {arg}, its parser refuses it)"
        raise FilterError(
            f"method({arg}): methods are {', '.join(METHODS)}"
            + (hint if snake in METHODS and snake != arg else "")
        )
    if key in ("name", "header") and not arg:
        raise FilterError(f"{key}() is empty: give the {'event' if key == 'name' else 'header'}"
                          " name")
    return key, arg
