"""Key bindings and input display.

Enter adds a line in a ``Key: Value`` block and an empty line sends it, as in
telnet; elsewhere Enter sends. Secrets are starred out as they are typed.
"""

from __future__ import annotations

from prompt_toolkit.filters import Condition, has_completions
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout.processors import Processor, Transformation, TransformationInput
from prompt_toolkit.layout.utils import explode_text_fragments

from .lineparse import is_block_start, secret_spans

__all__ = ["SecretMask", "make_bindings"]


def make_bindings() -> KeyBindings:
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
