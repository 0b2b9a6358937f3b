"""Where completion words come from: the connected server, cached.

:class:`LiveSources` caches every answer from the server (channels for a few
seconds, CLI completions and parameters for longer), asks the server one
question at a time for each thing, and never waits more than a second for one.
It needs no terminal library, so the shell can connect while the prompt's
library is still loading.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from ..catalog import Catalog, Param, parse_manager_show

if TYPE_CHECKING:
    from ..client import AMIClient
    from ..message import Message

__all__ = ["COMMON_VARIABLES", "LiveSources"]

#: Channel variables and functions every Asterisk has, offered for Getvar/Setvar.
COMMON_VARIABLES: Final = (
    "ANSWEREDTIME", "BLINDTRANSFER", "BRIDGEPEER", "BRIDGEPVTCALLID", "CALLERID(all)",
    "CALLERID(name)", "CALLERID(num)", "CDR(billsec)", "CDR(disposition)", "CHANNEL",
    "CHANNEL(state)", "CONNECTEDLINE(name)", "CONNECTEDLINE(num)", "CONTEXT", "DIALEDTIME",
    "DIALSTATUS", "EXTEN", "HANGUPCAUSE", "LINKEDID", "MEMBERINTERFACE", "PRIORITY",
    "QUEUESTATUS", "UNIQUEID",
)


class _Cached:
    """One cached list with an age limit; a refresh in progress returns the old value."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.value: list[str] = []
        self.at = -1e9
        self.busy = False


class LiveSources:
    """Completion words from the connected server, cached, bounded in waiting."""

    WAIT: Final = 1.0

    def __init__(
        self,
        client: Callable[[], AMIClient | None],
        catalog: Callable[[], Catalog],
        *,
        meta: Callable[[], dict[str, str]] = dict,
        event_names: Callable[[], list[str]] = list,
        event_headers: Callable[[str], list[str]] = lambda name: [],
        profiles: Callable[[], list[str]] = list,
        channels_seen: Callable[[], list[str]] = list,
        server_key: Callable[[], str] = str,
        variables: Callable[[], list[str]] = list,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._meta = meta
        self._event_names = event_names
        self._event_headers = event_headers
        self._profiles = profiles
        self.channels_seen = channels_seen
        self._server_key = server_key
        self._clock = clock
        self._lock = threading.Lock()
        self._variables = variables
        self._lists = {
            "channel": _Cached(3.0),
            "queue": _Cached(30.0),
            "context": _Cached(60.0),
            # Whole answers, as "key<TAB>value" lines, looked into by what is given.
            "dialplan": _Cached(60.0),
            "members": _Cached(10.0),
            "astdb": _Cached(10.0),
        }
        self._cli: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._params: dict[tuple[str, str], tuple[Param, ...]] = {}
        self._asking: set[tuple[str, str]] = set()
        #: Set when the server refuses the Command action (no ``command`` privilege).
        self.cli_denied = False

    def catalog(self) -> Catalog:
        return self._catalog()

    def meta(self) -> dict[str, str]:
        return self._meta()

    def event_names(self) -> list[str]:
        return self._event_names()

    def profiles(self) -> list[str]:
        return self._profiles()

    def event_headers(self, name: str) -> list[str]:
        return self._event_headers(name)

    def reset(self) -> None:
        """Forget what the server said (after connecting to another server)."""
        with self._lock:
            for cached in self._lists.values():
                cached.value, cached.at = [], -1e9
            self._cli.clear()
            self.cli_denied = False

    # -- parameters -------------------------------------------------------------
    def params(self, action: str) -> tuple[Param, ...]:
        """The live server's parameters for ``action`` (asked once per server
        version), else the catalogue's."""
        catalog = self._catalog()
        name = catalog.canonical(action) or action
        spec = catalog.get(name)
        offline = spec.params if spec is not None else ()
        key = (self._server_key(), name.lower())
        got = self._params.get(key)
        if got is None:
            if self.cli_denied or not self._connected() or not self._ask(key):
                return offline
            try:
                fetched = self._manager_show(name)
            finally:
                self._done_asking(key)
            if fetched is None:  # no answer in time: ask again next time
                return offline
            self._params[key] = got = fetched
        return got or offline

    def _ask(self, key: tuple[str, str]) -> bool:
        """True when nobody is asking the server this already (a slow server gets
        one question per thing, not one per keystroke)."""
        with self._lock:
            if key in self._asking:
                return False
            self._asking.add(key)
            return True

    def _done_asking(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._asking.discard(key)

    def _manager_show(self, name: str) -> tuple[Param, ...] | None:
        msg = self._command(f"manager show command {name}")
        if msg is None:
            return None
        if msg.is_error:
            self._note_denied(msg)
            return ()
        return parse_manager_show(msg.output)

    def _note_denied(self, msg: Message) -> None:
        if "permission" in (msg.value("Message") or "").lower():
            self.cli_denied = True

    def _connected(self) -> bool:
        client = self._client()
        return client is not None and client.connected

    # -- values -----------------------------------------------------------------
    def forget_channel(self, name: str) -> None:
        """A channel hung up: it is no longer offered (until a list names it again)."""
        cached = self._lists["channel"]
        with self._lock:
            if name in cached.value:
                cached.value = [c for c in cached.value if c != name]

    def values(self, kind: str, given: Mapping[str, str] | None = None) -> list[str]:
        """Words for a value of ``kind``; ``given`` (lower-case keys) holds the other
        headers typed: an Exten comes from its Context, a member from its Queue, an
        AstDB key from its Family."""
        given = given or {}
        if kind == "exten":
            return _pick(self._list("dialplan"), given.get("context"))
        if kind == "interface":
            return _pick(self._list("members"), given.get("queue"))
        if kind == "dbfamily":
            return _pick(self._list("astdb"), None, keys=True)
        if kind == "dbkey":
            return _pick(self._list("astdb"), given.get("family"))
        if kind == "varname":
            return sorted({*COMMON_VARIABLES, *self._variables()})
        return self._list(kind)

    def _list(self, kind: str) -> list[str]:
        cached = self._lists.get(kind)
        if cached is None:
            return []
        now = self._clock()
        with self._lock:
            if cached.busy or now - cached.at < cached.ttl:
                return cached.value
            cached.busy = True
        try:
            fresh = self._fetch(kind)
            with self._lock:
                if fresh is not None:
                    cached.value = fresh
                cached.at = self._clock()
        finally:
            cached.busy = False
        return cached.value

    def _fetch(self, kind: str) -> list[str] | None:
        if kind == "astdb":
            return self._astdb()
        action, key, value_key = {
            "channel": ("CoreShowChannels", "Channel", ""),
            "queue": ("QueueSummary", "Queue", ""),
            "context": ("ShowDialPlan", "Context", ""),
            "dialplan": ("ShowDialPlan", "Context", "Extension"),
            "members": ("QueueStatus", "Queue", "Location"),
        }[kind]
        msg = self._action({"Action": action})
        if msg is None or msg.is_error:
            return None
        seen: dict[str, None] = {}
        for event in msg.events:
            value = event.value(key)
            if value and value_key:
                second = event.value(value_key)
                value = f"{value}\t{second}" if second else ""
            if value:
                seen.setdefault(value, None)
        return sorted(seen)

    def _astdb(self) -> list[str] | None:
        """AstDB entries as ``family<TAB>key`` (``database show``: ``/family/key : value``)."""
        msg = self._command("database show")
        if msg is None:
            return None
        if msg.is_error:
            self._note_denied(msg)
            return []
        found: dict[str, None] = {}
        for line in msg.output:
            path = line.split(" : ", 1)[0].strip() if " : " in line else ""
            family, _, key = path.strip("/").rpartition("/")
            if family and key:
                found.setdefault(f"{family}\t{key}", None)
        return sorted(found)

    # -- CLI ----------------------------------------------------------------------
    def cli(self, line: str, word: str) -> list[str]:
        if self.cli_denied:
            return []
        key = (line, word)
        with self._lock:
            got = self._cli.get(key)
            if got is not None:
                self._cli.move_to_end(key)
                return got
        clean_line = line.replace('"', "")
        clean_word = word.replace('"', "")
        asking = ("cli", f"{line}\0{word}")
        if not self._ask(asking):
            return []
        try:
            msg = self._command(f'_command matchesarray "{clean_line}" "{clean_word}"')
        finally:
            self._done_asking(asking)
        if msg is None:
            return []
        if msg.is_error:
            self._note_denied(msg)
            return []
        words: list[str] = []
        for out in msg.output:
            words += out.split()
        words = [w for w in words if w != "_EOF_"]
        with self._lock:
            self._cli[key] = words
            while len(self._cli) > 256:
                self._cli.popitem(last=False)
        return words

    # -- the server -----------------------------------------------------------------
    def _command(self, command: str) -> Message | None:
        return self._action({"Action": "Command", "Command": command})

    def _action(self, fields: dict[str, str]) -> Message | None:
        client = self._client()
        if client is None or not client.connected:
            return None
        try:
            future = client.submit(fields)
        except ValueError:
            return None
        if not future.wait(self.WAIT):
            future.cancel()
            return None
        return future.result(0)


def _pick(entries: list[str], first: str | None, *, keys: bool = False) -> list[str]:
    """From ``first<TAB>second`` entries: the seconds of ``first`` (every second
    when ``first`` is not given), or with ``keys`` the firsts."""
    out: dict[str, None] = {}
    for entry in entries:
        a, _, b = entry.partition("\t")
        if keys:
            out.setdefault(a, None)
        elif not first or a.lower() == first.lower():
            out.setdefault(b, None)
    return sorted(out)
