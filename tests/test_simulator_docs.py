"""The simulator answers what the real server documents about itself
(server_docs.jsonl) and its Filter action as the real one does
(filters_advanced.jsonl, filter_monitor.jsonl)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from amishell.client import AMIClient
from amishell.eventdocs import (
    load_offline_events,
    parse_event_doc,
    parse_event_list,
    parse_settings,
    parse_user,
)
from amishell.message import Message
from amishell.protocol import Parser
from amishell.simulator import Simulator

DATA = Path(__file__).parent / "data" / "asterisk"


def _recorded(name: str) -> tuple[list[Message], dict[str, Message]]:
    sent, got = Parser(), Parser(greeting=True)
    for line in (DATA / f"{name}.jsonl").read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] in ("send", "recv"):
            (sent if chunk["dir"] == "send" else got).feed(chunk["data"].encode("utf-8"))
    answers = {str(m.value("ActionID")): m for m in got.events()
               if isinstance(m, Message) and m.value("Response")}
    return [m for m in sent.events() if isinstance(m, Message)], answers


@pytest.fixture
def admin(sim: Simulator) -> Callable[[str], Message]:
    client = AMIClient("admin", "s3cret-admin", *sim.address, timeout=2)
    assert client.connect()

    def command(line: str) -> Message:
        return client.action({"Action": "Command", "Command": line})

    yield command  # type: ignore[misc]
    client.close()


def test_commands_answer_like_the_real_server(admin: Callable[[str], Message]) -> None:
    _, real = _recorded("server_docs")
    for action_id, line in (("d0", "manager show events"), ("d1", "manager show event Hangup"),
                            ("d5", "manager show event NoSuchEvent"),
                            ("d7", "manager show user monitor"), ("d8", "manager show users"),
                            ("d9", "manager show settings")):
        ours = admin(line)
        assert ours.value("Response") == real[action_id].value("Response"), line
    names = parse_event_list(admin("manager show events").output)
    assert set(parse_event_list(real["d0"].output)) <= set(names)
    doc = parse_event_doc(admin("manager show event Hangup").output)
    real_doc = parse_event_doc(real["d1"].output)
    assert doc is not None and real_doc is not None
    assert doc.name == "Hangup" and doc.headers == real_doc.headers
    assert doc.synopsis and doc.synopsis != real_doc.synopsis  # its own words
    assert admin("manager show event NoSuchEvent").output == real["d5"].output
    assert parse_user(admin("manager show user monitor").output) == parse_user(real["d7"].output)
    assert parse_user(admin("manager show user admin").output) == parse_user(real["d6"].output)
    users = admin("manager show users").output
    assert users[:3] == real["d8"].output[:3] and users[-1].endswith("manager users configured.")
    settings = parse_settings(admin("manager show settings").output)
    real_settings = parse_settings(real["d9"].output)
    for key in ("disabled events", "timestamp events", "manager (ami)", "allow multiple login"):
        assert settings[key] == real_settings[key], key


def test_completions_like_the_real_server(admin: Callable[[str], Message]) -> None:
    _, real = _recorded("server_docs")
    for action_id, line in (("m1", '"manager show event " ""'),
                            ("m2", '"manager show event Queue" "Queue"'),
                            ("m3", '"manager show user " ""')):
        ours = admin(f"_command matchesarray {line}").output[0].split()
        theirs = real[action_id].output[0].split()
        assert ours[-1] == theirs[-1] == "_EOF_"
        if action_id == "m2":
            assert ours[0] == theirs[0] == "Queue"  # the common prefix first
        assert set(theirs) - {"restricted"} <= set(ours), action_id


def test_disabled_events_are_never_sent(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(disabled_events=["SuccessfulAuth"])
    got: list[str] = []
    client = AMIClient("admin", "s3cret-admin", *sim.address, timeout=2,
                       event_callback=lambda m: got.append(m.value("Event") or ""))
    assert client.connect()
    try:
        reply = client.action({"Action": "Command", "Command": "manager show settings"})
        assert parse_settings(reply.output)["disabled events"] == "successfulauth"
        assert client.ping() is not None
        assert "FullyBooted" in got and "SuccessfulAuth" not in got
    finally:
        client.close()


def test_filter_action_answers_like_the_real_server(sim: Simulator) -> None:
    sent, real = _recorded("filters_advanced")
    client = AMIClient("admin", "s3cret-admin", *sim.address, timeout=2)
    assert client.connect()
    try:
        for action in sent:
            if action.value("Action") != "Filter":
                continue
            fields = [(k, v) for k, v in action.headers if k != "ActionID"]
            ours = client.action(fields)
            theirs = real[str(action.value("ActionID"))]
            assert (ours.value("Response"), ours.value("Message")) == (
                theirs.value("Response"), theirs.value("Message")), fields
    finally:
        client.close()


def test_monitor_may_filter_but_not_ask(sim: Simulator) -> None:
    _, real = _recorded("filter_monitor")
    client = AMIClient("monitor", "m0nitor", *sim.address, timeout=2)
    assert client.connect()
    try:
        ok = client.action({"Action": "Filter", "Operation": "Add", "Filter": "Event: Hangup"})
        assert ok.value("Response") == real["2"].value("Response") == "Success"
        denied = client.action({"Action": "Command", "Command": "manager show events"})
        assert denied.value("Message") == real["3"].value("Message") == "Permission denied"
    finally:
        client.close()


def test_offline_catalogue_feeds_the_simulator() -> None:
    assert len(load_offline_events()) > 150
