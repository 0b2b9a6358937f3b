"""The Message type: a dict of the headers, with the wire order kept beside it."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from amishell.message import Message
from amishell.protocol import parse_frame

PAIRS = [
    ("Event", "VarSet"),
    ("Variable", "A=1"),
    ("Channel", "PJSIP/1-0001"),
    ("Variable", "B=2"),
    ("Variable", "C=3"),
]


def test_equal_to_a_plain_dict() -> None:
    m = Message([("Response", "Success"), ("ActionID", "7"), ("Ping", "Pong")])
    assert m == {"Response": "Success", "ActionID": "7", "Ping": "Pong"}
    assert {"Response": "Success", "ActionID": "7", "Ping": "Pong"} == m
    assert dict(m) == {"Response": "Success", "ActionID": "7", "Ping": "Pong"}
    assert isinstance(m, dict)
    assert m != {"Response": "Success"}
    assert list(m) == ["Response", "ActionID", "Ping"]


def test_repeated_keys_become_lists_in_order() -> None:
    m = Message(PAIRS)
    assert m == {"Event": "VarSet", "Variable": ["A=1", "B=2", "C=3"], "Channel": "PJSIP/1-0001"}
    assert m["Variable"] == ["A=1", "B=2", "C=3"]
    assert m.headers == PAIRS
    assert m.getall("Variable") == ["A=1", "B=2", "C=3"]
    assert m.value("Variable") == "A=1"  # the first one
    twice = Message([("K", "a"), ("K", "b")])
    assert twice == {"K": ["a", "b"]}


def test_from_a_mapping_lists_expand_in_order() -> None:
    m = Message({"Action": "Originate", "Variable": ["A=1", "B=2"], "Timeout": 3000})
    assert m.headers == [
        ("Action", "Originate"),
        ("Variable", "A=1"),
        ("Variable", "B=2"),
        ("Timeout", "3000"),
    ]
    assert m == {"Action": "Originate", "Variable": ["A=1", "B=2"], "Timeout": "3000"}
    assert Message(dict(m)) == m
    assert Message(m).headers == m.headers


def test_json() -> None:
    m = Message(PAIRS)
    text = json.dumps(m)
    assert json.loads(text) == {
        "Event": "VarSet",
        "Variable": ["A=1", "B=2", "C=3"],
        "Channel": "PJSIP/1-0001",
    }
    assert json.loads(text) == m
    assert json.dumps(m) == json.dumps(dict(m))
    wire = parse_frame(b"Event: Hangup\r\nChannel: X\r\nCause: 16")
    assert json.loads(json.dumps(wire)) == {"Event": "Hangup", "Channel": "X", "Cause": "16"}


def test_value_is_case_insensitive() -> None:
    m = Message([("Response", "Success"), ("actionid", "9"), ("EventList", "start")])
    assert m.value("ActionID") == "9" and m.action_id == "9"
    assert m.value("RESPONSE") == "Success"
    assert m.value("response") == "Success"
    assert m.value("Missing") is None
    assert m.value("Missing", "dflt") == "dflt"
    assert m.getall("ACTIONID") == ["9"]
    assert m.getall("nothing") == []
    assert "ActionID" not in m  # lookups by key stay exact: it is a dict
    assert m.is_list_start and not m.is_list_complete


def test_kinds_and_names() -> None:
    response = Message([("Response", "Error"), ("ActionID", "3"), ("Message", "Permission denied")])
    assert response.is_response and response.is_error and not response.is_event
    assert response.name == "Error" and response.action_id == "3"
    event = Message([("Event", "OriginateResponse"), ("Response", "Success"), ("ActionID", "o1")])
    assert event.is_event and not event.is_response and not event.is_error
    assert event.name == "OriginateResponse"
    ok = Message([("Response", "Success")])
    assert ok.is_response and not ok.is_error and ok.action_id is None
    empty = Message()
    assert empty == {} and empty.headers == [] and empty.name == ""
    assert not empty.is_event and not empty.is_response
    done = Message([("Event", "StatusComplete"), ("EventList", "Complete"), ("ListItems", "2")])
    assert done.is_list_complete and not done.is_list_start


def test_output_new_style_and_legacy() -> None:
    new = parse_frame(
        b"Response: Success\r\nActionID: 4\r\nOutput: line one\r\nOutput: \r\n"
        b"Output:   indented: with colon\r\nOutput: last"
    )
    legacy = parse_frame(
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 4\r\n"
        b"line one\n\n  indented: with colon\nlast\n--END COMMAND--"
    )
    expected = ["line one", "", "  indented: with colon", "last"]
    assert new.output == expected
    assert legacy.output == expected
    assert Message([("Response", "Success")]).output == []
    single = parse_frame(b"Response: Success\r\nOutput: only")
    assert single.output == ["only"] and single["Output"] == "only"


def test_messages_from_the_wire_have_every_attribute() -> None:
    spaced = parse_frame(b"Event: Hangup\r\nChannel: X\r\nCause: 16")
    unspaced = parse_frame(b"Event:Hangup\r\nChannel:X\r\nCause:16")
    for m in (spaced, unspaced):
        assert m == {"Event": "Hangup", "Channel": "X", "Cause": "16"}
        assert m.headers == [("Event", "Hangup"), ("Channel", "X"), ("Cause", "16")]
        assert m.events == [] and m.complete is None
        assert m.raw is not None and m.raw.startswith(b"Event:")
        assert m.to_json() == dict(m)
        assert "Hangup" in repr(m)
    assert Message(PAIRS).raw is None


def test_to_json_with_an_event_list() -> None:
    response = Message([("Response", "Success"), ("ActionID", "5"), ("EventList", "start")])
    assert response.to_json() == dict(response)
    assert "events" not in response.to_json()
    items = [
        Message([("Event", "Status"), ("ActionID", "5"), ("Channel", "A")]),
        Message([("Event", "Status"), ("ActionID", "5"), ("Channel", "B")]),
    ]
    response.events = items
    response.complete = Message(
        [
            ("Event", "StatusComplete"),
            ("ActionID", "5"),
            ("EventList", "Complete"),
            ("ListItems", "2"),
        ]
    )
    assert response.events == items
    data = response.to_json()
    assert data["events"] == [dict(i) for i in items]
    assert data["complete"]["ListItems"] == "2"
    assert data["Response"] == "Success"
    assert json.loads(json.dumps(data)) == data
    # Equality stays that of the headers: the list is extra information.
    assert response == {"Response": "Success", "ActionID": "5", "EventList": "start"}
    assert "events=2" in repr(response)
    # A list that ended with no items still says so.
    empty = Message([("Response", "Success"), ("EventList", "start")])
    empty.complete = Message([("Event", "StatusComplete"), ("ListItems", "0")])
    assert empty.to_json()["events"] == []


def test_events_list_is_per_message() -> None:
    a, b = Message([("Response", "Success")]), Message([("Response", "Success")])
    a.events.append(Message([("Event", "X")]))
    assert len(a.events) == 1 and b.events == []


def test_pickle_and_copy_keep_headers() -> None:
    m = Message(PAIRS)
    for clone in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
        assert isinstance(clone, Message)
        assert clone == m and clone.headers == PAIRS
    wire = parse_frame(b"Event: Hangup\r\nChannel: X")
    assert pickle.loads(pickle.dumps(wire)).headers == wire.headers


@pytest.mark.parametrize("value", [1, 2.5, True])
def test_values_become_text(value: object) -> None:
    m = Message({"Key": value})
    assert m == {"Key": str(value)} and m.headers == [("Key", str(value))]
