"""Users, privilege classes and fault knobs of the simulated PBX."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "ALL_CLASSES",
    "CLASS_BITS",
    "Faults",
    "User",
    "authority_text",
    "mask_from_text",
]

#: Privilege and event classes with their bit, in the server's order.
CLASS_BITS: Final = {
    "system": 1 << 0,
    "call": 1 << 1,
    "log": 1 << 2,
    "verbose": 1 << 3,
    "command": 1 << 4,
    "agent": 1 << 5,
    "user": 1 << 6,
    "config": 1 << 7,
    "dtmf": 1 << 8,
    "reporting": 1 << 9,
    "cdr": 1 << 10,
    "dialplan": 1 << 11,
    "originate": 1 << 12,
    "agi": 1 << 13,
    "cc": 1 << 14,
    "aoc": 1 << 15,
    "test": 1 << 16,
    "security": 1 << 17,
    "message": 1 << 18,
}
ALL_CLASSES: Final = sum(CLASS_BITS.values())

_TRUE: Final = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE: Final = frozenset({"no", "false", "n", "f", "0", "off"})


def mask_from_text(text: str) -> int:
    """An event or privilege mask from its text, as the server reads it.

    Digits are the mask itself, ``on``/``yes`` mean every class, ``off``/``no``
    none, otherwise a comma-separated list of class names (``all`` is every
    class). An empty text is -1 (invalid).
    """
    text = text.strip()
    if not text:
        return -1
    if text.isdigit():
        return int(text)
    lower = text.lower()
    if lower in _FALSE:
        return 0
    if lower in _TRUE:
        return ALL_CLASSES
    mask = 0
    for word in lower.split(","):
        word = word.strip()
        if word == "all":
            mask |= ALL_CLASSES
        else:
            mask |= CLASS_BITS.get(word, 0)
    return mask


def authority_text(mask: int) -> str:
    """``call,all`` for the call class: the Privilege header's text."""
    if not mask:
        return "<none>"
    names = [name for name, bit in CLASS_BITS.items() if mask & bit]
    return ",".join([*names, "all"])


@dataclass(frozen=True)
class User:
    """A manager.conf user: secret, read and write classes, allowed networks.

    ``permit`` lists networks (``"10.99.99.0/24"``) the user may log in from;
    empty means anywhere. The secret never appears in ``repr``.
    """

    secret: str = field(repr=False)
    read: str = "all"
    write: str = "all"
    permit: tuple[str, ...] = ()

    @property
    def read_mask(self) -> int:
        return max(mask_from_text(self.read), 0)

    @property
    def write_mask(self) -> int:
        return max(mask_from_text(self.write), 0)

    def permitted(self, address: str) -> bool:
        """Whether a login from ``address`` passes the user's network list."""
        if not self.permit:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        for net in self.permit:
            try:
                if ip in ipaddress.ip_network(net, strict=False):
                    return True
            except ValueError:
                continue
        return False


@dataclass(frozen=True)
class Faults:
    """Misbehaviour for reliability tests, applied to each new session.

    * ``close_after_bytes`` / ``close_after_messages``: close the connection
      once that much has been sent (the greeting counts as bytes, not as a
      message); a cut may fall in the middle of a message.
    * ``delay``: seconds to wait before answering each action.
    * ``garbage``: junk bytes sent right after the greeting, and again after
      every ``garbage_every`` messages when that is set.
    * ``silent_after``: after that many messages, stop answering and stop
      sending without closing, the way a real server drops a slow reader.
    * ``no_greeting``: never send the greeting line.
    * ``greeting_text``: send this line instead of the real greeting.
    """

    close_after_bytes: int | None = None
    close_after_messages: int | None = None
    delay: float = 0.0
    garbage: bytes | None = None
    garbage_every: int | None = None
    silent_after: int | None = None
    no_greeting: bool = False
    greeting_text: str | None = None
