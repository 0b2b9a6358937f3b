"""What the PBX is doing now: channels, calls, bridges and queues, kept from events.

:class:`LiveState` applies events as they arrive (Newchannel, Newstate,
Newexten, BridgeEnter, Hangup, Queue* ...) and is resynced from the list
actions (CoreShowChannels, BridgeList, QueueStatus): a channel the list no
longer names was hung up without its Hangup being seen, and is dropped then.
It does no I/O and keeps no clock of its own: every call takes ``now``.
Each value remembers when it last changed, so a view can highlight it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..message import Message

__all__ = [
    "Bridge", "Call", "Channel", "Endpoint", "LiveState", "Queue", "QueueCaller", "QueueMember",
]

#: Snapshot headers of a channel event -> the field they set.
_CHANNEL_FIELDS: Final = {
    "channel": "name",
    "channelstatedesc": "state",
    "calleridnum": "caller_num",
    "calleridname": "caller_name",
    "connectedlinenum": "connected_num",
    "connectedlinename": "connected_name",
    "context": "context",
    "exten": "exten",
    "priority": "priority",
    "linkedid": "linkedid",
    "application": "app",
    "appdata": "data",
    "applicationdata": "data",
}
_PLACEHOLDER: Final = "<unknown>"


class Tracked:
    """A record whose fields remember when they last changed."""

    def __init__(self) -> None:
        self.changed: dict[str, float] = {}

    def set(self, field: str, value: str, now: float) -> None:
        if value == _PLACEHOLDER:
            value = ""
        if getattr(self, field) != value:
            setattr(self, field, value)
            self.changed[field] = now


class Channel(Tracked):
    def __init__(self, uniqueid: str, name: str, now: float) -> None:
        super().__init__()
        self.uniqueid = uniqueid
        self.name = name
        self.linkedid = uniqueid
        self.state = ""
        self.caller_num = ""
        self.caller_name = ""
        self.connected_num = ""
        self.connected_name = ""
        self.context = ""
        self.exten = ""
        self.priority = ""
        self.app = ""
        self.data = ""
        self.bridge = ""
        self.created = now
        #: The last event that named this channel.
        self.last_event: Message | None = None

    @property
    def caller(self) -> str:
        return _who(self.caller_num, self.caller_name)

    @property
    def connected(self) -> str:
        return _who(self.connected_num, self.connected_name)

    @property
    def location(self) -> str:
        if not self.exten and not self.context:
            return ""
        return f"{self.exten}@{self.context}:{self.priority}"

    @property
    def application(self) -> str:
        return f"{self.app}({self.data})" if self.app else ""


class Call:
    """The channels of one call (one Linkedid)."""

    def __init__(self, linkedid: str, channels: list[Channel]) -> None:
        self.linkedid = linkedid
        self.channels = channels
        self.created = min(c.created for c in channels)

    @property
    def first(self) -> Channel:
        by_id = {c.uniqueid: c for c in self.channels}
        return by_id.get(self.linkedid) or min(self.channels, key=lambda c: c.created)


class Bridge(Tracked):
    def __init__(self, uniqueid: str, now: float) -> None:
        super().__init__()
        self.uniqueid = uniqueid
        self.type = ""
        self.technology = ""
        self.members: dict[str, None] = {}
        self.created = now


class QueueCaller:
    def __init__(self, channel: str, uniqueid: str, caller: str, position: str,
                 joined: float) -> None:
        self.channel = channel
        self.uniqueid = uniqueid
        self.caller = caller
        self.position = position
        self.joined = joined


class QueueMember(Tracked):
    def __init__(self, interface: str) -> None:
        super().__init__()
        self.interface = interface
        self.name = ""
        self.status = ""
        self.paused = ""
        self.incall = ""
        self.calls_taken = ""


class Queue:
    def __init__(self, name: str) -> None:
        self.name = name
        self.strategy = ""
        self.callers: dict[str, QueueCaller] = {}
        self.members: dict[str, QueueMember] = {}


class Endpoint(Tracked):
    """A PJSIP endpoint as PJSIPShowEndpoints lists it, its state kept from
    DeviceStateChange."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.transport = ""
        self.aor = ""
        self.state = ""
        self.channels = ""


class LiveState:
    """Channels, bridges and queues, kept current from events and list actions."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.queues: dict[str, Queue] = {}
        #: PJSIP endpoints, by name (only where the server lists them).
        self.endpoints: dict[str, Endpoint] = {}
        #: Events applied, and the time of the last resync of each list.
        self.applied = 0
        self.synced: dict[str, float] = {}

    # -- events -------------------------------------------------------------------
    def apply(self, msg: Message, now: float) -> None:
        """Apply one event."""
        name = (msg.value("Event") or "").lower()
        self.applied += 1
        if name.startswith("queue"):
            self._queue_event(name, msg, now)
            return
        if name == "devicestatechange":
            device = msg.value("Device") or ""
            endpoint = self.endpoints.get(device[6:]) if device[:6].lower() == "pjsip/" else None
            if endpoint is not None:
                endpoint.set("state", msg.value("State") or "", now)
            return
        if name in ("bridgecreate", "bridgedestroy"):
            bid = msg.value("BridgeUniqueid") or ""
            if name == "bridgedestroy":
                self.bridges.pop(bid, None)
            elif bid:
                self._bridge(bid, now).set("type", msg.value("BridgeType") or "", now)
            return
        uniqueid = msg.value("Uniqueid")
        if not uniqueid or msg.value("Channel") is None:
            return
        if name == "hangup":
            gone = self.channels.pop(uniqueid, None)
            if gone is not None and gone.bridge in self.bridges:
                self.bridges[gone.bridge].members.pop(uniqueid, None)
            return
        channel = self.channels.get(uniqueid)
        if channel is None:
            channel = self.channels[uniqueid] = Channel(uniqueid, "", now)
        self._snapshot(channel, msg, now)
        channel.last_event = msg
        if name == "bridgeenter":
            bid = msg.value("BridgeUniqueid") or ""
            channel.set("bridge", bid, now)
            if bid:
                self._bridge(bid, now).members[uniqueid] = None
        elif name == "bridgeleave":
            bid = msg.value("BridgeUniqueid") or ""
            channel.set("bridge", "", now)
            if bid in self.bridges:
                self.bridges[bid].members.pop(uniqueid, None)
        elif name == "rename":
            channel.set("name", msg.value("Newname") or channel.name, now)

    def _snapshot(self, channel: Channel, msg: Message, now: float) -> None:
        for key, value in msg.headers:
            field = _CHANNEL_FIELDS.get(key.lower())
            if field is not None:
                channel.set(field, value, now)

    def _bridge(self, bid: str, now: float) -> Bridge:
        bridge = self.bridges.get(bid)
        if bridge is None:
            bridge = self.bridges[bid] = Bridge(bid, now)
        return bridge

    def _queue_event(self, name: str, msg: Message, now: float) -> None:
        qname = msg.value("Queue")
        if not qname:
            return
        queue = self.queues.setdefault(qname, Queue(qname))
        if name == "queuecallerjoin":
            uid = msg.value("Uniqueid") or ""
            queue.callers[uid] = QueueCaller(
                msg.value("Channel") or "", uid,
                _who(msg.value("CallerIDNum") or "", msg.value("CallerIDName") or ""),
                msg.value("Position") or "", now,
            )
        elif name in ("queuecallerleave", "queuecallerabandon"):
            queue.callers.pop(msg.value("Uniqueid") or "", None)
        elif name == "queuememberremoved":
            queue.members.pop(_member_key(msg), None)
        elif name.startswith("queuemember"):
            self._member(queue, msg, now)

    def _member(self, queue: Queue, msg: Message, now: float) -> None:
        key = _member_key(msg)
        if not key:
            return
        member = queue.members.setdefault(key, QueueMember(key))
        member.set("name", msg.value("MemberName") or msg.value("Name") or member.name, now)
        for header, field in (("Status", "status"), ("Paused", "paused"),
                              ("InCall", "incall"), ("CallsTaken", "calls_taken")):
            value = msg.value(header)
            if value is not None:
                member.set(field, value, now)

    # -- resyncs from the list actions ---------------------------------------------------
    def resync_channels(self, items: Iterable[Message], now: float) -> None:
        """CoreShowChannels items: the channels that exist now, and nothing else."""
        listed: dict[str, Channel] = {}
        for item in items:
            uid = item.value("Uniqueid")
            if not uid:
                continue
            channel = self.channels.get(uid) or Channel(uid, "", now)
            if uid not in self.channels:
                channel.created = now - _seconds(item.value("Duration") or "")
            self._snapshot(channel, item, now)
            channel.set("bridge", item.value("BridgeId") or "", now)
            listed[uid] = channel
        self.channels = listed
        for bridge in self.bridges.values():
            bridge.members = {u: None for u in bridge.members if u in listed}
        self.synced["channels"] = now

    def resync_bridges(self, items: Iterable[Message], now: float) -> None:
        """BridgeList items: the bridges that exist now."""
        kept: dict[str, Bridge] = {}
        for item in items:
            bid = item.value("BridgeUniqueid")
            if not bid:
                continue
            bridge = self.bridges.get(bid) or Bridge(bid, now)
            bridge.set("type", item.value("BridgeType") or "", now)
            bridge.set("technology", item.value("BridgeTechnology") or "", now)
            kept[bid] = bridge
        for channel in self.channels.values():
            if channel.bridge:
                kept.setdefault(channel.bridge, Bridge(channel.bridge, now)).members[
                    channel.uniqueid] = None
        self.bridges = kept
        self.synced["bridges"] = now

    def resync_queues(self, items: Iterable[Message], now: float) -> None:
        """QueueStatus items (QueueParams, QueueMember, QueueEntry): the queues now."""
        queues: dict[str, Queue] = {}
        for item in items:
            kind = (item.value("Event") or "").lower()
            qname = item.value("Queue")
            if not qname:
                continue
            old = self.queues.get(qname)
            queue = queues.setdefault(qname, Queue(qname))
            if kind == "queueparams":
                queue.strategy = item.value("Strategy") or ""
            elif kind == "queuemember":
                if old is not None and _member_key(item) in old.members:
                    queue.members[_member_key(item)] = old.members[_member_key(item)]
                self._member(queue, item, now)
            elif kind == "queueentry":
                uid = item.value("Uniqueid") or item.value("Channel") or ""
                wait = _seconds(item.value("Wait") or "")
                previous = old.callers.get(uid) if old is not None else None
                queue.callers[uid] = QueueCaller(
                    item.value("Channel") or "", uid,
                    _who(item.value("CallerIDNum") or "", item.value("CallerIDName") or ""),
                    item.value("Position") or "",
                    previous.joined if previous is not None else now - wait,
                )
        self.queues = queues
        self.synced["queues"] = now

    def resync_endpoints(self, items: Iterable[Message], now: float) -> None:
        """PJSIPShowEndpoints items (EndpointList): the endpoints now."""
        kept: dict[str, Endpoint] = {}
        for item in items:
            name = item.value("ObjectName")
            if not name:
                continue
            endpoint = self.endpoints.get(name) or Endpoint(name)
            for header, field in (("Transport", "transport"), ("Aor", "aor"),
                                  ("DeviceState", "state"), ("ActiveChannels", "channels")):
                endpoint.set(field, item.value(header) or "", now)
            kept[name] = endpoint
        self.endpoints = kept
        self.synced["endpoints"] = now

    # -- views ----------------------------------------------------------------------------
    def calls(self) -> list[Call]:
        """One :class:`Call` per Linkedid, oldest first."""
        groups: dict[str, list[Channel]] = {}
        for channel in self.channels.values():
            groups.setdefault(channel.linkedid or channel.uniqueid, []).append(channel)
        calls = [Call(linkedid, chans) for linkedid, chans in groups.items()]
        return sorted(calls, key=lambda c: c.created)

    def channel_named(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)


def _who(num: str, name: str) -> str:
    num = "" if num == _PLACEHOLDER else num
    name = "" if name == _PLACEHOLDER else name
    if num and name:
        return f'"{name}" <{num}>'
    return num or name


def _member_key(msg: Message) -> str:
    return msg.value("Interface") or msg.value("Location") or msg.value("StateInterface") or ""


def _seconds(text: str) -> float:
    """``HH:MM:SS`` or a number of seconds, as seconds (0 when unreadable)."""
    try:
        if ":" in text:
            total = 0.0
            for part in text.split(":"):
                total = total * 60 + float(part)
            return total
        return float(text)
    except ValueError:
        return 0.0
