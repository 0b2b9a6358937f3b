"""Turning messages and command results into text: pretty, raw or JSON.

Everything here returns *fragments*, ``(style, text)`` pairs with style names
from a small palette, so one function prints them coloured on a terminal
(:func:`to_ansi`) and another plain (:func:`to_plain`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from ..message import Message
from ..protocol import format_pairs
from ..textsafe import json_dumps
from .codes import with_words
from .jsonlines import message_json

__all__ = [
    "FORMATS",
    "Fragments",
    "Info",
    "Output",
    "Problem",
    "Renderer",
    "TableResult",
    "elapsed_text",
    "to_ansi",
    "to_plain",
]

Fragments = list[tuple[str, str]]
FORMATS: Final = ("pretty", "raw", "json")

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
}

#: Columns worth seeing first in a table of event list items.
_PREFERRED: Final = (
    "Channel", "ChannelStateDesc", "State", "Status", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "Context", "Exten", "Priority", "Application", "ApplicationData",
    "Data", "Duration", "Seconds", "Queue", "Interface", "MemberName", "Name", "Family",
    "Key", "Val", "Value", "BridgeUniqueid", "BridgeId", "BridgeID", "BridgeType",
    "BridgeNumChannels", "ObjectName", "Endpoint", "DeviceState", "Uniqueid", "Linkedid",
)
_NOT_COLUMNS: Final = frozenset({"event", "actionid", "privilege", "eventlist"})
_PLACEHOLDERS: Final = frozenset({"", "<unknown>"})
_CHANNEL_IDS: Final = frozenset({"uniqueid", "linkedid"})
_MAX_CELL: Final = 40


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


def to_plain(fragments: Iterable[tuple[str, str]]) -> str:
    return "".join(text for _, text in fragments)


def to_ansi(fragments: Iterable[tuple[str, str]]) -> str:
    """Fragments with SGR colour codes (only around styled text)."""
    out: list[str] = []
    for style, text in fragments:
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


class Renderer:
    """Formats results for a terminal ``width`` columns wide."""

    def __init__(self, fmt: str = "pretty", width: int = 80) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        self.format = fmt
        self.width = max(20, width)
        #: Show how long a response took (off for scripts writing to a pipe).
        self.show_elapsed = True

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
            return [*frags, ("", raw_text(msg))]
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
        columns, hidden = choose_columns(items, self.width)
        rows = [
            [_cell(with_words(item.name, c, shown(c, item.value(c) or ""))) for c in columns]
            for item in items
        ]
        frags = self.table_rows(columns, rows)
        if hidden:
            frags.append(("dim", f"not shown: {', '.join(hidden)} (.format raw shows all)\n"))
        return frags

    def table_rows(self, headers: list[str], rows: list[list[str]]) -> Fragments:
        widths = [len(h) for h in headers]
        for row in rows:
            for i, value in enumerate(row):
                widths[i] = max(widths[i], len(value))
        frags: Fragments = [("heading", self._clip(_pad_row(headers, widths))), ("", "\n")]
        frags += [("", self._clip(_pad_row(row, widths)) + "\n") for row in rows]
        return frags

    def _clip(self, line: str) -> str:
        return line if len(line) <= self.width else line[: self.width - 1] + "…"

    def result(self, result: Info | Problem | TableResult | Output) -> Fragments:
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


def choose_columns(items: Sequence[Message], width: int) -> tuple[list[str], list[str]]:
    """The most informative columns that fit in ``width``, and those left out.

    Columns whose value differs between items come first (in :data:`_PREFERRED`
    order, then in order of appearance), then constant ones; empty ones (or all
    ``<unknown>``) never. A channel's Uniqueid and Linkedid count as constant when
    the Channel column already tells the items apart.
    """
    keys: dict[str, None] = {}
    for item in items:
        for key, _ in item.headers:
            if key.lower() not in _NOT_COLUMNS:
                keys.setdefault(key, None)
    rank = {name.lower(): i for i, name in enumerate(_PREFERRED)}
    order = {k: i for i, k in enumerate(keys)}
    has_channel = any(k.lower() == "channel" for k in keys)

    def score(key: str) -> tuple[int, int, int]:
        values = {item.value(key) or "" for item in items} - _PLACEHOLDERS
        if not values:
            kind = 2
        elif len(values) == 1 or (has_channel and key.lower() in _CHANNEL_IDS):
            kind = 1
        else:
            kind = 0
        return (kind, rank.get(key.lower(), len(rank)), order[key])

    scores = {k: score(k) for k in keys}
    ranked = sorted((k for k in keys if scores[k][0] < 2), key=scores.__getitem__)
    chosen: list[str] = []
    used = 0
    for key in ranked:
        w = max(len(key), *(
            len(_cell(with_words(item.name, key, item.value(key) or ""))) for item in items
        ))
        extra = w + (2 if chosen else 0)
        if used + extra > width:
            continue
        chosen.append(key)
        used += extra
    hidden = [k for k in ranked if k not in chosen]
    return chosen, hidden


def _cell(value: str) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 1] + "…"


def _pad_row(values: list[str], widths: list[int]) -> str:
    cells = [v.ljust(w) for v, w in zip(values, widths, strict=False)]
    return "  ".join(cells).rstrip()
