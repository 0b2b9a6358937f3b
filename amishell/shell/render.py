"""Turning messages and command results into text: pretty, raw or JSON.

Everything here returns *fragments*, ``(style, text)`` pairs with style names
from a small palette, so one function prints them coloured on a terminal
(:func:`to_ansi`) and another plain (:func:`to_plain`).

Those two are the output boundary for terminal safety: every fragment's text,
whatever it holds (a caller's name, a server's version string), leaves them
with its control, C1 and bidi characters made visible (:mod:`amishell.textsafe`)
in the ``unsafe`` style. Only fragments styled :data:`RAW` (the ``raw`` format:
the text as received) may be written unchanged, and only to a file or a pipe.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from ..message import Message
from ..protocol import format_pairs
from ..textsafe import clean, fit, json_dumps, shown_len
from ..textsafe import fragments as safe_fragments
from .codes import with_words
from .jsonlines import message_json
from .tables import tables

__all__ = [
    "FORMATS",
    "RAW",
    "UNSAFE_STYLE",
    "ClearScreen",
    "Fragments",
    "Info",
    "Output",
    "Problem",
    "Renderer",
    "TableResult",
    "elapsed_text",
    "to_ansi",
    "to_plain",
    "to_text",
]

Fragments = list[tuple[str, str]]
FORMATS: Final = ("pretty", "raw", "json")
#: The style of wire text in the ``raw`` format: kept as received in a file or a pipe.
RAW: Final = "raw"
#: The style of an unsafe character shown visibly (``^[``, ``<U+202E>``).
UNSAFE_STYLE: Final = "unsafe"

#: Style name -> SGR parameters.
_SGR: Final[dict[str, str]] = {
    "key": "36",
    "dim": "2",
    "ok": "1;32",
    "error": "1;31",
    "warn": "33",
    "message": "1",
    "event": "1;35",
    "number": "34",
    "value": "",
    "heading": "1;4",
    "time": "2",
    "channel": "36",
    "late": "1;33",
    UNSAFE_STYLE: "7",
}

class Info(NamedTuple):
    """Plain lines from a meta command (``.help``, ``.events``)."""

    lines: list[str]
    #: Style for every line ("" plain, "warn", "dim", ...).
    style: str = ""
    #: What the JSON format shows instead (None: ``{"lines": [...]}``).
    data: dict[str, Any] | None = None


class Output(NamedTuple):
    """Text a command rendered itself (events looked back at), in the current format."""

    fragments: Fragments


class Problem(NamedTuple):
    """Something the user should fix; shown as one ``error:`` line."""

    text: str


class ClearScreen(NamedTuple):
    """``clear``: the interactive shell clears the screen; scripts ignore it."""


class TableResult(NamedTuple):
    headers: list[str]
    rows: list[list[str]]
    #: Lines before the table and after it.
    title: Sequence[str] = ()
    caption: str = ""


def elapsed_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0005 else "<1 ms"
    return f"{seconds:.2f} s"


def to_plain(fragments: Iterable[tuple[str, str]], *, keep_raw: bool = False) -> str:
    """The fragments' text, every unsafe character made visible; with ``keep_raw``
    (a file or a pipe, not a terminal) :data:`RAW` fragments stay as received."""
    return "".join(
        text if keep_raw and style == RAW else clean(text) for style, text in fragments
    )


def to_ansi(fragments: Iterable[tuple[str, str]]) -> str:
    """Fragments with SGR colour codes (only around styled text), for a terminal:
    unsafe characters are made visible, in reverse video."""
    out: list[str] = []
    for style, text in _visible(fragments):
        code = _SGR.get(style, "") if style else ""
        if code and text.strip():
            if "\n" in text:
                # Keep codes off line ends so that a pager or a resize never bleeds colour.
                out.append("\n".join(
                    f"\x1b[{code}m{part}\x1b[0m" if part else part for part in text.split("\n")
                ))
            else:
                out.append(f"\x1b[{code}m{text}\x1b[0m")
        else:
            out.append(text)
    return "".join(out)


def to_text(fragments: Iterable[tuple[str, str]], *, color: bool, terminal: bool) -> str:
    """The one way fragments become output: coloured (on a terminal) or plain."""
    return to_ansi(fragments) if color else to_plain(fragments, keep_raw=not terminal)


def _visible(fragments: Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    for style, text in fragments:
        if text.isprintable():
            yield style, text
        else:
            for part_style, part in safe_fragments(text, style, UNSAFE_STYLE):
                yield (UNSAFE_STYLE if part_style.endswith(UNSAFE_STYLE) else part_style), part


class Renderer:
    """Formats results for a terminal ``width`` columns wide."""

    def __init__(self, fmt: str = "pretty", width: int = 80) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        self.format = fmt
        self.width = max(20, width)
        #: Show how long a response took (off for scripts writing to a pipe).
        self.show_elapsed = True
        #: Columns chosen with ``.columns``: item event name (lower case) -> headers.
        self.columns: dict[str, list[str]] = {}

    # -- responses ------------------------------------------------------------
    def response(
        self,
        msg: Message,
        elapsed: float | None = None,
        *,
        late: bool = False,
        name: str = "",
        received: float | None = None,
    ) -> Fragments:
        if self.format == "json":  # one object per message, nothing else: JSON stays JSON
            when = time.time() if received is None else received
            return [("", message_json(msg, when) + "\n")]
        frags: Fragments = []
        if late:
            to = f" to {name}" if name else ""
            frags.append(("late", f"late response{to} (ActionID {msg.action_id}):\n"))
        if self.format == "raw":
            return [*frags, (RAW, raw_text(msg))]
        if msg.events or msg.complete is not None:
            frags += self._list(msg)
        else:
            frags += self._message(msg, hide_output=False)
        if elapsed is not None and self.show_elapsed:
            frags.append(("dim", f"({elapsed_text(elapsed)})\n"))
        return frags

    def cli(
        self, msg: Message, elapsed: float | None = None, received: float | None = None
    ) -> Fragments:
        """A CLI command's answer: its output plainly; an error as an error."""
        if self.format != "pretty":
            return self.response(msg, elapsed, received=received)
        frags: Fragments = []
        lines = msg.output
        if msg.is_error:
            text = msg.value("Message") or "error"
            if not lines or text != "Command output follows":
                frags.append(("error", f"error: {text}\n"))
        style = "error" if msg.is_error else ""
        frags += [(style, line + "\n") for line in lines]
        if elapsed is not None and self.show_elapsed:
            frags.append(("dim", f"({elapsed_text(elapsed)})\n"))
        return frags

    def _message(self, msg: Message, *, hide_output: bool) -> Fragments:
        from .lexer import lex_message

        lines = []
        output = []
        for key, value in msg.headers:
            low = key.lower()
            if low == "actionid":
                continue
            if low == "output":
                output.append(value)
                continue
            lines.append(f"{key}: {shown(key, value)}\n")
        frags = list(lex_message("".join(lines))) if lines else []
        if output and not hide_output:
            frags += [("", line + "\n") for line in output]
        return frags

    def _list(self, msg: Message) -> Fragments:
        frags: Fragments = []
        if msg.is_error:
            frags += self._message(msg, hide_output=False)
        items = msg.events
        if len(items) == 1:
            frags += self.event_block(items[0])
        elif items:
            frags += self.table(items)
        count = len(items)
        noun = "item" if count == 1 else "items"
        caption = f"{count} {noun}"
        done = msg.complete
        if done is not None:
            listed = done.value("ListItems")
            if listed is not None and listed != str(count):
                caption += f" (the server says {listed})"
        else:
            caption += " (the list did not complete)"
        frags.append(("dim", caption + "\n"))
        return frags

    def event_block(self, msg: Message) -> Fragments:
        from .lexer import lex_message

        name = msg.name
        text = "".join(
            f"{k}: {with_words(name, k, shown(k, v))}\n"
            for k, v in msg.headers if k.lower() != "actionid"
        )
        return list(lex_message(text))

    # -- tables ---------------------------------------------------------------
    def table(self, items: Sequence[Message]) -> Fragments:
        """Event list items as tables: one per item type (see :mod:`.tables`)."""
        found = tables([_shown_item(item) for item in items], self.width, self.columns)
        frags: Fragments = []
        for table in found:
            if len(found) > 1:
                frags.append(("heading", f"{table.kind} ({len(table.rows)})"))
                frags.append(("", "\n"))
            frags += self.table_rows(table.headers, table.rows)
            if table.hidden:
                frags.append(("dim", _not_shown(table.kind, table.hidden, table.cut)))
        return frags

    def table_rows(self, headers: list[str], rows: list[list[str]]) -> Fragments:
        widths = [len(h) for h in headers]
        for row in rows:
            for i, value in enumerate(row):
                widths[i] = max(widths[i], shown_len(value))
        frags: Fragments = [("heading", self._clip(_pad_row(headers, widths))), ("", "\n")]
        frags += [("", self._clip(_pad_row(row, widths)) + "\n") for row in rows]
        return frags

    def _clip(self, line: str) -> str:
        return fit(line, self.width)

    def result(self, result: Info | Problem | TableResult | ClearScreen | Output) -> Fragments:
        if isinstance(result, ClearScreen):
            return []
        if isinstance(result, Output):
            return list(result.fragments)
        if isinstance(result, Problem):
            return [("error", "error: "), ("", result.text + "\n")]
        if self.format == "json":  # what a command reports is a JSON object too
            return [("", json_dumps(result_json(result)) + "\n")]
        if isinstance(result, TableResult):
            frags: Fragments = [("", line + "\n") for line in result.title]
            frags += self.table_rows(result.headers, result.rows)
            if result.caption:
                frags.append(("dim", result.caption + "\n"))
            return frags
        return [(result.style, line + "\n") for line in result.lines]


def result_json(result: Info | TableResult) -> dict[str, Any]:
    """A command's report as a JSON object: its data, or its lines; a table's rows
    as objects keyed by the column headings."""
    if isinstance(result, TableResult):
        keys = [h or f"column{i + 1}" for i, h in enumerate(result.headers)]
        return {
            "title": list(result.title),
            "rows": [dict(zip(keys, row, strict=False)) for row in result.rows],
            "caption": result.caption,
        }
    if result.data is not None:
        return result.data
    return {"lines": list(result.lines)}


SECRET_MASK: Final = "********"


def shown(key: str, value: str) -> str:
    """A header's value as the pretty display shows it: a ``Secret`` (an echo of one
    typed into a UserEvent, say) is starred; raw and JSON keep what was received."""
    return SECRET_MASK if value and key.lower() == "secret" else value


def _not_shown(kind: str, hidden: list[str], cut: int) -> str:
    """What a table leaves out: the columns that did not fit, by name; the other
    headers, by number."""
    parts = []
    if cut:
        parts.append(f"{', '.join(hidden[:cut])} (no room)")
    if len(hidden) > cut:
        others = len(hidden) - cut
        parts.append(f"{others} other header{'s' if others != 1 else ''}")
    return f"not shown: {'; '.join(parts)}; .columns {kind} chooses, .format raw shows all\n"


def _shown_item(item: Message) -> Message:
    """An item as a table shows it (a Secret starred)."""
    if not any(k.lower() == "secret" for k, _ in item.headers):
        return item
    return Message([(k, shown(k, v)) for k, v in item.headers])


def raw_text(msg: Message) -> str:
    """The message as it came off the wire (an event list: every message in it)."""
    parts = [_raw_one(msg)]
    parts += [_raw_one(e) for e in msg.events]
    if msg.complete is not None:
        parts.append(_raw_one(msg.complete))
    return "".join(parts)


def _raw_one(msg: Message) -> str:
    data = msg.raw if msg.raw is not None else format_pairs(msg.headers)
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return text if text.endswith("\n\n") else text.rstrip("\n") + "\n\n"


def _pad_row(values: list[str], widths: list[int]) -> str:
    cells = [v + " " * (w - shown_len(v)) for v, w in zip(values, widths, strict=False)]
    return "  ".join(cells).rstrip()
