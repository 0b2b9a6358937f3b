"""The transcript replay server, driven by a raw socket."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable

import pytest
from replay import ReplayServer, load_transcript, recorded_actions

from amishell.message import Message
from amishell.protocol import NEED_DATA, Greeting, Parser

SECRET = "s3cret-admin"
LOGIN = f"Action: Login\r\nUsername: admin\r\nSecret: {SECRET}\r\nActionID: 1\r\n\r\n"


class RawClient:
    """A bare AMI client: bytes out, parsed messages in."""

    def __init__(self, server: ReplayServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=3)
        self.parser = Parser()
        self.pending: list[Message] = []
        self.greeting = ""
        self.eof = False

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def _fill(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        if not data:
            self.eof = True
            return False
        self.parser.feed(data)
        while (event := self.parser.next_event()) is not NEED_DATA:
            if isinstance(event, Greeting):
                self.greeting = str(event)
            elif isinstance(event, Message):
                self.pending.append(event)
        return True

    def read(self, count: int = 1, timeout: float = 3.0) -> list[Message]:
        """The next ``count`` messages (after the greeting)."""
        deadline = time.monotonic() + timeout
        while (len(self.pending) < count or not self.greeting) and not self.eof:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; got {self.pending}"
            self._fill(remaining)
        out, self.pending = self.pending[:count], self.pending[count:]
        return out

    def read_until_eof(self, timeout: float = 3.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while not self.eof:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the server did not close the connection"
            self._fill(remaining)
        out, self.pending = self.pending, []
        return out

    def silent_for(self, seconds: float) -> bool:
        """True when nothing arrives (and the connection stays open) for ``seconds``."""
        return not self._fill(seconds) and not self.eof and not self.pending

    def close(self) -> None:
        self.sock.close()


Replay = Callable[..., ReplayServer]


def test_login_ping_logoff_by_meaning(replay: Replay) -> None:
    server = replay("login_ping_logoff")
    client = RawClient(server)
    # Other header order, other ActionIDs, other key case, no space after a colon.
    client.send(f"action: login\r\nActionID: a-7\r\nSecret:{SECRET}\r\nUSERNAME: admin\r\n\r\n")
    login, booted, auth = client.read(3)
    assert client.greeting == "Asterisk Call Manager/13.0.0"
    assert login == {
        "Response": "Success",
        "ActionID": "a-7",
        "Message": "Authentication accepted",
    }
    assert booted.name == "FullyBooted" and auth.name == "SuccessfulAuth"
    client.send("Action: Ping\nActionID: 99\n\n")  # bare newlines
    (pong,) = client.read()
    assert pong["ActionID"] == "99" and pong["Ping"] == "Pong"
    client.send("Action: Logoff\r\nActionID: 100\r\n\r\n")
    (bye,) = client.read_until_eof()  # Asterisk closes after Goodbye
    assert bye == {"Response": "Goodbye", "ActionID": "100", "Message": "Thanks for all the fish."}
    assert server.wait_complete()
    server.check()
    assert f"Secret:{SECRET}".encode() in server.sent
    assert [dict(m)["Action" if "Action" in dict(m) else "action"] for m in server.messages] == [
        "login",
        "Ping",
        "Logoff",
    ]


def test_a_wrong_secret_is_a_masked_mismatch_and_closes() -> None:
    with ReplayServer("login_ping_logoff") as server:
        client = RawClient(server)
        client.send("Action: Login\r\nUsername: admin\r\nSecret: hunter2\r\nActionID: 1\r\n\r\n")
        assert client.read_until_eof() == []
    assert len(server.errors) == 1
    assert "secret" in server.errors[0].lower()
    assert "hunter2" not in server.errors[0] and SECRET not in server.errors[0]
    with pytest.raises(AssertionError, match="differs"):
        server.check()


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("Action: Status\r\nActionID: 2\r\n\r\n", "Action: expected 'Ping', got 'Status'"),
        ("Action: Ping\r\nChannel: X\r\nActionID: 2\r\n\r\n", "unexpected channel"),
        ("ActionID: 2\r\n\r\n", "Action: expected 'Ping', got None"),
    ],
)
def test_mismatches_are_recorded(message: str, problem: str) -> None:
    with ReplayServer("login_ping_logoff") as server:
        client = RawClient(server)
        client.send(LOGIN)
        client.read(3)
        client.send(message)
        assert client.read_until_eof() == []  # no answer; the connection is closed
    assert len(server.errors) == 1 and problem in server.errors[0], server.errors


def test_header_values_and_repeated_key_order_matter(replay: Replay) -> None:
    server = replay("originate_events", partial=True)
    client = RawClient(server)
    client.send(LOGIN)
    client.read(3)
    client.send(
        "Action: Originate\r\nChannel: Local/100@demo\r\nContext: demo\r\nExten: 200\r\n"
        'Priority: 1\r\nAsync: true\r\nCallerID: "Alice" <1001>\r\n'
        "Variable: B=two\r\nVariable: A=1\r\nActionID: 2\r\n\r\n"
    )
    client.read_until_eof()
    assert server.errors and "variable: expected ['A=1', 'B=two']" in server.errors[0]
    server.errors.clear()


def test_event_list_items_carry_the_clients_action_id(replay: Replay) -> None:
    server = replay("originate_events", partial=True)
    client = RawClient(server)
    actions = recorded_actions("originate_events")
    assert actions[1]["Variable"] == ["A=1", "B=2".replace("2", "two")]
    client.send(LOGIN)
    client.read(3)
    originate = "".join(f"{k}: {v}\r\n" for k, v in actions[1].headers)
    client.send(originate + "ActionID: orig-1\r\n\r\n")
    client.send("Action: CoreShowChannels\r\nActionID: list-1\r\n\r\n")
    client.send("Action: Status\r\nActionID: 3\r\n\r\n")
    client.send("Action: Logoff\r\nActionID: 4\r\n\r\n")
    messages = client.read_until_eof()
    server.check()
    ids = {m.action_id for m in messages if m.action_id is not None}
    assert ids == {"orig-1", "list-1", "3", "4"}  # no recorded ActionID leaks through
    first = next(m for m in messages if m.action_id == "orig-1")
    assert first.is_response and first["Message"] == "Originate successfully queued"
    items = [m for m in messages if m.action_id == "list-1"]
    assert items[0].is_list_start
    assert items[-1].name == "CoreShowChannelsComplete"
    assert int(items[-1].value("ListItems") or -1) == len(items) - 2 > 0
    assert any(m.name == "OriginateResponse" and m.action_id == "orig-1" for m in messages)


def test_no_action_id_from_the_client_means_none_in_the_answer(replay: Replay) -> None:
    server = replay("login_ping_logoff")
    client = RawClient(server)
    client.send(LOGIN)
    client.read(3)
    client.send("Action: Ping\r\n\r\n")
    (pong,) = client.read()
    assert pong.action_id is None and pong["Ping"] == "Pong"
    client.send("Action: Logoff\r\nActionID: 3\r\n\r\n")
    client.read_until_eof()


def md5(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode()).hexdigest()


@pytest.mark.parametrize(
    ("name", "secret", "ok"),
    [
        ("challenge_md5", SECRET, True),
        ("challenge_md5", "wrong", False),
        ("challenge_md5_bad", "wrong", True),  # the recording's Key was wrong too
        ("challenge_md5_bad", SECRET, False),
    ],
)
def test_md5_login_checks_the_key_against_the_challenge(name: str, secret: str, ok: bool) -> None:
    with ReplayServer(name) as server:
        client = RawClient(server)
        client.send("Action: Challenge\r\nAuthType: MD5\r\nActionID: 10\r\n\r\n")
        (challenge,) = client.read()
        number = challenge.value("Challenge") or ""
        assert challenge.action_id == "10" and number.isdigit()
        key = md5(number, secret)
        client.send(
            "Action: Login\r\nAuthType: MD5\r\nUsername: admin\r\n"
            f"Key: {key}\r\nActionID: 11\r\n\r\n"
        )
        if not ok:
            assert client.read_until_eof() == []
            assert len(server.errors) == 1 and "Key" in server.errors[0]
            assert key not in server.errors[0]
            return
        (login, *_) = client.read()
        assert login.action_id == "11"
        if name == "challenge_md5":
            assert login["Message"] == "Authentication accepted"
            client.send("Action: Ping\r\nActionID: 12\r\n\r\n")
            client.read()
            client.send("Action: Logoff\r\nActionID: 13\r\n\r\n")
        else:
            assert login["Message"] == "Authentication failed"
        client.read_until_eof()
        assert server.wait_complete()
    server.check()
    assert SECRET.encode() not in server.sent and b"wrong" not in server.sent


def test_close_entry_closes_and_later_entries_are_dropped(replay: Replay) -> None:
    assert load_transcript("login_failed")[-1].dir == "close"
    server = replay("login_failed")
    client = RawClient(server)
    client.send("Action: Login\r\nUsername: admin\r\nSecret: wrong\r\nActionID: 1\r\n\r\n")
    (failed,) = client.read_until_eof()
    assert failed == {"Response": "Error", "ActionID": "1", "Message": "Authentication failed"}


def test_recorded_delays_kept_on_request() -> None:
    with ReplayServer("login_failed", speed=4.0) as server:
        client = RawClient(server)
        started = time.monotonic()
        client.send("Action: Login\r\nUsername: admin\r\nSecret: wrong\r\nActionID: 1\r\n\r\n")
        client.read_until_eof()
        assert time.monotonic() - started >= 0.2  # the recorded 1 s, four times faster
    server.check()


def test_close_after_and_silent_after() -> None:
    with ReplayServer("login_ping_logoff", close_after=2) as server:
        client = RawClient(server)
        client.send(LOGIN)
        client.read(3)
        client.send("Action: Ping\r\nActionID: 2\r\n\r\n")
        assert client.read_until_eof() == []
    server.check()
    with ReplayServer("login_ping_logoff", silent_after=2) as server:
        client = RawClient(server)
        client.send(LOGIN)
        client.read(3)
        client.send("Action: Ping\r\nActionID: 2\r\n\r\n")
        assert client.silent_for(0.3)
        client.send("Action: Ping\r\nActionID: 3\r\n\r\n")
        assert client.silent_for(0.1)
        client.close()
        assert server.wait_closed()
    server.check()
    assert len(server.messages) == 3


def test_hold_after_the_end_and_unexpected_messages() -> None:
    with ReplayServer("login_ping_logoff", skip=[2]) as server:  # without the Logoff
        client = RawClient(server)
        client.send(LOGIN)
        client.read(3)
        client.send("Action: Ping\r\nActionID: 2\r\n\r\n")
        client.read()
        assert server.wait_complete()
        assert client.silent_for(0.1)  # held open
        client.send("Action: Logoff\r\nActionID: 3\r\n\r\n")
        client.close()
        assert server.wait_closed()
    assert len(server.errors) == 1 and "after the end" in server.errors[0]


def test_skip_leaves_out_an_exchange() -> None:
    actions = recorded_actions("errors")
    assert "Action" not in actions[2]  # the message without an Action
    with ReplayServer("errors", skip=[2], partial=True) as server:
        client = RawClient(server)
        client.send(LOGIN.replace("\r\n\r\n", "\r\nEvents: off\r\n\r\n"))
        client.read(1)
        client.send("Action: NoSuchAction\r\nActionID: 2\r\n\r\n")
        client.read(1)
        client.send("Action: Getvar\r\nActionID: 4\r\n\r\n")
        (answer,) = client.read(1)
        assert answer["Message"] == "No variable specified" and answer.action_id == "4"
    server.check()


def test_client_timeout_is_an_error() -> None:
    with ReplayServer("login_ping_logoff", client_timeout=0.2) as server:
        client = RawClient(server)
        assert client.read_until_eof() == []
        assert client.greeting == "Asterisk Call Manager/13.0.0"
    assert len(server.errors) == 1 and "no message from the client" in server.errors[0]
    assert SECRET not in server.errors[0]


def test_incomplete_replay_fails_the_check_unless_partial() -> None:
    with ReplayServer("login_ping_logoff") as server:
        client = RawClient(server)
        client.send(LOGIN)
        client.read(3)
        client.close()
        assert server.wait_closed()
    assert server.errors == []
    with pytest.raises(AssertionError, match="not played to its end"):
        server.check()
    server.check(complete=False)
    with ReplayServer("login_ping_logoff") as server:
        pass
    with pytest.raises(AssertionError, match="no client connected"):
        server.check()


def test_every_connection_plays_the_transcript() -> None:
    with ReplayServer("login_failed") as server:
        for _ in range(2):
            client = RawClient(server)
            client.send("Action: Login\r\nUsername: admin\r\nSecret: wrong\r\nActionID: 1\r\n\r\n")
            (failed,) = client.read_until_eof()
            assert failed["Message"] == "Authentication failed"
            client.close()
    server.check()
    assert len(server.sessions) == 2


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = ReplayServer("login_failed", host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        assert server.hostport == f"[::1]:{server.port}"
        client = RawClient(server)
        client.send("Action: Login\r\nUsername: admin\r\nSecret: wrong\r\nActionID: 1\r\n\r\n")
        assert len(client.read_until_eof()) == 1
    server.check()


def test_stop_is_prompt_with_a_connected_client() -> None:
    server = ReplayServer("login_ping_logoff").start()
    client = RawClient(server)
    client.read(0)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.5
    assert server.wait_closed(0.5)
    client.close()
