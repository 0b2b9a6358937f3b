"""The ladder (terminal) and the SVG of a recorded call; unsafe values stay harmless."""

from __future__ import annotations

import xml.dom.minidom
from pathlib import Path

from amishell.replay import load
from amishell.shell.eventhistory import EventHistory, Kept
from amishell.textsafe import UNSAFE
from amishell.trace import find_call
from amishell.trace.ladder import ladder
from amishell.trace.svg import to_svg

DATA = Path(__file__).parent / "data" / "asterisk"
BRIDGED = "1796571794.2656"
QUEUED = "1796571795.2660"


def history() -> list[Kept]:
    h = EventHistory()
    for t, frame in load(str(DATA / "call_trace.jsonl")).events:
        h.add(frame, 1_800_000_000 + t)
    return list(h)


def test_ladder_has_a_lane_per_channel_with_local_halves_side_by_side() -> None:
    lines = ladder(find_call(history(), BRIDGED), width=120)
    text = "\n".join(lines)
    assert "A1  Local/200@demo-00000530;1 ┐ one Local channel" in text
    assert "A2  Local/200@demo-00000530;2 ┘" in text
    assert "B1  Local/100@demo-00000531;1" in text
    dial = next(line for line in lines if "DialBegin  dial 100@demo" in line)
    assert "●────▶●" in dial  # an arrow from A2 to B1
    answer = next(line for line in lines if "DialEnd  dial -> Local/100@demo-00000531;1" in line)
    assert "●◀────●" in answer
    assert any("═" in line and "BridgeEnter" in line for line in lines)
    assert sum("✕" in line and "Normal Clearing (16)" in line for line in lines) == 4
    assert all(len(line) <= 120 for line in lines)
    assert any("Newexten  demo,100,2 Set(FOO=bar)" in line for line in lines)


def test_queue_join_and_full_headers() -> None:
    lines = ladder(find_call(history(), QUEUED), width=100, full=True)
    text = "\n".join(lines)
    assert "QueueCallerJoin  joins queue support at position 1" in text
    assert "Cause-txt: Normal Clearing" in text


def test_lanes_too_wide_are_left_long_for_the_pager() -> None:
    lines = ladder(find_call(history(), QUEUED), width=30)
    assert max(len(line) for line in lines) > 30
    assert any("LocalBridge  Local pair Local/300@demo-00000532;1 <-> Local/300@demo-00000532;2"
               in line for line in lines)


def hostile() -> list[Kept]:
    h = EventHistory()
    h.add(b"Event: Newchannel\r\nChannel: SIP/<a&b>\"-1\r\nChannelStateDesc: Ring\x1b[2J\r\n"
          b"CallerIDName: \xe2\x80\xae</text><script>x</script>\r\nUniqueid: 9.1\r\n"
          b"Linkedid: 9.1", 5.0)
    h.add(b"Event: Hangup\r\nChannel: SIP/<a&b>\"-1\r\nCause: 16\r\nUniqueid: 9.1\r\n"
          b"Linkedid: 9.1", 6.0)
    return list(h)


def test_ladder_and_svg_escape_what_the_wire_sent() -> None:
    call = find_call(hostile(), "9.1")
    for line in ladder(call, width=100, full=True):
        assert UNSAFE.search(line) is None, line
    svg = to_svg(call)
    xml.dom.minidom.parseString(svg)  # well-formed, so nothing broke out of its element
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "SIP/&lt;a&amp;b&gt;" in svg and "\x1b" not in svg and "\u202e" not in svg
    assert "hangup: Normal Clearing (16)" in svg  # the cause in words from its number


def test_svg_of_a_recorded_call_is_well_formed() -> None:
    svg = to_svg(find_call(history(), BRIDGED))
    doc = xml.dom.minidom.parseString(svg)
    assert doc.documentElement.tagName == "svg"
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing external
    assert svg.count("<title>") >= 75


def test_hidden_lanes_leave_their_steps_as_named_notes() -> None:
    call = find_call(history(), QUEUED)
    lines = ladder(call, width=100, hide={"B"})
    text = "\n".join(lines)
    assert "B1  Local/100@demo-00000533;1 (hidden)" in text
    assert "A1  A2" in text and "B1  B2" not in text.split("\n\n")[1]
    dial = next(line for line in lines if "DialBegin  dial Local/100@demo" in line)
    assert "[B1]" in dial and "▶" not in dial  # the arrow's far end is hidden
    assert len([line for line in lines if "Hangup  hangup:" in line]) == 4  # nothing lost
