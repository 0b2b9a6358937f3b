"""The simulated PBX's dialplan: one context, ``demo``.

=========  =====================================================================
Extension  What a call to it does
=========  =====================================================================
100        Answer, set ``FOO=bar``, wait 2 s, hang up (a short answered call).
200        Dial ``Local/100@demo`` for up to 10 s; the two legs are bridged
           until 100 hangs up, then hang up.
300        Answer and wait in queue ``support`` (ring-all, member
           ``Local/100@demo``) for up to 20 s, then hang up.
301        Answer and wait in queue ``sales`` (no members until QueueAdd) for up
           to 30 s: a caller that stays in QueueStatus.
400        Answer, wait 30 s, hang up: a call that stays up (to list, Redirect,
           Hangup).
500        Answer, raise ``UserEvent`` ``Custom`` (``Key: ä-unicode``,
           ``Other: x``), hang up.
600        Answer, play an announcement (3 s), hang up.
700        Busy: the call is refused as busy (Originate fails, reason 5).
800        Ring for a minute and never answer (Originate times out, reason 3).
_9XX       Any of 900-999: answer, wait 1 s, hang up.
=========  =====================================================================

Extensions 100-500 and _9XX behave as the real server's ``demo`` context that
the recorded transcripts come from, so those transcripts can be replayed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["CONTEXTS", "Step", "exists", "lookup", "pattern_matches", "render_show"]


@dataclass(frozen=True, slots=True)
class Step:
    """One priority: the application, its data and its line in extensions.conf."""

    app: str
    data: str
    line: int


def _build() -> dict[str, dict[str, tuple[Step, ...]]]:
    # In extensions.conf order (the recorded server's lines first); shown sorted.
    plan = {
        "100": [("Answer", ""), ("Set", "FOO=bar"), ("Wait", "2"), ("Hangup", "")],
        "200": [("Dial", "Local/100@demo,10"), ("Hangup", "")],
        "300": [("Answer", ""), ("Queue", "support,,,,20"), ("Hangup", "")],
        "400": [("Answer", ""), ("Wait", "30"), ("Hangup", "")],
        "500": [("Answer", ""), ("UserEvent", "Custom,Key: ä-unicode,Other: x"), ("Hangup", "")],
        "_9XX": [("Answer", ""), ("Wait", "1"), ("Hangup", "")],
        "301": [("Answer", ""), ("Queue", "sales,,,,30"), ("Hangup", "")],
        "600": [("Answer", ""), ("Playback", "demo-congrats"), ("Hangup", "")],
        "700": [("Busy", "3")],
        "800": [("Ringing", ""), ("Wait", "60"), ("Hangup", "")],
    }
    line = 6
    built: dict[str, tuple[Step, ...]] = {}
    for exten, steps in plan.items():
        built[exten] = tuple(Step(app, data, line + i) for i, (app, data) in enumerate(steps))
        line += len(steps)
    order = sorted(built, key=lambda e: (e.startswith("_"), e))
    return {"demo": {e: built[e] for e in order}}


#: context -> extension (or ``_`` pattern) -> priorities.
CONTEXTS: Final = _build()

_PATTERN_CLASSES: Final = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


def pattern_matches(pattern: str, exten: str) -> bool:
    """Whether an ``_``-pattern (``X``, ``Z``, ``N``, ``[..]``, ``.``, ``!``) matches."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i]
        if c.upper() in _PATTERN_CLASSES:
            regex.append(_PATTERN_CLASSES[c.upper()])
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                return False
            regex.append("[" + re.sub(r"[\\^]", "", body[i + 1 : end]) + "]")
            i = end
        else:
            regex.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(regex), exten) is not None


def lookup(context: str, exten: str) -> tuple[Step, ...] | None:
    """The priorities that run for ``exten`` in ``context`` (exact match first)."""
    ctx = CONTEXTS.get(context)
    if ctx is None:
        return None
    if exten in ctx:
        return ctx[exten]
    for name, steps in ctx.items():
        if name.startswith("_") and pattern_matches(name, exten):
            return steps
    return None


def exists(context: str, exten: str, priority: int = 1) -> bool:
    steps = lookup(context, exten)
    return steps is not None and 1 <= priority <= len(steps)


def _pad(text: str, width: int) -> str:
    """Left-justify by bytes, as C's ``%-Ns`` does with UTF-8 text."""
    return text + " " * max(width - len(text.encode("utf-8")), 0)


def render_show(arg: str = "") -> list[str] | None:
    """``dialplan show [exten@][context]`` output lines, or None if nothing matches."""
    exten_filter, _, context_filter = arg.rpartition("@") if "@" in arg else ("", "", arg)
    lines: list[str] = []
    n_ext = n_prio = n_ctx = 0
    for context, extens in CONTEXTS.items():
        if context_filter and context != context_filter:
            continue
        shown = [
            (name, steps)
            for name, steps in extens.items()
            if not exten_filter or name == exten_filter or pattern_matches(name, exten_filter)
        ]
        if exten_filter and not shown:
            continue
        n_ctx += 1
        lines.append(f"[ Context '{context}' created by 'pbx_config' ]")
        for name, steps in shown:
            n_ext += 1
            for i, step in enumerate(steps, 1):
                n_prio += 1
                head = _pad(f"'{name}' =>" if i == 1 else "", 17)
                call = _pad(f"{i}. {step.app}({step.data})", 45)
                lines.append(f"  {head} {call} [extensions.conf:{step.line}]")
        lines.append("")
    if not n_ctx:
        return None
    s_ext = "" if n_ext == 1 else "s"
    s_prio = "y" if n_prio == 1 else "ies"
    s_ctx = "" if n_ctx == 1 else "s"
    lines.append(
        f"-= {n_ext} extension{s_ext} ({n_prio} priorit{s_prio}) in {n_ctx} context{s_ctx}. =-"
    )
    return lines
