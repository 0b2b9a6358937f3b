"""Waiting for something (a response, a pause) that Ctrl-C can stop.

While the shell waits, the keyboard is read in raw mode: Ctrl-C stops the wait,
other keys are kept for the next prompt, so nothing typed is echoed into the
output and nothing is lost. Ctrl-C outside the prompt (a signal) stops a wait
too, never the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys

__all__ = ["Waiter"]

T = TypeVar("T")


class Waiter:
    """Interruptible waits on the running asyncio loop, for one terminal input.

    ``on_ctrl_c`` is called when Ctrl-C is read or received as a signal; it
    calls :meth:`interrupt` (and may stop more, such as the rest of a paste).
    """

    def __init__(self, inp: Input, on_ctrl_c: Callable[[], None]) -> None:
        self.input = inp
        self.on_ctrl_c = on_ctrl_c
        self._stop: asyncio.Event | None = None

    def interrupt(self) -> None:
        """Stop the current wait, if any."""
        if self._stop is not None:
            self._stop.set()

    def catch_sigint(self) -> None:
        """Ctrl-C outside the prompt (while waiting, printing) interrupts a wait, never
        the shell. The prompt installs its own handler and removes it when done, so
        this runs again after each prompt."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.on_ctrl_c)

    async def wait(self, aw: Awaitable[T], keys: bool) -> tuple[bool, T | None]:
        """Wait for ``aw``: ``(True, its value)``, or ``(False, None)`` when
        stopped. With ``keys``, the keyboard is read meanwhile (see the module)."""
        self._stop = asyncio.Event()
        task = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            with self._keys() if keys else contextlib.nullcontext():
                await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            self._stop = None
        if task.done():
            return True, task.result()
        task.cancel()
        return False, None

    async def in_thread(self, fn: Callable[[], T], keys: bool = True) -> tuple[bool, T | None]:
        """Run ``fn`` on a thread and :meth:`wait` for it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def run() -> None:
            try:
                value = fn()
            except BaseException as e:  # handed to the loop, re-raised there
                _resolve(loop, done, None, e)
            else:
                _resolve(loop, done, value, None)

        threading.Thread(target=run, name="amishell-wait", daemon=True).start()
        return await self.wait(done, keys)

    @contextlib.contextmanager
    def _keys(self) -> Iterator[None]:
        """Read the keyboard while waiting, in raw mode: Ctrl-C stops the wait, other
        keys are kept for the next prompt. The terminal then echoes nothing into the
        output (no stray ``^C`` or typed-ahead text) and no key is lost."""
        inp = self.input
        held: list[KeyPress] = []
        loop = asyncio.get_running_loop()

        def ready() -> None:
            for key in inp.read_keys():
                if key.key == Keys.ControlC:
                    held.clear()  # as on a line: Ctrl-C drops what was typed so far
                    self.on_ctrl_c()
                elif key.key != Keys.CPRResponse:
                    held.append(key)
            if inp.closed:  # end of input: leave it to the next prompt
                with contextlib.suppress(Exception):
                    loop.remove_reader(inp.fileno())

        try:
            with inp.raw_mode(), inp.attach(ready):
                yield
        finally:
            if held:
                store_typeahead(inp, held)


def _resolve(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    value: Any,
    error: BaseException | None,
) -> None:
    def set_it() -> None:
        if fut.done():
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)

    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
        loop.call_soon_threadsafe(set_it)
