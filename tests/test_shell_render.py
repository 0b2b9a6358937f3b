"""Rendering responses: pretty (coloured by the AMI lexer), raw, JSON, tables, CLI output."""

from __future__ import annotations

import json

import pytest

from amishell.message import Message
from amishell.protocol import parse_frame
from amishell.shell.lexer import AMILexer, InputLexer, lex_message
from amishell.shell.render import (
    Info,
    Problem,
    Renderer,
    TableResult,
    elapsed_text,
    to_ansi,
    to_plain,
)


def channel_list() -> Message:
    response = parse_frame(
        b"Response: Success\r\nActionID: 3\r\nEventList: start\r\nMessage: Channels will follow"
        b"\r\n\r\n"
    )
    items = []
    for n, (state, app) in enumerate([("Up", "Dial"), ("Ring", "Wait"), ("Up", "Queue")]):
        items.append(
            Message(
                [
                    ("Event", "CoreShowChannel"),
                    ("ActionID", "3"),
                    ("Channel", f"PJSIP/10{n}-0000000{n}"),
                    ("ChannelStateDesc", state),
                    ("Context", "demo"),
                    ("Application", app),
                    ("AccountCode", ""),
                ]
            )
        )
    response.events = items
    response.complete = Message(
        [("Event", "CoreShowChannelsComplete"), ("ActionID", "3"), ("EventList", "Complete"),
         ("ListItems", "3")]
    )
    return response


def test_pretty_response_is_coloured_by_the_lexer_and_hides_actionid() -> None:
    msg = parse_frame(b"Response: Success\r\nActionID: 7\r\nPing: Pong\r\n\r\n")
    frags = Renderer("pretty").response(msg, 0.0123)
    text = to_plain(frags)
    assert text == "Response: Success\nPing: Pong\n(12 ms)\n"
    assert ("ok", "Success") in frags
    assert ("key", "Ping") in frags
    coloured = to_ansi(frags)
    assert "\x1b[1;32mSuccess\x1b[0m" in coloured
    assert "\x1b[" not in to_plain(frags)


def test_error_response_is_red() -> None:
    msg = parse_frame(b"Response: Error\r\nMessage: Permission denied\r\n\r\n")
    frags = Renderer().response(msg)
    assert ("error", "Error") in frags


def test_event_list_as_a_table_with_the_count() -> None:
    text = to_plain(Renderer("pretty", width=100).response(channel_list(), 0.002))
    lines = text.splitlines()
    assert lines[0].split() == ["Channel", "Context", "State", "Application"]
    assert lines[1].split() == ["PJSIP/100-00000000", "demo", "Up", "Dial"]
    assert "3 items" in text
    assert "ActionID" not in text


def test_a_narrow_table_keeps_the_first_columns_and_says_what_it_left_out() -> None:
    text = to_plain(Renderer("pretty", width=30).table(channel_list().events))
    lines = text.splitlines()
    assert lines[0].split() == ["Channel", "Context"]
    assert all(len(line) <= 30 for line in lines[:4])
    assert "not shown: ChannelStateDesc, Application (no room); .columns CoreShowChannel" in text
    assert "AccountCode" not in text  # empty everywhere: never a column


def test_list_count_mismatch_and_incomplete_list_are_said() -> None:
    msg = channel_list()
    assert msg.complete is not None
    msg.complete = Message([("Event", "X"), ("EventList", "Complete"), ("ListItems", "5")])
    assert "the server says 5" in to_plain(Renderer().response(msg))
    msg.complete = None
    assert "did not complete" in to_plain(Renderer().response(msg))


def test_raw_is_the_wire_form() -> None:
    raw = b"Response: Success\r\nActionID: 7\r\nPing: Pong\r\n\r\n"
    frags = Renderer("raw").response(parse_frame(raw), 0.5)
    assert to_plain(frags) == "Response: Success\nActionID: 7\nPing: Pong\n\n"


def test_json_event_list_has_events_and_complete() -> None:
    out = to_plain(Renderer("json").response(channel_list()))
    data = json.loads(out)
    assert data["Response"] == "Success"
    assert len(data["events"]) == 3
    assert data["complete"]["ListItems"] == "3"


def test_cli_output_plain_and_errors_as_errors() -> None:
    ok = Message([("Response", "Success"), ("Message", "Command output follows"),
                  ("Output", "line one: with colon"), ("Output", ""), ("Output", "last")])
    assert to_plain(Renderer().cli(ok)) == "line one: with colon\n\nlast\n"
    bad = Message([("Response", "Error"), ("Message", "Command output follows"),
                   ("Output", "No such command 'x'")])
    frags = Renderer().cli(bad)
    assert to_plain(frags) == "No such command 'x'\n"
    assert frags[0][0] == "error"
    denied = Message([("Response", "Error"), ("Message", "Permission denied")])
    assert to_plain(Renderer().cli(denied)) == "error: Permission denied\n"


def test_legacy_follows_output_is_plain() -> None:
    raw = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
        b"Channel   State\n\n0 active channels\n--END COMMAND--\r\n\r\n"
    )
    text = to_plain(Renderer().cli(parse_frame(raw)))
    assert "0 active channels" in text
    assert "Channel   State" in text


def test_results() -> None:
    r = Renderer(width=40)
    assert to_plain(r.result(Problem("fix it"))) == "error: fix it\n"
    assert to_plain(r.result(Info(["a", "b"]))) == "a\nb\n"
    table = TableResult(["K", "V"], [["x", "1"]], ["title"], "caption")
    assert to_plain(r.result(table)).splitlines() == ["title", "K  V", "x  1", "caption"]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.0001, "<1 ms"), (0.012, "12 ms"), (2.5, "2.50 s")]
)
def test_elapsed(seconds: float, text: str) -> None:
    assert elapsed_text(seconds) == text


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "Key:", ":value", "a: b: c\n", "Response: Error", "x" * 3000, "\x00\x1b[31m"],
)
def test_lexers_always_finish(text: str) -> None:
    assert "".join(v for _, v in AMILexer().get_tokens(text)).strip() == text.strip()
    assert "".join(v for _, v in InputLexer().get_tokens(text)).strip() == text.strip()
    list(lex_message(text))


def test_a_late_response_says_so_in_raw_but_json_stays_json() -> None:
    msg = parse_frame(b"Response: Error\r\nActionID: 9\r\nMessage: Originate failed\r\n\r\n")
    raw = to_plain(Renderer("raw").response(msg, late=True, name="Originate"))
    assert raw.startswith("late response to Originate (ActionID 9):\nResponse: Error\n")
    assert json.loads(to_plain(Renderer("json").response(msg, late=True)))["ActionID"] == "9"
