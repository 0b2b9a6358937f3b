"""Non-interactive use: ``-x LINE``, a script on stdin, ``--events`` tailing.

Lines run as the shell would run them, one after another, continuing after an
error. Responses go to stdout and nothing else does: errors go to stderr, one
line each (``line 7: ...`` in a script), and so do hints and the notes of meta
commands (``format: json``), so JSON output stays JSON. In the pretty format, a
line before each answer says which line asked for it (and when it came). When
the reader of stdout goes away (``| head``) nothing more is run. The exit status
says the worst that happened (see :class:`~amishell.shell.context.ExitStatus`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ..message import Message
from .context import Context, ExitStatus
from .core import Connecting, Pending, Quit, Shell
from .eventline import clock_text, format_event_line
from .events import EventFilter
from .guard import Confirm, Refused, script_refusal
from .jsonlines import message_json, received_at
from .lineparse import CliLine, InputError, Item, parse, parse_chunk, split_script
from .render import Fragments, Info, Problem, to_plain, to_text

__all__ = ["EventTail", "run_batch"]


@dataclass
class EventTail:
    """``--events [FILTER] [--count N] [--duration S]``."""

    filter: EventFilter | None = None
    count: int | None = None
    duration: float | None = None


class OutputClosed(Exception):
    """Whoever reads our output stopped reading (``amishell ... | head``)."""


_ORDER: Final = (
    ExitStatus.OK, ExitStatus.ACTION_ERROR, ExitStatus.USAGE, ExitStatus.CONNECTION,
    ExitStatus.INTERNAL,
)


class BatchRunner:
    def __init__(self, shell: Shell, ctx: Context, tail: EventTail | None) -> None:
        self.shell = shell
        self.ctx = ctx
        self.tail = tail
        self.color = ctx.color
        self._out = threading.Lock()
        self._matched = 0
        self._enough = threading.Event()
        self.status = ExitStatus.OK
        #: Set when stdout's reader went away: nothing more is run or written.
        self.output_closed = False

    def _note(self, status: ExitStatus) -> None:
        if _ORDER.index(status) > _ORDER.index(self.status):
            self.status = status

    def write(self, frags: Fragments) -> None:
        text = to_text(frags, color=self.color, terminal=self.ctx.stdout_isatty)
        self.write_text(self.shell.redact(text))

    def write_text(self, text: str) -> None:
        """``text`` to stdout; :class:`OutputClosed` when nobody reads it any more."""
        with self._out:
            if self.output_closed:
                raise OutputClosed
            try:
                self.ctx.stdout.write(text)
                self.ctx.stdout.flush()
            except (BrokenPipeError, ValueError):  # a closed pipe, or a closed stream
                self.output_closed = True
                self._enough.set()
                raise OutputClosed from None

    def error(self, text: str) -> None:
        with self._out:
            if not self.output_closed:
                try:
                    self.ctx.stdout.flush()
                except (BrokenPipeError, ValueError):
                    self.output_closed = True
            self.ctx.error(self.shell.redact(text))

    def note_info(self, lines: list[str]) -> None:
        """What a meta command says about itself (``format: json``) and the hints
        after an answer go to stderr, so that stdout holds only the answers (JSON
        stays JSON)."""
        text = self.shell.redact("".join(line.rstrip("\n") + "\n" for line in lines))
        with self._out:
            try:
                self.ctx.stderr.write(text)
                self.ctx.stderr.flush()
            except (OSError, ValueError):
                pass

    # -- events -----------------------------------------------------------------------
    def on_event(self, msg: Message) -> None:
        """Every event, on the client's dispatcher thread (never the socket reader)."""
        tail = self.tail
        if tail is None or self._enough.is_set():
            return
        if tail.filter is not None and not tail.filter.matches(msg):
            return
        try:
            if self.shell.renderer.format == "json":
                self.write_text(self.shell.redact(message_json(msg, time.time()) + "\n"))
            else:
                self.write(format_event_line(time.time(), msg, 10_000))
        except OutputClosed:
            return
        self._matched += 1
        if tail.count is not None and self._matched >= tail.count:
            self._enough.set()

    def on_drop(self, text: str) -> None:
        self.error(f"connection lost: {text}")
        self._note(ExitStatus.CONNECTION)
        self._enough.set()

    # -- lines ------------------------------------------------------------------------
    def run_item(self, item: Item, where: str = "", label: str = "") -> bool:
        """Run one item; False when nothing more should run. ``where`` (``line 7: ``)
        prefixes what goes wrong; ``label`` (``line 7``) heads its answer."""
        if self.output_closed:
            return False
        try:
            return self._run_item(item, where, label)
        except OutputClosed:
            return False
        except Exception as e:  # a bug must not lose the rest of the script
            self.error(f"{where}internal error: {type(e).__name__}: {e}")
            self._note(ExitStatus.INTERNAL)
            return True

    def _run_item(self, item: Item, where: str, label: str) -> bool:
        result = self.shell.start(item)
        connecting = isinstance(result, Connecting)
        if isinstance(result, Connecting):
            result = result.run()
        if isinstance(result, Quit | Connecting):
            return False
        if isinstance(result, Confirm):  # a script never waits for an answer
            result = script_refusal(result)
        if isinstance(result, Refused):
            self.error(where + result.text)
            self._note(ExitStatus.USAGE)
            return True
        if isinstance(result, Problem):
            self.error(where + result.text)
            usage = self.shell.connected and not connecting
            self._note(ExitStatus.USAGE if usage else ExitStatus.CONNECTION)
            return True
        if isinstance(result, Pending):
            msg = result.future.result()
            if label and self.shell.renderer.format == "pretty":
                self.write(_heading(label, item, result))
            self.write(self.shell.finish(result, msg, notes=False))
            notes = self.shell.notes(result, msg)
            if notes:
                self.note_info(to_plain(notes).splitlines())
            if msg.is_error:
                self._note(ExitStatus.ACTION_ERROR if self.shell.connected
                           else ExitStatus.CONNECTION)
            return True
        if isinstance(result, Info) and result.style in ("dim", "ok"):
            self.note_info(result.lines)
        else:
            self.write(self.shell.render(result))
        return True

    def run_texts(self, texts: list[str]) -> bool:
        """``-x`` lines; with more than one, each answer is headed ``-x N``."""
        for n, text in enumerate(texts, 1):
            try:
                items = parse(text)
            except InputError as e:
                self.error(self.shell.explain(e, text))
                self._note(ExitStatus.USAGE)
                continue
            label = f"-x {n}" if len(texts) > 1 else ""
            for item in items:
                if not self.run_item(item, label=label):
                    return False
        return True

    def run_script(self, lines: Iterable[str]) -> bool:
        for lineno, chunk in split_script(lines):
            try:
                item = parse_chunk(chunk)
            except InputError as e:
                self.error(f"line {lineno}: {self.shell.explain(e, chunk)}")
                self._note(ExitStatus.USAGE)
                continue
            if not self.run_item(item, f"line {lineno}: ", f"line {lineno}"):
                return False
        return True

    def wait_events(self) -> None:
        tail = self.tail
        if tail is None:
            return
        deadline = None if tail.duration is None else time.monotonic() + tail.duration
        try:
            while not self._enough.is_set():
                timeout = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if timeout <= 0:
                    break
                self._enough.wait(timeout)
        except KeyboardInterrupt:
            pass


def _heading(label: str, item: Item, pending: Pending) -> Fragments:
    """``--- line 7: Originate (ActionID 12, 15:43:14.496)``: which line an answer
    belongs to, and when it came."""
    what = f"/{item.command}" if isinstance(item, CliLine) else pending.name
    if len(what) > 60:
        what = what[:59] + "…"
    future = pending.future
    when = clock_text(received_at(future.done_at))
    return [("dim", f"--- {label}: {what} (ActionID {future.action_id}, {when})\n")]


def run_batch(
    shell: Shell,
    ctx: Context,
    *,
    lines: list[str] | None = None,
    script: Iterable[str] | None = None,
    tail: EventTail | None = None,
) -> ExitStatus:
    """Connect, run ``-x`` lines or a script, then tail events; the worst exit status."""
    runner = BatchRunner(shell, ctx, tail)
    shell.renderer.show_elapsed = ctx.stdout_isatty
    shell.event_sink = runner.on_event
    shell.drop_sink = runner.on_drop
    error = shell.connect()
    if error is not None:
        ctx.error(error)
        shell.close()
        return ExitStatus.CONNECTION
    try:
        go_on = True
        if lines:
            go_on = runner.run_texts(lines)
        elif script is not None:
            go_on = runner.run_script(script)
        if go_on and not runner.output_closed:
            runner.wait_events()
    except KeyboardInterrupt:
        runner.error("interrupted")
    except OutputClosed:
        pass
    finally:
        shell.close()
    if runner.output_closed:
        ctx.silence_stdout()
    if shell.status == ExitStatus.USAGE:
        runner._note(ExitStatus.USAGE)
    return runner.status
