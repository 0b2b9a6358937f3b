"""What the shell knows about events: names, header names, classes, and the
server's own documentation of them.

:class:`EventCatalog` maps event names (compared ignoring case: the server
lists ``NewExten``, the wire says ``Newexten``) to :class:`EventInfo`. The
packaged one (``data/events.json``, built by ``tools/make_event_catalog.py``
from recorded server answers) holds names, header names and the classes seen
in ``Privilege``: no prose. The parsers read what the CLI commands ``manager
show events``, ``manager show event NAME``, ``manager show user NAME`` and
``manager show settings`` print.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

__all__ = [
    "EventCatalog",
    "is_event_name",
    "EventDoc",
    "EventInfo",
    "load_offline_events",
    "parse_event_doc",
    "parse_event_list",
    "parse_settings",
    "parse_user",
]

_SECTION: Final = re.compile(r"^\[([A-Za-z ]+)\]\s*$")
_NAME: Final = re.compile(r"^[A-Za-z][\w-]*$")
_HEADER: Final = re.compile(r"^[A-Za-z][\w.-]*$")


@dataclass(frozen=True)
class EventInfo:
    """One event: its name, the header names known for it, its classes."""

    name: str
    headers: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventDoc:
    """The server's documentation of one event (``manager show event NAME``)."""

    name: str
    synopsis: str = ""
    since: str = ""
    headers: tuple[str, ...] = ()
    lines: tuple[str, ...] = field(default=(), repr=False)


class EventCatalog:
    """Event names (any case) to what is known about each."""

    def __init__(self, events: Iterable[EventInfo] = ()) -> None:
        self._by_lower: dict[str, EventInfo] = {}
        for info in events:
            self.add(info)

    def __len__(self) -> int:
        return len(self._by_lower)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_lower

    def __iter__(self) -> Iterator[EventInfo]:
        return iter(self._by_lower.values())

    def get(self, name: str) -> EventInfo | None:
        return self._by_lower.get(name.lower())

    def names(self) -> list[str]:
        return sorted((i.name for i in self._by_lower.values()), key=str.lower)

    def add(self, info: EventInfo) -> None:
        """Add ``info``, merging header names and classes into what is known (a
        name that is no event name, such as ``<value>``, is left out)."""
        if not _NAME.match(info.name):
            return
        old = self._by_lower.get(info.name.lower())
        if old is not None:
            info = EventInfo(
                old.name,
                tuple(dict.fromkeys(old.headers + info.headers)),
                tuple(dict.fromkeys(old.classes + info.classes)),
            )
        self._by_lower[info.name.lower()] = info

    def to_json(self) -> dict[str, Any]:
        return {
            i.name: {"headers": list(i.headers), "classes": list(i.classes)}
            for i in sorted(self._by_lower.values(), key=lambda i: i.name.lower())
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventCatalog:
        return cls(
            EventInfo(str(name), tuple(v.get("headers", ())), tuple(v.get("classes", ())))
            for name, v in data.items()
        )


@functools.cache
def load_offline_events() -> EventCatalog:
    """The packaged event catalogue (read once)."""
    text = resources.files("amishell").joinpath("data/events.json").read_text("utf-8")
    return EventCatalog.from_json(json.loads(text))


def is_event_name(name: str) -> bool:
    """Whether ``name`` looks like an event name (letters, digits, ``_``, ``-``):
    anything else from the wire is not offered for completion."""
    return _NAME.match(name) is not None


def privilege_classes(value: str) -> tuple[str, ...]:
    """``call,all`` -> ``("call",)``: the classes of an event's Privilege header."""
    words = [w.strip().lower() for w in value.split(",")]
    return tuple(w for w in words if w and w != "all")


def parse_event_list(lines: Iterable[str]) -> list[str]:
    """Event names from ``manager show events`` output (a table of names)."""
    names: list[str] = []
    for line in lines:
        for word in line.split():
            if _NAME.match(word) and word != "Events:":
                names.append(word)
    return names


def _sections(lines: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        m = _SECTION.match(line.strip())
        if m:
            current = found.setdefault(m.group(1).strip().lower(), [])
        elif current is not None:
            current.append(line)
    return found


def parse_event_doc(lines: Iterable[str]) -> EventDoc | None:
    """The documentation in ``manager show event NAME`` output; None for
    ``Could not find event`` (or anything without a syntax section)."""
    kept = list(lines)
    sections = _sections(kept)
    syntax = sections.get("syntax")
    if not syntax:
        return None
    name = ""
    headers: list[str] = []
    for line in syntax:
        key, colon, _ = line.partition(":")
        key = key.strip()
        if not colon or not key:
            continue
        if key.lower() == "event":
            name = line.partition(":")[2].strip()
        elif _HEADER.match(key.strip("[]")):
            headers.append(key.strip("[]"))

    def first(section: str) -> str:
        return next((x.strip() for x in sections.get(section, []) if x.strip()), "")

    return EventDoc(name, first("synopsis"), first("since"), tuple(headers), tuple(kept))


def _field(lines: Iterable[str], key: str) -> str | None:
    for line in lines:
        k, colon, value = line.partition(":")
        if colon and k.strip().lower() == key:
            return value.strip()
    return None


def parse_user(lines: Iterable[str]) -> tuple[str, ...] | None:
    """The read permission classes in ``manager show user NAME`` output (``all``
    kept when listed); None when the output shows no user."""
    value = _field(lines, "read perm")
    if value is None:
        return None
    return tuple(w.strip().lower() for w in value.split(",") if w.strip())


def parse_settings(lines: Iterable[str]) -> dict[str, str]:
    """``manager show settings`` output as ``{lower-case key: value}``."""
    found: dict[str, str] = {}
    for line in lines:
        k, colon, value = line.partition(":")
        if colon and k.strip() and not k.strip().startswith("-"):
            found.setdefault(k.strip().lower(), value.strip())
    return found
