"""Asking y/N before an action that changes the PBX, on the terminal.

Whatever was typed or pasted before the question is thrown away first (the
prompt's own type-ahead, the keys held while a response was awaited, and what
the terminal has not handed over yet), so that a ``y`` pasted with the line
before can never answer a question that was not yet asked. Only ``y`` or
``yes`` typed after it says yes; Enter, anything else, Ctrl-C or Ctrl-D say no.
"""

from __future__ import annotations

import contextlib
import select
import termios

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import clear_typeahead
from prompt_toolkit.output import Output
from prompt_toolkit.styles import BaseStyle

from ..textsafe import fragments

__all__ = ["ask_yes", "discard_typeahead"]

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
