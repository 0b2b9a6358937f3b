"""What a ladder shows, whatever draws it: lanes (one per channel) and rows.

Lanes are the call's channels in order of first appearance, the two halves of
a Local channel side by side (``A1`` and ``A2``: one Local channel). Each event
is one row: a note in one lane, an arrow between two lanes (a dial, its
answer, bridging, a Local channel's halves, a transfer), a lane's end (the
hangup), or a note that belongs to no lane (a bridge created or destroyed).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from ..message import Message
from .calls import Call
from .describe import describe, lane_of

__all__ = ["Lane", "Layout", "Row", "layout"]


@dataclass
class Lane:
    channel: str
    tag: str
    #: The other half of this Local channel, when it is a lane too.
    pair: int | None = None


@dataclass
class Row:
    when: float
    message: Message
    kind: str  # "note", "arrow", "end", "none" (no lane) or "hidden" (its lane is)
    lane: int | None = None
    #: For an arrow: the lane it points to (``lane`` is where it starts).
    to: int | None = None
    #: "dial", "answer", "fail", "bridge", "local" or "transfer".
    style: str = ""
    note: str = ""


@dataclass
class Layout:
    call: Call
    lanes: list[Lane] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def positions(self, first: int, pair_gap: int, lane_gap: int) -> list[int]:
        """Where each lane goes: halves of a Local channel ``pair_gap`` apart, other
        lanes ``lane_gap``."""
        xs: list[int] = []
        x = first
        for i in range(len(self.lanes)):
            if i:
                x += pair_gap if self.lanes[i - 1].pair == i else lane_gap
            xs.append(x)
        return xs

    def without(self, tags: set[str]) -> Layout:
        """The same ladder without the lanes ``tags`` names (``B`` names both halves
        ``B1`` and ``B2``); a step in a hidden lane stays, as a note naming it."""
        hidden = {i for i, lane in enumerate(self.lanes)
                  if lane.tag in tags or lane.tag.rstrip("12") in tags}
        if not hidden:
            return self
        new_index: dict[int, int] = {}
        lanes: list[Lane] = []
        for i, lane in enumerate(self.lanes):
            if i not in hidden:
                new_index[i] = len(lanes)
                lanes.append(Lane(lane.channel, lane.tag, lane.pair))
        for lane in lanes:
            lane.pair = new_index.get(lane.pair) if lane.pair is not None else None
        out = Layout(self.call, lanes)
        for row in self.rows:
            ends = [i for i in (row.lane, row.to) if i is not None]
            gone = [self.lanes[i].tag for i in ends if i in hidden]
            if not gone:
                out.rows.append(Row(row.when, row.message, row.kind,
                                    None if row.lane is None else new_index[row.lane],
                                    None if row.to is None else new_index[row.to],
                                    row.style, row.note))
                continue
            kept = [new_index[i] for i in ends if i not in hidden]
            note = f"[{','.join(gone)}] {row.note}"
            if kept:
                out.rows.append(Row(row.when, row.message, "note", kept[0], note=note))
            else:
                out.rows.append(Row(row.when, row.message, "hidden", note=note))
        return out

    def index(self, channel: str | None) -> int | None:
        if not channel:
            return None
        for i, lane in enumerate(self.lanes):
            if lane.channel == channel:
                return i
        return None


def _tags(count: int) -> list[str]:
    letters = string.ascii_uppercase
    return [letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]
            for i in range(count)]


def _lanes(channels: list[str]) -> list[Lane]:
    groups: list[list[str]] = []
    for name in channels:
        if any(name in g for g in groups):
            continue
        group = [name]
        if name.startswith("Local/") and name[-2:] in (";1", ";2"):
            other = name[:-1] + ("2" if name.endswith("1") else "1")
            if other in channels:
                group = sorted([name, other])
        groups.append(group)
    lanes: list[Lane] = []
    for tag, group in zip(_tags(len(groups)), groups, strict=True):
        if len(group) == 2:
            first = len(lanes)
            lanes.append(Lane(group[0], tag + "1", first + 1))
            lanes.append(Lane(group[1], tag + "2", first))
        else:
            lanes.append(Lane(group[0], tag))
    return lanes


_ARROWS = {
    "DialBegin": ("Channel", "DestChannel", "dial"),
    "DialEnd": ("DestChannel", "Channel", "answer"),
    "LocalBridge": ("LocalOneChannel", "LocalTwoChannel", "local"),
    "LocalOptimizationBegin": ("LocalOneChannel", "LocalTwoChannel", "local"),
    "LocalOptimizationEnd": ("LocalOneChannel", "LocalTwoChannel", "local"),
    "AttendedTransfer": ("OrigTransfererChannel", "SecondTransfererChannel", "transfer"),
    "BlindTransfer": ("TransfererChannel", "TransfereeChannel", "transfer"),
}


def layout(call: Call, *, merge: bool = True) -> Layout:
    """The lanes and rows of ``call``; ``merge``: variables set one after another
    in the same lane share a row."""
    out = Layout(call, _lanes(call.channels))
    members: dict[str, list[str]] = {}  # bridge -> channels in it
    for step in call.steps:
        m = step.message
        row = Row(step.received, m, "none", note=f"{m.name}  {describe(m)}")
        own = out.index(lane_of(m))
        name = m.name
        if name in _ARROWS:
            src_key, dst_key, style = _ARROWS[name]
            src, dst = out.index(m.value(src_key)), out.index(m.value(dst_key))
            if style == "answer" and (m.value("DialStatus") or "").upper() != "ANSWER":
                style = "fail"
            if src is not None and dst is not None and src != dst:
                row.kind, row.lane, row.to, row.style = "arrow", src, dst, style
            elif own is not None:
                row.kind, row.lane = "note", own
        elif name in ("BridgeEnter", "BridgeLeave"):
            bridge = m.value("BridgeUniqueid") or ""
            channel = m.value("Channel") or ""
            inside = members.setdefault(bridge, [])
            if name == "BridgeLeave":
                if channel in inside:
                    inside.remove(channel)
                row.kind, row.lane = ("note", own) if own is not None else ("none", None)
            else:
                peer = next((out.index(c) for c in reversed(inside) if out.index(c) is not None),
                            None)
                inside.append(channel)
                if own is not None and peer is not None and peer != own:
                    row.kind, row.lane, row.to, row.style = "arrow", own, peer, "bridge"
                elif own is not None:
                    row.kind, row.lane = "note", own
        elif name == "Hangup" and own is not None:
            row.kind, row.lane = "end", own
        elif own is not None:
            row.kind, row.lane = "note", own
        last = out.rows[-1] if out.rows else None
        if merge and name == "VarSet" and last is not None and last.message.name == "VarSet" and (
            last.lane == row.lane and row.kind == "note"
        ):
            last.note += f", {m.value('Variable') or ''}={m.value('Value') or ''}"
            continue
        out.rows.append(row)
    return out
