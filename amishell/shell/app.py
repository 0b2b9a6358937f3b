"""The interactive shell: one PromptSession, prompt() in a loop, events above it.

Everything that writes to the terminal runs on one asyncio loop: the prompt,
the responses, and a pump that every tick takes the batch of events the
client's dispatcher thread left in the :class:`~amishell.shell.events.EventView`
and prints it above the prompt (``run_in_terminal``), so a partly typed line is
redrawn intact. Waiting for a response never blocks that loop; meanwhile the
keyboard is read in raw mode, so Ctrl-C stops the wait (the response, when it
comes, is shown as late) and other keys wait for the next prompt instead of
being echoed into the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import subprocess
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import History
from prompt_toolkit.input import Input
from prompt_toolkit.lexers import Lexer, PygmentsLexer
from prompt_toolkit.output import Output
from prompt_toolkit.styles import (
    BaseStyle,
    DynamicStyle,
    Style,
    merge_styles,
    style_from_pygments_dict,
)

from ..message import Message
from .completer import AMICompleter, BackgroundCompleter
from .confirm import confirm_first
from .context import Context, ExitStatus
from .core import Connecting, Pending, Quit, Result, Shell
from .guard import Confirm
from .keys import SecretMask, make_bindings
from .lineparse import InputError, Item, MetaLine, parse
from .render import ClearScreen, Fragments, Info, Problem, TableResult, to_text
from .toolbar import make_toolbar
from .tracecmd import stop_following
from .views import VIEW_COMMANDS
from .waiting import Waiter

__all__ = ["InteractiveShell", "run_interactive"]

T = TypeVar("T")

#: Seconds after which an unanswered instant action is worth a word.
SLOW_ANSWER = 2.0

STYLE = Style.from_dict(
    {
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "toolbar": "",
        "toolbar.ok": "bg:ansigreen #000000",
        "toolbar.warn": "bg:ansiyellow #000000",
        "toolbar.bad": "bg:ansired #ffffff",
        "prompt.user": "ansibrightgreen",
        "prompt.down": "ansired",
        "prompt.rest": "",
        "completion-menu.meta.completion": "bg:#444444 #bbbbbb",
        "unsafe": "reverse",
        "question": "bold",
        "toolbar.readonly": "bg:ansiblue #ffffff bold",
        "toolbar.production": "bg:ansired #ffffff bold",
    }
)


class InputColours(Lexer):
    """The input line's lexer and colours, loaded (with pygments) for the first
    character typed: an empty prompt needs neither, so it is up sooner."""

    def __init__(self) -> None:
        self._lexer: Lexer | None = None
        #: The style to draw with (see :class:`DynamicStyle`).
        self.style: BaseStyle = STYLE

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        if self._lexer is None:
            if not document.text:
                return lambda lineno: []
            from .lexer import PT_STYLE, InputLexer

            self._lexer = PygmentsLexer(InputLexer)
            self.style = merge_styles([style_from_pygments_dict(PT_STYLE), STYLE])
        return self._lexer.lex_document(document)


class InteractiveShell:
    def __init__(
        self,
        shell: Shell,
        ctx: Context,
        history: History,
        *,
        pt_input: Input | None = None,
        pt_output: Output | None = None,
        tick: float = 0.1,
        color: bool | None = None,
    ) -> None:
        self.shell = shell
        shell.typed = history
        self.ctx = ctx
        self.tick = tick
        self.color = ctx.color if color is None else color
        #: Actions the user stopped waiting for whose response has not come yet.
        self._abandoned: dict[str, Pending] = {}
        self._output = asyncio.Lock()
        #: True while a full-screen view (.top) has the terminal.
        self.fullscreen = False
        #: Lines of a paste still to run, as if typed, and what stays in the input.
        self._typed: list[str] = []
        self._unsent = ""
        self.completer = BackgroundCompleter(AMICompleter(shell.sources))
        colours = InputColours()
        self.session: PromptSession[str] = PromptSession(
            message=self._prompt,
            multiline=True,
            prompt_continuation=self._continuation,
            lexer=colours,
            completer=self.completer,
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            history=history,
            bottom_toolbar=make_toolbar(shell),
            style=DynamicStyle(lambda: colours.style),
            include_default_pygments_style=False,
            key_bindings=make_bindings(self._pasted),
            input_processors=[SecretMask()],
            refresh_interval=0.5,
            search_ignore_case=True,
            input=pt_input,
            output=pt_output,
        )
        #: Waits that Ctrl-C stops, reading the keyboard meanwhile.
        self.waiter = Waiter(self.session.input, self.interrupt)

    # -- the prompt -----------------------------------------------------------------
    def _prompt(self) -> StyleAndTextTuples:
        shell = self.shell
        host = shell.target.host
        if shell.state == "connected":
            return [("class:prompt.user", f"{shell.username}@{host}"), ("", "> ")]
        return [("class:prompt.down", f"({shell.state}) {host}"), ("", "> ")]

    def _continuation(self, width: int, line_number: int, wrap_count: int) -> str:
        if wrap_count > 0:  # a long line wrapped by the terminal is not a new block line
            return ""
        return "... ".rjust(width)

    def width(self) -> int:
        try:
            return self.session.app.output.get_size().columns
        except Exception:  # a closed or odd output: fall back to a common width
            return 100

    def rows(self) -> int:
        try:
            return self.session.app.output.get_size().rows
        except Exception:
            return 24

    # -- output ---------------------------------------------------------------------
    async def write(self, frags: Fragments) -> None:
        if not frags:
            return
        text = self.text(frags)
        out = self.ctx.stdout

        def emit() -> None:
            out.write(text)
            out.flush()

        await run_in_terminal(emit)

    def text(self, frags: Fragments) -> str:
        """The terminal-safe text of ``frags`` (see :func:`~.render.to_text`)."""
        terminal = self.ctx.stdout_isatty
        return self.shell.redact(to_text(frags, color=self.color, terminal=terminal))

    async def show(self, frags: Fragments) -> None:
        """Long output through the pager when it does not fit the screen."""
        lines = sum(text.count("\n") for _, text in frags)
        if (
            self.shell.pager == "auto"
            and self.ctx.stdout_isatty
            and lines > self.rows() - 2
            and self._page(self.text(frags))
        ):
            return
        await self.write(frags)

    def _page(self, text: str) -> bool:
        try:
            subprocess.run(
                shlex.split(self.shell.target.pager_command), input=text, text=True, check=False
            )
        except (OSError, ValueError):
            return False
        return True

    async def pump(self) -> None:
        """Every tick, print the events (and notices) that arrived, above the prompt."""
        while True:
            await asyncio.sleep(self.tick)
            await self.show_events()
            log = self.shell.view.log
            if log is not None:
                log.flush_if_due()

    async def show_events(self) -> None:
        """Print what the event view holds (events, notices) now."""
        if self.fullscreen:  # a live view has the screen; events wait for the prompt
            return
        view = self.shell.view
        async with self._output:
            try:
                batch = view.take()
                if batch:
                    self.shell.renderer.width = self.width()
                    await self.write(view.render(batch, self.shell.renderer))
            except Exception as e:  # keep the display alive whatever one event holds
                await self.write([("error", f"error: cannot show an event: {_describe(e)}\n")])

    # -- waiting, interruptibly -------------------------------------------------------
    def interrupt(self) -> None:
        """Stop the current wait (what Ctrl-C does while a response is awaited),
        and the rest of a paste."""
        self._typed.clear()
        self.waiter.interrupt()

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False when Ctrl-C stopped the wait."""
        finished, _ = await self.waiter.wait(asyncio.sleep(seconds), True)
        return finished

    async def in_thread(self, fn: Callable[[], T], keys: bool = True) -> tuple[bool, T | None]:
        """Run ``fn`` on a thread; ``(False, None)`` when Ctrl-C stopped the wait."""
        return await self.waiter.in_thread(fn, keys)

    # -- running lines ----------------------------------------------------------------
    async def run_item(self, item: Item) -> bool:
        """Run one parsed item; False when the shell should quit."""
        shell = self.shell
        if isinstance(item, MetaLine) and item.name in VIEW_COMMANDS and self.ctx.stdout_isatty:
            return await VIEW_COMMANDS[item.name](self, item)
        if not isinstance(item, MetaLine):
            result = shell.start(item)
        else:
            # .connect may ask for a secret on the terminal: leave the keyboard to it.
            keys = item.name != "connect"
            ended = threading.Event()

            def run() -> Pending | Result | Confirm:
                try:
                    return shell.start(item)
                finally:
                    ended.set()

            finished, got = await self.in_thread(run, keys)
            if not finished or got is None:
                shell.cancel()  # a question on the terminal ends too: wait for it, briefly
                await asyncio.get_running_loop().run_in_executor(None, ended.wait, 2.0)
                await self.write([("warn", "stopped waiting\n")])
                return True
            result = got
        if isinstance(result, Connecting):
            result = await self._connecting(result)
        if isinstance(result, Confirm):
            asked = await confirm_first(self, result)
            if asked is None:
                return True
            result = asked
        if isinstance(result, Quit):
            return False
        if isinstance(result, ClearScreen):
            out = self.session.app.output
            out.erase_screen()
            out.cursor_goto(0, 0)
            out.flush()
            return True
        if isinstance(result, Connecting):  # (a confirmed action never connects)
            return True
        if not isinstance(result, Pending):
            await self.show(shell.render(result))
            return True
        await self._note_queue(result)
        future = result.future
        finished, msg = await self.in_thread(future.result)
        if finished and msg is not None:
            # What arrived before this response is shown before it.
            for done in [p for p in list(self._abandoned.values()) if p.future.done()]:
                if self._abandoned.pop(done.future.action_id, None) is not None:
                    shell.view.notice_fragments(
                        shell.finish(done, done.future.result(0), late=True)
                    )
            await self.show_events()
            await self.show(shell.finish(result, msg))
            return True
        future.cancel()
        pending = result
        self._abandoned[future.action_id] = pending

        def late(message: Message) -> None:
            if self._abandoned.pop(future.action_id, None) is not None:  # not yet shown
                shell.view.notice_fragments(shell.finish(pending, message, late=True))

        future.add_done_callback(late)
        await self.write(
            [("warn", f"stopped waiting for {result.name} (ActionID {future.action_id});"
                      " its response will be shown when it comes\n")]
        )
        return True

    async def _connecting(self, attempt: Connecting) -> Info | Problem | TableResult:
        """Open the session that ``.connect`` asked for; the keyboard is read meanwhile
        (Ctrl-C abandons it and keeps the current session; other keys wait for the
        prompt instead of being echoed)."""
        finished, got = await self.in_thread(attempt.run)
        if finished and isinstance(got, Info | Problem | TableResult):
            return got
        attempt.cancel()
        where = self.shell.target.address
        still = f"; still connected to {where}" if self.shell.connected else ""
        return Problem(f"stopped connecting to {attempt.address}{still}")

    async def _note_queue(self, pending: Pending) -> None:
        """Say why an answer may be slow: Asterisk runs a session's actions one at a
        time, so this one waits until an action that holds the session (a synchronous
        Originate) is done; an instant action still unanswered means trouble."""
        waiting = [p for p in list(self._abandoned.values()) if not p.future.done()]
        if not waiting:
            return
        first = next((p for p in waiting if p.holds), None)
        if first is not None:
            await self.write([(
                "dim",
                f"({pending.name} waits behind {first.name}, ActionID"
                f" {first.future.action_id}: Asterisk runs a session's actions one at a time)\n",
            )])
            return
        # An action that answers at once does not: past a moment, the server may be gone.
        first = waiting[0]
        if first.future.elapsed < SLOW_ANSWER:
            return
        await self.write([(
            "warn",
            f"(no answer yet to {first.name}, ActionID {first.future.action_id}, sent"
            f" {first.future.elapsed:.0f} s ago: the server may not be responding)\n",
        )])

    async def handle(self, text: str) -> bool:
        if not text.strip():
            return True
        try:
            items = parse(text)
        except InputError as e:
            await self.write(self.shell.parse_error(e, text))
            return True
        for item in items:
            try:
                if not await self.run_item(item):
                    return False
            except Exception as e:  # a bug must not end the session
                await self.write([("error", f"error: internal error: {_describe(e)}\n")])
        return True

    def _pasted(self, more: list[str], rest: str) -> None:
        self._typed += more
        self._unsent = rest

    async def _run_pasted(self) -> bool:
        """Run the rest of a paste line by line, each shown as if typed."""
        while self._typed:
            text = self._typed.pop(0)
            shell = self.shell
            await self.write([("dim", f"{shell.username}@{shell.target.host}> "),
                              ("", text + "\n")])
            self.session.history.append_string(text)
            if not await self.handle(text):
                return False
        return True

    async def run(self, banner: list[str] | None = None) -> ExitStatus:
        if banner:
            await self.write([("dim", line + "\n") for line in banner])
        pump = asyncio.create_task(self.pump())
        try:
            while True:
                try:
                    unsent, self._unsent = self._unsent, ""
                    text = await self.session.prompt_async(default=unsent)
                except KeyboardInterrupt:
                    self._typed.clear()
                    if stop_following(self.shell):
                        await self.write([("dim", "trace: stopped following the call\n")])
                    continue
                except EOFError:
                    break
                finally:
                    self.waiter.catch_sigint()
                if not await self.handle(text) or not await self._run_pasted():
                    break
        finally:
            pump.cancel()
            self.completer.close()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            batch = self.shell.view.take()
            if batch.notices:
                batch.events, batch.not_shown = [], 0
                await self.write(self.shell.view.render(batch, self.shell.renderer))
        return ExitStatus.OK


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


def run_interactive(
    shell: Shell,
    ctx: Context,
    history: History,
    banner: list[str] | None = None,
    **options: Any,
) -> ExitStatus:
    app = InteractiveShell(shell, ctx, history, **options)
    shell.width = app.width
    try:
        return asyncio.run(app.run(banner))
    finally:
        shell.close()
