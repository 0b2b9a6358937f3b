"""Pygments lexers: AMI messages (``Key: Value`` lines) and the shell's input line.

Token choices: header names are ``Name.Attribute``, the first line's status is
``Generic.Inserted`` (Success), ``Generic.Error`` (Error) or ``Name.Class``
(an event name); values are ``String``; free output lines are ``Text``.
:data:`PALETTE` maps tokens to the small set of styles the renderer prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pygments.lexer import RegexLexer
from pygments.lexer import bygroups as _bygroups
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

__all__ = ["AMILexer", "InputLexer", "PALETTE", "style_for", "PT_STYLE"]


def bygroups(*tokens: Any) -> Any:
    return _bygroups(*tokens)  # type: ignore[no-untyped-call]


class AMILexer(RegexLexer):
    """An AMI message or several, as they appear on the wire."""

    name = "AMI"
    aliases: ClassVar[list[str]] = ["ami"]
    filenames: ClassVar[list[str]] = []

    tokens: ClassVar[dict[str, Any]] = {
        "root": [
            (
                r"(?i)(Response)(:[ \t]*)(Success|Goodbye|Follows)([ \t]*\r?\n)",
                bygroups(Name.Attribute, Punctuation, Generic.Inserted, Whitespace),
            ),
            (
                r"(?i)(Response)(:[ \t]*)(Error)([ \t]*\r?\n)",
                bygroups(Name.Attribute, Punctuation, Generic.Error, Whitespace),
            ),
            (
                r"(?i)(Event)(:[ \t]*)(.*?)([ \t]*\r?\n)",
                bygroups(Name.Attribute, Punctuation, Name.Class, Whitespace),
            ),
            (
                r"(?i)(Message)(:[ \t]*)(.*?)(\r?\n)",
                bygroups(Name.Attribute, Punctuation, Generic.Strong, Whitespace),
            ),
            (
                r"([^\s:]+)(:[ \t]*)(-?\d+(?:\.\d+)?)([ \t]*\r?\n)",
                bygroups(Name.Attribute, Punctuation, Number, Whitespace),
            ),
            (
                r"([^\s:]+)(:[ \t]*)(.*?)(\r?\n)",
                bygroups(Name.Attribute, Punctuation, String, Whitespace),
            ),
            (r"[^\n]+\n?|\n", Text),
        ]
    }


class InputLexer(RegexLexer):
    """What the user types: ``.meta``, ``/cli``, one-line actions and blocks."""

    name = "AMI input"
    aliases: ClassVar[list[str]] = ["ami-input"]
    filenames: ClassVar[list[str]] = []

    tokens: ClassVar[dict[str, Any]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*$", Comment),
            (r"\.[A-Za-z][\w-]*", Keyword, "rest"),
            (r"/", Operator, "cli"),
            (r"[^\s:=]+(?=[ \t]*:)", Name.Attribute, "block"),
            (r"[A-Za-z][\w-]*", Name.Function, "args"),
            (r".+", Text),
        ],
        "rest": [(r"\n", Whitespace, "#pop"), (r"[^\n]+", Text)],
        "cli": [(r"\n", Whitespace, "#pop"), (r"[^\n]+", Name.Builtin)],
        "block": [
            (r"(:[ \t]*)(.*)(\n?)", bygroups(Punctuation, String, Whitespace)),
            (r"[^\s:]+(?=[ \t]*:)", Name.Attribute),
            (r"\s+", Whitespace),
            (r"[^\n]+", Text),
        ],
        "args": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            (r"([^\s=\"']+)(=)", bygroups(Name.Attribute, Operator), "value"),
            (r"\S+", Text),
        ],
        "value": [
            (r'"(?:[^"\\\n]|\\.)*"?', String.Double),
            (r"'[^'\n]*'?", String.Single),
            (r"[^\s\"']+", String),
            (r"(?=\s)|$", Text, "#pop"),
        ],
    }


#: Pygments token -> the renderer's style names.
PALETTE: dict[_TokenType, str] = {
    Name.Attribute: "key",
    Punctuation: "dim",
    Generic.Inserted: "ok",
    Generic.Error: "error",
    Generic.Strong: "message",
    Name.Class: "event",
    Number: "number",
    String: "value",
    Text: "",
    Whitespace: "",
}


def style_for(token: _TokenType) -> str:
    """The renderer's style for a pygments token (its nearest known parent)."""
    t: _TokenType | None = token
    while t is not None:
        got = PALETTE.get(t)
        if got is not None:
            return got
        t = t.parent
    return ""


def lex_message(text: str) -> Iterator[tuple[str, str]]:
    """(style, text) fragments of an AMI message, for the renderer."""
    for token, value in AMILexer().get_tokens(text):
        yield style_for(token), value


#: Colours of the input line (prompt_toolkit style strings, keyed by pygments token).
PT_STYLE: dict[_TokenType, str] = {
    Keyword: "ansibrightmagenta bold",
    Operator: "ansibrightblue bold",
    Name.Builtin: "ansibrightblue",
    Name.Function: "ansibrightyellow bold",
    Name.Attribute: "ansicyan",
    String: "ansigreen",
    Comment: "ansigray italic",
}
