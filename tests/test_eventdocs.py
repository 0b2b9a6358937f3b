"""The event catalogue and the parsers of what the server says about events,
users and settings, on the real server's answers (server_docs.jsonl)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from amishell.eventdocs import (
    load_offline_events,
    parse_event_doc,
    parse_event_list,
    parse_settings,
    parse_user,
)
from amishell.message import Message
from amishell.protocol import Parser

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "asterisk"


@pytest.fixture(scope="module")
def answers() -> dict[str, Message]:
    """The real server's answers in server_docs.jsonl, by ActionID."""
    parser = Parser(greeting=True)
    for line in (DATA / "server_docs.jsonl").read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "recv":
            parser.feed(chunk["data"].encode("utf-8"))
    return {str(m.value("ActionID")): m for m in parser.events() if isinstance(m, Message)}


def test_event_list(answers: dict[str, Message]) -> None:
    names = parse_event_list(answers["d0"].output)
    assert "Hangup" in names and "NewExten" in names and "AOC-D" in names
    assert "Events:" not in names and not any(n.startswith("-") for n in names)
    assert len(names) == len(set(names)) > 150


def test_event_doc(answers: dict[str, Message]) -> None:
    doc = parse_event_doc(answers["d1"].output)
    assert doc is not None and doc.name == "Hangup" and doc.since == "12.0.0"
    assert doc.synopsis  # the server's sentence, shown live, never stored
    assert doc.headers[:2] == ("Channel", "ChannelState") and "Cause-txt" in doc.headers
    assert "Event" not in doc.headers
    assert parse_event_doc(answers["d5"].output) is None  # Could not find event


def test_users_and_settings(answers: dict[str, Message]) -> None:
    assert parse_user(answers["d7"].output) == ("system", "call", "agent", "user", "reporting")
    admin = parse_user(answers["d6"].output)
    assert admin is not None and "all" in admin
    assert parse_user(["No such user"]) is None
    settings = parse_settings(answers["d9"].output)
    assert settings["disabled events"] == "" and settings["timestamp events"] == "No"
    assert settings["tcp bindaddress"] == "127.0.0.1:5038"


def test_offline_catalogue_names_headers_classes() -> None:
    events = load_offline_events()
    live = parse_event_list_from_fixture()
    for name in live:
        assert name in events  # every event the server lists
    newexten = events.get("NewExten")
    assert newexten is not None and newexten is events.get("newexten")
    assert "Application" in newexten.headers and newexten.classes == ("dialplan",)
    hangup = events.get("Hangup")
    assert hangup is not None and hangup.classes == ("call",) and "Cause" in hangup.headers
    assert events.get("NoSuchEvent") is None


def parse_event_list_from_fixture() -> list[str]:
    text = (DATA / "server_docs.jsonl").read_text("utf-8")
    assert "AgentCalled" in text
    parser = Parser(greeting=True)
    for line in text.splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "recv":
            parser.feed(chunk["data"].encode("utf-8"))
    msg = next(m for m in parser.events() if isinstance(m, Message) and m.value("ActionID") == "d0")
    return parse_event_list(msg.output)


def test_catalogue_holds_no_prose() -> None:
    text = (ROOT / "amishell" / "data" / "events.json").read_text("utf-8")
    assert "Raised when" not in text and "hung up" not in text


def test_event_catalogue_file_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_event_catalog", ROOT / "tools" / "make_event_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    text = tool.render(tool.build())
    assert (ROOT / "amishell" / "data" / "events.json").read_text("utf-8") == text
