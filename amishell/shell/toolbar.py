"""The bottom toolbar: connection, latency, event rate and counts, filter, format."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.application import get_app
from prompt_toolkit.formatted_text import StyleAndTextTuples

from ..textsafe import fragments

if TYPE_CHECKING:
    from .core import Shell

__all__ = ["make_toolbar", "toolbar_fragments"]

_STATE_STYLE = {
    "connected": "class:toolbar.ok",
    "connecting": "class:toolbar.warn",
    "reconnecting": "class:toolbar.warn",
    "disconnected": "class:toolbar.bad",
}


def toolbar_fragments(shell: Shell, width: int | None = None) -> StyleAndTextTuples:
    """What the toolbar shows, as (style, text) pairs, fitted into ``width`` columns:
    the least useful parts go first (events/s; then the filter is shortened; the ping,
    the filtered count and at last the filter are left out), so that the counts of
    events not shown and the format stay in sight."""
    view = shell.view
    client = shell.client
    state = shell.state
    guard = shell.guard
    # The session's safety marks come first: no width ever drops them.
    head: StyleAndTextTuples = [("class:toolbar.readonly", " READ-ONLY ")] if (
        guard.read_only) else []
    if guard.confirm and not guard.read_only:
        head.append(("class:toolbar.production", " PRODUCTION: confirm "))
    head += [
        (_STATE_STYLE.get(state, "class:toolbar"), f" {state} "),
        ("class:toolbar", f" {shell.username}@{shell.target.address} "),
    ]
    latency = client.last_latency if client is not None else None
    ping = f"│ ping {_latency(latency)} " if state == "connected" and latency is not None else ""
    rate = f"│ {_count(view.rate())} ev/s "
    word = _STATE_WORD.get(view.state, view.state)
    events = f"│ events {word}: {_count(view.shown)} shown"
    filtered = f", {_count(view.filtered)} filtered" if view.filtered else ""
    if view.off:
        filtered += f", {_count(view.off)} hidden while off"
    hidden = f", {_count(view.not_shown)} not shown" if view.not_shown else ""
    if view.paused:
        hidden += f", {_count(view.paused)} held back"
    dropped = client.dropped_events if client is not None else 0
    if dropped:
        hidden += f", {_count(dropped)} dropped"
    spec = view.filter.spec if view.filter is not None else ""
    tail = ("│ logging " if view.log is not None else "") + f"│ {shell.renderer.format} "

    def parts(
        ping: str, rate: str, filtered: str, spec: str | None, brief: bool = False
    ) -> list[str]:
        flt = f"│ filter {spec} " if spec else ""
        counts = f"│ events {word}{hidden} " if brief else events + filtered + hidden + " "
        return [ping, rate, counts, flt, tail]

    chosen = parts(ping, rate, filtered, spec)
    if width is not None:
        used = sum(len(frag[1]) for frag in head)
        short = spec if len(spec) <= 12 else spec[:11] + "…"
        for candidate in (
            parts(ping, "", filtered, spec),
            parts(ping, "", filtered, short),
            parts("", "", filtered, short),
            parts("", "", "", short),
            parts("", "", "", None),
            parts("", "", "", None, brief=True),
        ):
            if used + sum(map(len, chosen)) <= width:
                break
            chosen = candidate
    frags: StyleAndTextTuples = [("class:toolbar", t) for t in chosen if t]
    return head + frags


_STATE_WORD = {"pause": "paused"}


def _latency(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``7.4 s`` (a Ping queued behind a long action)."""
    if seconds >= 1:
        return f"{seconds:.1f} s"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _count(n: float) -> str:
    """A count that keeps the toolbar short: ``950``, ``12.3k``, ``4.1M``."""
    if n < 10_000:
        return f"{n:,.0f}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def make_toolbar(shell: Shell) -> Callable[[], StyleAndTextTuples]:
    def toolbar() -> StyleAndTextTuples:
        try:
            width: int | None = get_app().output.get_size().columns
        except Exception:  # no terminal size to fit: show everything
            width = None
        frags = toolbar_fragments(shell, width)
        doc = get_app().current_buffer.document
        line = doc.current_line
        from .eventhelp import about

        text = about(shell, line, doc.cursor_position_col) if line.strip() else ""
        if text:
            frags.append(("class:toolbar", "\n " + text[: (width or 200) - 2]))
        # Nothing in it may drive the terminal (an address, a filter typed, a synopsis).
        return [part for style, text, *_ in frags for part in fragments(text, style)]

    return toolbar
