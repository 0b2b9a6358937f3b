"""``.serverfilter``: the server's event filters, checked, previewed, listed, removed.

AMI's Filter action only adds: a session's filters can be neither listed nor
removed. The shell remembers every filter it added with the headers it was sent
with (``Shell.server_filters``), re-adds them whenever it logs in, and removes
one by logging in again with the others (:func:`apply_filters`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..filters import FilterError, ServerFilter, check_filter, lets_through, regex_doubts
from ..textsafe import clean
from .commands import command
from .lineparse import MetaLine
from .render import Info, Problem

if TYPE_CHECKING:
    from ..message import Message
    from .base import Result
    from .base import ShellAPI as Shell

__all__ = ["WORDS", "apply_filters", "from_headers", "parse_spec"]

#: Words of ``.serverfilter``; a regex that is one of them is given after ``--``.
WORDS: Final = ("list", "match", "test", "remove", "clear")
PREVIEW: Final = 15
TIMEOUT: Final = 10.0


def parse_spec(text: str) -> ServerFilter:
    """``REGEX``, ``-- REGEX`` or ``match CRITERIA [VALUE]`` as a checked filter
    (a regex or a value is taken as typed, spaces included)."""
    text = text.strip()
    word, _, after = text.partition(" ")
    if word == "--":
        text = after.strip()
    elif word == "match":
        criteria, _, value = after.strip().partition(" ")
        if not criteria:
            raise FilterError(
                "match needs criteria: .serverfilter match action(include),name(Hangup) [VALUE]"
            )
        return check_filter(value.strip(), criteria)
    if not text:
        raise FilterError("give a regex (!REGEX excludes), or match CRITERIA [VALUE]")
    return check_filter(text)


def from_headers(headers: list[tuple[str, str]]) -> ServerFilter | None:
    """A remembered filter's headers back as a filter (None if it no longer checks)."""
    got = {k.lower(): v for k, v in headers}
    try:
        return check_filter(got.get("filter", ""), got.get("matchcriteria", ""))
    except FilterError:
        return None


def apply_filters(shell: Shell, filters: list[list[tuple[str, str]]]) -> str | None:
    """Make ``filters`` the session's only ones: AMI cannot remove a filter, so
    log in again on a fresh connection and add these. None when it worked."""
    before = shell.server_filters
    shell.server_filters = [list(f) for f in filters]
    error = shell.connect()
    if error is not None:
        shell.server_filters = before
    return error


@command(
    "serverfilter",
    ".serverfilter [REGEX|match|test|...]",
    "filter events on the server (checked first, re-added on reconnect)",
    "  REGEX                    events whose whole text matches (!REGEX excludes)",
    "  match CRITERIA [VALUE]   e.g. match action(include),name(Hangup),header(Channel),"
    "method(starts_with) PJSIP/",
    "                           methods: exact starts_with ends_with contains regex none",
    "  test SPEC                which recent events SPEC would let through (nothing sent)",
    "  list                     the filters added, with every header sent",
    "  remove N, clear          log in again without filter N / without any",
    "  -- REGEX                 a regex that is one of these words",
    "  Regexes are checked with Python's re; the server's POSIX regex may differ.",
)
def _server_filter(shell: Shell, line: MetaLine) -> Result:
    args = list(line.args)
    word = args[0].lower() if args else "list"
    if word == "list":
        return _list(shell)
    if word == "test":
        return _test(shell, line.rest.strip()[4:])
    if word in ("remove", "clear"):
        return _remove(shell, word, args[1:])
    try:
        flt = parse_spec(line.rest)
    except FilterError as e:
        return Problem(str(e))
    client = shell.client
    if client is None or not client.connected:
        return Problem("not connected: the filter was not added")
    reply = client.submit([("Action", "Filter"), ("Operation", "Add"), *flt.headers])
    msg = reply.result(TIMEOUT)
    if msg.is_error:
        return Problem(f"the server refused the filter: {clean(msg.value('Message') or '')}")
    if flt.headers not in shell.server_filters:
        shell.server_filters.append(flt.headers)
    lines = [f"server filter added: {clean(flt.describe())} (number"
             f" {len(shell.server_filters)}, re-added on reconnect)"]
    return Info(lines + _doubts(flt), style="dim")


def _doubts(flt: ServerFilter) -> list[str]:
    doubts = regex_doubts(flt.value) if flt.method == "regex" else []
    if not doubts:
        return []
    return [f"note: the server's POSIX regex reads these otherwise: {'; '.join(doubts)}"]


def _list(shell: Shell) -> Result:
    if not shell.server_filters:
        return Info(["no server filters added in this session"])
    lines = [f"{n:>3}  " + clean("  ".join(f"{k}: {v}" for k, v in f))
             for n, f in enumerate(shell.server_filters, 1)]
    return Info(lines + ["(AMI cannot list a session's filters: these are the ones the shell"
                         " added)"])


def _remove(shell: Shell, word: str, args: list[str]) -> Result:
    kept = list(shell.server_filters)
    if word == "remove":
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= len(kept):
            count = len(kept)
            return Problem(f"remove N: N is a filter's number in .serverfilter list (1-{count})"
                           if count else "no server filters to remove")
        del kept[int(args[0]) - 1]
    else:
        kept = []
    if not shell.connected:
        shell.server_filters = kept
        return Info([f"{len(kept)} server filter(s) kept for the next login"], style="dim")
    error = apply_filters(shell, kept)
    if error is not None:
        return Problem(f"could not log in again ({error}); the filters stay as they were")
    return Info([
        f"logged in again with {len(kept)} filter(s) (AMI cannot remove a filter);"
        " events during the switch may have been missed"
    ], style="dim")


def _test(shell: Shell, spec: str) -> Result:
    try:
        flt = parse_spec(spec)
    except FilterError as e:
        return Problem(str(e))
    kept = list(shell.history)
    if not kept:
        return Info(["the event history is empty: nothing to test the filter on"])
    passed = []
    counts: dict[str, list[int]] = {}
    for k in kept:
        name = k.message.value("Event") or "?"
        through = _passes(flt, k.message)
        counts.setdefault(name, [0, 0])[0 if through else 1] += 1
        if through:
            passed.append(k)
    since = _clock(kept[0].received)
    lines = [f"of {len(kept):,} events since {since}, {len(passed):,} would pass"
             f" {clean(flt.describe())}:"]
    for name, (yes, no) in sorted(counts.items(), key=lambda i: -sum(i[1]))[:20]:
        lines.append(f"  {clean(name):<28} {yes:>7,} pass  {no:>7,} blocked")
    if passed:
        lines.append(f"the last {min(PREVIEW, len(passed))} that would pass:")
        for k in passed[-PREVIEW:]:
            msg = k.message
            extra = [msg.value("Channel") or ""]
            if flt.header and flt.header.lower() != "channel":
                extra.append(f"{flt.header}={msg.value(flt.header) or ''}")
            lines.append(clean(f"  {_clock(k.received)}  {msg.value('Event') or '?':<20} "
                               + "  ".join(e for e in extra if e)))
    if shell.server_filters:
        lines.append("(tested alone: the session's other server filters apply as well)")
    return Info(lines + _doubts(flt))


def _passes(flt: ServerFilter, msg: Message) -> bool:
    raw = msg.raw or b""
    text = raw.decode("utf-8", "replace")
    headers = [(k, v) for k, v in msg.headers]
    return lets_through([flt], msg.value("Event") or "", headers, text)


def _clock(when: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1000):03d}"
