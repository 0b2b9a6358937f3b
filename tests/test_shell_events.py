"""The event display: filters, floods summarised, bounded memory, pause, the JSON Lines log."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from amishell.message import Message
from amishell.shell.events import EventFilter, EventLog, EventView, format_event_line
from amishell.shell.render import Renderer, to_plain


def event(name: str, **headers: str) -> Message:
    return Message([("Event", name), ("Privilege", "call,all"), *headers.items()])


@pytest.mark.parametrize(
    ("spec", "shown", "hidden"),
    [
        ("Hangup,Newchannel", ["Hangup", "newchannel"], ["Newexten"]),
        ("Queue*", ["QueueMemberStatus", "QueueCallerJoin"], ["Hangup"]),
        ("Channel=PJSIP/*", ["Hangup:PJSIP/100-1"], ["Hangup:Local/1@x-1", "FullyBooted"]),
        ("!VarSet", ["Hangup"], ["VarSet"]),
        ("Hangup Channel=PJSIP/*", ["Hangup:PJSIP/1"], ["Newchannel:PJSIP/1", "Hangup:SIP/1"]),
        ("Channel=PJSIP/* Channel=Local/*", ["X:PJSIP/1", "X:Local/2"], ["X:IAX2/1"]),
        ("!Channel=Local/*", ["X:PJSIP/1", "FullyBooted"], ["X:Local/2"]),
    ],
)
def test_filter(spec: str, shown: list[str], hidden: list[str]) -> None:
    flt = EventFilter(spec)

    def make(text: str) -> Message:
        name, _, channel = text.partition(":")
        return event(name, Channel=channel) if channel else event(name)

    assert all(flt.matches(make(t)) for t in shown)
    assert not any(flt.matches(make(t)) for t in hidden)


@pytest.mark.parametrize("spec", ["", " , ", "Channel=", "=x", "!"])
def test_bad_filter(spec: str) -> None:
    with pytest.raises(ValueError):
        EventFilter(spec)


def test_one_line_format() -> None:
    msg = event(
        "Newchannel", Channel="Local/100@demo-00000000;1", ChannelStateDesc="Ring",
        CallerIDNum="1001", CallerIDName="Alice", Exten="100",
    )
    text = to_plain(format_event_line(0.0, msg, 120))
    assert text.endswith("\n") and text.count("\n") == 1
    assert "Newchannel" in text
    assert 'Local/100@demo-00000000;1  Ring  "Alice" <1001>' in text
    narrow = to_plain(format_event_line(0.0, msg, 50))
    assert len(narrow.rstrip("\n")) <= 50


def test_flood_is_summarised_and_memory_is_bounded() -> None:
    view = EventView(per_tick=10, max_pending=100)
    for n in range(5000):
        view.push(event("Newexten", Channel=f"PJSIP/{n}"))
    batch = view.take()
    assert len(batch.events) == 10
    assert batch.not_shown == 4990  # 90 queued beyond the tick, 4,900 over the bound
    text = to_plain(view.render(batch, Renderer(width=100)))
    assert "... 4,990 events not shown" in text
    assert view.received == 5000 and view.shown == 10 and view.not_shown == 4990
    assert not view.take()  # nothing left over: the next tick starts afresh


def test_events_beyond_the_tick_are_counted_unparsed() -> None:
    view = EventView(per_tick=3, max_pending=100)
    assert not view.skip_unparsed()  # room: the shell parses and pushes it
    for n in range(3):
        view.push(event("Newexten", Channel=f"PJSIP/{n}"))
    assert view.skip_unparsed() and view.skip_unparsed()  # the tick is full
    batch = view.take()
    assert len(batch.events) == 3 and batch.not_shown == 2
    assert view.received == 5 and view.not_shown == 2
    assert not view.skip_unparsed()  # a new tick has room again
    view.state = "pause"
    assert view.skip_unparsed() and view.paused == 1
    view.state = "off"
    assert view.skip_unparsed() and view.off == 1 and view.filtered == 0  # off is no filter
    view.state = "on"
    for _ in range(3):
        view.push(event("Newexten"))
    view.filter = EventFilter("Hangup")
    assert not view.skip_unparsed()  # a filter needs the headers
    view.filter = None
    view.log = EventLog(os.devnull)
    assert not view.skip_unparsed()  # the log gets every event
    view.log.close()


def test_dispatcher_thread_never_blocks_on_a_stalled_display() -> None:
    view = EventView(per_tick=10, max_pending=50)
    done = threading.Event()

    def produce() -> None:
        for _ in range(20000):
            view.push(event("VarSet"))
        done.set()

    threading.Thread(target=produce).start()
    assert done.wait(10)  # nobody took a single batch meanwhile
    assert len(view.take().events) == 10
    assert view.received == 20000


def test_the_filter_counts_as_filtered_and_off_as_hidden() -> None:
    view = EventView()
    view.filter = EventFilter("Hangup")
    view.push(event("Hangup"))
    view.push(event("Newexten"))
    view.state = "off"
    view.push(event("Hangup"))
    view.push(event("Newexten"))
    batch = view.take()
    assert [m.name for _, m in batch.events] == ["Hangup"]
    assert view.filtered == 1 and view.off == 2
    text = "\n".join(view.describe())
    assert "filtered out 1," in text and "hidden while off 2" in text


def test_pause_then_resume_says_how_many_were_held_back() -> None:
    view = EventView()
    view.state = "pause"
    for _ in range(7):
        view.push(event("Newexten"))
    assert not view.take()  # nothing printed while paused
    assert view.paused == 7
    view.state = "on"
    batch = view.take()
    assert "7 events not shown while paused" in to_plain(view.render(batch, Renderer()))


def test_notices_come_with_the_next_batch() -> None:
    view = EventView()
    view.notice("connection lost: boom", "error")
    batch = view.take()
    assert to_plain(view.render(batch, Renderer())) == "connection lost: boom\n"


def test_json_lines_log_gets_every_event_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    view = EventView(per_tick=1, max_pending=1)
    view.log = EventLog(str(path))
    for n in range(500):
        view.push(event("Newexten", Channel=f"PJSIP/{n}"))
    view.log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 500
    assert json.loads(lines[-1])["Channel"] == "PJSIP/499"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_full_and_json_modes() -> None:
    view = EventView()
    view.push(event("Hangup", Channel="PJSIP/1"))
    view.mode = "full"
    text = to_plain(view.render(view.take(), Renderer()))
    assert "Event: Hangup\nPrivilege: call,all\nChannel: PJSIP/1\n" in text
    view.push(event("Hangup", Channel="PJSIP/1"))
    text = to_plain(view.render(view.take(), Renderer("json")))
    assert json.loads(text)["Channel"] == "PJSIP/1"


def test_log_is_flushed_after_a_quiet_half_second(tmp_path: Path) -> None:
    """``tail -f`` sees the last events of a burst without waiting for the next one."""
    now = [0.0]
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), clock=lambda: now[0])
    log.write(event("Hangup"))
    log.flush_if_due()
    assert path.read_text() == ""  # buffered: too soon
    now[0] = 0.6
    log.flush_if_due()
    assert json.loads(path.read_text())["Event"] == "Hangup"
    log.close()
    log.flush_if_due()  # closed: nothing to do, no error


def test_a_log_that_cannot_be_written_stops_without_stopping_events(tmp_path: Path) -> None:
    view = EventView()
    view.log = EventLog(str(tmp_path / "events.jsonl"))

    class Full:
        closed = False

        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    view.log._file = Full()  # type: ignore[assignment]
    view.push(event("Hangup"))
    view.push(event("Hangup"))
    assert view.received == 2 and len(view.take().events) == 2
    assert "the event log stopped: No space left on device" in view.describe()
