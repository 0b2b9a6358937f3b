"""The rows behind .top, and .watch's parsing and marks, without a terminal."""

from __future__ import annotations

import pytest

from amishell.message import Message
from amishell.shell.eventhistory import EventHistory
from amishell.shell.lineparse import CliLine, InputError
from amishell.shell.topview import TopModel, member_status
from amishell.shell.views import mark_changes, parse_watch


def frame(name: str, **headers: str) -> bytes:
    lines = [f"Event: {name}", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def model_with_calls() -> tuple[TopModel, EventHistory, Clock]:
    history = EventHistory()
    clock = Clock()
    for n, (exten, caller) in enumerate((("400", "Alice"), ("100", "Bob"))):
        history.add(frame("Newchannel", Channel=f"Local/{exten}@demo-{n};1", Uniqueid=f"{n}.1",
                          Linkedid=f"{n}.1", ChannelStateDesc="Ring", CallerIDNum="1",
                          CallerIDName=caller, Context="demo", Exten=exten, Priority="1"), 0.0)
    return TopModel(history, lambda: None, clock=clock), history, clock


def test_events_that_arrive_are_applied_from_the_history() -> None:
    model, history, clock = model_with_calls()
    model.seq = 0  # as if opened before they came
    model.refresh()
    rows = model.rows()
    assert [r.cells[0] for r in rows] == ["Local/100@demo-1;1", "Local/400@demo-0;1"]
    history.add(frame("Newstate", Channel="Local/400@demo-0;1", Uniqueid="0.1",
                      Linkedid="0.1", ChannelStateDesc="Up"), 1.0)
    clock.now = 101.0
    model.refresh()
    row = next(r for r in model.rows() if r.key == "0.1")
    assert row.cells[1] == "Up" and row.changed[1] == 101.0


def test_events_before_the_view_opened_are_left_to_the_resync() -> None:
    model, _, _ = model_with_calls()
    model.refresh()
    assert model.rows() == []


def test_filter_and_sort() -> None:
    model, _, _ = model_with_calls()
    model.seq = 0
    model.refresh()
    model.filter = "alice"
    assert [r.key for r in model.rows()] == ["0.1"]
    model.filter = ""
    model.sort_column = 2  # Caller
    assert [r.cells[2] for r in model.rows()] == ['"Alice" <1>', '"Bob" <1>']
    model.view = "calls"
    assert len(model.rows()) == 2


def test_member_states_in_words() -> None:
    assert member_status("2") == "2 in use"
    assert member_status("6") == "6 ringing"
    assert member_status("42") == "42"


def test_watch_takes_seconds_a_line_and_a_count() -> None:
    assert parse_watch([], "2 /core show channels") == (2.0, 0, CliLine("core show channels"))
    seconds, count, item = parse_watch([], "--count 3 0.5 QueueStatus")
    assert (seconds, count) == (0.5, 3)
    for bad in ("", "x Ping", "2", "0.1 Ping", "2 .top", "--count 0 2 Ping"):
        with pytest.raises(InputError):
            parse_watch([], bad)


def test_watch_marks_lines_that_differ_from_the_previous_run() -> None:
    assert mark_changes(None, ["a", "b"]) == [("", "a\n"), ("", "b\n")]
    assert mark_changes(["a", "b"], ["a", "c", "d"]) == [
        ("", "a\n"), ("late", "c\n"), ("late", "d\n")
    ]


class Answered:
    """A future already answered (what client.submit returns)."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Message:
        return self.msg

    def add_done_callback(self, fn: object) -> None:
        fn(self.msg)  # type: ignore[operator]


class ListingClient:
    """A connected client whose lists come back at once; no PJSIP on this server."""

    connected = True

    def __init__(self) -> None:
        self.asked: list[str] = []

    def submit(self, fields: dict[str, str]) -> Answered:
        action = fields["Action"]
        self.asked.append(action)
        if action == "PJSIPShowEndpoints":
            return Answered(Message([("Response", "Error"), ("Message",
                                      "Invalid/unknown command: PJSIPShowEndpoints.")]))
        return Answered(Message([("Response", "Success")]))


def test_a_server_without_pjsip_is_not_asked_for_endpoints_again() -> None:
    client = ListingClient()
    clock = Clock()
    model = TopModel(EventHistory(), lambda: client, resync=1.0, clock=clock)  # type: ignore
    model.refresh()  # asks
    model.refresh()  # takes the answers
    assert "Invalid/unknown command" in model.unavailable["endpoints"]
    clock.now += 5
    model.refresh()
    assert client.asked.count("PJSIPShowEndpoints") == 1
    assert client.asked.count("CoreShowChannels") == 2
