"""What the simulated server reads and writes: requests, responses, events.

A :class:`Request` holds the raw header lines of one action as the server
received them and looks headers up the server's way (case-insensitive key,
first match, leading blanks of the value skipped). Responses and events are
built as bytes with the same header order as the real server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .config import authority_text

__all__ = ["Event", "Request", "ack", "error", "event", "list_complete", "response"]

Pairs = Iterable[tuple[str, object]]


class Request:
    """One action: its header lines, looked up as the server does."""

    __slots__ = ("lines",)

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    @classmethod
    def from_pairs(cls, pairs: Pairs) -> Request:
        return cls([f"{k}: {v}" for k, v in pairs])

    def get(self, key: str, *, skip_empty: bool = False) -> str:
        """The first value of ``key`` ("" if absent), blanks after the colon skipped."""
        n = len(key)
        lower = key.lower()
        for line in self.lines:
            if len(line) > n and line[n] == ":" and line[:n].lower() == lower:
                value = line[n + 1 :].lstrip(" \t")
                if value or not skip_empty:
                    return value
        return ""

    def get_all(self, key: str) -> list[str]:
        n = len(key)
        lower = key.lower()
        return [
            line[n + 1 :].lstrip(" \t")
            for line in self.lines
            if len(line) > n and line[n] == ":" and line[:n].lower() == lower
        ]

    def pairs(self) -> list[tuple[str, str]]:
        """Every ``Key: value`` line split once at the colon (lines without one dropped)."""
        out = []
        for line in self.lines:
            key, sep, value = line.partition(":")
            if sep:
                out.append((key, value.lstrip(" \t")))
        return out

    @property
    def action(self) -> str:
        return self.get("Action", skip_empty=True)

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def id_pairs(self) -> list[tuple[str, object]]:
        """``[("ActionID", id)]`` when the request carried one, else ``[]``."""
        aid = self.action_id
        return [("ActionID", aid)] if aid else []


def lines_bytes(pairs: Pairs, *, end: bool = True) -> bytes:
    text = "".join(f"{k}: {v}\r\n" for k, v in pairs)
    return (text + "\r\n" if end else text).encode("utf-8")


def response(
    req: Request,
    status: str,
    message: str | None = None,
    *,
    listflag: str | None = None,
    extra: Pairs = (),
) -> bytes:
    """``Response:``, ActionID when given, ``EventList:``, ``Message:``, extra headers."""
    pairs: list[tuple[str, object]] = [("Response", status), *req.id_pairs()]
    if listflag:
        pairs.append(("EventList", listflag))
    if message is not None:
        pairs.append(("Message", message))
    pairs.extend(extra)
    return lines_bytes(pairs)


def ack(req: Request, message: str | None = None, *, listflag: str | None = None) -> bytes:
    return response(req, "Success", message, listflag=listflag)


def error(req: Request, message: str) -> bytes:
    return response(req, "Error", message)


def list_complete(req: Request, name: str, count: int, extra: Pairs = ()) -> bytes:
    """The closing ``...Complete`` event of an event list."""
    pairs: list[tuple[str, object]] = [("Event", name), *req.id_pairs()]
    pairs += [("EventList", "Complete"), ("ListItems", count), *extra]
    return lines_bytes(pairs)


@dataclass(frozen=True, slots=True)
class Event:
    """A rendered event: its name, class mask, text (for filters) and bytes."""

    name: str
    category: int
    text: str
    data: bytes


def event(name: str, category: int, body: Pairs) -> Event:
    """An event as the server broadcasts it: ``Event``, ``Privilege``, then the body."""
    text = f"Event: {name}\r\nPrivilege: {authority_text(category)}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in body
    )
    return Event(name, category, text, (text + "\r\n").encode("utf-8"))
