"""AMIClient against the real recorded Asterisk transcripts, replayed on loopback.

The replay server (tests/replay.py) compares what the client sends with the
recording by meaning and maps the recorded ActionIDs to the client's; at
teardown the ``replay`` fixture fails the test on any mismatch or on a
transcript not played to its end.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from replay import SECRETS, ReplayServer, load_transcript, parse_pairs, recorded_actions

from amishell import AMIClient, Message
from amishell.protocol import Framer, parse_frame

T = 5.0
MANUFACTURED = ("Timed out waiting for response", "Not connected to Asterisk!")


def client_for(server: ReplayServer, username: str = "admin", **kw: Any) -> AMIClient:
    kw.setdefault("timeout", T)
    return AMIClient(username, SECRETS.get(username, "wrong"), server.hostport, **kw)


def recorded_stream(name: str) -> list[Message]:
    """Everything the server sent in a recording, as messages."""
    data = "".join(e.data for e in load_transcript(name) if e.dir == "recv").encode("utf-8")
    framer = Framer(greeting=True)
    return [parse_frame(frame) for frame in framer.feed(data)]


def recorded_replies(name: str) -> dict[str, Message]:
    """The recorded response to each recorded ActionID, with its list collected."""
    replies: dict[str, Message] = {}
    lists: dict[str, Message] = {}
    for msg in recorded_stream(name):
        aid = msg.action_id
        if aid is None:
            continue
        if msg.is_response and aid not in replies:
            replies[aid] = msg
            if msg.is_list_start:
                lists[aid] = msg
        elif msg.is_event and aid in lists:
            if msg.is_list_complete:
                lists.pop(aid).complete = msg
            else:
                lists[aid].events.append(msg)
    return replies


def recorded_events(name: str) -> list[Message]:
    """The events of a recording that are not items of an event list."""
    lists = {m.action_id for m in recorded_stream(name) if m.is_response and m.is_list_start}
    return [m for m in recorded_stream(name) if m.is_event and m.action_id not in lists]


def without_id(msg: Message) -> list[tuple[str, str]]:
    return [(k, v) for k, v in msg.headers if k != "ActionID"]


def sent_messages(server: ReplayServer) -> list[Message]:
    return [Message(pairs) for pairs in server.messages]


# ------------------------------------------------------------------- logins


def test_plain_login_ping_logoff(replay: Callable[..., ReplayServer]) -> None:
    server = replay("login_ping_logoff")
    client = client_for(server)
    assert client.connect() is True, client.error
    assert client.greeting == "Asterisk Call Manager/13.0.0"
    assert client.ping() is not None
    assert client.disconnect() is True
    assert client.error is None
    assert b"Secret: s3cret-admin" in server.sent  # plain login does send it
    assert [(m["Action"], m["ActionID"]) for m in sent_messages(server)] == [
        ("Login", "1"), ("Ping", "2"), ("Logoff", "3"),
    ]
    # no callback: the login events were queued, in order
    events = [client.read_response(timeout=0) for _ in range(2)]
    assert [e["Event"] for e in events if e is not None] == ["FullyBooted", "SuccessfulAuth"]


def test_md5_login_keeps_the_secret_off_the_wire(replay: Callable[..., ReplayServer]) -> None:
    server = replay("challenge_md5")
    client = client_for(server, auth="md5")
    assert client.connect() is True, client.error
    assert client.action(Action="Ping")["Ping"] == "Pong"
    assert client.disconnect()
    sent = sent_messages(server)
    assert [(m["Action"], m["ActionID"]) for m in sent] == [
        ("Challenge", "1"), ("Login", "2"), ("Ping", "3"), ("Logoff", "4"),
    ]
    assert sent[1]["Key"] == hashlib.md5(b"757475512s3cret-admin").hexdigest()
    assert b"s3cret-admin" not in server.sent
    assert b"Secret" not in server.sent


@pytest.mark.parametrize(
    ("name", "username", "secret", "auth"),
    [
        ("login_failed", "admin", "wrong", "plain"),
        ("login_unknown_user", "nobody", "x", "plain"),
        ("acl_denied", "restricted", "r3stricted", "plain"),
        ("challenge_md5_bad", "admin", "not-the-secret", "md5"),
    ],
)
def test_failed_login_wording(
    replay: Callable[..., ReplayServer], name: str, username: str, secret: str, auth: str
) -> None:
    server = replay(name)
    client = AMIClient(username, secret, server.hostport, timeout=T, auth=auth)
    assert client.connect() is False
    assert client.error == "Login failed: Authentication failed"
    assert not client.connected
    assert client.action(Action="Ping")["Message"] == "Not connected to Asterisk!"
    if auth == "md5":
        assert secret.encode() not in server.sent


def test_permission_denied_is_a_reply_not_an_error(replay: Callable[..., ReplayServer]) -> None:
    server = replay("permission_monitor")
    client = client_for(server, "monitor")
    assert client.connect(), client.error
    reply = client.action(Action="Originate", Channel="Local/100@demo", Application="Wait",
                          Data="1")
    assert reply.is_error
    assert reply.headers == [("Response", "Error"), ("ActionID", "2"),
                             ("Message", "Permission denied")]
    command = client.action(Action="Command", Command="core show version")
    assert command["Message"] == "Permission denied" and command["ActionID"] == "3"
    assert client.error is None
    assert client.action(Action="Ping")["Ping"] == "Pong"
    assert client.disconnect()


# --------------------------------------------------------------- event lists


def check_list(reply: Message, item: str, complete: str, channels: list[str] | None = None
               ) -> None:
    assert reply["Response"] == "Success" and reply.is_list_start
    assert all(e["Event"] == item and e["ActionID"] == reply["ActionID"] for e in reply.events)
    assert reply.complete is not None
    assert reply.complete["Event"] == complete
    assert reply.complete["EventList"] == "Complete"
    assert reply.complete["ActionID"] == reply["ActionID"]
    assert int(reply.complete["ListItems"]) == len(reply.events)
    if channels is not None:
        assert [e["Channel"] for e in reply.events] == channels


def test_event_lists_and_events_to_the_callback(replay: Callable[..., ReplayServer]) -> None:
    server = replay("originate_events")
    seen: list[Message] = []
    client = client_for(server, event_callback=seen.append)
    assert client.connect(), client.error
    originate = client.action(
        Action="Originate", Channel="Local/100@demo", Context="demo", Exten="200",
        Priority="1", Async="true", CallerID='"Alice" <1001>', Variable=["A=1", "B=two"],
    )
    assert originate["Message"] == "Originate successfully queued"
    recorded = recorded_replies("originate_events")
    channels = client.action(Action="CoreShowChannels")
    check_list(channels, "CoreShowChannel", "CoreShowChannelsComplete",
               [e["Channel"] for e in recorded["3"].events])
    assert len(channels.events) == 4
    status = client.action(Action="Status")
    check_list(status, "Status", "StatusComplete",
               [e["Channel"] for e in recorded["4"].events])
    assert status.complete is not None and status.complete["Items"] == "4"
    assert client.disconnect()
    # the repeated Variable headers went out in order (the replay compares them too)
    sent = sent_messages(server)[1]
    assert sent.getall("Variable") == ["A=1", "B=two"]
    assert sent["CallerID"] == '"Alice" <1001>'
    # every event reached the callback, in order, and no list item did
    expected = recorded_events("originate_events")
    assert [e.headers for e in seen] == [e.headers for e in expected]
    assert not any(e.get("Event") in ("CoreShowChannel", "Status") for e in seen)


def test_live_calls_lists(replay: Callable[..., ReplayServer]) -> None:
    server = replay("live_calls")
    client = client_for(server, events="off")
    assert client.connect(), client.error
    for n, caller in enumerate(['"Bob 0" <200>', '"Bob 1" <201>']):
        reply = client.action(Action="Originate", Channel="Local/400@demo", Context="demo",
                              Exten="400", Priority="1", Async="true", CallerID=caller)
        assert reply["ActionID"] == str(n + 2)
    client.action(Action="Originate", Channel="Local/300@demo", Application="Wait", Data="20",
                  Async="true")
    recorded = recorded_replies("live_calls")
    check_list(client.action(Action="CoreShowChannels"), "CoreShowChannel",
               "CoreShowChannelsComplete", [e["Channel"] for e in recorded["csc"].events])
    table = client.action(Action="Command", Command="core show channels")
    assert table.output == recorded["cli1"].output and table.output[0].startswith("Channel")
    concise = client.action(Action="Command", Command="core show channels concise")
    assert len(concise.output) == 8 and all("!" in line for line in concise.output)
    check_list(client.action(Action="Status"), "Status", "StatusComplete",
               [e["Channel"] for e in recorded["st"].events])
    one = client.action(Action="Status", Channel="Local/400@demo-00001753;1", Variables="FOO")
    check_list(one, "Status", "StatusComplete", ["Local/400@demo-00001753;1"])
    check_list(client.action(Action="BridgeList"), "", "BridgeListComplete", [])
    queue = client.action(Action="QueueStatus", Queue="support")
    assert [e["Event"] for e in queue.events] == ["QueueParams", "QueueMember"]
    assert queue.complete is not None and queue.complete["ListItems"] == "2"
    assert client.action(Action="Setvar", Channel="Local/400@demo-00001753;1", Variable="MYVAR",
                         Value="x y")["Message"] == "Variable Set"
    got = client.action(Action="Getvar", Channel="Local/400@demo-00001753;1", Variable="MYVAR")
    assert (got["Variable"], got["Value"]) == ("MYVAR", "x y")
    assert client.action(Action="Events", EventMask="call")["Events"] == "On"
    client.action(Action="Redirect", Channel="Local/400@demo-00001753;1", Context="demo",
                  Exten="100", Priority="1")
    assert client.action(Action="Hangup", Channel="Local/400@demo-00001754;1")[
        "Message"] == "Channel Hungup"
    check_list(client.action(Action="Hangup", Channel="/^Local/.*$/"), "",
               "ChannelsHungupListComplete", [])
    assert client.disconnect()
    assert client.error is None
    # no callback: the events stay queued after disconnect, then "Not connected"
    expected = recorded_events("live_calls")
    later = [client.read_response(timeout=0) for _ in expected]
    assert [m["Event"] for m in later if m is not None] == [m["Event"] for m in expected]
    end = client.read_response(timeout=0)
    assert end is not None and end["Message"] == "Not connected to Asterisk!"


# ----------------------------------------------------------- Command output


def test_command_output_new_style(replay: Callable[..., ReplayServer]) -> None:
    server = replay("command_output")
    client = client_for(server, events="off")
    assert client.connect(), client.error
    version = client.action(Action="Command", Command="core show version")
    assert version["Message"] == "Command output follows"
    assert len(version.output) == 1 and version.output[0].startswith("Asterisk GIT-master")
    uptime = client.action(Action="Command", Command="core show uptime")
    assert uptime.output[0].startswith("System uptime:")
    plan = client.action(Action="Command", Command="dialplan show demo")
    assert plan.output[0] == "[ Context 'demo' created by 'pbx_config' ]"
    assert plan.output[1].startswith("  '100' =>          1. Answer()")  # indentation kept
    assert "" in plan.output
    assert plan.output[-1] == "-= 6 extensions (18 priorities) in 1 context. =-"
    assert any("Key: ä-unicode" in line for line in plan.output)
    unknown = client.action(Action="Command", Command="no such command here")
    assert unknown.is_error and unknown.output[0].startswith("No such command")
    matches = client.action(Action="Command", Command='_command matchesarray "core show ch" "ch"')
    assert matches.output == ["channel channel channels channeltype channeltypes _EOF_"]
    for command in ('_command matchesarray "pjsip sh" "sh"', '_command matchesarray "" ""',
                    "manager show command Originate",
                    "manager show command CoreShowChannels",
                    "manager show command NoSuchAction"):
        reply = client.action(Action="Command", Command=command)
        assert reply["Response"] == "Success"
    assert client.action(Action="Command")["Message"] == "No command provided"
    assert client.error is None
    assert client.disconnect()


# ------------------------------------------------- every recorded action in turn

DRIVEN = [
    "login_ping_logoff", "challenge_md5", "permission_monitor", "list_commands",
    "command_output", "errors", "originate_events", "originate_sync_fail", "events_filter",
    "live_calls", "manager_show_all", "call_storm",
]


@pytest.mark.parametrize("name", DRIVEN)
def test_every_recorded_action_gets_its_recorded_reply(
    replay: Callable[..., ReplayServer], name: str
) -> None:
    actions = recorded_actions(name)
    auth = "md5" if actions[0]["Action"] == "Challenge" else "plain"
    login = actions[1] if auth == "md5" else actions[0]
    body = actions[2:] if auth == "md5" else actions[1:]
    assert body[-1]["Action"] == "Logoff"
    body = body[:-1]
    no_action = [i for i, m in enumerate(body) if m.value("Action") is None]
    first = 2 if auth == "md5" else 1
    server = replay(name, skip=[first + i for i in no_action])
    seen: list[Message] = []
    client = client_for(server, login["Username"], auth=auth, events=login.value("Events"),
                        event_callback=seen.append)
    assert client.connect(), client.error
    recorded = recorded_replies(name)
    recorded_ids = [
        Message(parse_pairs(e.data)).value("ActionID")
        for e in load_transcript(name) if e.dir == "send"
    ][first:]
    for i, request in enumerate(body):
        if i in no_action:
            with pytest.raises(ValueError, match="Action"):
                client.action(request.headers)
            continue
        reply = client.action(request.headers)
        assert reply.value("Message") not in MANUFACTURED, (i, request)
        want = recorded[recorded_ids[i] or ""]
        assert without_id(reply) == without_id(want), (i, request)
        assert reply.action_id is not None and int(reply.action_id) > 0
        assert [without_id(e) for e in reply.events] == [without_id(e) for e in want.events]
        if want.complete is not None:
            assert reply.complete is not None
            assert int(reply.complete["ListItems"]) == len(reply.events)
    assert client.error is None  # server errors never set it
    assert client.disconnect() is True
    expected = recorded_events(name)
    assert [e.name for e in seen] == [e.name for e in expected]
    assert client.events_received == len(expected)


# -------------------------------------------- failures in the middle of a session


def test_connection_dropped_mid_wait(replay: Callable[..., ReplayServer]) -> None:
    server = replay("live_calls", close_after=5, partial=True)
    client = client_for(server, events="off", timeout=30.0)
    assert client.connect(), client.error
    for caller in ('"Bob 0" <200>', '"Bob 1" <201>'):
        client.action(Action="Originate", Channel="Local/400@demo", Context="demo",
                      Exten="400", Priority="1", Async="true", CallerID=caller)
    client.action(Action="Originate", Channel="Local/300@demo", Application="Wait", Data="20",
                  Async="true")
    result: list[Message] = []
    waiter = threading.Thread(target=lambda: result.append(
        client.action(Action="CoreShowChannels")))
    waiter.start()
    waiter.join(timeout=2.0)  # the server closes instead of answering: far inside 30 s
    assert not waiter.is_alive()
    assert result[0].is_error
    assert result[0]["Message"].startswith("Reading from socket failed: ")
    assert client.error == result[0]["Message"]
    assert not client.connected


def test_silent_server_times_out(replay: Callable[..., ReplayServer]) -> None:
    server = replay("login_ping_logoff", silent_after=2, partial=True)
    client = client_for(server, timeout=0.3)
    assert client.connect(), client.error
    reply = client.action(Action="Ping")
    assert reply.headers == [("Response", "Error"), ("ActionID", "2"),
                             ("Message", "Timed out waiting for response")]
    assert client.error == "Timed out waiting for response"
    client.close()


def test_ipv6_replay(replay: Callable[..., ReplayServer]) -> None:
    try:
        server = replay("login_ping_logoff", host="::1")
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")
    client = AMIClient("admin", SECRETS["admin"], "::1", server.port, timeout=T)
    assert client.connect(), client.error
    assert client.ping() is not None
    assert client.disconnect()
