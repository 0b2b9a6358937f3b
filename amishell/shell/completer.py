"""Completion: action names, parameters, values, CLI commands, meta commands.

:class:`AMICompleter` only decides *what* to complete from the text before the
cursor; where the words come from is a :class:`Sources` object. The shell wraps
the completer in :class:`BackgroundCompleter`, so a live lookup never blocks
typing, nor Enter; :class:`~amishell.shell.sources.LiveSources` is where the
shell's words come from.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Protocol

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ..catalog import EVENT_CLASSES, Catalog, Param, param_kind
from ..textsafe import fragments
from . import eventcomplete
from .lineparse import CLI_PREFIX, META_PREFIX, is_block_start

__all__ = ["AMICompleter", "BackgroundCompleter", "Sources", "META_WORDS"]

#: Meta command arguments offered after the command name.
META_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "events": ("on", "off", "pause", "resume", "line", "full", "mask", "stats"),
    "format": ("pretty", "raw", "json"),
    "debug": ("off",),
    "log": ("off",),
    "pager": ("auto", "never"),
    "filter": ("off",),
    "serverfilter": ("list", "match", "test", "remove", "clear"),
}
_REPEATABLE: Final = frozenset({"chanvariable", "header"})
_KEY_WORD: Final = re.compile(r"([^\s=\"']+)=([^\s\"']*)$")


class Sources(Protocol):
    """Where completions come from (the live server, or a fake in tests)."""

    def catalog(self) -> Catalog: ...
    def params(self, action: str) -> tuple[Param, ...]: ...
    def values(self, kind: str, given: Mapping[str, str] = ...) -> list[str]: ...
    def cli(self, line: str, word: str) -> list[str]: ...
    def meta(self) -> dict[str, str]: ...
    def event_names(self) -> list[str]: ...
    def event_headers(self, name: str) -> list[str]: ...
    def profiles(self) -> list[str]: ...
    def channels_seen(self) -> list[str]: ...


class AMICompleter(Completer):
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        stripped = text.lstrip()
        if "\n" in text or is_block_start(stripped):
            yield from self._block(text)
        elif stripped.startswith(META_PREFIX):
            yield from self._meta(stripped[len(META_PREFIX) :])
        elif stripped.startswith(CLI_PREFIX):
            yield from self._cli(stripped[len(CLI_PREFIX) :])
        else:
            yield from self._one_line(stripped)

    # -- one-line actions -------------------------------------------------------
    def _one_line(self, text: str) -> Iterator[Completion]:
        if not text or (" " not in text and "=" not in text):
            yield from self._action_names(text)
            return
        action = text.split(None, 1)[0]
        word = "" if text[-1].isspace() else _last_word(text)
        m = _KEY_WORD.match(word)
        if m is not None:
            given = {k.lower(): v for k, v in re.findall(r"(?:^|\s)([^\s=\"']+)=(\S*)", text)}
            yield from self._values(action, m.group(1), m.group(2), given)
            return
        typed = {k.lower() for k in re.findall(r"(?:^|\s)([^\s=\"']+)=", text)}
        yield from self._param_names(action, word, typed, suffix="=")

    def _action_names(self, prefix: str) -> Iterator[Completion]:
        catalog = self.sources.catalog()
        low = prefix.lower()
        later = []
        for name in catalog.names():
            lname = name.lower()
            if lname.startswith(low):
                spec = catalog.actions[name]
                yield Completion(name, -len(prefix), display_meta=spec.synopsis)
            elif low and low in lname:
                later.append(name)
        for name in later:
            spec = catalog.actions[name]
            yield Completion(name, -len(prefix), display_meta=spec.synopsis)

    def _param_names(
        self, action: str, word: str, typed: set[str], *, suffix: str, start: int | None = None
    ) -> Iterator[Completion]:
        params = self.sources.params(action)
        low = word.lower()
        for p in sorted(params, key=lambda p: not p.required):
            name_l = p.name.lower()
            if name_l in typed and p.kind != "variable" and name_l not in _REPEATABLE:
                continue
            if not name_l.startswith(low):
                continue
            meta = ("required" if p.required else "optional") + (
                f" · {p.kind}" if p.kind != "text" else ""
            )
            display = p.name + ("*" if p.required else "")
            yield Completion(
                p.name + suffix,
                -len(word) if start is None else start,
                display=display,
                display_meta=meta,
            )

    def _values(
        self, action: str, key: str, prefix: str, given: Mapping[str, str] | None = None
    ) -> Iterator[Completion]:
        """Values for ``key``; ``given`` (lower-case keys) holds the other headers
        typed, so that an Exten completes from its Context, a member from its Queue."""
        if action.lower() == "userevent" and key.lower() == "userevent":
            yield from eventcomplete.names(self.sources.event_names, prefix)
            return
        if action.lower() == "filter" and key.lower() == "matchcriteria":
            src = self.sources
            yield from eventcomplete.criteria(src.event_names, src.event_headers, prefix)
            return
        kind = next(
            (p.kind for p in self.sources.params(action) if p.name.lower() == key.lower()),
            None,
        ) or param_kind(action, key)
        yield from self._kind_values(kind, prefix, given or {})

    def _kind_values(
        self, kind: str, prefix: str, given: Mapping[str, str] | None = None
    ) -> Iterator[Completion]:
        if kind == "eventmask":
            head, _, part = prefix.rpartition(",")
            words = ["on", "off"] if not head else []
            words += [c for c in EVENT_CLASSES if c not in head.split(",")]
            yield from _matching(words, part, meta="event class")
            return
        if kind == "bool":
            yield from _matching(["true", "false"], prefix)
            return
        if kind == "secret":
            return
        yield from _matching(
            self.sources.values(kind, given or {}), prefix, meta=kind, contains=True
        )

    # -- blocks -----------------------------------------------------------------
    def _block(self, text: str) -> Iterator[Completion]:
        lines = text.split("\n")
        current = lines[-1]
        action = ""
        typed: set[str] = set()
        given: dict[str, str] = {}
        for line in lines[:-1]:
            key, colon, value = line.partition(":")
            if not colon:
                continue
            if key.strip().lower() == "action":
                action = value.strip()
            typed.add(key.strip().lower())
            given[key.strip().lower()] = value.strip()
        key, colon, value = current.partition(":")
        if not colon:
            word = current.strip()
            if not action and "action".startswith(word.lower()):
                yield Completion("Action: ", -len(current), display="Action:")
            elif action:
                yield from self._param_names(action, word, typed, suffix=": ", start=-len(current))
            return
        value = value.lstrip()
        if key.strip().lower() == "action":
            yield from self._action_names(value)
        elif action:
            yield from self._values(action, key.strip(), value, given)

    # -- meta and CLI -------------------------------------------------------------
    def _meta(self, text: str) -> Iterator[Completion]:
        name, space, rest = text.partition(" ")
        if not space:
            for cmd, summary in self.sources.meta().items():
                if cmd.startswith(name.lower()):
                    yield Completion(
                        cmd, -len(name), display=META_PREFIX + cmd, display_meta=summary
                    )
            return
        name = name.lower()
        words = rest.split()
        word = "" if not rest or rest[-1].isspace() else words[-1]
        first = len(words) == 0 or (len(words) == 1 and bool(word))
        src = self.sources
        if name == "help":
            if first:
                yield from self._action_names(word)
                yield from _matching(list(self.sources.meta()), word, meta="shell command")
                yield from _matching(["event"], word, meta="an event's documentation")
            elif words[0].lower() == "event" and len(words) <= 2:
                yield from eventcomplete.names(src.event_names, word)
        elif name == "why":
            if first:
                yield from eventcomplete.names(src.event_names, word)
        elif name == "serverfilter":
            if first:
                yield from _matching(list(META_WORDS["serverfilter"]), word)
            elif words[0] == "test" and len(words) <= 2 and "match".startswith(word):
                yield from _matching(["match"], word)
            elif words[-2 if word else -1] == "match":
                yield from eventcomplete.criteria(src.event_names, src.event_headers, word)
        elif name == "connect":
            if first:
                yield from _matching(self.sources.profiles(), word, meta="profile")
        elif name == "filter":
            part = word.rpartition(",")[2].lstrip("!")
            if "=" not in part:
                yield from eventcomplete.filter_spec(src.event_names, src.event_headers, word)
            if first:
                yield from _matching(list(META_WORDS["filter"]), word)
        elif name == "trace":
            if first:
                live = self.sources.values("channel")
                seen = [c for c in self.sources.channels_seen() if c not in live]
                yield from _matching(live, word, meta="channel", contains=True)
                yield from _matching(seen, word, meta="seen", contains=True)
        elif name == "events" and words[:1] == ["mask"] and (len(words) > 1 or not word):
            yield from self._kind_values("eventmask", word)
        elif first:
            yield from _matching(list(META_WORDS.get(name, ())), word)

    def _cli(self, line: str) -> Iterator[Completion]:
        line = line.lstrip()
        word = "" if not line or line[-1].isspace() else line.split()[-1]
        seen: set[str] = set()
        for match in self.sources.cli(line, word):
            if match and match not in seen and match.startswith(word):
                seen.add(match)
                yield Completion(match, -len(word))


class BackgroundCompleter(Completer):
    """Runs a completer in a thread of its own and never waits for it when the
    completion is abandoned (prompt_toolkit's ``ThreadedCompleter`` waits for its
    thread to end, so Enter would wait for a slow server's answer)."""

    def __init__(self, completer: Completer, workers: int = 2) -> None:
        self.completer = completer
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="amishell-complete")

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        return map(shown_safely, self.completer.get_completions(document, complete_event))

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(
            self._pool, lambda: list(self.get_completions(document, complete_event))
        )
        for completion in found:
            yield completion

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def shown_safely(completion: Completion) -> Completion:
    """``completion`` with its menu text and meta text terminal-safe (a channel name,
    a CLI word or a synopsis from the server), unsafe characters shown visibly."""
    display, meta = completion.display, completion.display_meta
    if all(text.isprintable() for _, text, *_ in [*display, *meta]):
        return completion
    return Completion(
        completion.text,
        completion.start_position,
        display=[part for style, text, *_ in display for part in fragments(text, style)],
        display_meta=[part for style, text, *_ in meta for part in fragments(text, style)],
        style=completion.style,
        selected_style=completion.selected_style,
    )


def _last_word(text: str) -> str:
    """The word being typed (quotes count: ``CallerID="Al`` -> that whole word)."""
    quote = ""
    start = 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c.isspace():
            start = i + 1
    return text[start:]


def _matching(
    words: Iterable[str], prefix: str, *, meta: str = "", contains: bool = False
) -> Iterator[Completion]:
    low = prefix.lower()
    later = []
    for w in words:
        lw = w.lower()
        if lw.startswith(low):
            yield Completion(w, -len(prefix), display_meta=meta)
        elif contains and low and low in lw:
            later.append(w)
    for w in later:
        yield Completion(w, -len(prefix), display_meta=meta)
