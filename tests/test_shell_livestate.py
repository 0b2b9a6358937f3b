"""The live model behind .top: channels, calls, bridges, queues from events and lists."""

from __future__ import annotations

import json
from pathlib import Path

from amishell.message import Message
from amishell.protocol import Parser
from amishell.shell.livestate import LiveState

DATA = Path(__file__).parent / "data" / "asterisk"


def received(name: str) -> list[Message]:
    """Every message the server sent in a recorded transcript, in order."""
    parser = Parser(greeting=True)
    out: list[Message] = []
    for line in (DATA / f"{name}.jsonl").read_text("utf-8").splitlines():
        entry = json.loads(line)
        if entry["dir"] == "recv":
            parser.feed(entry["data"].encode("utf-8"))
            out += [m for m in parser.events() if isinstance(m, Message)]
    return out


def event(name: str, **headers: str) -> Message:
    return Message([("Event", name), *headers.items()])


def test_the_channel_count_follows_newchannel_and_hangup_through_a_storm() -> None:
    state = LiveState()
    alive: set[str] = set()
    peak = 0
    for msg in received("call_storm"):
        if not msg.is_event or msg.action_id:
            continue
        state.apply(msg, 0.0)
        name = msg.value("Event")
        if name == "Newchannel":
            alive.add(msg.value("Uniqueid") or "")
        elif name == "Hangup":
            alive.discard(msg.value("Uniqueid") or "")
        assert set(state.channels) == alive
        peak = max(peak, len(alive))
    assert peak >= 60  # the storm had 60 calls up at once


def test_calls_group_channels_by_linkedid() -> None:
    state = LiveState()
    for msg in received("call_trace"):
        if msg.is_event and not msg.action_id:
            state.apply(msg, 0.0)
            if len(state.calls()) == 2:
                break
    calls = state.calls()
    assert len(calls) == 2
    for call in calls:
        assert {c.linkedid for c in call.channels} == {call.linkedid}


def test_a_channel_whose_hangup_was_missed_is_dropped_at_the_next_resync() -> None:
    state = LiveState()
    state.apply(event("Newchannel", Channel="Local/400@demo-1;1", Uniqueid="1.1",
                      Linkedid="1.1", ChannelStateDesc="Down"), 10.0)
    state.apply(event("Newchannel", Channel="Local/400@demo-1;2", Uniqueid="1.2",
                      Linkedid="1.1", ChannelStateDesc="Down"), 10.0)
    listed = [Message([("Event", "CoreShowChannel"), ("Channel", "Local/400@demo-1;2"),
                       ("Uniqueid", "1.2"), ("Linkedid", "1.1"), ("ChannelStateDesc", "Up"),
                       ("Application", "Wait"), ("ApplicationData", "30"),
                       ("Duration", "00:01:05")])]
    state.resync_channels(listed, 100.0)
    assert list(state.channels) == ["1.2"]
    channel = state.channels["1.2"]
    assert channel.state == "Up" and channel.application == "Wait(30)"
    assert channel.changed["state"] == 100.0  # a changed value remembers when


def test_a_channel_first_seen_in_a_list_gets_its_age_from_the_duration() -> None:
    state = LiveState()
    items = [m for m in received("live_calls") if m.value("Event") == "CoreShowChannel"]
    assert items
    state.resync_channels(items, 1000.0)
    assert len(state.channels) == len({m.value("Uniqueid") for m in items})
    assert all(c.created <= 1000.0 for c in state.channels.values())


def test_bridges_follow_enter_and_leave() -> None:
    state = LiveState()
    for uid in ("1.1", "1.2"):
        state.apply(event("Newchannel", Channel=f"PJSIP/{uid}", Uniqueid=uid,
                          Linkedid="1.1"), 0.0)
    state.apply(event("BridgeCreate", BridgeUniqueid="b1", BridgeType="basic"), 1.0)
    for uid in ("1.1", "1.2"):
        state.apply(event("BridgeEnter", BridgeUniqueid="b1", Channel=f"PJSIP/{uid}",
                          Uniqueid=uid, Linkedid="1.1"), 2.0)
    assert list(state.bridges["b1"].members) == ["1.1", "1.2"]
    state.apply(event("BridgeLeave", BridgeUniqueid="b1", Channel="PJSIP/1.1",
                      Uniqueid="1.1", Linkedid="1.1"), 3.0)
    assert list(state.bridges["b1"].members) == ["1.2"]
    assert state.channels["1.1"].bridge == ""
    state.apply(event("BridgeDestroy", BridgeUniqueid="b1"), 4.0)
    assert state.bridges == {}


def test_queues_keep_callers_waiting_and_members_with_their_state() -> None:
    state = LiveState()
    state.apply(event("QueueMemberStatus", Queue="support", MemberName="Alice",
                      Interface="Local/100@demo", Status="1", Paused="0"), 0.0)
    state.apply(event("QueueCallerJoin", Queue="support", Channel="Local/300@demo-1;2",
                      Uniqueid="9.1", Position="1", CallerIDNum="300"), 5.0)
    queue = state.queues["support"]
    assert list(queue.callers) == ["9.1"] and queue.callers["9.1"].joined == 5.0
    state.apply(event("QueueMemberStatus", Queue="support", Interface="Local/100@demo",
                      Status="2", InCall="1"), 6.0)
    member = queue.members["Local/100@demo"]
    assert (member.name, member.status, member.incall) == ("Alice", "2", "1")
    state.apply(event("QueueCallerLeave", Queue="support", Uniqueid="9.1"), 7.0)
    assert queue.callers == {}


def test_queue_status_resync_replaces_what_was_kept() -> None:
    state = LiveState()
    state.apply(event("QueueCallerJoin", Queue="old", Channel="X", Uniqueid="1"), 0.0)
    items = [m for m in received("live_calls")
             if m.value("Event") in ("QueueParams", "QueueMember", "QueueEntry")]
    assert items
    state.resync_queues(items, 50.0)
    assert "old" not in state.queues
    support = state.queues["support"]
    assert support.members and support.strategy == "ringall"
    assert len(support.callers) == sum(1 for m in items if m.value("Event") == "QueueEntry")


def test_endpoints_from_the_list_and_their_state_from_device_events() -> None:
    state = LiveState()
    listed = [Message([("Event", "EndpointList"), ("ObjectName", n), ("Transport", "udp"),
                       ("Aor", n), ("DeviceState", "Not in use"), ("ActiveChannels", "0")])
              for n in ("100", "101")]
    state.resync_endpoints(listed, 10.0)
    assert sorted(state.endpoints) == ["100", "101"]
    state.apply(event("DeviceStateChange", Device="PJSIP/101", State="INUSE"), 11.0)
    state.apply(event("DeviceStateChange", Device="Local/100@demo", State="INUSE"), 11.0)
    assert state.endpoints["101"].state == "INUSE"
    assert state.endpoints["101"].changed["state"] == 11.0
    assert state.endpoints["100"].state == "Not in use"
