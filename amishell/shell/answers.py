"""What the shell knows about an action's answer beyond the answer itself: whether
the action holds its session, and what a response means that it does not say."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..message import Message

__all__ = ["events_turned_off", "holds_session"]

_TRUE: Final = frozenset({"true", "yes", "1", "on", "y", "t"})
_OFF: Final = frozenset({"off", "0", "no", "false", "n", "f"})


def holds_session(name: str, fields: Sequence[tuple[str, str]]) -> bool:
    """Whether the action keeps its session busy until it ends (a synchronous
    Originate, WaitEvent): Asterisk runs a session's actions one at a time."""
    low = name.lower()
    if low == "waitevent":
        return True
    if low != "originate":
        return False
    run_async = next((v for k, v in fields if k.lower() == "async"), "")
    return run_async.strip().lower() not in _TRUE


def events_turned_off(name: str, fields: Sequence[tuple[str, str]], msg: Message) -> str | None:
    """A warning when an Events action asked for events and the server turned them
    off instead (it knows no class in the mask: ``EventMask=foo``); else None."""
    if name.lower() != "events" or (msg.value("Events") or "").lower() != "off":
        return None
    asked = next((v for k, v in fields if k.lower() == "eventmask"), "off")
    if asked.strip().lower() in _OFF:
        return None
    return (f"warning: the server turned events off: it knows no event class in {asked!r};"
            " .events mask on turns them back on (.help .events lists the classes)")
