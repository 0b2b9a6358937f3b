"""Originate and Redirect: how actions and the server start and move calls.

An Originate to ``Local/100@demo`` with ``Exten: 200`` raises the same events,
in the same order, as the recorded ``originate_events``; an Originate with an
Application runs it on the ``;1`` half and hangs up when it ends
(``events_filter``); hang-ups and redirects follow ``live_calls``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import apps, dial, dialplan  # noqa: F401  (importing registers the applications)
from .channels import BUSY, CALL, RINGING, UP, Channel
from .local import (
    Goto,
    device_state,
    drive,
    emit_device,
    finish,
    local_bridge_event,
    new_local_pair,
    request_hangup,
    run_originated_app,
    start_pbx,
)
from .pbx import PBX, CallGen, Waiter

__all__ = ["OriginateRequest", "device_state", "originate", "redirect", "request_hangup"]

#: Failure reasons of OriginateResponse (the last control frame seen).
REASON_FAILED = 0
REASON_HANGUP = 1
REASON_RINGING = 3
REASON_ANSWERED = 4
REASON_BUSY = 5


@dataclass
class OriginateRequest:
    """What an Originate action asked for."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    timeout: float = 30.0
    caller: tuple[str, str] = ("", "")
    variables: list[tuple[str, str]] = field(default_factory=list)
    action_id: str = ""
    is_async: bool = True
    channel_id: str = ""
    other_channel_id: str = ""
    #: Called on the engine with True once answered, False on failure.
    done: Callable[[bool], None] | None = None


def originate(pbx: PBX, req: OriginateRequest) -> CallGen:
    """The Originate call: create the pair, wait for an answer, then run."""
    tech, _, resource = req.channel.partition("/")
    exten, _, context = resource.partition("@")
    context = context or "default"
    if tech.lower() != "local" or not dialplan.exists(context, exten):
        _originate_result(pbx, req, None, REASON_FAILED)
        return
    one, two = new_local_pair(pbx, exten, context, uniqueids=(req.channel_id, req.other_channel_id))
    one.exec_app("AppDial2", "(Outgoing Line)")
    for name, value in reversed(req.variables):
        one.set_var(name, value)
    if any(req.caller):
        one.caller = req.caller
        one.publish()
        one.connected = req.caller
        one.publish()
    for name, value in req.variables:
        two.set_var(name, value)
    if any(req.caller):
        two.caller = req.caller
        two.connected = req.caller
        two.publish()
    local_bridge_event(one, two)
    pbx.emit("DialBegin", CALL, [*one.snapshot("Dest"), ("DialString", resource)])
    waiter = Waiter(pbx, req.timeout)
    dial.watch(one, waiter)
    start_pbx(two, context, exten)
    reason = REASON_FAILED
    while True:
        got = yield waiter
        if isinstance(got, tuple) and got[0] == "state" and got[2] == UP:
            break
        if isinstance(got, tuple) and got[0] == "state" and got[2] == RINGING:
            reason = REASON_RINGING
            one.set_state(RINGING)
            continue
        if isinstance(got, tuple) and got[0] == "state" and got[2] != BUSY:
            continue
        waiter.close()
        busy = isinstance(got, tuple) and (got[0] == "state" or got[2] == 17)
        status = "BUSY" if busy else "NOANSWER"
        if busy:
            reason = REASON_BUSY
        elif isinstance(got, tuple):
            reason = REASON_HANGUP
        pbx.emit("DialEnd", CALL, [*one.snapshot("Dest"), ("DialStatus", status)])
        one.on_partner_state = None
        one.hangup_handler = None
        finish(one, 17 if busy else 0)
        _originate_result(pbx, req, None, reason)
        return
    waiter.close()
    one.on_partner_state = None
    one.hangup_handler = None
    _originate_result(pbx, req, one, REASON_ANSWERED)
    one.set_state(UP)
    pbx.after_events(4, lambda: emit_device(pbx, one.device, 2))
    pbx.emit("DialEnd", CALL, [*one.snapshot("Dest"), ("DialStatus", "ANSWER")])
    if req.application:
        drive(one, run_originated_app(one, req.application, req.data))
    else:
        start_pbx(one, req.context, req.exten, req.priority)


def _originate_result(pbx: PBX, req: OriginateRequest, ch: Channel | None, reason: int) -> None:
    if req.done is not None:
        req.done(ch is not None)
    if not req.is_async:
        return
    body: list[tuple[str, object]] = []
    if req.action_id:
        body.append(("ActionID", req.action_id))
    body += [
        ("Response", "Success" if ch is not None else "Failure"),
        ("Channel", ch.name if ch is not None else req.channel),
    ]
    if req.application:
        body += [("Application", req.application), ("Data", req.data)]
    else:
        body += [("Context", req.context), ("Exten", req.exten)]
    body += [
        ("Reason", reason),
        ("Uniqueid", ch.uniqueid if ch is not None else (req.channel_id or "<unknown>")),
        ("CallerIDNum", req.caller[0] or "<unknown>"),
        ("CallerIDName", req.caller[1] or "<unknown>"),
    ]
    pbx.emit("OriginateResponse", CALL, body)


def redirect(ch: Channel, context: str, exten: str, priority: int) -> bool:
    """Send a channel elsewhere in the dialplan; False if nothing drives it."""
    runner = ch.runner
    if runner is None or runner.done or ch.dead or ch.dying:
        return False
    runner.interrupt(Goto(context, exten, priority))
    return True
