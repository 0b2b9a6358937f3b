"""What the connected server says about its events, users and settings, cached.

:class:`ServerDocs` asks through the Command action (``manager show events``,
``manager show event NAME``, ``manager show user NAME``, ``manager show
settings``), at most once per server version for documentation and once a
minute for settings, never waiting more than a few seconds. Without the
``command`` privilege (``Permission denied``) it says so, and the shell falls
back on the packaged event catalogue and on the events it has seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..eventdocs import (
    EventCatalog,
    EventDoc,
    EventInfo,
    is_event_name,
    load_offline_events,
    parse_event_doc,
    parse_event_list,
    parse_settings,
    parse_user,
)

if TYPE_CHECKING:
    from ..client import AMIClient
    from ..message import Message

__all__ = ["Answer", "ServerDocs"]

#: Why a question got no answer: not connected, refused, no answer in time.
NOT_CONNECTED: Final = "not connected"
DENIED: Final = "this user may not run CLI commands (Command: Permission denied)"
NO_ANSWER: Final = "the server did not answer in time"


class Answer:
    """A server's answer (``lines``) or why there is none (``reason``)."""

    __slots__ = ("lines", "reason")

    def __init__(self, lines: list[str] | None, reason: str = "") -> None:
        self.lines = lines
        self.reason = reason


class ServerDocs:
    """Event names and documentation, users' permissions and server settings."""

    WAIT: Final = 3.0
    SETTINGS_TTL: Final = 60.0

    def __init__(
        self,
        client: Callable[[], AMIClient | None],
        server_key: Callable[[], str],
        seen: Callable[[], list[str]] = list,
    ) -> None:
        self._client = client
        self._server_key = server_key
        self._seen = seen
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Answer] = {}
        self._at: dict[tuple[str, str], float] = {}
        self._asking: set[tuple[str, str]] = set()
        self.offline: EventCatalog = load_offline_events()
        #: Item events seen in answers to each list action (lower-case action name).
        self.items_seen: dict[str, dict[str, None]] = {}

    # -- asking ---------------------------------------------------------------------
    def ask(self, command: str, ttl: float | None = None, wait: float | None = None) -> Answer:
        """The output of a CLI command, cached per server version (``ttl`` seconds
        when given, else for good). A refusal is cached too; a missed answer is not."""
        key = (self._server_key(), command)
        now = time.monotonic()
        with self._lock:
            got = self._cache.get(key)
            if got is not None and (ttl is None or now - self._at[key] < ttl):
                return got
            if key in self._asking:  # one question at a time: a slow server gets one
                return got or Answer(None, NO_ANSWER)
            self._asking.add(key)
        try:
            answer = self._command(command, self.WAIT if wait is None else wait)
        finally:
            with self._lock:
                self._asking.discard(key)
        if answer.reason not in (NOT_CONNECTED, NO_ANSWER):
            with self._lock:
                self._cache[key] = answer
                self._at[key] = now
        return answer

    def cached(self, command: str) -> Answer | None:
        """What the server said to ``command`` before, without asking."""
        with self._lock:
            return self._cache.get((self._server_key(), command))

    def _command(self, command: str, wait: float) -> Answer:
        client = self._client()
        if client is None or not client.connected:
            return Answer(None, NOT_CONNECTED)
        try:
            future = client.submit({"Action": "Command", "Command": command})
        except ValueError as e:
            return Answer(None, str(e))
        if not future.wait(wait):
            future.cancel()
            return Answer(None, NO_ANSWER)
        msg: Message = future.result(0)
        if msg.is_error:
            text = msg.value("Message") or ""
            if "permission" in text.lower():
                return Answer(None, DENIED)
            return Answer(None, " ".join([text, *msg.output]).strip() or "refused")
        return Answer(list(msg.output))

    # -- events -------------------------------------------------------------------------
    def live_names(self, wait: float | None = None) -> list[str] | None:
        """The server's own list of events (None when it cannot be had)."""
        lines = self.ask("manager show events", wait=wait).lines
        if not lines:
            return None
        return parse_event_list(lines[2:] if lines[0].startswith("Events:") else lines)

    def names(self, wait: float | None = None) -> list[str]:
        """Every event name known: the server's (else the packaged catalogue's) and
        those seen in this session, one spelling each (case is ignored)."""
        found: dict[str, str] = {}
        live = self.live_names(wait)
        for name in [*(live if live is not None else self.offline.names()), *self._seen()]:
            if is_event_name(name):
                found.setdefault(name.lower(), name)
        return sorted(found.values(), key=str.lower)

    def canonical(self, name: str) -> str:
        """``name`` spelled as the server lists it (else as the catalogue does)."""
        low = name.lower()
        got = self.cached("manager show events")
        listed = parse_event_list(got.lines) if got is not None and got.lines else []
        for known in listed:
            if known.lower() == low:
                return known
        info = self.offline.get(name)
        return info.name if info is not None else name

    def doc(self, name: str, wait: float | None = None) -> tuple[EventDoc | None, str]:
        """The server's documentation of ``name``; else None and why not."""
        name = self.canonical(name)
        answer = self.ask(f"manager show event {name}", wait=wait)
        if answer.lines is None:
            return None, answer.reason
        doc = parse_event_doc(answer.lines)
        if doc is None:
            return None, f"the server does not document an event {name!r}"
        return doc, ""

    def info(self, name: str) -> EventInfo | None:
        """Header names and classes known for ``name``: the server's documentation
        when already asked, else the packaged catalogue."""
        name = self.canonical(name)
        offline = self.offline.get(name)
        got = self.cached(f"manager show event {name}")
        doc = parse_event_doc(got.lines) if got is not None and got.lines else None
        if doc is None:
            return offline
        classes = offline.classes if offline is not None else ()
        return EventInfo(doc.name or name, doc.headers, classes)

    def headers(self, name: str) -> list[str]:
        """Header names of ``name`` for completion (asks the server once)."""
        self.doc(name, wait=1.0)
        info = self.info(name)
        return list(info.headers) if info is not None else []

    def saw_items(self, action: str, msg: Message) -> None:
        """Remember which events a list action's answer carried."""
        items = [*msg.events, *([msg.complete] if msg.complete is not None else [])]
        if not items:
            return
        seen = self.items_seen.setdefault(action.lower(), {})
        for item in items:
            name = item.value("Event")
            if name and len(seen) < 50:
                seen.setdefault(name, None)

    def item_events(self, action: str) -> tuple[list[str], str]:
        """The events a list action returns, and where that comes from: the
        server's ``manager show command`` (where it says), else what was seen."""
        answer = self.ask(f"manager show command {action}")
        names: dict[str, None] = {}
        inside = False
        for line in answer.lines or []:
            text = line.strip()
            if text in ("[List Responses]", "[Final Response]"):
                inside = True
            elif text.startswith("[End"):
                inside = False
            elif inside and text.startswith("Event:"):
                names.setdefault(text[6:].strip(), None)
        if names:
            return list(names), "the server"
        seen = self.items_seen.get(action.lower())
        return (list(seen), "seen in this session") if seen else ([], "")

    # -- users and settings -----------------------------------------------------------
    def read_classes(self, username: str) -> tuple[tuple[str, ...] | None, str]:
        """The read permission classes of ``username``; else None and why not."""
        answer = self.ask(f"manager show user {username}", ttl=self.SETTINGS_TTL)
        if answer.lines is None:
            return None, answer.reason
        classes = parse_user(answer.lines)
        if classes is None:
            return None, f"the server shows no manager user {username!r}"
        return classes, ""

    def settings(self) -> tuple[dict[str, str] | None, str]:
        answer = self.ask("manager show settings", ttl=self.SETTINGS_TTL)
        if answer.lines is None:
            return None, answer.reason
        return parse_settings(answer.lines), ""
