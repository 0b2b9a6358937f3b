"""Checking the fields of an action before it is sent, and its timeout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Fields", "build", "filter_headers", "timeout_for"]

Fields = Mapping[str, Any] | Iterable[tuple[str, Any]] | None

_ORIGINATE_MARGIN = 5.0
_DEFAULT_ORIGINATE_TIMEOUT = 30.0


def build(fields: Fields, headers: Mapping[str, Any]) -> tuple[list[tuple[str, Any]], str]:
    """The action's pairs (``fields`` then ``headers``) and its name.

    Raises ValueError without an Action, or with an ActionID (the client assigns it).
    """
    pairs: list[tuple[str, Any]] = []
    if fields is not None:
        pairs.extend(fields.items() if isinstance(fields, Mapping) else fields)
    pairs.extend(headers.items())
    action = None
    for key, value in pairs:
        if not isinstance(key, str) or len(key) not in (6, 8):
            continue  # neither Action nor ActionID, in any case
        low = key.lower()
        if low == "actionid":
            raise ValueError("Do not pass an ActionID: it is assigned automatically")
        if low == "action" and action is None:
            action = value
    if action is None or action == "":
        raise ValueError("Required parameter 'Action' not defined")
    return pairs, str(action)


def timeout_for(action: str, pairs: list[tuple[str, Any]], timeout: float) -> tuple[float, bool]:
    """How long to wait for this action, and whether it holds the session
    meanwhile (a synchronous Originate: Asterisk answers nothing else until
    the call is answered or its own ``Timeout`` passes)."""
    if len(action) != 9 or action.lower() != "originate":
        return timeout, False
    values = {k.lower(): v for k, v in pairs if isinstance(k, str)}
    if str(values.get("async", "")).lower() in ("true", "yes", "1", "on"):
        return timeout, False
    try:
        wait = float(values["timeout"]) / 1000.0
    except (KeyError, TypeError, ValueError):
        wait = _DEFAULT_ORIGINATE_TIMEOUT
    return max(timeout, wait + _ORIGINATE_MARGIN), True


def filter_headers(filter: str | None, match_criteria: str | None) -> list[tuple[str, str]]:
    """The headers of a Filter action adding a filter (legacy regex and/or MatchCriteria)."""
    if filter is None and match_criteria is None:
        raise ValueError("add_filter needs a filter, match_criteria or both")
    headers = [("Operation", "Add")]
    if match_criteria is not None:
        headers.append(("MatchCriteria", match_criteria))
    if filter is not None:
        headers.append(("Filter", filter))
    return headers
