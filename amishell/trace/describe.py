"""One event of a call in a few words, and the lane (channel) it belongs on.

The words are built from the event's own headers; they are not yet safe for a
terminal (the caller passes them through :mod:`amishell.textsafe`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..message import Message

__all__ = ["CAUSES", "cause_text", "describe", "lane_of", "short_bridge"]

#: Q.850 hangup causes most seen, in words (Hangup also carries ``Cause-txt``).
CAUSES: Final = {
    "0": "Unknown", "1": "Unallocated number", "3": "No route to destination",
    "16": "Normal Clearing", "17": "User busy", "18": "No user responding",
    "19": "No answer", "21": "Call rejected", "22": "Number changed",
    "27": "Destination out of order", "28": "Invalid number format",
    "31": "Normal, unspecified", "34": "No circuit available", "38": "Network out of order",
    "41": "Temporary failure", "42": "Switching equipment congestion",
    "58": "Bearer capability not available", "127": "Interworking, unspecified",
}


def cause_text(message: Message) -> str:
    cause = message.value("Cause") or ""
    words = message.value("Cause-txt") or CAUSES.get(cause, "")
    if words and cause:
        return f"{words} ({cause})"
    return words or (f"cause {cause}" if cause else "")


def short_bridge(bridge: str) -> str:
    """A bridge's id short enough for a ladder (its first 8 characters)."""
    return bridge[:8]


def lane_of(message: Message) -> str | None:
    """The channel an event is about: its own ``Channel``, else the ``Dest`` side
    (an Originate's DialBegin), else the first half of a Local channel."""
    for key in ("Channel", "DestChannel", "LocalOneChannel"):
        value = message.value(key)
        if value:
            return value
    return None


def _v(message: Message, key: str) -> str:
    return message.value(key) or ""


def describe(message: Message) -> str:
    """A few words for ``message`` (an event of a call)."""
    name = message.name
    fn = _WORDS.get(name)
    return fn(message) if fn is not None else name


def _newchannel(m: Message) -> str:
    caller = _v(m, "CallerIDNum")
    who = f" from {caller}" if caller and caller != "<unknown>" else ""
    return f"new channel{who}, {_v(m, 'ChannelStateDesc')} at {_v(m, 'Exten')}@{_v(m, 'Context')}"


def _newexten(m: Message) -> str:
    app, data = _v(m, "Application"), _v(m, "AppData")
    return f"{_v(m, 'Context')},{_v(m, 'Extension') or _v(m, 'Exten')},{_v(m, 'Priority')}" \
        f" {app}({data})"


def _dial_begin(m: Message) -> str:
    return f"dial {_v(m, 'DialString')} -> {_v(m, 'DestChannel')}"


def _dial_end(m: Message) -> str:
    return f"dial -> {_v(m, 'DestChannel')}: {_v(m, 'DialStatus')}"


def _bridge(verb: str) -> Callable[[Message], str]:
    def words(m: Message) -> str:
        return f"{verb} bridge {short_bridge(_v(m, 'BridgeUniqueid'))}"
    return words


def _bridge_create(m: Message) -> str:
    kind = _v(m, "BridgeType")
    bridge = short_bridge(_v(m, "BridgeUniqueid"))
    return f"bridge {bridge} created" + (f" ({kind})" if kind else "")


def _local_bridge(m: Message) -> str:
    return f"Local pair {_v(m, 'LocalOneChannel')} <-> {_v(m, 'LocalTwoChannel')}"


def _optimization(what: str) -> Callable[[Message], str]:
    def words(m: Message) -> str:
        ok = _v(m, "Success")
        tail = f" ({'done' if ok.lower() == 'yes' else 'failed'})" if ok else ""
        return f"Local optimisation {what}{tail}: {_v(m, 'LocalOneChannel')}" \
            f" <-> {_v(m, 'LocalTwoChannel')}"
    return words


def _transfer(kind: str) -> Callable[[Message], str]:
    def words(m: Message) -> str:
        target = _v(m, "Extension") or _v(m, "TransfereeChannel") or _v(m, "TransferTargetChannel")
        result = _v(m, "Result")
        return f"{kind} transfer to {target}" + (f": {result}" if result else "")
    return words


_WORDS: Final[dict[str, Callable[[Message], str]]] = {
    "Newchannel": _newchannel,
    "Newstate": lambda m: f"state {_v(m, 'ChannelStateDesc')}",
    "Newexten": _newexten,
    "VarSet": lambda m: f"set {_v(m, 'Variable')}={_v(m, 'Value')}",
    "NewCallerid": lambda m: f"caller ID {_v(m, 'CallerIDName')} <{_v(m, 'CallerIDNum')}>",
    "NewConnectedLine": lambda m: f"connected line {_v(m, 'ConnectedLineName')}"
    f" <{_v(m, 'ConnectedLineNum')}>",
    "DialBegin": _dial_begin,
    "DialState": lambda m: f"dial -> {_v(m, 'DestChannel')}: {_v(m, 'DialStatus')}",
    "DialEnd": _dial_end,
    "BridgeCreate": _bridge_create,
    "BridgeDestroy": lambda m: f"bridge {short_bridge(_v(m, 'BridgeUniqueid'))} destroyed",
    "BridgeEnter": _bridge("enters"),
    "BridgeLeave": _bridge("leaves"),
    "LocalBridge": _local_bridge,
    "LocalOptimizationBegin": _optimization("begins"),
    "LocalOptimizationEnd": _optimization("ends"),
    "BlindTransfer": _transfer("blind"),
    "AttendedTransfer": _transfer("attended"),
    "DTMFBegin": lambda m: f"DTMF {_v(m, 'Digit')} begins ({_v(m, 'Direction')})",
    "DTMFEnd": lambda m: f"DTMF {_v(m, 'Digit')} ({_v(m, 'Direction')},"
    f" {_v(m, 'DurationMs')} ms)",
    "QueueCallerJoin": lambda m: f"joins queue {_v(m, 'Queue')} at position {_v(m, 'Position')}",
    "QueueCallerLeave": lambda m: f"leaves queue {_v(m, 'Queue')}",
    "QueueCallerAbandon": lambda m: f"abandons queue {_v(m, 'Queue')}",
    "AgentCalled": lambda m: f"queue {_v(m, 'Queue')} rings {_v(m, 'Interface')}",
    "AgentConnect": lambda m: f"queue {_v(m, 'Queue')}: {_v(m, 'Interface')} answers",
    "AgentComplete": lambda m: f"queue {_v(m, 'Queue')}: done ({_v(m, 'Reason')})",
    "AgentRingNoAnswer": lambda m: f"queue {_v(m, 'Queue')}: {_v(m, 'Interface')} no answer",
    "HangupRequest": lambda m: "hangup requested" + (
        f": {cause_text(m)}" if m.value("Cause") else ""),
    "SoftHangupRequest": lambda m: "soft hangup requested" + (
        f": {cause_text(m)}" if m.value("Cause") else ""),
    "Hangup": lambda m: f"hangup: {cause_text(m) or 'no cause given'}",
    "OriginateResponse": lambda m: f"originate: {_v(m, 'Response')} (reason {_v(m, 'Reason')})",
    "MusicOnHoldStart": lambda m: "music on hold",
    "MusicOnHoldStop": lambda m: "music on hold ends",
    "Hold": lambda m: "on hold",
    "Unhold": lambda m: "off hold",
}
