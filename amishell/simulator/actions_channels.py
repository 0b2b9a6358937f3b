"""Channel actions: CoreShowChannels, Status, Hangup, Redirect, Setvar/Getvar,
Originate, BridgeList, answered from the live simulated channels."""

from __future__ import annotations

import re
import threading
import time
from functools import partial
from typing import TYPE_CHECKING

from . import calls, dialplan
from .calls import OriginateRequest
from .channels import STATE_DESC, Channel
from .wire import Request, ack, error, lines_bytes, list_complete

if TYPE_CHECKING:
    from .session import Session

__all__ = ["parse_callerid"]


def _chan_list_item(ch: Channel, req: Request) -> bytes:
    pairs: list[tuple[str, object]] = [("Event", "CoreShowChannel"), *req.id_pairs()]
    pairs += ch.snapshot()
    pairs += [
        ("Application", ch.appl),
        ("ApplicationData", ch.data),
        ("Duration", ch.duration_text()),
        ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
    ]
    return lines_bytes(pairs)


def a_coreshowchannels(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    with pbx.lock:
        items = [_chan_list_item(ch, req) for ch in pbx.channels.values()]
        s.send(ack(req, "Channels will follow", listflag="start"))
        for item in items:
            s.send(item)
        s.send(list_complete(req, "CoreShowChannelsComplete", len(items)))
    return False


def _status_item(ch: Channel, req: Request, names: list[str], all_vars: bool) -> bytes:
    pbx = ch.pbx
    variables: list[tuple[str, object]] = []
    for name in names:
        value = ch.variables.get(name, pbx.globals.get(name))
        variables.append(("Variable", f"{name}={'(null)' if value is None else value}"))
    if all_vars:
        variables += [("Variable", f"{k}={v}") for k, v in ch.variables.items()]
    conn = ch.connected
    pairs: list[tuple[str, object]] = [("Event", "Status"), ("Privilege", "Call"), *ch.snapshot()]
    pairs += [
        ("Type", ch.tech),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", conn[0] or "<unknown>"),
        ("EffectiveConnectedLineName", conn[1] or "<unknown>"),
        ("TimeToHangup", 0),
        ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
        ("Application", ch.appl),
        ("Data", ch.data),
        ("Nativeformats", "(slin)"),
        ("Readformat", "slin"),
        ("Readtrans", ""),
        ("Writeformat", "slin"),
        ("Writetrans", ""),
        ("Callgroup", 0),
        ("Pickupgroup", 0),
        ("Seconds", ch.uptime),
        *variables,
        *req.id_pairs(),
    ]
    return lines_bytes(pairs)


def a_status(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    name = req.get("Channel")
    names = [v for v in req.get("Variables").split(",") if v] if req.get("Variables") else []
    all_vars = req.get("AllVariables").lower() in ("yes", "true", "y", "t", "1", "on")
    with pbx.lock:
        if name:
            ch = pbx.find_channel(name)
            if ch is None:
                s.send(error(req, "No such channel"))
                return False
            chans = [ch]
        else:
            chans = list(pbx.channels.values())
        s.send(ack(req, "Channel status will follow", listflag="start"))
        for ch in chans:
            s.send(_status_item(ch, req, names, all_vars))
        s.send(list_complete(req, "StatusComplete", len(chans), [("Items", len(chans))]))
    return False


def a_hangup(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    name = req.get("Channel")
    if not name:
        s.send(error(req, "No channel specified"))
        return False
    cause_text = req.get("Cause")
    cause = int(cause_text) if cause_text.isdigit() and int(cause_text) <= 127 else 0
    with pbx.lock:
        if not name.startswith("/"):
            ch = pbx.find_channel(name)
            if ch is None:
                s.send(error(req, "No such channel"))
                return False
            s.send(ack(req, "Channel Hungup"))
            pbx.call_soon(partial(calls.request_hangup, ch, cause))
            return False
        if len(name) < 2 or not name.endswith("/"):
            s.send(error(req, "Regex format invalid, Channel param should be /regex/"))
            return False
        try:
            regex = re.compile(name[1:-1])
        except re.error:
            s.send(error(req, f"Regex compile failed on: {name}"))
            return False
        s.send(ack(req, "Channels hung up will follow", listflag="start"))
        matched = [ch for ch in pbx.channels.values() if regex.search(ch.name)]
        for ch in matched:
            s.send(lines_bytes([("Event", "ChannelHungup"), ("Channel", ch.name), *req.id_pairs()]))
            pbx.call_soon(partial(calls.request_hangup, ch, cause))
        s.send(list_complete(req, "ChannelsHungupListComplete", len(matched)))
    return False


def a_redirect(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    name, context = req.get("Channel"), req.get("Context")
    exten, priority = req.get("Exten"), req.get("Priority")
    for value, missing in (
        (name, "Channel not specified"),
        (context, "Context not specified"),
        (exten, "Exten not specified"),
        (priority, "Priority not specified"),
    ):
        if not value:
            s.send(error(req, missing))
            return False
    if not priority.strip().isdigit() or int(priority) < 1:
        s.send(error(req, "Priority is invalid"))
        return False
    with pbx.lock:
        ch = pbx.find_channel(name)
        if ch is None:
            s.send(error(req, f"Channel does not exist: {name}"))
            return False
        if ch.dying or ch.dead:
            s.send(error(req, "Redirect failed, channel not up."))
            return False
        if calls.redirect(ch, context, exten, int(priority)):
            s.send(ack(req, "Redirect successful"))
        else:
            s.send(error(req, "Redirect failed"))
    return False


def a_setvar(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    name, var = req.get("Channel"), req.get("Variable")
    if not var:
        s.send(error(req, "No variable specified"))
        return False
    with pbx.lock:
        if name:
            ch = pbx.find_channel(name)
            if ch is None:
                s.send(error(req, "No such channel"))
                return False
            s.send(ack(req, "Variable Set"))
            ch.set_var(var, req.get("Value"))
        else:
            pbx.globals[var] = req.get("Value")
            s.send(ack(req, "Variable Set"))
    return False


def a_getvar(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    name, var = req.get("Channel"), req.get("Variable")
    if not var:
        s.send(error(req, "No variable specified"))
        return False
    with pbx.lock:
        value: str | None
        if name:
            ch = pbx.find_channel(name)
            if ch is None:
                s.send(error(req, "No such channel"))
                return False
            value = _channel_var(ch, var)
        else:
            value = pbx.globals.get(var)
    pairs = [("Response", "Success"), *req.id_pairs(), ("Variable", var), ("Value", value or "")]
    s.send(lines_bytes(pairs))
    return False


def _channel_var(ch: Channel, name: str) -> str | None:
    builtin = {
        "CHANNEL": ch.name,
        "UNIQUEID": ch.uniqueid,
        "CONTEXT": ch.context,
        "EXTEN": ch.exten,
        "PRIORITY": str(ch.priority),
        "CHANNEL(state)": STATE_DESC[ch.state],
        "CALLERID(num)": ch.caller[0],
        "CALLERID(name)": ch.caller[1],
    }
    if name in ch.variables:
        return ch.variables[name]
    return builtin.get(name, ch.pbx.globals.get(name))


def a_originate(s: Session, req: Request) -> bool:
    sim = s.server
    name = req.get("Channel")
    if not name:
        s.send(error(req, "Channel not specified"))
        return False
    prio_text, timeout_text = req.get("Priority"), req.get("Timeout")
    priority = int(prio_text) if prio_text.strip().isdigit() else 0
    if prio_text and not prio_text.strip().isdigit():
        s.send(error(req, "Invalid priority"))
        return False
    if timeout_text and not timeout_text.strip().lstrip("-").isdigit():
        s.send(error(req, "Invalid timeout"))
        return False
    if "/" not in name:
        s.send(error(req, "Invalid channel"))
        return False
    context, exten, app = req.get("Context"), req.get("Exten"), req.get("Application")
    if priority and not dialplan.exists(context, exten, priority):
        s.send(error(req, "Extension does not exist."))
        return False
    is_async = req.get("Async").lower() in ("yes", "true", "y", "t", "1", "on")
    if not is_async and not app and not (exten and context and priority):
        s.send(error(req, "Originate with 'Exten' requires 'Context' and 'Priority'"))
        return False
    variables = []
    for item in req.get_all("Variable"):
        for part in item.split(","):
            key, sep, value = part.partition("=")
            if sep:
                variables.append((key.strip(), value))
    timeout = int(timeout_text) / 1000 if timeout_text else 30.0
    o = OriginateRequest(
        channel=name,
        context=context,
        exten=exten,
        priority=priority or 1,
        application=app,
        data=req.get("Data"),
        timeout=timeout if timeout > 0 else 30.0,
        caller=parse_callerid(req.get("CallerID")),
        variables=variables,
        action_id=req.action_id,
        is_async=is_async,
        channel_id=req.get("ChannelId"),
        other_channel_id=req.get("OtherChannelId"),
    )
    if is_async:
        with sim.pbx.lock:
            s.send(ack(req, "Originate successfully queued"))
            sim.pbx.call_soon(lambda: _spawn_originate(s, o))
        return False
    done = threading.Event()
    result: list[bool] = []

    def finished(ok: bool) -> None:
        result.append(ok)
        done.set()

    o.done = finished
    s.hold_events()
    sim.pbx.call_soon(lambda: _spawn_originate(s, o))
    deadline = time.monotonic() + o.timeout * sim.pbx.time_scale + 5.0
    while not done.wait(0.1) and not s.closing and time.monotonic() < deadline:
        pass
    ok = bool(result and result[0])
    with sim.pbx.lock:
        s.send(ack(req, "Originate successfully queued") if ok else error(req, "Originate failed"))
        s.release_events()
    return False


def _spawn_originate(s: Session, o: OriginateRequest) -> None:
    s.server.pbx.spawn(calls.originate(s.server.pbx, o), "originate")


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Alice" <1001>`` -> ``("1001", "Alice")``; a bare number is the number."""
    text = text.strip()
    if not text:
        return ("", "")
    m = re.match(r'^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$', text)
    if m:
        name = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
        return (re.sub(r"[\s()\-]", "", m.group(3)), name)
    if re.fullmatch(r"[0-9+*#()\- ]+", text):
        return (re.sub(r"[\s()\-]", "", text), "")
    return ("", text.strip('"'))


def a_bridgelist(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    wanted = req.get("BridgeType")
    with pbx.lock:
        bridges = [b for b in pbx.bridges.values() if not wanted or wanted == "simple_bridge"]
        s.send(ack(req, "Bridge listing will follow", listflag="start"))
        for b in bridges:
            s.send(lines_bytes([("Event", "BridgeListItem"), *req.id_pairs(), *b.pairs()]))
        s.send(list_complete(req, "BridgeListComplete", len(bridges)))
    return False
