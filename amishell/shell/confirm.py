"""Asking y/N before an action that changes the PBX, on the terminal.

:func:`confirm_first` is what the interactive shell does with a
:class:`~.guard.Confirm`: for a Hangup of ``/regex/`` it lists the channels that
match now, then it says what the action will do and asks (:func:`ask_yes`).

Whatever was typed or pasted before the question is thrown away first (the
prompt's own type-ahead, the keys held while a response was awaited, and what
the terminal has not handed over yet), so that a ``y`` pasted with the line
before can never answer a question that was not yet asked. Only ``y`` or
``yes`` typed after it says yes; Enter, anything else, Ctrl-C or Ctrl-D say no.
"""

from __future__ import annotations

import contextlib
import re
import select
import termios
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import clear_typeahead
from prompt_toolkit.output import Output
from prompt_toolkit.styles import BaseStyle

from ..textsafe import fragments
from .guard import APPROXIMATION, Confirm, matching_channels

if TYPE_CHECKING:
    from ..client import AMIClient
    from .app import InteractiveShell
    from .core import Pending, Result

__all__ = ["ask_yes", "confirm_first", "discard_typeahead"]

#: At most this many reads when throwing type-ahead away (a paste that never ends).
_MAX_READS = 1000


def discard_typeahead(inp: Input) -> None:
    """Throw away every key typed so far and not yet read by a prompt."""
    clear_typeahead(inp)
    try:
        fd = inp.fileno()
    except (NotImplementedError, ValueError, OSError):
        return
    with contextlib.suppress(termios.error, OSError):
        termios.tcflush(fd, termios.TCIFLUSH)  # a terminal: what it still holds
    for _ in range(_MAX_READS):  # a pipe, or what arrived meanwhile
        if inp.closed:
            break
        try:
            ready = select.select([fd], [], [], 0)[0]
        except (OSError, ValueError):
            break
        if not ready:
            break
        inp.read_keys()
    inp.flush_keys()


async def ask_yes(
    inp: Input, out: Output, question: str, style: BaseStyle | None = None
) -> bool:
    """Ask ``question`` (``[y/N]`` is added); True only for ``y`` or ``yes``."""
    discard_typeahead(inp)
    message: StyleAndTextTuples = [
        (style_name, text) for style_name, text in fragments(question, "class:question")
    ]
    message.append(("class:question", " [y/N] "))
    session: PromptSession[str] = PromptSession(input=inp, output=out, style=style)
    try:
        answer = await session.prompt_async(message)
    except (KeyboardInterrupt, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")


async def confirm_first(app: InteractiveShell, confirm: Confirm) -> Pending | Result | None:
    """Ask before an action that changes the PBX; what to do next, or None when
    it is not sent. A Hangup of ``/regex/`` first lists the channels it matches."""
    what = confirm.what
    regex = confirm.regex
    client = app.shell.client
    if regex is not None and client is not None and client.connected:
        finished, found = await app.in_thread(lambda: _channels(client, regex))
        if not finished or found is None:
            await app.write([("warn", "stopped waiting: Hangup not sent\n")])
            return None
        if isinstance(found, str):
            await app.write([("error", "error: "), ("", f"{found}; Hangup not sent\n")])
            return None
        if not found:
            await app.write([("warn", f"no channel matches /{regex}/ now: Hangup not sent\n"),
                             ("dim", f"({APPROXIMATION})\n")])
            return None
        count = f"{len(found)} channel{'s' if len(found) != 1 else ''}"
        await app.write(
            [("", f"{count} match /{regex}/ now:\n")]
            + [("channel", f"  {name}\n") for name in found]
            + [("dim", f"({APPROXIMATION})\n")]
        )
        what = f"hang up the channels the server matches with /{regex}/ ({count} here)"
    question = what[0].upper() + what[1:] + "?"
    session = app.session
    if not await ask_yes(session.input, session.output, question, session.style):
        await app.write([("dim", f"not sent: {confirm.what}\n")])
        return None
    return app.shell.send_confirmed(confirm)


def _channels(client: AMIClient, regex: str) -> list[str] | str:
    """The channels ``regex`` matches now, or why they cannot be listed."""
    try:
        return matching_channels(client, regex)
    except re.error as e:
        return f"/{regex}/ is not a regex Python can read ({e})"
    except RuntimeError as e:
        return f"cannot list the channels: {e}"
