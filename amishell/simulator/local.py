"""Local channel pairs, devices, bridges, hang-ups and the dialplan runner.

Every call is made of Local channel pairs, as on the real server the
transcripts come from: ``;1`` is the outgoing half, ``;2`` runs the dialplan
at the target extension. A hang-up of one half is passed to the other (a
``HangupRequest``), and device and queue member states follow the pairs, in
the order the recorded calls show.

Applications register themselves with :func:`application` (:mod:`.apps`,
:mod:`.dial`); :func:`pbx_run` runs the dialplan with them.
"""

from __future__ import annotations

from collections.abc import Callable

from . import dialplan
from .channels import CALL, CAUSE_TEXT, DOWN, RING, UP, Bridge, Channel
from .config import CLASS_BITS
from .pbx import PBX, CallGen, HangupRequested, Queue, Runner

__all__ = [
    "APPS",
    "Goto",
    "Interruption",
    "application",
    "finish",
    "new_local_pair",
    "pbx_run",
    "request_hangup",
    "start_pbx",
]

AGENT = CLASS_BITS["agent"]
App = Callable[[Channel, str], CallGen]

#: Dialplan applications by lower-case name (filled by :func:`application`).
APPS: dict[str, App] = {}


def application(name: str) -> Callable[[App], App]:
    """Register a dialplan application under ``name``."""

    def register(fn: App) -> App:
        APPS[name.lower()] = fn
        return fn

    return register


class Goto(Exception):
    """Thrown into a call to continue the dialplan elsewhere (Redirect)."""

    def __init__(self, context: str, exten: str, priority: int) -> None:
        super().__init__(context, exten, priority)
        self.target = (context, exten, priority)


Interruption = (HangupRequested, Goto)


# ---------------------------------------------------------------------------
# Local channel pairs, devices, bridges


def new_local_pair(
    pbx: PBX,
    exten: str,
    context: str,
    *,
    linkedid: str | None = None,
    kind: str = "originate",
    uniqueids: tuple[str, str] = ("", ""),
) -> tuple[Channel, Channel]:
    """Create ``Local/exten@context-N;1`` and ``;2`` (raises two Newchannel)."""
    base = f"Local/{exten}@{context}-{pbx.next_local():08x}"
    device = f"Local/{exten}@{context}"
    u1 = uniqueids[0] or pbx.next_uniqueid()
    u2 = uniqueids[1] or pbx.next_uniqueid()
    linked = linkedid or u1
    one = Channel(
        pbx, base + ";1", u1, linked, state=DOWN, context=context, exten=exten, device=device
    )
    two = Channel(
        pbx, base + ";2", u2, linked, state=RING, context=context, exten=exten, device=device
    )
    one.partner, two.partner = two, one
    one.pair_kind = two.pair_kind = kind
    two.state_hook = _pair_state_changed
    pbx.add_channel(one)
    pbx.add_channel(two)
    one.publish()
    two.publish()
    return one, two


def local_bridge_event(one: Channel, two: Channel) -> None:
    one.pbx.emit(
        "LocalBridge",
        CALL,
        [
            *one.snapshot("LocalOne"),
            *two.snapshot("LocalTwo"),
            ("Context", two.context),
            ("Exten", two.exten),
            ("LocalOptimization", "Yes"),
        ],
    )


def device_state(pbx: PBX, device: str) -> str:
    busy = any(c.device == device for c in pbx.channels.values())
    return "INUSE" if busy else "NOT_INUSE"


def emit_device(pbx: PBX, device: str, times: int = 1, state: str | None = None) -> None:
    for _ in range(times):
        value = state or device_state(pbx, device)
        pbx.emit("DeviceStateChange", CALL, [("Device", device), ("State", value)])


def update_members(pbx: PBX, device: str) -> list[Queue]:
    """Raise QueueMemberStatus where a member's device status changed."""
    status = 2 if device_state(pbx, device) == "INUSE" else 1
    changed = []
    for queue in pbx.queues.values():
        member = queue.member(device)
        if member is not None and member.reported != status:
            member.reported = status
            pbx.emit("QueueMemberStatus", AGENT, member.blob(queue.name, status))
            changed.append(queue)
    return changed


def _pair_state_changed(two: Channel, state: int) -> None:
    """The ``;2`` half changed state: tell the ``;1`` half's owner."""
    pbx = two.pbx
    if state == UP and two.pair_kind == "dial":
        emit_device(pbx, two.device)
        for queue in update_members(pbx, two.device):
            emit_device(pbx, f"Queue:{queue.name}_avail", state="NOT_INUSE")
        pbx.after_events(4, lambda: emit_device(pbx, two.device))
    one = two.partner
    if one is not None and not one.dead and one.on_partner_state is not None:
        one.on_partner_state(state)


def _pair_gone(pbx: PBX, ch: Channel) -> None:
    partner = ch.partner
    if partner is not None and not partner.dead:
        return
    update_members(pbx, ch.device)
    emit_device(pbx, ch.device, 2)


def new_bridge(pbx: PBX) -> Bridge:
    bridge = Bridge()
    pbx.bridges[bridge.uniqueid] = bridge
    pbx.emit("BridgeCreate", CALL, bridge.pairs())
    return bridge


def bridge_enter(bridge: Bridge, ch: Channel) -> None:
    bridge.channels.append(ch)
    ch.bridge = bridge
    ch.pbx.emit("BridgeEnter", CALL, [*bridge.pairs(), *ch.snapshot()])


def bridge_leave(bridge: Bridge, ch: Channel) -> None:
    if ch in bridge.channels:
        bridge.channels.remove(ch)
    ch.bridge = None
    ch.pbx.emit("BridgeLeave", CALL, [*bridge.pairs(), *ch.snapshot()])


def bridge_destroy(pbx: PBX, bridge: Bridge) -> None:
    if pbx.bridges.pop(bridge.uniqueid, None) is not None:
        pbx.emit("BridgeDestroy", CALL, bridge.pairs())


# ---------------------------------------------------------------------------
# Hanging up


def finish(
    ch: Channel, cause: int, *, soft: bool = False, partner_cause: int | None = None
) -> None:
    """Hang ``ch`` up: SoftHangupRequest, HangupRequest to its other half, Hangup."""
    if ch.dead:
        return
    pbx = ch.pbx
    ch.dying = True
    if soft:
        ch.emit("SoftHangupRequest", [("Cause", 16)])
    partner = ch.partner
    notify = partner is not None and not partner.dead and not partner.dying
    if notify and partner is not None:
        partner.emit("HangupRequest", [("Cause", cause)])
    ch.emit("Hangup", [("Cause", cause), ("Cause-txt", _cause_text(cause))])
    ch.dead = True
    ch.in_pbx = False
    pbx.remove_channel(ch)
    _pair_gone(pbx, ch)
    if notify and partner is not None:
        pcause = cause if partner_cause is None else partner_cause
        request_hangup(partner, pcause, soft=True)


def _cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def request_hangup(ch: Channel, cause: int, *, soft: bool = True) -> None:
    """Ask whoever drives ``ch`` to hang it up (a Hangup action, the other half)."""
    if ch.dead:
        return
    handler = ch.hangup_handler
    if handler is not None:
        handler(cause, soft)
    else:
        finish(ch, cause, soft=soft)


def start_pbx(ch: Channel, context: str, exten: str, priority: int = 1) -> Runner:
    """Run the dialplan on ``ch`` from ``context,exten,priority``."""
    return drive(ch, pbx_run(ch, context, exten, priority))


def drive(ch: Channel, gen: CallGen) -> Runner:
    runner = Runner(ch.pbx, gen, ch.name)
    ch.runner = runner
    ch.hangup_handler = lambda cause, soft: runner.interrupt(HangupRequested(cause, soft=soft))
    return runner.start()


def pbx_run(ch: Channel, context: str, exten: str, priority: int = 1) -> CallGen:
    pbx = ch.pbx
    ch.in_pbx = True
    pbx.processed_calls += 1
    try:
        while True:
            steps = dialplan.lookup(context, exten)
            if steps is None or not 1 <= priority <= len(steps):
                break
            step = steps[priority - 1]
            ch.context, ch.exten, ch.priority = context, exten, priority
            ch.exec_app(step.app, step.data)
            try:
                yield from run_app(ch, step.app, step.data)
            except Goto as goto:
                context, exten, priority = goto.target
                continue
            priority += 1
    except HangupRequested as req:
        finish(ch, req.cause, soft=req.soft)
        return
    finish(ch, 16)


def run_originated_app(ch: Channel, app: str, data: str) -> CallGen:
    """An Originate with Application: run it on ``;1``, then hang up."""
    try:
        ch.exec_app(app, data)
        yield from run_app(ch, app, data)
    except HangupRequested as req:
        finish(ch, req.cause, soft=req.soft)
        return
    except Goto as goto:
        yield from pbx_run(ch, *goto.target)
        return
    finish(ch, 0)


def run_app(ch: Channel, app: str, data: str) -> CallGen:
    handler = APPS.get(app.lower())
    if handler is None:
        raise HangupRequested(16, soft=False)
    yield from handler(ch, data)
