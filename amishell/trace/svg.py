"""A call as a self-contained SVG ladder (opens in any browser, no external files).

Every value from the wire is escaped for XML (text and attributes); control
characters are first made visible (:func:`amishell.textsafe.clean`), since XML
1.0 cannot carry most of them at all.
"""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import escape

from ..textsafe import clean
from .calls import Call
from .layout import layout
from .text import clock

__all__ = ["to_svg"]

ROW: Final = 20
LANE: Final = 110
PAIR: Final = 60
TOP: Final = 90
LEFT: Final = 80
NOTE_WIDTH: Final = 620
_COLOURS: Final = {"dial": "#1f6fb2", "answer": "#2b8a3e", "fail": "#c92a2a",
                   "bridge": "#7048e8", "local": "#868e96", "transfer": "#e67700"}


def _text(value: str) -> str:
    return escape(clean(value))


def to_svg(call: Call) -> str:
    lay = layout(call, merge=False)
    xs = lay.positions(LEFT + 40, PAIR, LANE)
    notes_x = (xs[-1] if xs else LEFT) + 40
    top = max(TOP, 64 + 14 * len(lay.lanes))
    width = notes_x + NOTE_WIDTH
    height = top + ROW * (len(lay.rows) + 1) + 20
    start = call.steps[0].received if call.steps else 0.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
        "<defs>",
        *(f'<marker id="head-{name}" markerWidth="8" markerHeight="8" refX="7" refY="4"'
          f' orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>'
          for name, colour in _COLOURS.items()),
        "</defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">'
        f"{_text(f'call {call.linkedid}')}"
        f"{_text(f' (began {clock(start)}, {len(call.steps)} events)' if call.steps else '')}"
        "</text>",
    ]
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for n, row in enumerate(lay.rows):
        for i in (row.lane, row.to):
            if i is not None:
                first.setdefault(i, n)
                last[i] = n
    for i, (lane, lx) in enumerate(zip(lay.lanes, xs, strict=True)):
        y0 = top + ROW * first.get(i, 0)
        y1 = top + ROW * last.get(i, len(lay.rows))
        label_y = 44 if i % 2 == 0 else 60
        out.append(f'<text x="{lx}" y="{label_y}" text-anchor="middle">'
                   f"{_text(lane.tag)}<title>{_text(lane.channel)}</title></text>")
        out.append(f'<line x1="{lx}" y1="{y0}" x2="{lx}" y2="{y1}" stroke="#adb5bd"/>')
    for i, lane in enumerate(lay.lanes):
        out.append(f'<text x="{notes_x}" y="{44 + 14 * i}" fill="#495057">'
                   f"{_text(f'{lane.tag} {lane.channel}')}</text>")
    for n, row in enumerate(lay.rows):
        y = top + ROW * n
        offset = f"+{row.when - start:.3f}"
        out.append(f'<text x="10" y="{y + 4}" fill="#868e96">{_text(offset)}</text>')
        if row.kind == "arrow" and row.lane is not None and row.to is not None:
            a, b = xs[row.lane], xs[row.to]
            colour = _COLOURS.get(row.style, "#000")
            head = f' marker-end="url(#head-{row.style})"' if row.style in (
                "dial", "answer", "fail", "transfer") else ""
            dash = ' stroke-dasharray="4 3"' if row.style in ("local", "fail") else ""
            end = (b - 6 if b > a else b + 6) if head else b
            out.append(f'<line x1="{a}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}"'
                       f' stroke-width="2"{dash}{head}/>')
            out.append(f'<circle cx="{a}" cy="{y}" r="3" fill="{colour}"/>')
        elif row.kind in ("note", "end") and row.lane is not None:
            cx = xs[row.lane]
            if row.kind == "end":
                out.append(f'<path d="M{cx - 5},{y - 5} L{cx + 5},{y + 5} M{cx + 5},{y - 5}'
                           f' L{cx - 5},{y + 5}" stroke="#c92a2a" stroke-width="2"/>')
            else:
                out.append(f'<circle cx="{cx}" cy="{y}" r="4" fill="#343a40"/>')
        else:
            out.append(f'<rect x="{LEFT}" y="{y - 4}" width="8" height="8" fill="#7048e8"/>')
        out.append(f'<text x="{notes_x}" y="{y + 4}">{_text(row.note)}'
                   f"<title>{_text(_tooltip(row.message.headers))}</title></text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _tooltip(headers: list[tuple[str, str]]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in headers)
