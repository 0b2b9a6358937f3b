"""Which events belong to a call.

A call is known by its Linkedid: the Uniqueid of the channel that started it,
shared by every channel created on its behalf. An event belongs to the call
when one of its Linkedid headers (``Linkedid``, ``DestLinkedid``,
``LocalOneLinkedid`` ... any header whose name ends in ``Linkedid``) is the
call's; an event with no Linkedid belongs when it names one of the call's
channels by a Uniqueid (OriginateResponse) or one of its bridges by
``BridgeUniqueid`` (BridgeCreate comes before the first BridgeEnter, so the
bridges are found first). An event of another call (its Linkedid another
one's) never belongs; device events are shared between calls and stay out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ..message import Message
from ..shell.eventhistory import Kept

__all__ = [
    "Call", "CallSummary", "channel_names", "find_call", "follow", "linked_ids", "list_calls",
    "resolve",
]

#: Events about a device or a queue member, shared by every call that uses it.
SHARED: Final = frozenset({"devicestatechange", "queuememberstatus", "extensionstatus",
                           "presencestatechange"})


def linked_ids(message: Message) -> dict[str, str]:
    """``{prefix: linkedid}`` for each Linkedid header (prefix ``""``, ``"Dest"``...)."""
    return {k[:-8]: v for k, v in message.headers if v and k.lower().endswith("linkedid")}


def _is_shared(message: Message) -> bool:
    return message.name.lower() in SHARED


@dataclass
class Call:
    linkedid: str
    steps: list[Kept] = field(default_factory=list)
    #: Uniqueid -> channel name, in order of first appearance.
    uniqueids: dict[str, str] = field(default_factory=dict)
    bridges: set[str] = field(default_factory=set)

    @property
    def channels(self) -> list[str]:
        """Channel names in order of first appearance."""
        return list(dict.fromkeys(self.uniqueids.values()))

    @property
    def hung_up(self) -> set[str]:
        """Uniqueids of the channels that hung up."""
        return {
            s.message.value("Uniqueid") or "" for s in self.steps
            if s.message.name == "Hangup"
        }

    @property
    def ended(self) -> bool:
        return bool(self.uniqueids) and set(self.uniqueids) <= self.hung_up


def find_call(events: Iterable[Kept], linkedid: str) -> Call:
    """The call ``linkedid``: its events in order, its channels and bridges."""
    needle = linkedid.encode()
    # An event naming some call's Linkedid but not this one's is another call's:
    # left out by a look at its bytes, before its headers are read.
    kept = [e for e in events if (
        e.message.raw is None or needle in e.message.raw or b"inkedid:" not in e.message.raw
    ) and not _is_shared(e.message)]
    call = Call(linkedid)
    for e in kept:  # first the channels and bridges of the call
        _learn(call, e.message)
    for e in kept:
        if _belongs(e.message, call):
            call.steps.append(e)
    return call


def _learn(call: Call, m: Message) -> bool:
    """Note the channels and bridge of ``m`` if it carries the call's Linkedid."""
    ids = linked_ids(m)
    if call.linkedid not in ids.values():
        return False
    for prefix, value in ids.items():
        if value == call.linkedid:
            uid = m.value(prefix + "Uniqueid")
            if uid and uid not in call.uniqueids:
                call.uniqueids[uid] = m.value(prefix + "Channel") or uid
    bridge = m.value("BridgeUniqueid")
    if bridge:
        call.bridges.add(bridge)
    return True


def follow(call: Call, event: Kept) -> bool:
    """Add ``event`` (newer than every step) to ``call`` if it belongs; True if so.
    (A bridge created before the call entered it is found by :func:`find_call`.)"""
    m = event.message
    if _is_shared(m):
        return False
    _learn(call, m)
    if _belongs(m, call):
        call.steps.append(event)
        return True
    return False


def _belongs(m: Message, call: Call) -> bool:
    ids = linked_ids(m)
    if ids:
        return call.linkedid in ids.values()
    for key, value in m.headers:
        low = key.lower()
        if low.endswith("uniqueid") and value:
            if low == "bridgeuniqueid":
                if value in call.bridges:
                    return True
            elif value in call.uniqueids:
                return True
    return False


def resolve(events: Sequence[Kept], ident: str) -> str | None:
    """The Linkedid of the call ``ident`` names: a Linkedid, a Uniqueid or a channel
    name (the most recent channel of that name); None when no event names it."""
    ident = ident.strip()
    if not ident:
        return None
    low = ident.lower()
    by_name: str | None = None
    for e in reversed(events):
        m = e.message
        ids = linked_ids(m)
        if not ids:
            continue
        if ident in ids.values():
            return ident
        for prefix, linkedid in ids.items():
            if m.value(prefix + "Uniqueid") == ident:
                return linkedid
            if by_name is None and (m.value(prefix + "Channel") or "").lower() == low:
                by_name = linkedid
    return by_name


@dataclass
class CallSummary:
    linkedid: str
    first: float
    last: float
    channels: list[str]
    events: int
    ended: bool


def list_calls(events: Iterable[Kept]) -> list[CallSummary]:
    """Every call in ``events``, oldest first (by its first event)."""
    calls: dict[str, CallSummary] = {}
    hung: dict[str, set[str]] = {}
    uids: dict[str, set[str]] = {}
    for e in events:
        m = e.message
        linkedid = m.value("Linkedid")
        if not linkedid or _is_shared(m):
            continue
        summary = calls.get(linkedid)
        if summary is None:
            summary = calls[linkedid] = CallSummary(linkedid, e.received, e.received, [], 0, False)
            hung[linkedid], uids[linkedid] = set(), set()
        summary.last = e.received
        summary.events += 1
        channel = m.value("Channel")
        if channel and channel not in summary.channels:
            summary.channels.append(channel)
        uid = m.value("Uniqueid")
        if uid:
            uids[linkedid].add(uid)
            if m.name == "Hangup":
                hung[linkedid].add(uid)
    for linkedid, summary in calls.items():
        summary.ended = bool(uids[linkedid]) and uids[linkedid] <= hung[linkedid]
    return list(calls.values())


def channel_names(events: Iterable[Kept], limit: int = 500) -> list[str]:
    """Channel names seen, most recent first (for completion)."""
    names: dict[str, None] = {}
    for e in reversed(list(events)):
        for key, value in e.message.headers:
            if value and key.lower().endswith("channel") and "/" in value:
                names.setdefault(value, None)
        if len(names) >= limit:
            break
    return list(names)
