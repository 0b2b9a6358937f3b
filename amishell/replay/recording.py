"""Reading a capture (or a ``.log`` event file) into what a replay needs.

A capture (JSON Lines ``{"t", "dir", "data" | "b64"}``, the format of
``--record`` and of the transcripts in ``tests/data/asterisk``) gives:

* the server's events, each with the ``t`` of the chunk that carried it: these
  are played to a client at the recorded pace;
* the answers the server gave to each action: the response and, for an event
  list, its items and its ``*Complete`` event, keyed by the action's headers
  (names in any case, order and ActionID ignored).

An event file (JSON Lines of event dicts, as ``.log`` writes them) gives events
only; their ``_received`` times set the pace.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..message import Message
from ..protocol import Framer, parse_frame

__all__ = ["Recording", "RecordingError", "action_key", "load"]

ActionKey = tuple[str, tuple[tuple[str, str], ...]]


class RecordingError(ValueError):
    """The file is not a capture nor an event log (one line saying why)."""


@dataclass
class Recording:
    path: str
    #: ``(t, frame)``: each event the server sent, without its closing empty line.
    events: list[tuple[float, bytes]] = field(default_factory=list)
    #: The recorded answers to each action, in order (each one a list of frames).
    answers: dict[ActionKey, list[list[bytes]]] = field(default_factory=dict)
    greeting: str = "Asterisk Call Manager/13.0.0"
    #: Bytes the capture says it lost (``gap`` records).
    lost_bytes: int = 0
    #: When the first event was received (an event file's ``_received``), if known.
    started: float | None = None

    @property
    def duration(self) -> float:
        return self.events[-1][0] - self.events[0][0] if self.events else 0.0


def action_key(message: Message) -> ActionKey:
    """What makes two actions the same: the action's name in any case, then every
    other header (name in any case, value exactly) in any order, without ActionID."""
    rest = sorted(
        (k.lower(), v) for k, v in message.headers if k.lower() not in ("action", "actionid")
    )
    return (message.value("Action", "").lower(), tuple(rest))  # type: ignore[union-attr]


def load(path: str) -> Recording:
    """Read ``path``; :class:`RecordingError` (or OSError) when it cannot be used."""
    with open(path, encoding="utf-8", errors="replace") as f:
        records = list(_records(f, path))
    recording = Recording(path)
    if not records:
        raise RecordingError(f"{path}: empty, nothing to replay")
    if "dir" in records[0]:
        _CaptureReader(recording).read(records)
    else:
        _read_event_log(recording, records)
    return recording


def _records(lines: Iterable[str], path: str) -> Iterable[dict[str, object]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise RecordingError(
                f"{path} line {number}: not JSON (a capture or a .log event file is JSON Lines)"
            ) from None
        if not isinstance(record, dict):
            raise RecordingError(f"{path} line {number}: not a JSON object")
        yield record


class _CaptureReader:
    """One pass over a capture's records, connection by connection."""

    def __init__(self, recording: Recording) -> None:
        self.rec = recording
        self.greeted = False
        self._reset()

    def _reset(self) -> None:
        self.recv = Framer(greeting=True)
        self.send = Framer()
        self.actions: dict[str, ActionKey] = {}
        self.collecting: dict[str, list[bytes]] = {}

    def read(self, records: list[dict[str, object]]) -> None:
        for number, record in enumerate(records, 1):
            direction = record.get("dir")
            t = record.get("t", 0.0)
            if not isinstance(t, int | float):
                raise RecordingError(f"{self.rec.path} line {number}: no time (t)")
            if direction == "open":
                self._reset()
            elif direction == "gap":
                lost = record.get("lost_bytes", 0)
                self.rec.lost_bytes += lost if isinstance(lost, int) else 0
            elif direction in ("send", "recv"):
                data = _chunk(record, self.rec.path, number)
                if direction == "send":
                    self._sent(data)
                else:
                    self._received(float(t), data)
            elif direction != "close":
                raise RecordingError(
                    f"{self.rec.path} line {number}: unknown dir {direction!r}"
                    " (send, recv, open, close or gap)"
                )

    def _sent(self, data: bytes) -> None:
        for frame in self.send.feed(data):
            message = parse_frame(frame)
            action_id = message.action_id
            if action_id is not None and message.value("Action"):
                self.actions[action_id] = action_key(message)

    def _received(self, t: float, data: bytes) -> None:
        frames = self.recv.feed(data)
        if self.recv.greeting is not None and not self.greeted:
            self.rec.greeting = str(self.recv.greeting).strip() or self.rec.greeting
            self.greeted = True
        for frame in frames:
            self._frame(t, frame)

    def _frame(self, t: float, frame: bytes) -> None:
        message = parse_frame(frame)
        action_id = message.action_id
        if message.is_response:
            key = self.actions.get(action_id) if action_id is not None else None
            if key is None or action_id is None:
                return
            answer = [frame]
            self.rec.answers.setdefault(key, []).append(answer)
            if message.is_list_start:
                self.collecting[action_id] = answer
            return
        answer_list = self.collecting.get(action_id) if action_id is not None else None
        if answer_list is not None and action_id is not None:
            answer_list.append(frame)
            if message.is_list_complete:
                del self.collecting[action_id]
            return
        if message.is_event:
            self.rec.events.append((t, frame))


def _chunk(record: dict[str, object], path: str, number: int) -> bytes:
    data = record.get("data")
    if isinstance(data, str):
        return data.encode("utf-8")
    b64 = record.get("b64")
    if isinstance(b64, str):
        try:
            return base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise RecordingError(f"{path} line {number}: bad base64 in b64") from None
    raise RecordingError(f"{path} line {number}: a chunk without data or b64")


def _read_event_log(recording: Recording, records: list[dict[str, object]]) -> None:
    first: float | None = None
    for number, record in enumerate(records, 1):
        if "Event" not in record and "event" not in record:
            raise RecordingError(
                f"{recording.path} line {number}: neither a capture chunk nor an event"
            )
        when = _received(record.get("_received"))
        if when is not None and first is None:
            first = when
        t = 0.0 if when is None or first is None else when - first
        recording.started = first
        lines = []
        for key, value in record.items():
            if key.startswith("_") or key in ("events", "complete"):
                continue
            values = value if isinstance(value, list) else [value]
            lines += [f"{key}: {v}" for v in values if isinstance(v, str | int | float)]
        recording.events.append((t, "\r\n".join(lines).encode("utf-8")))


def _received(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()
