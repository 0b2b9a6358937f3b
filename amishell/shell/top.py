"""``.top``: a full-screen live view of channels, calls, bridges or queues.

Drawn with prompt_toolkit from a :class:`~.topview.TopModel`, redrawn five
times a second from rows made at that pace. The model takes new events in
small slices every 20 ms between redraws and keys, so that under a flood no
key waits behind a second's worth of events. Keys: ``1``-``4`` or Tab
switch views, ``s`` sorts by the next column, ``/`` filters,
Up/Down/PageUp/PageDown move, ``h`` hangs up the row's channel (after a y/N;
not in read-only mode), ``r`` redirects it (asks the target, completed from
the dialplan), ``t`` traces the row's call, ``v`` shows its variables, Enter
its last event in full, ``q`` or Esc goes back.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import ConditionalCompleter, FuzzyWordCompleter, ThreadedCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import (
    BufferControl,
    ConditionalContainer,
    FormattedTextControl,
    HSplit,
    Layout,
    Window,
)
from prompt_toolkit.styles import Style

from ..message import Message
from ..textsafe import clean
from .topview import VIEWS, Row, TopModel

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from ..client import ActionFuture, AMIClient

__all__ = ["TopApp"]

#: How long a changed cell stays highlighted (seconds).
HIGHLIGHT: Final = 2.0
#: Seconds between redraws; the rows are made again at most this often (less a margin
#: for the timer's jitter).
REFRESH: Final = 0.2
#: Seconds between takes of new events, and the most events one take applies.
TAKE: Final = 0.02
TAKE_MAX: Final = 300
_MAX_CELL: Final = 40
STYLE: Final = Style.from_dict({
    "top.header": "reverse bold",
    "top.heading": "bold underline",
    "top.selected": "reverse",
    "top.changed": "fg:ansiyellow bold",
    "top.keys": "reverse",
    "top.down": "fg:ansired bold",
    "top.status": "fg:ansicyan",
    "top.readonly": "fg:ansigreen bold",
})


class TopApp:
    """One ``.top`` session; :meth:`run` returns what to do back at the prompt
    (``("trace", linkedid)``) or None."""

    def __init__(
        self,
        model: TopModel,
        client: Callable[[], AMIClient | None],
        *,
        read_only: bool = False,
        targets: Callable[[], list[str]] = list,
        pt_input: Input | None = None,
        pt_output: Output | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._client = client
        self.read_only = read_only
        self._clock = clock
        self.selected = 0
        self.top_row = 0
        #: "" (the table), "filter", "redirect", "confirm" or "detail".
        self.mode = ""
        self.status = ""
        self.detail: list[str] = []
        self._target: Row | None = None
        self._pending: list[tuple[str, ActionFuture]] = []
        #: The rows as last made, and when (None: make them at the next redraw).
        self._rows: list[Row] | None = None
        self._made = -1e9
        # Targets are completed for a redirect only (a filter is any text), in a
        # thread: the dialplan may have to be asked for, and keys must not wait.
        redirecting = Condition(lambda: self.mode == "redirect")
        self.prompt = Buffer(
            completer=ThreadedCompleter(ConditionalCompleter(FuzzyWordCompleter(targets),
                                                             redirecting)),
            complete_while_typing=True,
        )
        self.app: Application[tuple[str, str] | None] = Application(
            layout=self._layout(),
            key_bindings=self._keys(),
            full_screen=True,
            refresh_interval=REFRESH,
            style=STYLE,
            input=pt_input,
            output=pt_output,
        )

    async def run(self) -> tuple[str, str] | None:
        self.model.refresh()
        # While the view is open, the cycle collector leaves alone what existed when
        # it opened (the catalogue, the history, prompt_toolkit ...): a full pass over
        # all of it held the interpreter for tens of milliseconds, and the socket
        # reader and the keys waited that long under a flood.
        gc.collect()
        gc.freeze()
        try:
            return await self.app.run_async(pre_run=self._start_taking)
        finally:
            gc.unfreeze()

    def _start_taking(self) -> None:
        self.app.create_background_task(self._take_events())

    async def _take_events(self) -> None:
        """Keep the model current in slices, between redraws and keys."""
        while True:
            self.model.refresh(TAKE_MAX)
            await asyncio.sleep(TAKE)

    # -- drawing ---------------------------------------------------------------------
    def _layout(self) -> Layout:
        asking = Condition(lambda: self.mode in ("filter", "redirect"))
        return Layout(HSplit([
            Window(FormattedTextControl(self._header), height=1),
            Window(FormattedTextControl(self._body), wrap_lines=False),
            ConditionalContainer(
                Window(BufferControl(self.prompt), height=1), filter=asking
            ),
            Window(FormattedTextControl(self._status), height=1),
            Window(FormattedTextControl(self._keybar), height=1),
        ]))

    def _size(self) -> tuple[int, int]:
        size = self.app.output.get_size()
        return size.columns, size.rows

    def _header(self) -> StyleAndTextTuples:
        m = self.model
        state = m.state
        counts = {"channels": len(state.channels), "calls": len(state.calls()),
                  "bridges": len(state.bridges), "queues": len(state.queues),
                  "endpoints": len(state.endpoints)}
        head = " " + "   ".join(
            (f"[{name} {n}]" if name == m.view else f"{name} {n}") for name, n in counts.items()
        ) + f"   {m.events_per_second:,.0f} events/s"
        if m.filter:
            head += f"   filter /{clean(m.filter)}"
        frags: StyleAndTextTuples = [("class:top.header", head)]
        if not m.connected:
            frags.append(("class:top.down", "   connection lost: waiting to resync"))
        if self.read_only:
            frags.append(("class:top.readonly", "   READ-ONLY"))
        width, _ = self._size()
        used = sum(len(f[1]) for f in frags)
        frags.append(("class:top.header", " " * max(0, width - used)))
        return frags

    def _body(self) -> StyleAndTextTuples:
        self._take_answers()
        width, height = self._size()
        if self.mode == "detail":
            return [("", "\n".join(line[:width] for line in self.detail[: height - 3]))]
        rows = self._current_rows()
        self.selected = min(self.selected, max(0, len(rows) - 1))
        visible = max(1, height - 4)
        if self.selected < self.top_row:
            self.top_row = self.selected
        elif self.selected >= self.top_row + visible:
            self.top_row = self.selected - visible + 1
        shown = rows[self.top_row : self.top_row + visible]
        headers = self.model.headers
        cells = [[_cell(c) for c in r.cells] for r in shown]
        widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
        fit = _fit(widths, width)
        out: StyleAndTextTuples = [("class:top.heading", _line(headers[:fit], widths[:fit])),
                                   ("", "\n")]
        now = self._clock()
        for n, (row, texts) in enumerate(zip(shown, cells, strict=True)):
            selected = self.top_row + n == self.selected
            base = "class:top.selected" if selected else ""
            for i in range(fit):
                fresh = row.changed[i] and now - row.changed[i] < HIGHLIGHT
                style = f"{base} class:top.changed" if fresh else base
                sep = "  " if i < fit - 1 else ""
                out.append((style, texts[i].ljust(widths[i]) + sep))
            out.append(("", "\n"))
        if not rows:
            refused = self.model.unavailable.get(self.model.view)
            out.append(("", f"  (this server does not list them: {clean(refused)})\n" if refused
                        else "  (nothing here now)\n"))
        return out

    def _current_rows(self) -> list[Row]:
        """The rows, made again once per redraw interval, or at once after a change
        of view, sort or filter."""
        now = self._clock()
        if self._rows is None or now - self._made >= REFRESH * 0.75:
            self._rows = self.model.rows()
            self._made = now
        return self._rows

    def _status(self) -> StyleAndTextTuples:
        if self.mode == "confirm" and self._target is not None:
            return [("class:top.status", f" hang up {clean(self._target.channel)}? y/N")]
        if self.mode == "redirect":
            return [("class:top.status", " redirect to EXTEN@CONTEXT[:PRIORITY], Enter sends,"
                                         " Esc cancels")]
        if self.mode == "filter":
            return [("class:top.status", " filter: rows containing this text; Enter keeps it")]
        return [("class:top.status", " " + clean(self.status))]

    def _keybar(self) -> StyleAndTextTuples:
        keys = "q back  1-5/Tab view  s sort  / filter  Enter event  v vars  t trace"
        if not self.read_only:
            keys += "  h hang up  r redirect"
        return [("class:top.keys", " " + keys)]

    # -- keys ----------------------------------------------------------------------------
    def _keys(self) -> KeyBindings:
        kb = KeyBindings()
        table = Condition(lambda: self.mode == "")
        typing = Condition(lambda: self.mode in ("filter", "redirect"))

        @kb.add("q", filter=table)
        @kb.add("escape", filter=table, eager=True)
        @kb.add("c-c")
        def _quit(event: KeyPressEvent) -> None:
            event.app.exit(result=None)

        @kb.add("tab", filter=table)
        def _next_view(event: KeyPressEvent) -> None:
            self._view(VIEWS[(VIEWS.index(self.model.view) + 1) % len(VIEWS)])

        for n, name in enumerate(VIEWS, 1):
            @kb.add(str(n), filter=table)
            def _pick(event: KeyPressEvent, name: str = name) -> None:
                self._view(name)

        @kb.add("s", filter=table)
        def _sort(event: KeyPressEvent) -> None:
            m = self.model
            m.sort_column = (m.sort_column + 1) % len(m.headers)
            self._rows = None
            self.status = f"sorted by {m.headers[m.sort_column]}"

        @kb.add("up", filter=table)
        @kb.add("k", filter=table)
        def _up(event: KeyPressEvent) -> None:
            self.selected = max(0, self.selected - 1)

        @kb.add("down", filter=table)
        @kb.add("j", filter=table)
        def _down(event: KeyPressEvent) -> None:
            self.selected += 1

        @kb.add("pageup", filter=table)
        def _page_up(event: KeyPressEvent) -> None:
            self.selected = max(0, self.selected - (self._size()[1] - 5))

        @kb.add("pagedown", filter=table)
        def _page_down(event: KeyPressEvent) -> None:
            self.selected += self._size()[1] - 5

        @kb.add("/", filter=table)
        def _filter(event: KeyPressEvent) -> None:
            self._ask("filter", self.model.filter)

        @kb.add("enter", filter=table)
        def _event(event: KeyPressEvent) -> None:
            row = self._row()
            if row is None or row.last_event is None:
                self.status = "no event of this row yet"
                return
            self._show(row.last_event, f"last event of {row.channel or row.key}")

        @kb.add("v", filter=table)
        def _variables(event: KeyPressEvent) -> None:
            row = self._row()
            if row is None or not row.channel:
                self.status = "no channel on this row"
                return
            self._send(f"variables of {row.channel}",
                       {"Action": "Status", "Channel": row.channel, "AllVariables": "true"})

        @kb.add("t", filter=table)
        def _trace(event: KeyPressEvent) -> None:
            row = self._row()
            if row is None or not row.linkedid:
                self.status = "no call on this row"
                return
            event.app.exit(result=("trace", row.linkedid))

        @kb.add("h", filter=table & ~Condition(lambda: self.read_only))
        def _hangup(event: KeyPressEvent) -> None:
            row = self._row()
            if row is None or not row.channel:
                self.status = "no channel on this row"
                return
            self._target, self.mode = row, "confirm"

        @kb.add("r", filter=table & ~Condition(lambda: self.read_only))
        def _redirect(event: KeyPressEvent) -> None:
            row = self._row()
            if row is None or not row.channel:
                self.status = "no channel on this row"
                return
            self._target = row
            self._ask("redirect", "")

        @kb.add("<any>", filter=Condition(lambda: self.mode == "confirm"))
        def _answer(event: KeyPressEvent) -> None:
            row, self._target, self.mode = self._target, None, ""
            if event.data.lower() == "y" and row is not None:
                self._send(f"hang up {row.channel}", {"Action": "Hangup", "Channel": row.channel})
            else:
                self.status = "not hung up"

        @kb.add("<any>", filter=Condition(lambda: self.mode == "detail"))
        def _back(event: KeyPressEvent) -> None:
            self.mode = ""

        @kb.add("enter", filter=typing)
        def _done(event: KeyPressEvent) -> None:
            text = self.prompt.text.strip()
            if self.mode == "filter":
                self.model.filter = text
                self._rows = None
            elif self._target is not None and text:
                self._redirect_to(self._target, text)
            self._close_prompt()

        @kb.add("escape", filter=typing, eager=True)
        def _cancel(event: KeyPressEvent) -> None:
            self._close_prompt()

        return kb

    def _view(self, name: str) -> None:
        self.model.view = name
        self.model.sort_column = 0
        self._rows = None
        self.selected = self.top_row = 0

    def _row(self) -> Row | None:
        rows = self._current_rows()
        return rows[self.selected] if 0 <= self.selected < len(rows) else None

    def _ask(self, mode: str, text: str) -> None:
        self.mode = mode
        self.prompt.set_document(Document(text, len(text)))
        self.app.layout.focus(self.prompt)

    def _close_prompt(self) -> None:
        self.mode = ""
        self.prompt.text = ""
        self._target = None
        self.app.layout.focus_last()

    def _redirect_to(self, row: Row, text: str) -> None:
        place, _, priority = text.partition(":")
        exten, at, context = place.partition("@")
        if not at or not exten or not context:
            self.status = f"redirect target {text!r}: write EXTEN@CONTEXT[:PRIORITY]"
            return
        self._send(f"redirect {row.channel} to {text}", {
            "Action": "Redirect", "Channel": row.channel, "Exten": exten, "Context": context,
            "Priority": priority or "1",
        })

    def _show(self, msg: Message, title: str) -> None:
        self.detail = [title, ""] + [f"{k}: {clean(v)}" for k, v in msg.headers]
        self.detail += ["", "(any key goes back)"]
        self.mode = "detail"

    # -- actions --------------------------------------------------------------------------
    def _send(self, what: str, fields: dict[str, str]) -> None:
        client = self._client()
        if client is None or not client.connected:
            self.status = f"cannot {what}: not connected"
            return
        self._pending.append((what, client.submit(fields)))
        self.status = f"{what} ..."

    def _take_answers(self) -> None:
        for what, future in list(self._pending):
            if not future.done():
                continue
            self._pending.remove((what, future))
            msg = future.result(0)
            if msg.is_error:
                self.status = f"{what}: {msg.value('Message') or 'error'}"
            elif what.startswith("variables") and msg.events:
                self._show(_variables(msg.events[0]), what)
                self.status = ""
            else:
                self.status = f"{what}: {msg.value('Message') or 'done'}"


def _cell(value: str) -> str:
    value = clean(value)
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 1] + "…"


def _fit(widths: list[int], width: int) -> int:
    used = 0
    for i, w in enumerate(widths):
        used += w + (2 if i else 0)
        if used > width:
            return max(1, i)
    return len(widths)


def _line(headers: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))


def _variables(status: Message) -> Message:
    """The variables of a Status event (``ChanVariable``/``Variable`` headers), or
    the whole event when it lists none."""
    found = [(k, v) for k, v in status.headers
             if k.lower().startswith("chanvariable") or k.lower() == "variable"]
    return Message(found) if found else status
