"""Examples and units for ``.help ACTION``: real values, not placeholders.

An example takes what the connected server has (a live channel, a queue, a
context) where it can, else a typical value of the parameter's kind; units say
what a number counts (an Originate's ``Timeout`` is in milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from ..catalog import Param

__all__ = ["example_line", "unit"]

#: (action, parameter) -> what the number counts; ("", parameter) for any action.
UNITS: Final = {
    ("originate", "timeout"): "milliseconds",
    ("absolutetimeout", "timeout"): "seconds",
    ("waitevent", "timeout"): "seconds",
    ("playdtmf", "duration"): "milliseconds",
    ("senddtmf", "duration"): "milliseconds",
    ("atxfer", "timeout"): "seconds",
    ("queueadd", "penalty"): "lower rings first",
    ("", "priority"): "a step of the extension, from 1",
}

#: Parameters of these kinds take their example from the live server.
_LIVE_KINDS: Final = ("channel", "queue", "context")

_BY_KIND: Final = {
    "channel": "PJSIP/100-00000001",
    "dialstring": "PJSIP/100",
    "context": "default",
    "exten": "100",
    "priority": "1",
    "application": "Playback",
    "queue": "support",
    "interface": "PJSIP/100",
    "variable": "NAME=value",
    "varname": "DIALSTATUS",
    "eventmask": "call,system",
    "filter": "Event: Hangup",
    "cli": '"core show channels"',
    "bool": "true",
    "number": "1",
    "bridge": "8a3f4b2e-0c7d-4e51-9f0a-2d6c1b7e9a01",
    "conference": "1000",
    "mailbox": "100@default",
    "module": "res_pjsip.so",
    "parkinglot": "default",
    "filename": "extensions.conf",
    "dbfamily": "cidname",
    "dbkey": "100",
    "secret": "********",
}

#: Parameter names whose example is better known by name than by kind.
_BY_NAME: Final = {
    "userevent": "MyEvent",
    "val": "Alice",
    "value": "1",
    "command": '"core show channels"',
    "authtype": "MD5",
    "digit": "5",
    "cause": "16",
    "timeout": "30000",
    "data": "5",
    "username": "admin",
    "event": "Hangup",
    "state": "INUSE",
    "loadtype": "load",
    "agent": "1001",
    "msgtype": "D",
    "bridgetechnology": "softmix",
    "control": "pause",
    "direction": "in",
    "provider": "CustomPresence:lamp1",
    "message": "Hello",
    "cache": "res_pjsip",
    "object": "100",
    "folder": "INBOX",
    "tofolder": "Old",
    "id": "1733500000-00000001",
    "tocontext": "default",
    "tomailbox": "101",
}

#: (action, parameter) examples that differ from the name's usual one.
_BY_ACTION: Final = {
    ("muteaudio", "state"): "on",
    **{(a, "context"): "default" for a in (
        "voicemailboxsummary", "voicemailforward", "voicemailmove", "voicemailremove",
        "voicemailuserstatus")},
    **{(a, "mailbox"): "100" for a in (
        "voicemailboxsummary", "voicemailforward", "voicemailmove", "voicemailremove",
        "voicemailuserstatus")},
}

#: Whole examples for actions whose required parameters alone do nothing useful.
_SHAPES: Final = {
    "originate": ("Channel", "Context", "Exten", "Priority", "Async"),
    "redirect": ("Channel", "Context", "Exten", "Priority"),
    "setvar": ("Channel", "Variable", "Value"),
    "getvar": ("Channel", "Variable"),
    "dbput": ("Family", "Key", "Val"),
    "dbget": ("Family", "Key"),
}


def unit(action: str, param: str) -> str:
    """What a number in ``param`` of ``action`` counts ("" when not known)."""
    a, p = action.lower(), param.lower()
    return UNITS.get((a, p)) or UNITS.get(("", p), "")


def example_line(
    action: str,
    params: Sequence[Param],
    live: Callable[[str], list[str]] = lambda kind: [],
) -> str:
    """A line that runs ``action`` with plausible values for what it needs."""
    by_name = {p.name.lower(): p for p in params}
    shape = _SHAPES.get(action.lower())
    if shape is not None:
        chosen = [by_name.get(n.lower(), Param(n, True)) for n in shape]
    else:
        chosen = [p for p in params if p.required]
    words = [action]
    for p in chosen:
        words.append(f"{p.name}={_value(action, p, live)}")
    return " ".join(words)


def _value(action: str, param: Param, live: Callable[[str], list[str]]) -> str:
    name = param.name.lower()
    special = _BY_ACTION.get((action.lower(), name))
    if special is not None:
        return special
    if action.lower() == "originate" and name == "channel":
        return _BY_KIND["dialstring"]
    if param.kind in _LIVE_KINDS:
        found = live(param.kind)
        if found:
            return _quoted(found[0])
    if name in _BY_NAME and param.kind not in ("channel", "dialstring"):
        return _BY_NAME[name]
    return _BY_KIND.get(param.kind, "VALUE")


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value
