"""The server filter checker against every answer of the real server
(filters_advanced.jsonl), and matching as the server matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amishell.filters import (
    FilterError,
    check_filter,
    check_filter_action,
    lets_through,
    regex_doubts,
)
from amishell.message import Message
from amishell.protocol import Parser

DATA = Path(__file__).parent / "data" / "asterisk"


def _transcript(name: str) -> tuple[list[Message], list[Message]]:
    """What the client sent and what the server answered, parsed."""
    sent, got = Parser(), Parser(greeting=True)
    for line in (DATA / f"{name}.jsonl").read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "send":
            sent.feed(chunk["data"].encode("utf-8"))
        elif chunk["dir"] == "recv":
            got.feed(chunk["data"].encode("utf-8"))
    return (
        [m for m in sent.events() if isinstance(m, Message)],
        [m for m in got.events() if isinstance(m, Message)],
    )


def _filter_exchanges() -> list[tuple[Message, Message]]:
    sent, got = _transcript("filters_advanced")
    answers = {m.value("ActionID"): m for m in got if m.value("Response")}
    return [(m, answers[m.value("ActionID")]) for m in sent if m.value("Action") == "Filter"]


def _check(action: Message) -> None:
    check_filter_action(action.headers)


@pytest.mark.parametrize("action, answer", _filter_exchanges(),
                         ids=lambda m: str(m.value("ActionID")))
def test_checker_agrees_with_the_real_server(action: Message, answer: Message) -> None:
    if answer.is_error:
        with pytest.raises(FilterError):
            _check(action)
    else:
        _check(action)


def test_every_kind_of_refusal_is_in_the_transcript() -> None:
    messages = {a.value("Message") for _, a in _filter_exchanges() if a.is_error}
    assert {m.split(".")[0] for m in messages if m} == {
        "Filter was formatted incorrectly", "Filter did not compile", "Unknown operation"}


@pytest.mark.parametrize(
    "value, criteria, words",
    [
        ("", "action(include", ["part 1", "closing ')'"]),
        ("x", "method(startsWith)", ["method(startsWith)", "starts_with", "did you mean"]),
        ("Event: (Unclosed", "", ["not a valid regex", "Python's re", "POSIX"]),
        ("x", "action(maybe)", ["include or exclude"]),
        ("x", "nme(Hangup)", ["unknown 'nme('", "action, name, header, method"]),
        ("", "name()", ["name() is empty"]),
        ("x", "name(A),name(B)", ["given twice"]),
        ("x", "name(Hangup),method(none)", ["method(none)"]),
        ("", "name(Hangup),method(exact)", ["needs a value"]),
        ("", "action(include)", ["needs name(EVENT) or header(NAME)"]),
        ("", "", ["empty"]),
        ("a(", "header(Channel),method(regex)", ["not a valid regex"]),
        ("x", "name Hangup", ["is not KEY(VALUE)"]),
    ],
)
def test_mistakes_are_named(value: str, criteria: str, words: list[str]) -> None:
    with pytest.raises(FilterError) as e:
        check_filter(value, criteria)
    for word in words:
        assert word in str(e.value)


def test_accepted_forms_and_their_headers() -> None:
    f = check_filter("Local/9", "action(include),name(Hangup),header(Channel),method(starts_with)")
    assert f.headers == [
        ("MatchCriteria", "action(include),name(Hangup),header(Channel),method(starts_with)"),
        ("Filter", "Local/9"),
    ]
    assert check_filter("", "name(Newchannel)").headers == [("MatchCriteria", "name(Newchannel)")]
    legacy = check_filter("!Event: VarSet")
    assert legacy.exclude and legacy.headers == [("Filter", "!Event: VarSet")]
    assert check_filter("PJSIP/", "header(Channel)").method == "regex"  # the default


def test_events_the_real_server_let_through_pass_its_filters() -> None:
    sent, got = _transcript("filters_advanced")
    filters = [check_filter(m.value("Filter") or "", m.value("MatchCriteria") or "")
               for m, a in _filter_exchanges() if not a.is_error]
    after = next(i for i, m in enumerate(got) if m.value("ActionID") == "f4")
    events = [m for m in got[after:] if m.value("Event")]
    assert len(events) > 10
    for ev in events:
        text = (ev.raw or b"").decode("utf-8")
        assert lets_through(filters, ev.value("Event") or "", ev.headers, text), ev


def test_matching_rules() -> None:
    hangup = [("Event", "Hangup"), ("Channel", "Local/905@demo-1;1"), ("Exten", "905")]
    text = "".join(f"{k}: {v}\r\n" for k, v in hangup)
    include = check_filter("Local/9", "action(include),name(Hangup),header(Channel),"
                           "method(starts_with)")
    exclude = check_filter("905", "action(exclude),header(Exten),method(exact)")
    assert lets_through([include], "Hangup", hangup, text)
    assert not lets_through([include], "Newchannel", hangup, text)
    assert not lets_through([include, exclude], "Hangup", hangup, text)
    assert not lets_through([check_filter("!Exten: 905")], "Hangup", hangup, text)
    assert lets_through([check_filter("Event: Hangup")], "Hangup", hangup, text)


def test_regex_doubts_name_python_only_syntax() -> None:
    assert regex_doubts(r"Exten: \d+") and regex_doubts(r"(?i)hangup")
    assert regex_doubts("Event: (Hangup|Newchannel)") == []
