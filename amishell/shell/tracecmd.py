"""``.trace`` (follow a call through the event history) and ``.record`` (capture)."""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

from ..capture import Capture
from ..textsafe import clean, json_dumps
from ..trace import Call, find_call, list_calls, resolve
from ..trace.calls import follow
from ..trace.ladder import ladder_parts
from ..trace.text import clock, iso_time, to_json, to_text
from .commands import command
from .eventhistory import Kept
from .lineparse import MetaLine
from .render import Info, Problem, TableResult

if TYPE_CHECKING:
    from .base import Result
    from .base import ShellAPI as Shell

__all__ = ["open_capture", "stop_following"]

RECENT = 20
FOLLOW_TICK = 0.25
EXPORTS = ("--text", "--json", "--svg")


@command(
    "trace",
    ".trace [ID [full] [hide TAGS]|stop] [--text|--json|--svg FILE]",
    "follow a call (channel, Uniqueid or Linkedid)",
    "  .trace alone lists the recent calls. ID is a channel name, a Uniqueid or a",
    "  Linkedid; every event of the call (all its channels) is taken from the event",
    "  history. 'full' shows every header. --text, --json, --svg FILE save it.",
    "  hide B1,C leaves lanes out of the ladder (B: both halves of a Local channel).",
    "  A call in progress goes on growing as its events come, until it ends or",
    "  .trace stop.",
)
def _trace(shell: Shell, line: MetaLine) -> Result:
    words = list(line.args)
    exports: dict[str, str] = {}
    while words and words[-1] not in EXPORTS and len(words) >= 2 and words[-2] in EXPORTS:
        exports[words[-2]] = os.path.expanduser(words[-1])
        del words[-2:]
    if any(w in EXPORTS for w in words):
        return Problem("--text, --json and --svg each take a FILE: .trace ID --json call.json")
    hide: set[str] = set()
    lowered = [w.lower() for w in words]
    if "hide" in lowered:
        at = lowered.index("hide")
        if at + 1 >= len(words):
            return Problem("hide takes lane tags: .trace ID hide B1,C (B hides both halves)")
        hide = {t.strip().upper() for t in words[at + 1].split(",") if t.strip()}
        del words[at : at + 2]
    full = bool(words) and words[-1].lower() == "full"
    if full:
        words.pop()
    stop_following(shell)
    if words == ["stop"]:
        return Info(["trace: not following a call"], style="dim")
    events = list(shell.history)
    if not words:
        return _recent(shell, events)
    if len(words) > 1:
        return Problem(f"one call at a time: .trace ID [full] (got {len(words)} IDs)")
    ident = words[0]
    linkedid = resolve(events, ident)
    if linkedid is None:
        return Problem(_not_found(shell, ident))
    call = find_call(events, linkedid)
    notes = _older(shell, call.steps[0].seq if call.steps else 0)
    saved: list[str] = []
    for option, path in exports.items():
        try:
            _export(call, option, path)
        except OSError as e:
            return Problem(f"cannot write {path}: {e.strerror}")
        saved.append(f"saved {option[2:]} to {path}")
    if shell.renderer.format == "json":
        return Info([json_dumps(to_json(call))], data=to_json(call))
    if exports:
        return Info(notes + saved, style="dim")
    live = not call.ended and shell.event_sink is None and shell.connected
    head, rows = ladder_parts(call, width=shell.width(), full=full,
                              merge=False if live else None, hide=hide)
    if live:
        _follow(shell, call, events[-1].seq if events else 0, head, len(rows), full, hide)
        notes.append("(the call is in progress: new steps follow as they come;"
                     " Ctrl-C or .trace stop ends that)")
    return Info(head + rows + notes)


def _export(call: Call, option: str, path: str) -> None:
    if option == "--json":
        text = json_dumps(to_json(call), indent=1) + "\n"
    elif option == "--svg":
        from ..trace.svg import to_svg

        text = to_svg(call)
    else:
        text = "\n".join(to_text(call, full=True)) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _recent(shell: Shell, events: list[Kept]) -> Result:
    calls = list_calls(events)[-RECENT:]
    if shell.renderer.format == "json":
        listed = [
            {"linkedid": c.linkedid, "first": iso_time(c.first), "last": iso_time(c.last),
             "channels": c.channels, "events": c.events, "ended": c.ended}
            for c in calls
        ]
        return Info([json_dumps(listed)], data={"calls": listed})
    if not calls:
        return Info([_empty(shell)], style="dim")
    rows = [
        [clean(c.linkedid), clock(c.first), f"{c.last - c.first:.1f}s", str(len(c.channels)),
         str(c.events), "ended" if c.ended else "up", clean(c.channels[0] if c.channels else "")]
        for c in reversed(calls)
    ]
    return TableResult(
        ["Linkedid", "Started", "Length", "Chans", "Events", "State", "First channel"],
        rows,
        caption="newest first; .trace ID (Linkedid, Uniqueid or channel name) follows one",
    )


def _empty(shell: Shell) -> str:
    if not shell.history.enabled:
        return "the event history is off (event_history = 0): nothing to trace"
    return "no calls in the event history yet"


def _not_found(shell: Shell, ident: str) -> str:
    history = shell.history
    text = f"no call {clean(ident)!r} in the event history"
    if history.dropped and history.start is not None:
        return text + f" (it starts at {clock(history.start)}; older events are gone)"
    return text + " (a channel name, a Uniqueid or a Linkedid; .trace lists the calls)"


def _older(shell: Shell, first_seq: int) -> list[str]:
    history = shell.history
    if history.dropped and history.start is not None and first_seq and (
        history.missing_before(first_seq - 1) == 0 and first_seq <= history.dropped + 1
    ):
        return [f"(the event history starts at {clock(history.start)}:"
                " this call may have begun earlier)"]
    return []


class _Follower:
    """Shows the new steps of a call in progress above the prompt, until the call's
    last channel hangs up, the connection goes, or ``.trace stop``."""

    def __init__(self, shell: Shell, call: Call, seq: int, head: list[str], shown: int,
                 full: bool, hide: set[str]) -> None:
        self.shell, self.call, self.seq = shell, call, seq
        self.head, self.shown, self.full, self.hide = head, shown, full, hide
        self.stop = threading.Event()
        threading.Thread(target=self.run, name="amishell-trace", daemon=True).start()

    def run(self) -> None:
        view = self.shell.view
        while not self.stop.wait(FOLLOW_TICK):
            new = self.shell.history.since(self.seq)
            if new:
                self.seq = new[-1].seq
            if not any([follow(self.call, e) for e in new]):
                if not self.shell.connected:
                    return
                continue
            head, rows = ladder_parts(self.call, width=self.shell.width(), full=self.full,
                                      merge=False, hide=self.hide)
            lines = (head[1:] if head[1:] != self.head[1:] else []) + rows[self.shown:]
            self.head, self.shown = head, len(rows)
            if lines:
                view.notice_fragments([("", "\n".join(lines) + "\n")])
            if self.call.ended:
                view.notice(f"trace: call {clean(self.call.linkedid)} ended", style="dim")
                return


_FOLLOWING: weakref.WeakKeyDictionary[Shell, _Follower] = weakref.WeakKeyDictionary()


def _follow(shell: Shell, call: Call, seq: int, head: list[str], shown: int,
            full: bool, hide: set[str]) -> None:
    _FOLLOWING[shell] = _Follower(shell, call, seq, head, shown, full, hide)


def stop_following(shell: Shell) -> bool:
    """Stop showing the steps of a call in progress (``.trace stop``, Ctrl-C at the
    prompt); False when no call was being followed."""
    follower = _FOLLOWING.pop(shell, None)
    if follower is None or follower.stop.is_set() or follower.call.ended:
        return False
    follower.stop.set()
    return True


@command(
    "record",
    ".record [FILE|off]",
    "capture the session's traffic to FILE (secrets starred)",
    "  Both ways, as JSON Lines (t, dir, data), created mode 0600. Replay it with",
    "  amishell --replay FILE or amishell-sim --replay FILE.",
)
def _record(shell: Shell, line: MetaLine) -> Result:
    word = line.rest.strip()
    current = shell.capture
    if not word:
        if current is None:
            return Info(["not recording (.record FILE starts)"])
        return Info([_record_status(current)])
    if word == "off":
        if current is None:
            return Info(["not recording"], style="dim")
        _stop_recording(shell)
        return Info([f"capture closed: {_record_status(current)}"], style="dim")
    path = os.path.expanduser(word)
    try:
        capture = open_capture(shell, path)
    except OSError as e:
        return Problem(f"cannot open {path}: {e.strerror}")
    if current is not None:
        _stop_recording(shell)
    shell.capture = capture
    client = shell.client
    if client is not None:
        if client.connected:
            capture.opened(shell.target.address)
        client.wire_observer = capture
    return Info([f"recording the session to {path} (secrets starred)"], style="dim")


def open_capture(shell: Shell, path: str) -> Capture:
    """A capture to ``path`` for ``shell``'s session (OSError when it cannot be made);
    when the disk falls behind, the shell says so once per gap."""

    def on_gap(lost: int) -> None:
        text = (f"capture {path}: the disk fell behind, traffic is being lost"
                f" ({lost} bytes so far; the file marks the gap)")
        if shell.event_sink is None:
            shell.view.notice(text)
        else:
            shell.ctx.error(text)

    return Capture(path, redact=shell.redact, on_gap=on_gap)


def _stop_recording(shell: Shell) -> None:
    capture = shell.capture
    shell.capture = None
    if shell.client is not None:
        shell.client.wire_observer = None
    if capture is not None:
        capture.close()


def _record_status(capture: Capture) -> str:
    text = f"recording to {capture.path}: {capture.written} chunks written"
    if capture.lost_bytes:
        text += f"; {capture.lost_bytes} bytes LOST (the disk fell behind)"
    if capture.failed:
        text += f"; writing failed: {capture.failed}"
    return text
