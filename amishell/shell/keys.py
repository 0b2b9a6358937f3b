"""Key bindings and input display.

Enter adds a line in a ``Key: Value`` block and an empty line sends it, as in
telnet; elsewhere Enter sends. A paste of several lines is sent line by line,
as if each had been typed and Enter pressed. Secrets are starred out as they
are typed.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.filters import Condition, has_completions
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout.processors import Processor, Transformation, TransformationInput
from prompt_toolkit.layout.utils import explode_text_fragments

from .lineparse import is_block_start, secret_spans

__all__ = ["SecretMask", "make_bindings", "split_typed"]


def split_typed(text: str) -> tuple[list[str], str]:
    """What Enter at each line end of ``text`` would send, and what would be
    left in the input: a one-line item is sent by its Enter, a ``Key: Value``
    block by the empty line after it."""
    *lines, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sent: list[str] = []
    current = ""
    for line in lines:
        if current and is_block_start(current):
            if line.strip():
                current += "\n" + line
                continue
            sent.append(current.rstrip("\n "))
            current = ""
            continue
        current += line
        if is_block_start(current):
            continue
        if current.strip():
            sent.append(current.strip())
        current = ""
    if current:
        rest = current + "\n" + rest
    return sent, rest


def make_bindings(on_paste: Callable[[list[str], str], None] | None = None) -> KeyBindings:
    """The shell's keys. ``on_paste(more, rest)`` takes the lines of a paste
    after the first one sent (to be run as typed) and what stays unsent."""
    kb = KeyBindings()

    @Condition
    def completion_selected() -> bool:
        from prompt_toolkit.application import get_app

        state = get_app().current_buffer.complete_state
        return state is not None and state.current_completion is not None

    @kb.add("enter", filter=has_completions & completion_selected)
    def _take_completion(event: KeyPressEvent) -> None:
        """Enter on a highlighted completion takes it (and does not send)."""
        event.current_buffer.complete_state = None

    @kb.add("enter", filter=~(has_completions & completion_selected))
    def _enter(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        doc = buf.document
        if is_block_start(doc.text) and (doc.current_line.strip() or not doc.is_cursor_at_the_end):
            buf.insert_text("\n")
            return
        buf.text = buf.text.rstrip("\n ")
        buf.validate_and_handle()

    @kb.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        """A paste of whole lines is sent line by line, as typed lines are."""
        buf = event.current_buffer
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        if on_paste is None or "\n" not in data or not buf.document.is_cursor_at_the_end:
            buf.insert_text(data)
            return
        sent, rest = split_typed(buf.text + data)
        if not sent:
            buf.insert_text(data)
            return
        on_paste(sent[1:], rest)
        buf.text = sent[0]
        buf.validate_and_handle()

    @kb.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        """Alt-Enter always adds a line."""
        event.current_buffer.insert_text("\n")

    return kb


class SecretMask(Processor):
    """Show ``Secret`` values (and a Login's ``Key``) as stars while typing."""

    def apply_transformation(self, ti: TransformationInput) -> Transformation:
        doc = ti.document
        spans = secret_spans(doc.text)
        if not spans:
            return Transformation(ti.fragments)
        start = doc.translate_row_col_to_index(ti.lineno, 0)
        end = start + len(doc.lines[ti.lineno])
        hidden = {
            i - start for a, b in spans for i in range(max(a, start), min(b, end))
        }
        if not hidden:
            return Transformation(ti.fragments)
        out: StyleAndTextTuples = []
        pos = 0
        for frag in explode_text_fragments(ti.fragments):
            style, text = frag[0], frag[1]
            out.append((style, "*" if pos in hidden and text not in ("", "\n") else text))
            pos += len(text)
        return Transformation(out)
