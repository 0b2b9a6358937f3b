"""Which events belong to a call: the recorded calls, checked against a plain header scan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amishell.replay import load
from amishell.shell.eventhistory import EventHistory, Kept
from amishell.trace import find_call, list_calls, resolve
from amishell.trace.text import to_json, to_text

DATA = Path(__file__).parent / "data" / "asterisk"


def history_of(name: str) -> list[Kept]:
    history = EventHistory()
    for t, frame in load(str(DATA / f"{name}.jsonl")).events:
        history.add(frame, 1_800_000_000 + t)
    return list(history)


def headers(frame: bytes) -> list[tuple[str, str]]:
    pairs = []
    for line in frame.decode().split("\r\n"):
        key, _, value = line.partition(":")
        pairs.append((key, value.strip()))
    return pairs


def expected(frames: list[bytes], linkedid: str) -> list[bytes]:
    """The call's events by a plain scan: Linkedid headers first, then the events that
    name one of its channels' Uniqueids or one of its bridges and carry no Linkedid."""
    uids, bridges = set(), set()
    for frame in frames:
        pairs = headers(frame)
        for key, value in pairs:
            if key.endswith("Linkedid") and value == linkedid:
                uids.add(dict(pairs).get(key[: -len("Linkedid")] + "Uniqueid"))
                if "BridgeUniqueid" in dict(pairs):
                    bridges.add(dict(pairs)["BridgeUniqueid"])
    out = []
    for frame in frames:
        pairs = headers(frame)
        event = dict(pairs)["Event"]
        if event in ("DeviceStateChange", "QueueMemberStatus"):
            continue
        links = {v for k, v in pairs if k.endswith("Linkedid") and v}
        if links:
            if linkedid in links:
                out.append(frame)
        elif dict(pairs).get("Uniqueid") in uids or dict(pairs).get("BridgeUniqueid") in bridges:
            out.append(frame)
    return out


def linkedids(frames: list[bytes]) -> set[str]:
    return {m.group(1).decode() for f in frames for m in re.finditer(rb"\nLinkedid: (\S+)", f)}


@pytest.mark.parametrize("name", ["call_trace", "call_storm"])
def test_every_call_of_a_recording_has_exactly_its_events(name: str) -> None:
    events = history_of(name)
    frames = [e.message.raw or b"" for e in events]
    ids = linkedids(frames)
    assert len(ids) >= (3 if name == "call_trace" else 60)
    for linkedid in ids:
        call = find_call(events, linkedid)
        assert [s.message.raw for s in call.steps] == expected(frames, linkedid), linkedid
    assert {c.linkedid for c in list_calls(events)} == ids


def test_the_bridged_call_of_call_trace() -> None:
    events = history_of("call_trace")
    call = find_call(events, "1796571794.2656")
    names = [s.message.name for s in call.steps]
    assert names[0] == "Newchannel"
    assert "BridgeCreate" in names and "BridgeDestroy" in names and "OriginateResponse" in names
    assert "DeviceStateChange" not in names
    assert call.channels == [
        "Local/200@demo-00000530;1", "Local/200@demo-00000530;2",
        "Local/100@demo-00000531;1", "Local/100@demo-00000531;2",
    ]
    assert call.ended
    # Never an event of the other call.
    for step in call.steps:
        assert "1796571795.2660" not in (step.message.raw or b"").decode()
    text = "\n".join(to_text(call))
    assert "hangup: Normal Clearing (16)" in text and "demo,100,2 Set(FOO=bar)" in text
    data = to_json(call)
    assert data["linkedid"] == "1796571794.2656" and data["channels"] == call.channels
    assert len(data["events"]) == len(call.steps) and data["events"][0]["_received"].endswith("Z")


def test_an_id_is_a_linkedid_a_uniqueid_or_a_channel_name() -> None:
    events = history_of("call_trace")
    assert resolve(events, "1796571795.2660") == "1796571795.2660"
    assert resolve(events, "1796571795.2663") == "1796571795.2660"  # a Uniqueid of its leg
    assert resolve(events, "Local/100@demo-00000533;2") == "1796571795.2660"
    assert resolve(events, "Local/999@nowhere") is None


def test_text_output_is_terminal_safe() -> None:
    history = EventHistory()
    history.add(b"Event: Newchannel\r\nChannel: SIP/x-1\r\nCallerIDNum: \x1b[31mevil\r\n"
                b"ChannelStateDesc: Ring\r\nUniqueid: 1.1\r\nLinkedid: 1.1", 1.0)
    call = find_call(list(history), "1.1")
    text = "\n".join(to_text(call, full=True))
    assert "\x1b" not in text and "^[[31mevil" in text
