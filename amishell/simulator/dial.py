"""The Dial and Queue applications: dialed Local legs, bridges, queue events.

Dial's events follow the recorded ``originate_events`` call exactly (the
``;1`` half of a Local pair dialing ``Local/100@demo``). Queue rings every
unpaused member at once (ring-all, whatever the queue's strategy), bridges the
first to answer and raises QueueCallerJoin/Leave and AgentCalled/Connect/
Complete with the real server's header sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from . import dialplan
from .apps import number
from .channels import BUSY, CALL, UP, Bridge, Channel
from .local import (
    AGENT,
    Interruption,
    application,
    bridge_destroy,
    bridge_enter,
    bridge_leave,
    finish,
    local_bridge_event,
    new_bridge,
    new_local_pair,
    start_pbx,
)
from .pbx import PBX, CallGen, Queue, Waiter

__all__ = ["watch"]


def _timing_vars(ch: Channel, dialed: float, answered: float | None) -> None:
    pbx = ch.pbx
    if answered is not None:
        a = pbx.elapsed(answered)
        ch.set_var("ANSWEREDTIME", str(int(a)))
        ch.set_var("ANSWEREDTIME_MS", str(int(a * 1000)))
    d = pbx.elapsed(dialed)
    ch.set_var("DIALEDTIME", str(int(d)))
    ch.set_var("DIALEDTIME_MS", str(int(d * 1000)))


@dataclass
class _Leg:
    """A dialed Local pair, watched by the Dial or Queue application."""

    one: Channel
    two: Channel
    resource: str
    waiter: Waiter


def _dial_leg(
    caller: Channel, target: str, waiter: Waiter, app: str, before_dial: Callable[[Channel], None]
) -> _Leg | None:
    """Create the Local pair for ``target`` and start its ``;2`` half."""
    tech, _, resource = target.partition("/")
    exten, _, context = resource.partition("@")
    context = context or "default"
    if tech.lower() != "local" or not dialplan.exists(context, exten):
        return None
    pbx = caller.pbx
    one, two = new_local_pair(pbx, exten, context, linkedid=caller.linkedid, kind="dial")
    if app == "AppDial":
        one.set_var("DIALEDPEERNUMBER", resource)
    one.context, one.exten, one.priority = caller.context, caller.exten, 1
    one.caller = (caller.exten, caller.caller[1])
    one.connected = caller.caller
    one.appl, one.data = app, "(Outgoing Line)"
    one.publish()
    if app == "AppDial":
        two.set_var("DIALEDPEERNUMBER", resource)
    two.caller = caller.caller
    two.connected = (caller.exten, caller.caller[1])
    two.publish()
    local_bridge_event(one, two)
    before_dial(one)
    dial = [*caller.snapshot(), *one.snapshot("Dest"), ("DialString", resource)]
    pbx.emit("DialBegin", CALL, dial)
    watch(one, waiter)
    start_pbx(two, context, exten)
    return _Leg(one, two, resource, waiter)


def _dial_end(caller: Channel, one: Channel, status: str) -> None:
    body = [*caller.snapshot(), *one.snapshot("Dest"), ("DialStatus", status)]
    caller.pbx.emit("DialEnd", CALL, body)


def _drop_leg(one: Channel, cause: int = 0) -> None:
    one.on_partner_state = None
    one.hangup_handler = None
    finish(one, cause)


def _peer_teardown(pbx: PBX, bridge: Bridge, peer: Channel, cause: int) -> None:
    """The other party left the bridge: the dialed leg leaves and hangs up."""
    if peer.dead:
        bridge_destroy(pbx, bridge)
        return
    peer.hangup_handler = None
    bridge_leave(bridge, peer)
    bridge_destroy(pbx, bridge)
    finish(peer, cause, partner_cause=0)


@application("Dial")
def app_dial(ch: Channel, data: str) -> CallGen:
    pbx = ch.pbx
    args = data.split(",")
    timeout = number(args[1], 0.0) if len(args) > 1 else 0.0
    ch.set_var("DIALSTATUS", "")
    ch.set_var("DIALEDPEERNUMBER", "")
    for name in (
        "DIALEDPEERNAME",
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "RINGTIME",
        "RINGTIME_MS",
        "PROGRESSTIME",
        "PROGRESSTIME_MS",
    ):
        ch.set_var(name, "")
    dialed = time.monotonic()
    waiter = Waiter(pbx, timeout or None)
    leg = _dial_leg(ch, args[0], waiter, "AppDial", lambda one: None)
    if leg is None:
        ch.set_var("DIALSTATUS", "CHANUNAVAIL")
        return
    one = leg.one
    status = ""
    try:
        while not status:
            got = yield waiter
            if got == Waiter.TIMEOUT:
                status = "NOANSWER"
            elif isinstance(got, tuple) and got[0] == "hangup":
                status = "BUSY" if got[2] == 17 else "NOANSWER"
            elif isinstance(got, tuple) and got[2] == UP:
                status = "ANSWER"
            elif isinstance(got, tuple) and got[2] == BUSY:
                status = "BUSY"
    except Interruption:
        waiter.close()
        _dial_end(ch, one, "CANCEL")
        ch.set_var("DIALSTATUS", "CANCEL")
        _drop_leg(one, 0)
        raise
    waiter.close()
    if status != "ANSWER":
        _dial_end(ch, one, status)
        _drop_leg(one, 17 if status == "BUSY" else 0)
        ch.set_var("DIALSTATUS", status)
        return
    one.set_state(UP)
    ch.set_var("DIALSTATUS", "ANSWER")
    ch.set_var("DIALEDPEERNAME", one.name)
    ch.set_var("DIALEDPEERNUMBER", leg.resource)
    one.exten = ""  # the dialed leg leaves the caller's extension (published below)
    _dial_end(ch, one, "ANSWER")
    answered = time.monotonic()
    bridge = new_bridge(pbx)
    one.publish()
    yield from _bridged(ch, one, bridge, dialed, answered, "dial")


def watch(one: Channel, waiter: Waiter) -> None:
    """Report the dialed leg's answer, ringing, busy or hang-up to ``waiter``."""
    one.on_partner_state = lambda state: waiter.fire(("state", one, state))
    one.hangup_handler = lambda cause, soft: waiter.fire(("hangup", one, cause))


def _bridged(
    ch: Channel,
    one: Channel,
    bridge: Bridge,
    dialed: float,
    answered: float,
    kind: str,
    after: Callable[[str], None] | None = None,
) -> CallGen:
    """Bridge the caller with the dialed leg until one side leaves."""
    pbx = ch.pbx
    bridge_enter(bridge, one)
    bridge_enter(bridge, ch)
    one.set_var("BRIDGEPEER", ch.name)
    ch.set_var("BRIDGEPEER", one.name)
    if after is not None:
        after("connect")
    end = Waiter(pbx)
    one.on_partner_state = None
    one.hangup_handler = lambda cause, soft: end.fire(cause)
    try:
        got = yield end
    except Interruption:
        ch.set_var("BRIDGEPEER", "")
        one.set_var("BRIDGEPEER", "")
        bridge_leave(bridge, ch)
        if kind == "dial":
            _timing_vars(ch, dialed, answered)
            ch.set_var("DIALSTATUS", "ANSWER")
        if after is not None:
            after("caller")
        pbx.call_soon(lambda: _peer_teardown(pbx, bridge, one, 16))
        raise
    cause = got if isinstance(got, int) else 16
    ch.set_var("BRIDGEPEER", "")
    one.set_var("BRIDGEPEER", "")
    one.hangup_handler = None
    bridge_leave(bridge, one)
    finish(one, cause)
    bridge_leave(bridge, ch)
    bridge_destroy(pbx, bridge)
    if kind == "dial":
        _timing_vars(ch, dialed, answered)
        ch.set_var("DIALSTATUS", "ANSWER")
    if after is not None:
        after("agent")


@application("Queue")
def app_queue(ch: Channel, data: str) -> CallGen:
    pbx = ch.pbx
    args = data.split(",")
    queue = pbx.queues.get(args[0])
    timeout = number(args[4], 0.0) if len(args) > 4 else 0.0
    if queue is None:
        ch.set_var("QUEUESTATUS", "UNKNOWN")
        return
    joined = time.monotonic()
    queue.callers.append((ch, joined))
    _queue_event(ch, "QueueCallerJoin", queue, len(queue.callers))
    try:
        result = yield from _queue_ring(ch, queue, joined, timeout)
    except Interruption:
        if any(c is ch for c, _ in queue.callers):
            _queue_leave(ch, queue)
            queue.abandoned += 1
        raise
    if result == "timeout":
        _queue_leave(ch, queue)
        ch.set_var("QUEUESTATUS", "TIMEOUT")


def _queue_leave(ch: Channel, queue: Queue) -> None:
    pos = next((i for i, (c, _) in enumerate(queue.callers, 1) if c is ch), 0)
    queue.callers = [(c, t) for c, t in queue.callers if c is not ch]
    _queue_event(ch, "QueueCallerLeave", queue, pos)


def _queue_event(ch: Channel, name: str, queue: Queue, position: int) -> None:
    body = [*ch.snapshot(), ("Queue", queue.name), ("Position", position)]
    body.append(("Count", len(queue.callers)))
    ch.pbx.emit(name, AGENT, body)


def _queue_ring(
    ch: Channel, queue: Queue, joined: float, timeout: float
) -> Generator[Any, Any, str]:
    pbx = ch.pbx
    while True:
        if timeout and pbx.elapsed(joined) >= timeout:
            return "timeout"
        first = queue.callers[0][0] if queue.callers else None
        members = [m for m in queue.members if not m.paused]
        if first is not ch or not members:
            yield 1.0
            continue
        left = timeout - pbx.elapsed(joined) if timeout else 0.0
        waiter = Waiter(pbx, max(left, 0.01) if timeout else None)
        legs: list[_Leg] = []
        for member in members:

            def called(
                one: Channel, member_name: str = member.name, iface: str = member.interface
            ) -> None:
                blob = [("Queue", queue.name), ("Interface", iface), ("MemberName", member_name)]
                pbx.emit("AgentCalled", AGENT, [*ch.snapshot(), *one.snapshot("Dest"), *blob])

            leg = _dial_leg(ch, member.interface, waiter, "AppQueue", called)
            if leg is not None:
                legs.append(leg)
        if not legs:
            yield 1.0
            continue
        rang = time.monotonic()
        winner = None
        try:
            while legs and winner is None:
                got = yield waiter
                if got == Waiter.TIMEOUT:
                    break
                if isinstance(got, tuple) and got[0] == "state" and got[2] == UP:
                    winner = got[1]
                    break
                if isinstance(got, tuple) and (got[0] == "hangup" or got[2] == BUSY):
                    gone = next((leg for leg in legs if leg.one is got[1]), None)
                    if gone is None:
                        continue
                    _dial_end(ch, gone.one, "BUSY" if got[0] == "state" else "NOANSWER")
                    _drop_leg(gone.one, 17 if got[0] == "state" else 0)
                    legs.remove(gone)
        except Interruption:
            waiter.close()
            for leg in legs:
                _dial_end(ch, leg.one, "CANCEL")
                _drop_leg(leg.one)
            raise
        waiter.close()
        for leg in legs:
            if leg.one is not winner:
                _dial_end(ch, leg.one, "CANCEL" if winner is not None else "NOANSWER")
                _drop_leg(leg.one)
        if winner is None:
            if timeout and pbx.elapsed(joined) >= timeout:
                return "timeout"
            yield 1.0
            continue
        yield from _queue_connect(ch, queue, winner, joined, rang)
        return "answered"


def _queue_connect(ch: Channel, queue: Queue, one: Channel, joined: float, rang: float) -> CallGen:
    pbx = ch.pbx
    member = next((m for m in queue.members if one.device == m.interface), None)
    one.set_state(UP)
    _dial_end(ch, one, "ANSWER")
    _queue_leave(ch, queue)
    hold = int(pbx.elapsed(joined))
    answered = time.monotonic()
    bridge = new_bridge(pbx)
    iface = member.interface if member else one.device
    name = member.name if member else one.device

    def after(what: str) -> None:
        blob: list[tuple[str, object]] = [("Queue", queue.name), ("Interface", iface)]
        blob.append(("MemberName", name))
        if what == "connect":
            ring = int(pbx.elapsed(rang))
            body = [*ch.snapshot(), *one.snapshot("Dest"), *blob, ("HoldTime", hold)]
            pbx.emit("AgentConnect", AGENT, [*body, ("RingTime", ring)])
            if member is not None:
                member.in_call = True
            return
        talk = int(pbx.elapsed(answered))
        queue.completed += 1
        queue.holdtime = (queue.holdtime * (queue.completed - 1) + hold) // queue.completed
        queue.talktime = (queue.talktime * (queue.completed - 1) + talk) // queue.completed
        if member is not None:
            member.calls += 1
            member.last_call = int(time.time())
            member.in_call = False
        body = [*ch.snapshot(), *one.snapshot("Dest"), *blob, ("HoldTime", hold)]
        pbx.emit("AgentComplete", AGENT, [*body, ("TalkTime", talk), ("Reason", what)])

    yield from _bridged(ch, one, bridge, rang, answered, "queue", after)
