"""The bottom toolbar: connection, latency, event rate and counts, filter, format."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.formatted_text import StyleAndTextTuples

if TYPE_CHECKING:
    from .core import Shell

__all__ = ["make_toolbar", "toolbar_fragments"]

_STATE_STYLE = {
    "connected": "class:toolbar.ok",
    "connecting": "class:toolbar.warn",
    "reconnecting": "class:toolbar.warn",
    "disconnected": "class:toolbar.bad",
}


def toolbar_fragments(shell: Shell) -> StyleAndTextTuples:
    """What the toolbar shows, as (style, text) pairs."""
    view = shell.view
    client = shell.client
    state = shell.state
    frags: StyleAndTextTuples = [(_STATE_STYLE.get(state, "class:toolbar"), f" {state} ")]
    frags.append(("class:toolbar", f" {shell.username}@{shell.target.address} "))
    latency = client.last_latency if client is not None else None
    if state == "connected" and latency is not None:
        frags.append(("class:toolbar", f"│ ping {latency * 1000:.1f} ms "))
    frags.append(("class:toolbar", f"│ {view.rate():,.0f} ev/s "))
    events = f"│ events {view.state}: {view.shown:,} shown"
    if view.filtered:
        events += f", {view.filtered:,} filtered"
    if view.not_shown:
        events += f", {view.not_shown:,} not shown"
    if view.paused:
        events += f", {view.paused:,} held back"
    frags.append(("class:toolbar", events + " "))
    if view.filter is not None:
        frags.append(("class:toolbar", f"│ filter {view.filter.spec} "))
    if view.log is not None:
        frags.append(("class:toolbar", "│ logging "))
    frags.append(("class:toolbar", f"│ {shell.renderer.format} "))
    return frags


def make_toolbar(shell: Shell) -> Callable[[], StyleAndTextTuples]:
    return lambda: toolbar_fragments(shell)
