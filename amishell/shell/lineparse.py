"""What the user typed, parsed: meta commands, CLI commands, actions.

Three forms reach the shell, told apart by their first character:

* ``.name args`` is a meta command of the shell itself (``.help``, ``.events``).
  No action name and no Asterisk CLI word starts with a dot.
* ``/core show channels`` is an Asterisk CLI command, sent with the Command
  action. No action name and no CLI word starts with a slash (``!`` is a CLI
  word, so it cannot be the prefix).
* ``exit``, ``quit`` and ``clear`` typed alone on a line are the shell's own
  (``.quit``, ``.clear``), as in ``asterisk -r``: no action has these names.
* Anything else is an action, on one line
  (``Originate Channel=Local/100@demo Variable=A=1 Variable=B=2``) or as a
  ``Key: Value`` block (``Action: Originate`` then one header per line).

A one-line action or CLI command may hold ranges, ``{900..949}`` (digits only;
``{007..010}`` keeps the zeros): it then stands for one line per number, every
range varying (the last fastest). ``\\{900..949}`` is a literal brace and
``${VAR}`` is left alone. ``.repeat N LINE`` stands for LINE N times.

Quoting in the one-line form: ``"..."`` and ``'...'`` group spaces into a
value and may appear inside a word (``CallerID="Alice <1001>"``). Inside double
quotes ``\\"`` and ``\\\\`` are escapes; inside single quotes nothing is. Outside
quotes a backslash escapes only a quote, a space or a backslash, so regular
expressions such as ``\\d+`` keep their backslashes.

Every problem is an :class:`InputError` whose text says how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ..protocol import MAX_LINES, LocalProtocolError, check_header

__all__ = [
    "CLI_PREFIX",
    "META_PREFIX",
    "ActionLine",
    "CliLine",
    "InputError",
    "Item",
    "MetaLine",
    "expand_ranges",
    "is_block_start",
    "mask_secrets",
    "parse",
    "split_script",
    "tokenize",
]

META_PREFIX = "."
CLI_PREFIX = "/"
MASK = "********"
#: Words that are the shell's own when typed alone on a line.
SHELL_WORDS = {"exit": "quit", "quit": "quit", "clear": "clear"}
#: Most lines one line may expand to (ranges, ``.repeat``).
MAX_EXPANSION = 10_000

# Patterns as text: ``re`` compiles each on first use (and keeps it), which
# spares every start-up the compiling.
_BLOCK_LINE = r"^\s*([^\s:=]+)\s*:(.*)$"
_ACTION_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"
_KEY = r"^[A-Za-z0-9_().-]+$"
_META_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"
_RANGE = r"(\\?)(?<!\$)\{(\d+)\.\.(\d+)\}"


#: First words of common Asterisk CLI commands (several are also action names).
CLI_WORDS = frozenset(
    "acl ael agent agi aoc ari bridge calendar cc cdr cel channel cli confbridge config core"
    " database devstate dialplan dnsmgr dundi fax features file group hangup help http iax2"
    " indication keys local logger malloc manager media minivm mixmonitor module moh originate"
    " parking pjsip presencestate pri queue realtime reload rtcp rtp say sip sla sorcery stasis"
    " stun timing translate udptl ulimit unistim voicemail xmldoc".split()
)

#: CLI words that are also action names: the one-line form reads them as actions.
_ACTION_AND_CLI = frozenset({"agi", "bridge", "hangup", "originate", "reload"})


class InputError(ValueError):
    """Input the shell cannot use; the text says what to type instead."""


# NamedTuples, not dataclasses: immutable and compared by value all the same,
# and defined in a fraction of the time (this module loads at every start).


class MetaLine(NamedTuple):
    """``.name args``: a command of the shell itself."""

    name: str
    args: list[str]
    #: The text after the name, unsplit (for patterns and file names).
    rest: str = ""


class CliLine(NamedTuple):
    """``/core show channels``: an Asterisk CLI command."""

    command: str


class ActionLine(NamedTuple):
    """An action with its headers in order (repeated keys kept)."""

    name: str
    fields: list[tuple[str, str]]
    #: True when typed as a ``Key: Value`` block.
    block: bool = False

    def pairs(self) -> list[tuple[str, str]]:
        return [("Action", self.name), *self.fields]

    def with_name(self, name: str) -> ActionLine:
        return ActionLine(name, self.fields, self.block)


Item = MetaLine | CliLine | ActionLine


# Tokens


def tokenize(line: str) -> list[str]:
    """Split one line into words, honouring quotes (see the module docstring)."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    quote_col = 0
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == quote:
                quote = ""
            elif quote == '"' and c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                i += 1
                cur.append(line[i])
            else:
                cur.append(c)
        elif c in "\"'":
            quote, quote_col, in_word = c, i + 1, True
        elif c == "\\" and i + 1 < n and line[i + 1] in "\"' \\":
            i += 1
            cur.append(line[i])
            in_word = True
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise InputError(
            f"unterminated {quote} quote at column {quote_col}: close it"
            + (r' (or write \" for a literal quote)' if quote == '"' else "")
        )
    if in_word:
        words.append("".join(cur))
    return words


# Input forms


def is_block_start(text: str) -> bool:
    """True when ``text`` begins a ``Key: Value`` block (Enter then adds a line)."""
    first = text.lstrip("\n").split("\n", 1)[0]
    if first.lstrip().startswith((META_PREFIX, CLI_PREFIX, "#")):
        return False
    return re.match(_BLOCK_LINE, first) is not None


def parse(text: str) -> list[Item]:
    """Everything in ``text`` (one line, a block, or a paste of several)."""
    items: list[Item] = []
    for lineno, chunk in split_script(text.splitlines()):
        try:
            items += [parse_chunk(line) for line in expand(chunk)]
        except InputError as e:
            if lineno > 1 or len(items) > 0:
                raise InputError(f"line {lineno}: {e}") from None
            raise
    return items


def expand(chunk: str) -> list[str]:
    """The lines one piece of input stands for: ``.repeat N LINE`` is LINE N
    times; a one-line action or CLI command with ranges is one line per number."""
    stripped = chunk.strip()
    first = stripped.split(None, 1)[0].lower() if stripped else ""
    if first == META_PREFIX + "repeat":
        parts = stripped.split(None, 2)
        if len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) < 1:
            raise InputError(".repeat takes a count and a line: .repeat 10 Ping")
        count = int(parts[1])
        lines = expand(parts[2])
        if count * len(lines) > MAX_EXPANSION:
            raise InputError(f"that is {count * len(lines):,} lines; at most {MAX_EXPANSION:,}")
        return lines * count
    if stripped.startswith(META_PREFIX) or "\n" in stripped:
        return [chunk]
    return expand_ranges(stripped)


def expand_ranges(line: str) -> list[str]:
    """``line`` with each ``{A..B}`` range replaced by its numbers, one line per
    combination (the last range varying fastest); ``\\{`` keeps a range literal."""
    found = [m for m in re.finditer(_RANGE, line) if not m.group(1)]
    if not found:
        return [_unescape_ranges(line)]
    total = 1
    for m in found:
        total *= abs(int(m.group(3)) - int(m.group(2))) + 1
    if total > MAX_EXPANSION:
        raise InputError(f"the ranges make {total:,} lines; at most {MAX_EXPANSION:,}")
    lines = [""]
    at = 0
    for m in found:
        head = _unescape_ranges(line[at : m.start()])
        values = _range_values(m.group(2), m.group(3))
        lines = [done + head + value for done in lines for value in values]
        at = m.end()
    tail = _unescape_ranges(line[at:])
    return [done + tail for done in lines]


def _range_values(start: str, end: str) -> list[str]:
    a, b = int(start), int(end)
    step = 1 if b >= a else -1
    width = max(len(start), len(end)) if start.startswith("0") or end.startswith("0") else 0
    return [str(n).zfill(width) for n in range(a, b + step, step)]


def _unescape_ranges(text: str) -> str:
    """``\\{900..949}`` stands for the literal ``{900..949}``."""
    return re.sub(_RANGE, lambda m: m.group(0)[1:] if m.group(1) else m.group(0), text)


def split_script(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Group lines into pieces: a block runs until an empty line; others are one line.

    Yields ``(first line number, text)``; skips empty lines and ``#`` comments.
    """
    block: list[str] = []
    start = 0
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if block:
            if line.strip():
                block.append(line)
                continue
            yield start, "\n".join(block)
            block = []
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if is_block_start(line):
            block, start = [line], lineno
        else:
            yield lineno, stripped
    if block:
        yield start, "\n".join(block)


def parse_chunk(text: str) -> Item:
    """One meta command, CLI command, one-line action or block."""
    stripped = text.strip()
    if not stripped:
        raise InputError("nothing to do: type an action, /CLI command or .help")
    if stripped.startswith(META_PREFIX):
        return _parse_meta(stripped)
    word = SHELL_WORDS.get(stripped.lower())
    if word is not None:
        return MetaLine(word, [], "")
    if stripped.startswith(CLI_PREFIX):
        command = stripped[len(CLI_PREFIX) :].strip()
        if not command:
            raise InputError("type a CLI command after '/', e.g. /core show channels")
        if "\n" in command:
            raise InputError("a CLI command is one line")
        return CliLine(command)
    if is_block_start(stripped):
        return _parse_block(stripped.splitlines())
    if "\n" in stripped:
        raise InputError("a one-line action is one line; for several, put them on separate lines")
    return _parse_one_line(stripped)


def _parse_meta(text: str) -> MetaLine:
    body = text[len(META_PREFIX) :]
    name, _, rest = body.strip().partition(" ")
    if not name or not re.match(_META_NAME, name):
        raise InputError(f"{text.split()[0]!r} is not a shell command: type .help for the list")
    rest = rest.strip()
    return MetaLine(name.lower(), tokenize(rest), rest)


def _parse_one_line(line: str) -> ActionLine:
    error: InputError | None = None
    try:
        words = tokenize(line)
    except InputError as e:
        words, error = line.split(), e
    if not words:
        raise InputError("nothing to do: type an action, /CLI command or .help")
    name, *args = words
    cli_hint = ""
    if name.lower() in CLI_WORDS and any("=" not in w for w in args):
        if name.lower() not in _ACTION_AND_CLI:
            raise InputError(f"that looks like a CLI command: type /{line}")
        cli_hint = f"; for the CLI command type /{line}"
    if error is not None:
        raise InputError(str(error) + cli_hint)
    if "=" in name:
        raise InputError(
            f"the action name comes first, then Key=Value pairs: e.g. Originate {name}"
        )
    if not re.match(_ACTION_NAME, name):
        raise InputError(
            f"{name!r} is not an action name (letters and digits);"
            " for a CLI command write /command, for a shell command .command"
        )
    fields: list[tuple[str, str]] = []
    for word in args:
        key, eq, value = word.partition("=")
        if not eq:
            raise InputError(
                f"{word!r} is not Key=Value: write {word}=VALUE"
                ' (quote values with spaces: Key="a b")' + cli_hint
            )
        if key.lower() == "action":
            raise InputError(f"the action is the first word: {value} ... (drop Action=)")
        fields.append(_checked(key, value))
    return ActionLine(name, fields)


def _parse_block(lines: list[str]) -> ActionLine:
    pairs: list[tuple[str, str]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = re.match(_BLOCK_LINE, line)
        if m is None:
            hint = " (write Key: Value)" if "=" in line else ""
            raise InputError(f"block line {n} {line.strip()!r} is not Key: Value{hint}")
        pairs.append(_checked(m.group(1), m.group(2).strip()))
    names = [v for k, v in pairs if k.lower() == "action"]
    if not names or not names[0]:
        raise InputError("a block needs an 'Action: Name' line")
    if len(names) > 1:
        raise InputError("one Action: per block; separate actions with an empty line")
    if not re.match(_ACTION_NAME, names[0]):
        raise InputError(f"{names[0]!r} is not an action name")
    fields = _without_action(pairs)
    if len(fields) + 1 > MAX_LINES - 1:
        raise InputError(f"too many headers: Asterisk accepts at most {MAX_LINES} lines")
    return ActionLine(names[0], fields, block=True)


def _without_action(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k.lower() != "action"]


def _checked(key: str, value: str) -> tuple[str, str]:
    if not key:
        raise InputError(f"missing key before '={value}': write Key={value}")
    if not re.match(_KEY, key):
        raise InputError(f"{key!r} is not a header name (letters, digits, - and _)")
    try:
        check_header(key, value)
    except LocalProtocolError as e:
        raise InputError(str(e)) from None
    return key, value


# Secrets


_ONE_LINE_SECRET = r"""(?i)(?<![\w-])(secret=)("(?:[^"\\]|\\.)*"?|'[^']*'?|\S+)"""
_ONE_LINE_KEY = r"""(?i)(?<![\w-])(key=)("(?:[^"\\]|\\.)*"?|'[^']*'?|\S+)"""
_BLOCK_SECRET = r"(?im)^([ \t]*secret[ \t]*:).*$"
_BLOCK_KEY = r"(?im)^([ \t]*key[ \t]*:).*$"
_LOGIN = r"(?im)^\s*(action\s*:\s*)?(login|challenge)\b"


def mask_secrets(text: str) -> str:
    """``text`` with ``Secret`` values masked, and ``Key`` values in a Login.

    Used for history, echo and anything written to disk. ``Key`` is masked only
    in a Login (the MD5 answer): DBGet's ``Key`` is not a secret.
    """
    out = re.sub(_ONE_LINE_SECRET, rf"\g<1>{MASK}", text)
    out = re.sub(_BLOCK_SECRET, rf"\g<1> {MASK}", out)
    if re.search(_LOGIN, out):
        out = re.sub(_ONE_LINE_KEY, rf"\g<1>{MASK}", out)
        out = re.sub(_BLOCK_KEY, rf"\g<1> {MASK}", out)
    return out


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Where secret values sit in ``text`` (start, end): for masking the display."""
    spans = [(m.start(2), m.end(2)) for m in re.finditer(_ONE_LINE_SECRET, text)]
    spans += [_block_value(m) for m in re.finditer(_BLOCK_SECRET, text)]
    if re.search(_LOGIN, text):
        spans += [(m.start(2), m.end(2)) for m in re.finditer(_ONE_LINE_KEY, text)]
        spans += [_block_value(m) for m in re.finditer(_BLOCK_KEY, text)]
    return sorted(spans)


def _block_value(m: re.Match[str]) -> tuple[int, int]:
    """The value of a ``Key: value`` line, without the blanks after the colon."""
    value = m.group(0)[m.end(1) - m.start(0) :]
    return m.end(1) + len(value) - len(value.lstrip(" \t")), m.end(0)
