"""Event lists as tables: the columns an admin would pick, per kind of item.

An event list (CoreShowChannels, QueueStatus, ShowDialPlan ...) is shown as one
table per item event type (QueueStatus gives QueueParams, QueueMember and
QueueEntry items: three tables), each with a fixed choice of columns for that
type (``core show channels`` is the model for channels), rows sorted the way
the CLI sorts them. A type with no layout of its own shows every header that
is not empty everywhere, in the order the server sends them, so a table looks
the same from one run to the next. ``.columns`` changes the choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Final, NamedTuple

from ..message import Message
from ..textsafe import fit, shown_len
from .codes import with_words

__all__ = ["LAYOUTS", "Layout", "Table", "kind_name", "layout_for", "natural_key", "tables"]

#: Widest cell; longer values end in an ellipsis.
MAX_CELL: Final = 40
#: Headers that are never columns.
NOT_COLUMNS: Final = frozenset({"event", "actionid", "privilege", "eventlist"})
_EMPTY: Final = frozenset({"", "<unknown>"})


class Layout(NamedTuple):
    """The columns of one item type, in order (most important first), their
    short labels, and the columns the rows are sorted by."""

    columns: tuple[str, ...]
    sort: tuple[str, ...] = ()
    labels: Mapping[str, str] = {}


def _layout(columns: str, sort: str = "", **labels: str) -> Layout:
    return Layout(tuple(columns.split()), tuple(sort.split()), labels)


#: Item event name -> its layout (names compare in any case).
LAYOUTS: Final[dict[str, Layout]] = {
    # core show channels: Channel, Location, State, Application(Data)
    "CoreShowChannel": _layout(
        "Channel Context Exten Priority ChannelStateDesc Application ApplicationData"
        " CallerIDNum ConnectedLineNum Duration BridgeId",
        "Channel", ChannelStateDesc="State", ApplicationData="Data", CallerIDNum="Caller",
        ConnectedLineNum="Connected", Priority="Prio",
    ),
    "Status": _layout(
        "Channel Context Exten Priority ChannelStateDesc Application Data CallerIDNum"
        " ConnectedLineNum Seconds BridgeID",
        "Channel", ChannelStateDesc="State", CallerIDNum="Caller",
        ConnectedLineNum="Connected", Priority="Prio",
    ),
    "QueueParams": _layout(
        "Queue Strategy Calls Max Holdtime TalkTime Completed Abandoned ServiceLevel"
        " ServicelevelPerf Weight",
        "Queue", ServicelevelPerf="SLPerf",
    ),
    "QueueMember": _layout(
        "Queue Name Location Status Paused PausedReason InCall CallsTaken LastCall Penalty"
        " Membership StateInterface",
        "Queue Name", StateInterface="StateIface",
    ),
    "QueueEntry": _layout(
        "Queue Position Channel CallerIDNum CallerIDName Wait Priority",
        "Queue Position", CallerIDNum="Caller", CallerIDName="Name",
    ),
    "QueueSummary": _layout(
        "Queue LoggedIn Available Callers HoldTime TalkTime LongestHoldTime", "Queue"
    ),
    "ListDialplan": _layout(
        "Context Extension Priority Application AppData ExtensionLabel IncludeContext"
        " Registrar",
        "Context Extension Priority", ExtensionLabel="Label", IncludeContext="Include",
    ),
    "BridgeListItem": _layout(
        "BridgeUniqueid BridgeType BridgeTechnology BridgeNumChannels BridgeCreator"
        " BridgeName",
        "BridgeUniqueid", BridgeNumChannels="Channels", BridgeTechnology="Technology",
    ),
    "BridgeInfoChannel": _layout(
        "Channel ChannelStateDesc CallerIDNum Context Exten Priority Uniqueid", "Channel",
        ChannelStateDesc="State", CallerIDNum="Caller",
    ),
    "DBGetResponse": _layout("Family Key Val", "Family Key"),
    "DBGetTreeResponse": _layout("Family Key Val", "Family Key"),
    "ParkedCall": _layout(
        "ParkingSpace ParkingLot ParkeeChannel ParkeeCallerIDNum ParkingDuration"
        " ParkingTimeout ParkerDialString",
        "ParkingLot ParkingSpace", ParkeeCallerIDNum="Caller",
    ),
    "EndpointList": _layout(
        "ObjectName Transport Aor Auths DeviceState ActiveChannels", "ObjectName",
    ),
    "ContactList": _layout(
        "ObjectName Uri Status RoundtripUsec UserAgent ViaAddr EndpointName", "ObjectName"
    ),
    "AorList": _layout("ObjectName Contacts MaxContacts QualifyFrequency", "ObjectName"),
    "PeerEntry": _layout(
        "ObjectName Channeltype IPaddress IPport Dynamic Status Description", "ObjectName"
    ),
    "Agents": _layout(
        "Agent Name Status Channel CallerIDNum TalkingToChan LoggedInTime", "Agent"
    ),
    "ExtensionStatus": _layout("Exten Context Hint Status StatusText", "Context Exten"),
}


_BY_LOWER: Final = {name.lower(): (name, layout) for name, layout in LAYOUTS.items()}


def kind_name(kind: str) -> str:
    """The usual spelling of an item type typed in any case."""
    known = _BY_LOWER.get(kind.lower())
    return known[0] if known is not None else kind


class Table(NamedTuple):
    """One table: the item type, its column labels, the rows, and the headers
    that had a value but no place (not chosen, or no room)."""

    kind: str
    headers: list[str]
    rows: list[list[str]]
    hidden: list[str]
    #: How many of :attr:`hidden` are chosen columns that did not fit the width
    #: (they come first); the rest are headers no column shows.
    cut: int = 0


def layout_for(kind: str, overrides: Mapping[str, Sequence[str]] | None = None
               ) -> Layout | None:
    """The layout of item type ``kind`` (any case), with the user's columns if set."""
    known = _BY_LOWER.get(kind.lower())
    base = known[1] if known is not None else None
    chosen = (overrides or {}).get(kind.lower())
    if chosen:
        if base is None:
            return Layout(tuple(chosen))
        return Layout(tuple(chosen), base.sort, base.labels)
    return base


def tables(
    items: Sequence[Message],
    width: int,
    overrides: Mapping[str, Sequence[str]] | None = None,
) -> list[Table]:
    """One :class:`Table` per item event type, in order of first appearance."""
    groups: dict[str, list[Message]] = {}
    names: dict[str, str] = {}
    for item in items:
        name = item.value("Event") or ""
        names.setdefault(name.lower(), name)
        groups.setdefault(name.lower(), []).append(item)
    return [
        _table(names[key], group, width, layout_for(key, overrides))
        for key, group in groups.items()
    ]


def _table(kind: str, items: list[Message], width: int, layout: Layout | None) -> Table:
    present = _present(items)
    if layout is None:
        wanted = list(present)
        sort: tuple[str, ...] = tuple(wanted[:1])
        labels: Mapping[str, str] = {}
    else:
        by_lower = {name.lower(): name for name in present}
        wanted = [by_lower[c.lower()] for c in layout.columns if c.lower() in by_lower]
        sort, labels = layout.sort, layout.labels
    rows = sorted(items, key=lambda item: [natural_key(item.value(c) or "") for c in sort])
    cells = [[_cell(with_words(kind, c, item.value(c) or "")) for c in wanted] for item in rows]
    heads = [labels.get(c, c) for c in wanted]
    fit = _fit(heads, cells, width)
    cut = wanted[fit:]
    hidden = cut + [c for c in present if c not in wanted]
    return Table(kind, heads[:fit], [row[:fit] for row in cells], hidden, len(cut))


def _present(items: Iterable[Message]) -> dict[str, None]:
    """Headers with a value in at least one item, in the order first seen."""
    seen: dict[str, None] = {}
    for item in items:
        for key, value in item.headers:
            if key.lower() not in NOT_COLUMNS and value.strip() not in _EMPTY:
                seen.setdefault(key, None)
    return seen


def _fit(heads: list[str], cells: list[list[str]], width: int) -> int:
    """How many leading columns fit in ``width`` (at least one)."""
    used = 0
    for i, head in enumerate(heads):
        w = max([len(head), *(shown_len(row[i]) for row in cells)])
        used += w + (2 if i else 0)
        if used > width:
            return max(1, i)
    return len(heads)


def _cell(value: str) -> str:
    """A value as one cell: on one line, at most :data:`MAX_CELL` columns as shown
    (a control character counts as what stands for it, see :mod:`amishell.textsafe`)."""
    return fit(value.replace("\r", " ").replace("\n", " "), MAX_CELL)


@lru_cache(maxsize=8192)  # the same names and states come back at every redraw of .top
def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that puts ``Local/9`` before ``Local/10`` and 2 before 10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower())
                 for p in re.split(r"(\d+)", text) if p)
