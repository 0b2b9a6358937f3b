"""A message to wire bytes, refusing what Asterisk would misread."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..errors import LocalProtocolError

#: Longest line Asterisk accepts from a client, and most lines per message.
MAX_LINE_LENGTH: Final = 1022
MAX_LINES: Final = 128

Fields = Mapping[str, Any] | Iterable[tuple[str, Any]]

_BAD_KEY: Final = re.compile(r"[\s:]")


def serialize(fields: Fields) -> bytes:
    """A mapping or (key, value) pairs as wire bytes; lists repeat a header.

    Values become text (``True``/``False`` as ``true``/``false``); ``None``
    leaves the header out. Raises :class:`LocalProtocolError` (a ValueError)
    for header injection, an over-long line or too many lines.
    """
    pairs = _pairs(fields)
    if len(pairs) > MAX_LINES - 1:
        raise LocalProtocolError(
            f"{len(pairs)} headers; Asterisk accepts at most {MAX_LINES} lines per message"
        )
    for key, value in pairs:
        check_header(key, value)
    return "".join([f"{key}: {value}\r\n" for key, value in pairs]).encode() + b"\r\n"


def check_header(key: str, value: str) -> None:
    """Raise LocalProtocolError for a header that cannot be sent as is."""
    if not isinstance(key, str) or not key:
        raise LocalProtocolError("header name must be a non-empty string")
    if _BAD_KEY.search(key):
        raise LocalProtocolError(f"header name {key!r} may not contain ':' or spaces")
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(
            f"the value of {key!r} contains a line break, which would end the header"
        )
    size = len(key.encode("utf-8", "replace")) + 2 + len(value.encode("utf-8", "replace"))
    if size > MAX_LINE_LENGTH:
        raise LocalProtocolError(
            f"header {key!r} is {size} bytes long;"
            f" Asterisk accepts at most {MAX_LINE_LENGTH} per line"
        )


def format_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Pairs as wire bytes with no checks (for display, servers and tests)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode("utf-8")


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out.extend((key, _text(key, v)) for v in value)
        else:
            out.append((key, _text(key, value)))
    return out


def _text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        raise LocalProtocolError(f"header {key!r}: give text, not bytes")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
