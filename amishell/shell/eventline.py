"""One line per event: ``09:45:32.316 Hangup  PJSIP/100-0001  cause 16 (Normal Clearing)``.

A line fits the screen: when the fields do not fit, the least important go first
(the caller ID, the state, the other headers), then the subject is shortened;
every cut is marked with ``…``. What matters most for an event stays: a
Hangup's cause, where a Dial goes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from ..message import Message
from ..textsafe import clean
from .codes import with_words
from .render import Fragments, shown

__all__ = ["clock_text", "format_event_line"]

NAME_WIDTH: Final = 18
#: Below this width the time is shown to the second.
NARROW: Final = 80
_SKIP: Final = frozenset(
    {
        "event", "privilege", "channel", "channelstate", "channelstatedesc", "calleridnum",
        "calleridname", "connectedlinenum", "connectedlinename", "language", "accountcode",
        "context", "exten", "priority", "uniqueid", "linkedid", "actionid", "systemname",
    }
)
_SUBJECT_KEYS: Final = (
    "Channel", "DestChannel", "LocalOneChannel", "Device", "Queue", "Peer", "Endpoint",
    "BridgeUniqueid",
)
_STATE_KEYS: Final = ("ChannelStateDesc", "State", "Status", "PeerStatus", "ChannelState")
_HANGUPS: Final = frozenset({"hangup", "softhanguprequest", "hanguprequest"})
_DIALS: Final = frozenset({"dialbegin", "dialend", "dialstate"})
#: How short a shortened field may get (``Local/10…``).
_MIN_CUT: Final = 10


@dataclass
class _Part:
    style: str
    text: str
    #: Higher is kept longer when the line does not fit.
    rank: int


def clock_text(ts: float) -> str:
    """``09:45:32.316``, local time."""
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def format_event_line(ts: float, msg: Message, width: int = 120) -> Fragments:
    """The event as one line of at most ``width`` columns (and a newline)."""
    name = clean(_event_name(msg))
    stamp = clock_text(ts) if width >= NARROW else clock_text(ts)[:8]
    parts = [p for p in _parts(name, msg) if p.text]
    room = width - len(stamp) - 1
    # The names in a column, unless the screen is too narrow for what matters most.
    essential = sum(2 + len(p.text) for p in parts if p.rank >= 3)
    label = f"{name:<{NAME_WIDTH}}" if essential <= room - NAME_WIDTH else name
    room -= len(label)
    if room < 4:  # no room for a field: the name alone, cut to fit
        avail = width - len(stamp) - 1
        label = name if len(name) <= avail else name[: max(1, avail - 1)] + "…"
        parts, room = [], 0
    cut = _fit(parts, room)
    frags: Fragments = [("time", stamp + " "), ("event", label)]
    for part in parts:
        frags += [("", "  "), (part.style, part.text)]
    if cut:
        frags.append(("dim", " …"))
    frags.append(("", "\n"))
    return frags


def _fit(parts: list[_Part], room: int) -> bool:
    """Shorten or drop the least important parts until they fit in ``room``
    columns; True when a part was dropped (the line then ends with `` …``, which
    the caller adds: two columns are kept for it). A shortened part ends in ``…``."""

    def excess() -> int:
        return sum(2 + len(p.text) for p in parts) - room

    dropped = False
    for part in sorted(parts, key=lambda p: p.rank):
        over = excess()
        if over <= 0:
            break
        _shorten(part, len(part.text) - over)
        if excess() > 0 and part.rank < 3:
            parts.remove(part)
            dropped = True
    while parts and excess() > 0:  # even the essentials are too long: cut the last
        last = parts[-1]
        if not _shorten(last, len(last.text) - excess(), 2):
            parts.pop()
            dropped = True
    if not dropped:
        return False
    for part in sorted(parts, key=lambda p: p.rank):  # two columns for the " …" mark
        if excess() + 2 <= 0:
            break
        _shorten(part, len(part.text) - excess() - 2, 6)
    while parts and excess() + 2 > 0:
        parts.pop()
    return True


def _shorten(part: _Part, length: int, least: int = _MIN_CUT) -> bool:
    """Cut ``part`` to ``length`` columns (``…`` included), not below ``least``;
    True when it now is that short."""
    keep = max(least, length)
    text = part.text
    if keep < len(text):
        if part.style == "channel":  # a channel's end tells it apart: cut in the middle
            tail = min(len(text) // 2, (keep - 1) // 2)
            part.text = text[: keep - 1 - tail] + "…" + text[len(text) - tail :]
        else:
            part.text = text[: keep - 1] + "…"
    return len(part.text) <= length


def _parts(name: str, msg: Message) -> list[_Part]:
    low = name.lower()
    parts: list[_Part] = []
    used: set[str] = set()
    if low in _DIALS:  # an Originate's dial has no Channel: only the Dest* side
        source = msg.value("Channel")
        parts.append(_Part("channel", clean(source) if source else "(originate)", 4))
        used.add("channel")
    else:
        subject_key = next((k for k in _SUBJECT_KEYS if msg.value(k)), None)
        if subject_key is not None:
            used.add(subject_key.lower())
            parts.append(_Part("channel", clean(msg.value(subject_key) or ""), 4))
        state_key = next((k for k in _STATE_KEYS if msg.value(k)), None)
        if state_key is not None:
            used.add(state_key.lower())
            state = with_words(name, state_key, msg.value(state_key) or "")
            parts.append(_Part("", clean(state), 2))
    num, cname = msg.value("CallerIDNum"), msg.value("CallerIDName")
    if num and num != "<unknown>":
        caller = f'"{cname}" <{num}>' if cname and cname != "<unknown>" else f"<{num}>"
        parts.append(_Part("", clean(caller), 1))
    details, key = _details(low, name, msg, used)
    parts.append(_Part("dim", clean(details), 5 if key else 0))
    return parts


def _details(low: str, name: str, msg: Message, used: set[str]) -> tuple[str, bool]:
    """The event's other headers, and whether they are its point (a Hangup's cause)."""
    if low == "newexten":
        app, data = msg.value("Application") or "", msg.value("AppData") or ""
        where = f"{msg.value('Exten')}@{msg.value('Context')}:{msg.value('Priority')}"
        return f"{where} {app}({data})", False
    if low == "varset":
        return f"{msg.value('Variable')}={msg.value('Value')}", False
    if low in _HANGUPS:
        code = msg.value("Cause") or ""
        text = msg.value("Cause-txt")
        return "cause " + (f"{code} ({text})" if text else with_words(name, "Cause", code)), True
    if low in _DIALS:
        dest = msg.value("DestChannel") or "?"
        status = msg.value("DialStatus")
        return f"-> {dest}" + (f" {status}" if status else ""), True
    skip = _SKIP | used
    extra = [
        f"{k}={with_words(name, k, shown(k, v))}"
        for k, v in msg.headers if k.lower() not in skip and v
    ]
    return " ".join(extra[:6]), False


def _event_name(msg: Message) -> str:
    got = dict.get(msg, "Event")
    if isinstance(got, str):
        return got
    return msg.value("Event") or ""
