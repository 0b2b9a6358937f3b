"""The last line of defence for the manager secret in anything the shell writes.

A server may echo a header the user typed, a dialplan may put the secret in a
variable: whatever the shell prints, logs or records goes through
:func:`redact` first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .lineparse import MASK

__all__ = ["redact"]


def redact(text: str, secret: str, username: str = "") -> str:
    """``text`` with ``secret`` starred out.

    Only a whole token is starred (not a part of a longer word or number), so a
    weak secret such as ``secret`` or ``1234`` does not garble ``secrets`` or a
    Uniqueid. A secret equal to the user name is no secret and is left alone.
    """
    if len(secret) < 4 or secret not in text or secret == username:
        return text
    return _token_pattern(secret).sub(MASK, text)


@lru_cache(maxsize=8)
def _token_pattern(secret: str) -> re.Pattern[str]:
    """``secret`` where it stands as a token of its own: not inside a word, a number
    (``1795.1234``), a channel name (``Local/1234@demo``) or an address."""
    return re.compile(
        r"(?<![\w@/-])(?<!\w\.)" + re.escape(secret) + r"(?![\w@/-])(?!\.\w)"
    )
