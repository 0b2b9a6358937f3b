"""Looking back at events: ``.events last N [FILTER]`` and what a pause held back.

Both read the session's one event history (:class:`~amishell.shell.eventhistory.
EventHistory`), which keeps every event received whatever the display showed,
up to its bound (``event_history``). Past the bound an event is gone; the
answer then says where the history starts and how many fell out of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .eventhistory import EventHistory, Kept
from .eventline import clock_text
from .events import Batch, EventFilter
from .render import Fragments, Info, Output, Problem

if TYPE_CHECKING:
    from .base import Result
    from .base import ShellAPI as Shell

__all__ = ["MAX_HELD", "events_last", "history_lines", "pause", "per_tick", "resume"]

#: Most held-back events shown on resuming (the rest: ``.events last N``).
MAX_HELD: Final = 5000

LAST_USAGE: Final = ".events last N [FILTER]: N is a number of events, e.g. .events last 50 Hangup"


def events_last(shell: Shell, args: list[str]) -> Result:
    """The last ``N`` events kept (that match FILTER, in the display filter's syntax)."""
    if not args or not args[0].isdigit() or int(args[0]) < 1:
        return Problem(LAST_USAGE)
    count = int(args[0])
    spec = " ".join(args[1:]).strip()
    try:
        flt = EventFilter(spec) if spec else None
    except ValueError as e:
        return Problem(str(e))
    history = shell.history
    if not history.enabled:
        return Problem("the event history is off (event_history = 0): no events were kept")
    kept = _last_matching(history, count, flt)
    frags = _render(shell, kept)
    if shell.renderer.format == "json":
        return Output(frags)
    what = f" matching {flt.spec}" if flt is not None else ""
    if not kept:
        frags.append(("dim", f"no events{what} kept\n"))
    if len(kept) < count:
        frags.append(("dim", f"{len(kept):,} events{what} kept; " + _start(history) + "\n"))
    return Output(frags)


def history_lines(shell: Shell) -> list[str]:
    """What ``.events`` says about the event history."""
    history = shell.history
    if not history.enabled:
        return ["event history: off (event_history = 0)"]
    return [f"event history: {len(history):,} kept; {_start(history)}; .events last N shows them"]


def per_tick(shell: Shell, args: list[str]) -> Result:
    """``.events per_tick N``: show at most N events a tick (the rest: ``.events last``)."""
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
        return Problem(".events per_tick N: N events a tick at most (a number, 1 or more)")
    shell.view.per_tick = int(args[0])
    return Info([f"events: at most {shell.view.per_tick} a tick"], style="dim")


def pause(shell: Shell) -> None:
    """Hold the display; the history marks where the pause began."""
    view = shell.view
    if view.state != "pause":
        view.held_from = shell.history.total
        view.state = "pause"


def resume(shell: Shell) -> Result:
    """Show events again, first those the pause held back (from the history)."""
    view = shell.view
    mark = view.held_from
    held = view.resume()
    history = shell.history
    # The display is on again: what arrives from now on is shown live, not here.
    end = history.total
    if not held:
        return Info(["events: on (nothing was held back)"], style="dim")
    if not history.enabled:
        return Info([f"events: on; {held:,} held back cannot be shown: the event history"
                     " is off (event_history = 0)"], style="warn")
    flt = view.filter
    kept = [
        k for k in history.since(mark) if k.seq <= end and (flt is None or flt.matches(k.message))
    ]
    gone = history.missing_before(mark)
    frags: Fragments = []
    if len(kept) > MAX_HELD:
        spec = f" {flt.spec}" if flt is not None else ""
        frags.append(("warn", f"{len(kept) - MAX_HELD:,} of the {len(kept):,} held back are not"
                              f" shown here: .events last {len(kept)}{spec} shows them all\n"))
        kept = kept[-MAX_HELD:]
    if gone:
        frags.append(("warn", f"{gone:,} events held back fell out of the event history;"
                              f" {_start(history)}\n"))
    frags.append(("dim", f"resumed: the {len(kept):,} events held back:\n"))
    frags += _render(shell, kept)
    view.shown += len(kept)
    return Output(frags)


def _last_matching(history: EventHistory, count: int, flt: EventFilter | None) -> list[Kept]:
    """The last ``count`` events kept that ``flt`` matches (parsing only the newest
    events that are needed, a growing slice at a time)."""
    if flt is None:
        return history.last(count)
    size = len(history)
    chunk = max(4 * count, 1000)
    while True:
        hits = [k for k in history.last(chunk) if flt.matches(k.message)]
        if len(hits) >= count or chunk >= size:
            return hits[-count:]
        chunk *= 4


def _render(shell: Shell, kept: list[Kept]) -> Fragments:
    renderer = shell.renderer
    renderer.width = shell.width()
    batch = Batch([(k.received, k.message) for k in kept])
    return shell.view.render(batch, renderer)


def _start(history: EventHistory) -> str:
    """Where the history starts, and how many events fell out before it."""
    start = history.start
    if start is None:
        return "the event history is empty"
    text = f"the event history starts at {clock_text(start)}"
    if history.dropped:
        text += (f" ({history.dropped:,} earlier events fell out of it:"
                 f" event_history keeps {history.max_events:,})")
    else:
        text += " (the session's first event)"
    return text
