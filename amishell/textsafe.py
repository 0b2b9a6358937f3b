"""Text from the wire, made safe for a terminal.

Header values carry whatever callers and dialplans put there: a SIP caller
chooses its CallerIDName. Before such text reaches a terminal (or a pager, or a
JSON document), the characters that could drive the terminal or reorder what
it shows are made visible instead:

* C0 controls other than newline and tab, ESC and DEL: caret notation (``^[``,
  ``^M``, ``^?``), as ``less`` and ``cat -v`` show them;
* C1 controls (U+0080-U+009F) and the bidi controls (U+200E, U+200F, U+061C,
  U+202A-U+202E, U+2066-U+2069): ``<U+202E>``.

:func:`fragments` returns the same text split into prompt_toolkit-style
``(style, text)`` pairs, the visible forms in a distinct style, so that they
can be told apart from a caller who typed ``^[`` literally.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "UNSAFE", "clean", "fit", "fragments", "is_clean", "json_dumps", "shown_len", "visible",
]

#: Every character that must not reach a terminal as it is.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNSAFE_STYLE = "class:unsafe"


def visible(char: str) -> str:
    """The visible form of one unsafe character."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def _sub(match: re.Match[str]) -> str:
    return visible(match.group())


def clean(text: str) -> str:
    """``text`` with every unsafe character in its visible form."""
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(_sub, text)


def is_clean(text: str) -> bool:
    return UNSAFE.search(text) is None


def shown_len(text: str) -> int:
    """How many characters ``text`` takes once its unsafe characters are visible."""
    if UNSAFE.search(text) is None:
        return len(text)
    return len(text) + sum(len(visible(m.group())) - 1 for m in UNSAFE.finditer(text))


def fit(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut so that its shown form (see :func:`shown_len`) takes at most
    ``width`` characters, ``ellipsis`` marking a cut; an unsafe character is never
    cut in two (the cut text may still hold unsafe characters: show it with
    :func:`clean` or :func:`fragments`)."""
    if shown_len(text) <= width:
        return text
    room = max(0, width - len(ellipsis))
    used = 0
    for i, char in enumerate(text):
        size = len(visible(char)) if UNSAFE.match(char) else 1
        if used + size > room:
            return text[:i] + ellipsis
        used += size
    return text + ellipsis


def fragments(text: str, style: str = "", unsafe_style: str = UNSAFE_STYLE
              ) -> list[tuple[str, str]]:
    """``text`` as ``(style, text)`` pairs, unsafe characters shown visibly in
    ``unsafe_style`` (added to ``style``)."""
    if UNSAFE.search(text) is None:
        return [(style, text)]
    out: list[tuple[str, str]] = []
    at = 0
    marked = f"{style} {unsafe_style}".strip()
    for match in UNSAFE.finditer(text):
        if match.start() > at:
            out.append((style, text[at : match.start()]))
        out.append((marked, visible(match.group())))
        at = match.end()
    if at < len(text):
        out.append((style, text[at:]))
    return out


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with non-ASCII text kept readable, but every unsafe
    character written as a ``\\uXXXX`` escape: the values decode exactly, and
    the JSON text itself holds no control character."""
    kwargs.setdefault("ensure_ascii", False)
    text = json.dumps(obj, **kwargs)
    # json.dumps already escapes C0 controls inside strings; DEL, C1 and bidi
    # characters pass through raw with ensure_ascii=False. Outside strings
    # (separators) none of these characters can appear.
    return UNSAFE.sub(_escape, text)
