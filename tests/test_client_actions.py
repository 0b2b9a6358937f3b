"""AMIClient: action()/send_action() arguments, read_response(), debug transcripts,
the context manager, both Command output formats."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from scripted import SECRET, USERNAME, Session, free_port, standard

from amishell import AMIClient, AMIError, Message
from amishell.protocol import LocalProtocolError

T = 2.0  # client timeout for tests that expect an answer


# ------------------------------------------------------------ action() args


def test_action_when_never_connected(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    reply = client.action(Action="Ping")
    assert isinstance(reply, Message)
    assert reply["Response"] == "Error"
    assert reply["Message"] == "Not connected to Asterisk!"
    assert client.error == "Not connected to Asterisk!"


def test_action_after_disconnect(pool) -> None:
    client = pool.client(pool.server())
    assert client.connect() and client.disconnect()
    reply = client.action({"Action": "Ping"})
    assert reply.is_error and reply["Message"] == "Not connected to Asterisk!"
    assert client.error == "Not connected to Asterisk!"


def test_send_action_when_not_connected(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    assert client.send_action(Action="Ping") is None
    assert client.error == "Not connected to Asterisk!"


@pytest.mark.parametrize("method", ["action", "send_action", "submit"])
@pytest.mark.parametrize(
    ("fields", "headers", "pattern"),
    [
        (None, {}, "^Required parameter 'Action' not defined$"),
        ({"Channel": "x"}, {}, "^Required parameter 'Action' not defined$"),
        (None, {"Action": ""}, "^Required parameter 'Action' not defined$"),
        (None, {"Action": "Ping", "ActionID": "42"}, "ActionID"),
        ({"Action": "Ping", "actionid": "42"}, {}, "ActionID"),
        ([("Action", "Ping"), ("ActionID", "1")], {}, "ActionID"),
    ],
)
def test_bad_arguments_raise_value_error(
    pool, method: str, fields: Any, headers: dict[str, str], pattern: str
) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    with pytest.raises(ValueError, match=pattern):
        getattr(client, method)(fields, **headers)
    assert client.action(Action="Ping")["ActionID"] == "2"  # nothing consumed, nothing sent
    assert server.actions() == ["Login", "Ping"]
    assert client.error is None


def test_bad_arguments_raise_even_when_not_connected(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    with pytest.raises(ValueError, match="Action"):
        client.action()
    with pytest.raises(ValueError, match="ActionID"):
        client.send_action(Action="Ping", ActionID="7")


@pytest.mark.parametrize("method", ["action", "send_action"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Action": "Setvar", "Variable": "X", "Value": "a\r\nAction: Hangup"},
        {"Action": "Setvar", "Variable": "X", "Value": "a\nb"},
        {"Action": "Setvar", "Variable": ["A=1", "B=2\r\nC=3"]},
        {"Action": "Ping\r\n"},
    ],
)
def test_value_with_a_newline_is_refused_and_nothing_sent(
    pool, method: str, headers: dict[str, Any]
) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    raw_before = server.raw
    with pytest.raises(ValueError):
        getattr(client, method)(headers)
    assert client.action(Action="Ping")["Ping"] == "Pong"
    assert server.actions() == ["Login", "Ping"]
    assert b"Hangup" not in server.raw and b"C=3" not in server.raw
    assert server.raw.startswith(raw_before)
    assert client.connected and client.error is None


def test_fields_mapping_and_keywords_combine_in_order(pool) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    client.action({"Action": "Originate", "Channel": "Local/100@demo"}, Async="true",
                  Variable=["A=1", "B=two", "C=3"])
    sent = server.received[-1]
    assert [k for k, _ in sent.headers] == [
        "Action", "Channel", "Async", "Variable", "Variable", "Variable", "ActionID",
    ]
    assert sent["Variable"] == ["A=1", "B=two", "C=3"]


def test_fields_as_pairs_repeat_keys_in_order(pool) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    assert client.send_action([("Action", "Originate"), ("Variable", "B=2"),
                               ("Channel", "Local/1@demo"), ("Variable", "A=1")]) == "2"
    assert server.wait_for(lambda: len(server.received) == 2)
    assert server.received[-1].headers == [
        ("Action", "Originate"), ("Variable", "B=2"), ("Channel", "Local/1@demo"),
        ("Variable", "A=1"), ("ActionID", "2"),
    ]


def test_server_error_response_does_not_set_error(pool) -> None:
    client = pool.client(pool.server())
    assert client.connect()
    reply = client.action(Action="NoSuchAction")
    assert reply.is_error
    assert reply["Message"].startswith("Invalid/unknown command: NoSuchAction.")
    assert reply["ActionID"] == "2"
    assert client.error is None
    assert client.connected


# ------------------------------------------------------------ read_response


def test_read_response_returns_messages_in_order(pool) -> None:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "UserEvent":
            session.send({"Event": "UserEvent", "UserEvent": msg["UserEvent"]})
            session.reply(msg, Response="Success", Message="Event Sent")
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    first = client.send_action(Action="Ping")
    second = client.send_action(Action="UserEvent", UserEvent="Hello")
    third = client.send_action(Action="NoSuchAction")
    got = [client.read_response(timeout=T) for _ in range(4)]
    assert [(m.name, m.action_id) for m in got if m is not None] == [
        ("Success", first),
        ("UserEvent", None),
        ("Success", second),
        ("Error", third),
    ]
    assert got[0]["Ping"] == "Pong"
    assert client.error is None


def test_read_response_without_timeout_blocks_until_a_message(pool) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    got: list[Message | None] = []
    reader = threading.Thread(target=lambda: got.append(client.read_response()))
    reader.start()
    reader.join(timeout=0.1)
    assert reader.is_alive() and got == []
    server.sessions[0].send([("Event", "Reload"), ("Module", "manager")])
    reader.join(timeout=T)
    assert not reader.is_alive()
    assert got[0] is not None and got[0]["Event"] == "Reload"


def test_queue_bound_drops_and_counts_events(pool) -> None:
    def flood(session: Session, msg: Message) -> None:
        standard(session, msg)
        if msg.value("Action") == "Login":
            for n in range(200):
                session.send([("Event", "VarSet"), ("Variable", "N"), ("Value", str(n))])

    client = pool.client(pool.server(flood), max_queue_bytes=2000)
    assert client.connect()
    assert client.action(Action="Ping")["Ping"] == "Pong"  # responses are never dropped
    assert client.dropped_events > 0
    kept = []
    while (msg := client.read_response(timeout=0.05)) is not None:
        kept.append(msg)
    assert 0 < len(kept) < 200
    assert len(kept) + client.dropped_events == 200
    values = [int(m["Value"]) for m in kept]
    assert values == sorted(values)


def test_read_response_timeout_returns_none(pool) -> None:
    client = pool.client(pool.server())
    assert client.connect()
    start = time.monotonic()
    assert client.read_response(timeout=0.2) is None
    assert time.monotonic() - start >= 0.19
    assert client.connected and client.error is None


def test_read_response_not_connected(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    reply = client.read_response(timeout=0.1)
    assert reply is not None and reply.is_error
    assert reply["Message"] == "Not connected to Asterisk!"
    assert client.error == "Not connected to Asterisk!"


def test_read_response_on_dead_connection(pool) -> None:
    server = pool.server()
    client = pool.client(server, timeout=30.0)
    assert client.connect()
    result: list[Message | None] = []
    reader = threading.Thread(target=lambda: result.append(client.read_response()))
    reader.start()
    time.sleep(0.05)
    server.drop()
    reader.join(timeout=2.0)
    assert not reader.is_alive()
    assert result[0] is not None and result[0].is_error
    assert result[0]["Message"].startswith("Reading from socket failed: ")
    assert client.error == result[0]["Message"]
    assert not client.connected


# -------------------------------------------------------------- transcripts


def test_debug_transcript_masks_secret(pool) -> None:
    out = io.StringIO()
    client = pool.client(pool.server(), debug_file=out)
    assert client.connect()
    client.action(Action="Ping")
    client.action(Action="Setvar", Variable="PASS", Value="x", Secret="second-secret")
    assert client.disconnect()
    client.flush_debug()
    text = out.getvalue()
    lines = text.splitlines()
    assert "<< Asterisk Call Manager/13.0.0" in lines
    assert ">> Action: Login" in lines
    assert f">> Username: {USERNAME}" in lines
    assert ">> Secret: ********" in lines
    assert "<< Response: Success" in lines
    assert "<< Message: Authentication accepted" in lines
    assert ">> Action: Ping" in lines and "<< Ping: Pong" in lines
    assert ">> Action: Logoff" in lines and "<< Response: Goodbye" in lines
    assert SECRET not in text and "second-secret" not in text
    assert all(line.startswith((">> ", "<< ")) or line in (">>", "<<") for line in lines)


def test_debug_transcript_masks_md5_key(pool) -> None:
    out = io.StringIO()
    server = pool.server()
    client = pool.client(server, debug_file=out, auth="md5")
    assert client.connect()
    client.flush_debug()
    text = out.getvalue()
    assert ">> Action: Challenge" in text
    assert "<< Challenge: 757475512" in text
    assert ">> Key: ********" in text
    assert SECRET not in text
    assert server.received[1]["Key"] not in text




def test_debug_true_writes_to_stderr(pool, capsys) -> None:
    client = pool.client(pool.server(), debug=True)
    assert client.connect()
    client.flush_debug()
    err = capsys.readouterr().err
    assert ">> Action: Login" in err and ">> Secret: ********" in err
    assert SECRET not in err


def test_debug_file_wins_over_debug(pool, capsys) -> None:
    out = io.StringIO()
    client = pool.client(pool.server(), debug=True, debug_file=out)
    assert client.connect()
    client.flush_debug()
    assert ">> Action: Login" in out.getvalue()
    assert capsys.readouterr().err == ""


def test_no_transcript_by_default(pool, capsys) -> None:
    client = pool.client(pool.server())
    assert client.connect()
    client.action(Action="Ping")
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------- context manager


def test_context_manager_connects_and_logs_off(pool) -> None:
    server = pool.server()
    with AMIClient(USERNAME, SECRET, server.hostport, timeout=T) as ami:
        assert ami.connected
        assert ami.action(Action="Ping")["Ping"] == "Pong"
    assert not ami.connected
    assert server.actions() == ["Login", "Ping", "Logoff"]


def test_context_manager_logs_off_after_an_exception(pool) -> None:
    server = pool.server()
    with pytest.raises(KeyError):
        with AMIClient(USERNAME, SECRET, server.hostport, timeout=T):
            raise KeyError("boom")
    assert server.wait_for(lambda: server.actions() == ["Login", "Logoff"])


def test_context_manager_raises_ami_error(pool) -> None:
    server = pool.server()
    with pytest.raises(AMIError, match="^Login failed: Authentication failed$"):
        with AMIClient(USERNAME, "wrong", server.hostport, timeout=T):
            pytest.fail("entered the block")
    with pytest.raises(AMIError, match="^Connection failed: "):
        with AMIClient(USERNAME, SECRET, f"127.0.0.1:{free_port()}", timeout=T):
            pytest.fail("entered the block")


# ---------------------------------------------------------- Command formats

LEGACY = (
    b"Response: Follows\r\n"
    b"Privilege: Command\r\n"
    b"ActionID: %s\r\n"
    b"Channel              Location             State   Application(Data)\n"
    b"\n"
    b"0 active channels\n"
    b"1 call processed at 09:40:17\n"
    b"--END COMMAND--\r\n"
    b"\r\n"
)
OUTPUT = [
    "Channel              Location             State   Application(Data)",
    "",
    "0 active channels",
    "1 call processed at 09:40:17",
]


def commands(legacy: bool) -> Callable[[Session, Message], None]:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") != "Command":
            standard(session, msg)
        elif legacy:
            # the output and an event after it arrive in one write
            session.send(LEGACY % msg["ActionID"].encode() + b"Event: Reload\r\nModule: x\r\n\r\n")
        else:
            session.reply(msg, Response="Success", Message="Command output follows",
                          Output=OUTPUT)

    return handler


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "new"])
def test_command_output_both_formats(pool, legacy: bool) -> None:
    client = pool.client(pool.server(commands(legacy)))
    assert client.connect()
    reply = client.action(Action="Command", Command="core show channels")
    assert reply["Response"] == ("Follows" if legacy else "Success")
    assert reply["ActionID"] == "2"
    assert reply.output == OUTPUT
    assert client.action(Action="Ping")["Ping"] == "Pong"
    if legacy:
        late = client.read_response(timeout=T)
        assert late is not None and late["Event"] == "Reload"


def test_an_action_sent_again_is_sent_the_same_and_values_keep_their_type(pool) -> None:
    sent: list[bytes] = []

    class Observer:
        def opened(self, address: str) -> None:
            pass

        def sent(self, data: bytes) -> None:
            sent.append(data)

        def received(self, data: bytes) -> None:
            pass

        def closed(self) -> None:
            pass

    client = pool.client(pool.server(), wire_observer=Observer())
    assert client.connect()
    setvar = [("Action", "Setvar"), ("Variable", "V"), ("Value", "1")]
    client.action(setvar)
    client.action(setvar)
    first, second = sent[-2:]
    assert first == b"Action: Setvar\r\nVariable: V\r\nValue: 1\r\nActionID: 2\r\n\r\n"
    assert second == first.replace(b"ActionID: 2", b"ActionID: 3")
    # 1 == True == 1.0 as dict keys, but each has its own spelling on the wire.
    for value, spelt in ((True, b"true"), (1.0, b"1.0"), (1, b"1")):
        client.action([("Action", "Setvar"), ("Variable", "V"), ("Value", value)])
        assert b"Value: %s\r\n" % spelt in sent[-1]
    with pytest.raises(LocalProtocolError):
        client.action([("Action", "Setvar"), ("Value", "a\r\nAction: Hangup")])
    assert b"Hangup" not in b"".join(sent)


@pytest.mark.parametrize(
    "stray",
    [
        b"Response: Success\r\nMessage: no ActionID\r\n\r\n",
        b"Response: Success\r\nActionID: 99999\r\nMessage: another action's\r\n\r\n",
        b"Response: Success\r\nActionID: \r\nMessage: empty ActionID\r\n\r\n",
    ],
)
def test_a_response_read_alone_is_ours_only_by_its_actionid(pool, stray: bytes) -> None:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Status":
            session.send(stray)
            time.sleep(0.05)  # a read of its own
            session.reply(msg, Response="Success", Message="yours")
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    for _ in range(2):  # new, then sent again (its bytes known: a shorter way)
        assert client.action(Action="Status")["Message"] == "yours"
        left = client.read_response(timeout=1.0)
        assert left is not None and left["Message"] == stray.split(b"Message: ")[1][:-4].decode()


CHANNEL = "PJSIP/100-00000001"


def test_a_list_started_in_lower_case_is_still_collected(pool) -> None:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Status":
            aid = msg.value("ActionID")
            session.reply(msg, Response="Success", eventlist="start", Message="listing")
            # Events name themselves first, as Asterisk's do.
            session.send([("Event", "Status"), ("ActionID", aid), ("Channel", CHANNEL)])
            complete = [("Event", "StatusComplete"), ("ActionID", aid), ("eventlist", "Complete")]
            session.send(complete)
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    reply = client.action(Action="Status")
    assert [e["Channel"] for e in reply.events] == [CHANNEL]
    assert reply.complete is not None and reply.complete["Event"] == "StatusComplete"
