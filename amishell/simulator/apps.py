"""The simple dialplan applications: Answer, Wait, Set, Hangup, UserEvent...

Each is a generator run on its channel by :func:`.local.pbx_run`: it yields
the seconds it waits and raises :class:`~.pbx.HangupRequested` or
:class:`~.local.Goto` to leave the dialplan.
"""

from __future__ import annotations

from .channels import BUSY, RINGING, UP, Channel
from .config import CLASS_BITS
from .local import Goto, application
from .pbx import CallGen, HangupRequested

__all__ = ["number"]

USER = CLASS_BITS["user"]


@application("Answer")
def app_answer(ch: Channel, data: str) -> CallGen:
    if ch.state != UP:
        ch.set_state(UP)
        yield 0.5


@application("Wait")
def app_wait(ch: Channel, data: str) -> CallGen:
    yield number(data, 0.0)


@application("Set")
def app_set(ch: Channel, data: str) -> CallGen:
    name, _, value = data.partition("=")
    ch.set_var(name.strip(), value)
    return
    yield


@application("NoOp")
def app_noop(ch: Channel, data: str) -> CallGen:
    return
    yield


@application("Hangup")
def app_hangup(ch: Channel, data: str) -> CallGen:
    raise HangupRequested(int(number(data, 16)) or 16, soft=True)
    yield


@application("Playback")
def app_playback(ch: Channel, data: str) -> CallGen:
    yield 3.0


@application("Ringing")
def app_ringing(ch: Channel, data: str) -> CallGen:
    if ch.state != UP:
        ch.set_state(RINGING)
    return
    yield


@application("Busy")
def app_busy(ch: Channel, data: str) -> CallGen:
    if ch.state != UP:
        ch.set_state(BUSY)
    yield number(data, 1.0)
    raise HangupRequested(17, soft=False)


@application("Goto")
def app_goto(ch: Channel, data: str) -> CallGen:
    parts = data.split(",")
    if len(parts) == 3:
        target = (parts[0], parts[1], int(number(parts[2], 1)))
    elif len(parts) == 2:
        target = (ch.context, parts[0], int(number(parts[1], 1)))
    else:
        target = (ch.context, ch.exten, int(number(parts[0], 1)))
    raise Goto(*target)
    yield


@application("UserEvent")
def app_userevent(ch: Channel, data: str) -> CallGen:
    name, *rest = data.split(",")
    body: list[tuple[str, object]] = [*ch.snapshot(), ("UserEvent", name)]
    for item in rest:
        key, sep, value = item.partition(":")
        if sep:
            body.append((key, value.strip()))
    ch.pbx.emit("UserEvent", USER, body)
    return
    yield


def number(text: str, default: float) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return default
