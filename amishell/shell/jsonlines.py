"""A message as one line of JSON, with the time it was received.

Every event and response the shell writes as JSON (``--json``, ``--events
--json``, ``.log`` files) carries ``_received``: when the client received it,
ISO 8601 in UTC with milliseconds (``"2026-12-06T15:43:14.496Z"``). AMI headers
never begin with ``_``, so the key cannot clash with one.
"""

from __future__ import annotations

import time
from typing import Any

from ..message import Message
from ..textsafe import json_dumps

__all__ = ["RECEIVED", "iso_time", "message_json", "received_at"]

RECEIVED = "_received"


def iso_time(ts: float) -> str:
    """``ts`` (seconds since the epoch) as ``2026-12-06T15:43:14.496Z``."""
    millis = int(round(ts * 1000))
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def received_at(done_at: float | None) -> float:
    """The wall-clock time of a ``time.monotonic()`` reading (now when None)."""
    now = time.time()
    if done_at is None:
        return now
    return now - max(0.0, time.monotonic() - done_at)


def message_json(msg: Message, received: float, **extra: Any) -> str:
    """``msg`` as one line of JSON (no newline), ``_received`` first after its
    headers; ``extra`` keys (each beginning with ``_``) after it."""
    obj = msg.to_json()
    obj[RECEIVED] = iso_time(received)
    obj.update(extra)
    return json_dumps(obj)
