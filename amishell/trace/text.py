"""A call as text (one line per event, or every header) and as one JSON object.

Every value from the wire goes through :func:`amishell.textsafe.clean` (text)
or :func:`amishell.textsafe.json_dumps` (JSON) on its way out.
"""

from __future__ import annotations

import datetime
from typing import Any

from ..shell.jsonlines import iso_time
from ..textsafe import clean, json_dumps
from .calls import Call
from .describe import describe, lane_of

__all__ = ["clock", "iso_time", "to_json", "to_json_text", "to_text"]


def clock(when: float) -> str:
    """``HH:MM:SS.mmm`` in local time."""
    moment = datetime.datetime.fromtimestamp(when)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def heading(call: Call) -> list[str]:
    state = "ended" if call.ended else "in progress"
    return [
        clean(f"call {call.linkedid}: {len(call.channels)} channels, {len(call.steps)} events,"
              f" {state}"),
        *(clean(f"  {name}") for name in call.channels),
    ]


def to_text(call: Call, *, full: bool = False) -> list[str]:
    """One line per event (``full``: then every header of it, indented)."""
    lines = heading(call)
    start = call.steps[0].received if call.steps else 0.0
    lane_width = max((len(c) for c in call.channels), default=0)
    for step in call.steps:
        m = step.message
        lane = lane_of(m) or "(bridge)"
        lines.append(clean(
            f"{clock(step.received)} +{step.received - start:7.3f}  {lane:<{lane_width}}"
            f"  {m.name}: {describe(m)}"
        ))
        if full:
            lines += [clean(f"      {k}: {v}") for k, v in m.headers]
    return lines


def to_json(call: Call) -> dict[str, Any]:
    events = []
    for step in call.steps:
        item = step.message.to_json()
        item["_received"] = iso_time(step.received)
        events.append(item)
    return {"linkedid": call.linkedid, "channels": call.channels, "events": events}


def to_json_text(call: Call, **kwargs: Any) -> str:
    return json_dumps(to_json(call), **kwargs)
