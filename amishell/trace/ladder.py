"""A call as a ladder for the terminal: one lane per channel, time going down.

::

       time   A1  A2    B1  B2
       +0.000   ●                 Newchannel  new channel, Down at 200@demo
       +0.001   ●···●             LocalBridge  Local pair ...
       +0.002   │   ●────▶●       DialBegin  dial 100@demo -> ...

Every value from the wire is cleaned (:func:`amishell.textsafe.clean`) before
it is placed; notes are clipped to the width unless the lanes alone do not fit
(then the lines are left long, for the pager).
"""

from __future__ import annotations

from typing import Final

from ..textsafe import clean
from .calls import Call
from .layout import Row, layout
from .text import clock

__all__ = ["ladder", "ladder_parts"]

TIME_WIDTH: Final = 10
PAIR_GAP: Final = 4
LANE_GAP: Final = 6
MIN_NOTE: Final = 24
_LINE: Final = {"dial": "─", "answer": "─", "fail": "╌", "bridge": "═", "local": "·",
                "transfer": "~"}


def ladder(call: Call, *, width: int = 100, full: bool = False,
           hide: set[str] | None = None) -> list[str]:
    head, rows = ladder_parts(call, width=width, full=full, hide=hide)
    return head + rows


def ladder_parts(call: Call, *, width: int = 100, full: bool = False,
                 merge: bool | None = None, hide: set[str] | None = None
                 ) -> tuple[list[str], list[str]]:
    """The ladder's heading (legend and lane tags) and its rows (``merge``: variables
    set one after another in a lane share a row, by default unless ``full``; ``hide``:
    tags of lanes left out, see :meth:`~.layout.Layout.without`)."""
    whole = layout(call, merge=not full if merge is None else merge)
    lay = whole.without(hide or set())
    xs = lay.positions(2, PAIR_GAP, LANE_GAP)
    area = (xs[-1] + 3) if xs else 2
    room = width - TIME_WIDTH - area
    clip = room if room >= MIN_NOTE else None
    start = call.steps[0].received if call.steps else 0.0
    state = "ended" if call.ended else "in progress"
    begun = f", began {clock(start)}" if call.steps else ""
    lines = [clean(f"call {call.linkedid}: {len(call.channels)} channels, {len(call.steps)}"
                   f" events{begun}, {state}")]
    shown = {lane.tag for lane in lay.lanes}
    for i, lane in enumerate(whole.lanes):
        mark = ""
        if lane.tag not in shown:
            mark = " (hidden)"
        elif lane.pair is not None:
            mark = " ┐ one Local channel" if lane.pair > i else " ┘"
        lines.append(clean(f"  {lane.tag:<3} {lane.channel}") + mark)
    header = [" "] * area
    for x, lane in zip(xs, lay.lanes, strict=True):
        for k, ch in enumerate(lane.tag):
            if x + k < area:
                header[x + k] = ch
    lines.append("")
    lines.append(f"{'time':>9} " + "".join(header).rstrip())
    head, lines = lines, []
    alive = [False] * len(lay.lanes)
    for row in lay.rows:
        for touched in (row.lane, row.to):
            if touched is not None:
                alive[touched] = True
        cells = _cells(row, xs, alive, area)
        note = clean(row.note)
        if clip is not None and len(note) > clip:
            note = note[: clip - 1] + "…"
        offset = f"+{row.when - start:.3f}"
        lines.append(f"{offset:>9} " + "".join(cells) + note)
        if row.kind == "end" and row.lane is not None:
            alive[row.lane] = False
        if full:
            bars = "".join(_bars(xs, alive, area))
            lines += [" " * TIME_WIDTH + bars + clean(f"  {k}: {v}")
                      for k, v in row.message.headers]
    return head, lines


def _bars(xs: list[int], alive: list[bool], area: int) -> list[str]:
    cells = [" "] * area
    for x, on in zip(xs, alive, strict=True):
        if on:
            cells[x] = "│"
    return cells


def _cells(row: Row, xs: list[int], alive: list[bool], area: int) -> list[str]:
    cells = _bars(xs, alive, area)
    if row.kind in ("note", "end") and row.lane is not None:
        cells[xs[row.lane]] = "●" if row.kind == "note" else "✕"
    elif row.kind == "arrow" and row.lane is not None and row.to is not None:
        a, b = xs[row.lane], xs[row.to]
        line = _LINE.get(row.style, "─")
        lo, hi = min(a, b), max(a, b)
        for x in range(lo + 1, hi):
            cells[x] = line
        cells[a] = "●"
        cells[b] = "●"
        if row.style in ("dial", "answer", "fail", "transfer"):
            cells[b - 1 if b > a else b + 1] = "▶" if b > a else "◀"
    elif row.kind == "none":
        cells[0] = "◇"
    return cells
