"""The AMI message: ordered headers with repeated keys, viewed as a dict.

A :class:`Message` is a ``dict`` so that it compares equal to a plain dict and
serialises with ``json.dumps``. A key seen once maps to its string; a key seen
more than once maps to the list of its values in wire order. The ordered
``(key, value)`` pairs are kept in :attr:`Message.headers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Message", "HeaderValue"]

HeaderValue = str | list[str]


class Message(dict[str, HeaderValue]):
    """One AMI message (a response, an event, or a collected event list).

    ``Message([("Response", "Success"), ("ActionID", "1")])`` or
    ``Message({"Action": "Originate", "Variable": ["A=1", "B=2"]})``.
    """

    __slots__ = ("_headers", "events", "complete", "raw")

    #: Items of an event list (events carrying this response's ActionID).
    events: list[Message]
    #: The closing ``...Complete`` event of an event list, or None.
    complete: Message | None
    #: The bytes as received (without the closing empty line), when the
    #: message came off the wire; None for a message built in code.
    raw: bytes | None

    def __init__(
        self,
        headers: Iterable[tuple[str, str]] | Mapping[str, Any] = (),
        *,
        raw: bytes | None = None,
    ) -> None:
        if isinstance(headers, list):
            pairs = headers
        elif isinstance(headers, Mapping):
            pairs = []
            for key, value in headers.items():
                if isinstance(value, list | tuple):
                    pairs.extend((key, str(v)) for v in value)
                else:
                    pairs.append((key, str(value)))
        else:
            pairs = list(headers)
        dict.__init__(self, pairs)
        if len(self) != len(pairs):
            self._merge_repeated(pairs)
        self._headers = pairs
        self.events = []
        self.complete = None
        self.raw = raw

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The (key, value) pairs in wire order, repeated keys included."""
        return self._headers

    def _merge_repeated(self, pairs: list[tuple[str, str]]) -> None:
        seen: dict[str, HeaderValue] = {}
        for key, value in pairs:
            old = seen.get(key)
            if old is None:
                seen[key] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                seen[key] = [old, value]
        dict.update(self, seen)

    # -- case-insensitive helpers -------------------------------------------
    def value(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        got = dict.get(self, key)
        if got is not None:
            return got if isinstance(got, str) else got[0]
        lower = key.lower()
        for k, v in self.headers:
            if k.lower() == lower:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in wire order."""
        lower = key.lower()
        return [v for k, v in self.headers if k.lower() == lower]

    # -- what kind of message -----------------------------------------------
    @property
    def is_event(self) -> bool:
        return bool(self.headers) and self.headers[0][0].lower() == "event"

    @property
    def is_response(self) -> bool:
        return bool(self.headers) and self.headers[0][0].lower() == "response"

    @property
    def name(self) -> str:
        """The event name, or the response status (``Success``, ``Error`` ...)."""
        return self.headers[0][1] if self.headers else ""

    @property
    def action_id(self) -> str | None:
        return self.value("ActionID")

    @property
    def is_error(self) -> bool:
        return self.is_response and self.name.lower() == "error"

    @property
    def output(self) -> list[str]:
        """Command output lines, from ``Output:`` headers or legacy raw output."""
        return self.getall("Output")

    @property
    def is_list_start(self) -> bool:
        return (self.value("EventList") or "").lower() == "start"

    @property
    def is_list_complete(self) -> bool:
        return (self.value("EventList") or "").lower() == "complete"

    def to_json(self) -> dict[str, Any]:
        """A plain structure for JSON: the dict, plus ``events``/``complete`` for lists."""
        out: dict[str, Any] = dict(self)
        if self.events or self.complete is not None:
            out["events"] = [dict(e) for e in self.events]
            out["complete"] = dict(self.complete) if self.complete is not None else None
        return out

    def __repr__(self) -> str:
        extra = f", events={len(self.events)}" if self.events else ""
        return f"Message({dict.__repr__(self)}{extra})"

    def __reduce__(self) -> Any:
        return (Message, (self.headers,))
