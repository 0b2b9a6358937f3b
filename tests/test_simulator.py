"""The simulated PBX answers as the recorded real server does.

Most tests replay a transcript of ``tests/data/asterisk/``: they send the very
bytes the recording client sent and compare the simulator's messages, one by
one, with the recorded ones. Only values that differ from run to run are
normalised (:func:`norm`): ActionID-free timestamps and ages (Timestamp,
Uptime, LastReload, EventTV, SessionTV, Duration, Seconds), identities
(SessionID, Uniqueid, Linkedid and their prefixed forms, bridge ids, the
sequence number inside a channel name), addresses and ports, the MD5
challenge, and version, date and time strings where named. Response, Message,
header names and order, event names and list framing are compared as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from amishell.message import Message
from amishell.protocol import Greeting, Parser
from amishell.simulator import Faults, Simulator, User
from amishell.simulator.__main__ import parse_user
from amishell.simulator.dialplan import render_show

DATA = Path(__file__).parent / "data" / "asterisk"
ROOT = Path(__file__).resolve().parent.parent
SimFactory = Callable[..., Simulator]


# ---------------------------------------------------------------------------
# Transcripts


@dataclass
class Exchange:
    """What the recording client sent, and every message it got before its next send."""

    sent: bytes
    received: list[Message]
    closed: bool = False


def exchanges(name: str) -> list[Exchange]:
    """The transcript as exchanges; the first has ``sent == b""`` (greeting and after)."""
    parser = Parser()
    out = [Exchange(b"", [])]
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["dir"] == "send":
                out.append(Exchange(rec["data"].encode("utf-8"), []))
            elif rec["dir"] == "close":
                out[-1].closed = True
            else:
                parser.feed(rec["data"].encode("utf-8"))
                out[-1].received.extend(e for e in parser.events() if isinstance(e, Message))
    return out


_CHAN_SEQ = re.compile(r"-[0-9a-f]{8};")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VOLATILE = {
    "timestamp",
    "uptime",
    "lastreload",
    "eventtv",
    "sessiontv",
    "sessionid",
    "challenge",
    "duration",
    "seconds",
    "localaddress",
    "remoteaddress",
}


def norm(msg: Message, extra: Iterable[str] = ()) -> list[tuple[str, str]]:
    """A message's headers with the run-dependent values replaced by placeholders."""
    volatile = _VOLATILE | {k.lower() for k in extra}
    out = []
    timing_var = False
    for key, value in msg.headers:
        low = key.lower()
        if low in volatile or low.endswith(("uniqueid", "linkedid")):
            value = "<~>" if value else ""
        elif low == "value" and timing_var:
            value = "<ms>" if value else ""
        else:
            value = _UUID.sub("<bridge>", _CHAN_SEQ.sub("-N;", value))
        timing_var = low == "variable" and value.endswith("TIME_MS")
        out.append((key, value))
    return out


def assert_same(got: list[Message], expected: list[Message], extra: Iterable[str] = ()) -> None:
    """Message by message: same headers, in order, after :func:`norm`."""
    names = [m.name for m in got], [m.name for m in expected]
    assert len(got) == len(expected), f"message count differs: {names[0]} != {names[1]}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert norm(g, extra) == norm(e, extra), f"message {i} ({e.name}) differs"


# ---------------------------------------------------------------------------
# A raw client


class Raw:
    """A plain socket AMI client: send bytes, read parsed messages with deadlines."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        timeout: float = 5.0,
        context: ssl.SSLContext | None = None,
        greeting: bool = True,
    ) -> None:
        sock = socket.create_connection(address, timeout=timeout)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.timeout = timeout
        self.parser = Parser(greeting=greeting)
        self.pending: deque[Greeting | Message] = deque()
        self.eof = False
        self.raw = b""
        self.greeting: str | None = None
        if greeting:
            first = self._next(timeout)
            assert isinstance(first, Greeting), first
            self.greeting = str(first)

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode("utf-8") if isinstance(data, str) else data)

    def action(self, *lines: str) -> None:
        self.send("".join(f"{line}\r\n" for line in lines) + "\r\n")

    def _fill(self, deadline: float) -> bool:
        wait = deadline - time.monotonic()
        if wait <= 0 or self.eof:
            return False
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.raw += data
        self.parser.feed(data)
        self.pending.extend(e for e in self.parser.events() if not isinstance(e, Exception))
        return True

    def _next(self, timeout: float) -> Greeting | Message | None:
        deadline = time.monotonic() + timeout
        while not self.pending:
            if not self._fill(deadline) and (self.eof or time.monotonic() >= deadline):
                return None
        return self.pending.popleft()

    def read(self, count: int, timeout: float | None = None) -> list[Message]:
        """Exactly ``count`` messages (fails the test otherwise)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out: list[Message] = []
        while len(out) < count:
            m = self._next(max(deadline - time.monotonic(), 0.0))
            assert m is not None, f"got {len(out)} of {count}: ...{[x.name for x in out[-5:]]}"
            assert isinstance(m, Message)
            out.append(m)
        return out

    def read_until(
        self, pred: Callable[[Message], bool], timeout: float | None = None
    ) -> list[Message]:
        """Messages up to and including the first one ``pred`` accepts."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out: list[Message] = []
        while True:
            m = self._next(max(deadline - time.monotonic(), 0.0))
            assert m is not None, f"not found after {len(out)}: ...{[x.name for x in out[-5:]]}"
            assert isinstance(m, Message)
            out.append(m)
            if pred(m):
                return out

    def read_for(self, seconds: float) -> list[Message]:
        deadline = time.monotonic() + seconds
        out: list[Message] = []
        while time.monotonic() < deadline:
            m = self._next(max(deadline - time.monotonic(), 0.0))
            if isinstance(m, Message):
                out.append(m)
        return out

    def closed(self, timeout: float = 3.0) -> bool:
        """True once the server closed the connection (with nothing more unread)."""
        deadline = time.monotonic() + timeout
        while not self.eof and self._fill(deadline):
            pass
        return self.eof

    def login(
        self, user: str = "admin", secret: str = "s3cret-admin", events: str = "off"
    ) -> Message:
        self.action("Action: Login", f"Username: {user}", f"Secret: {secret}", f"Events: {events}")
        return self.read(1)[0]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def clients() -> Iterable[Callable[..., Raw]]:
    made: list[Raw] = []

    def connect(address: tuple[str, int], **options: object) -> Raw:
        c = Raw(address, **options)  # type: ignore[arg-type]
        made.append(c)
        return c

    yield connect
    for c in made:
        c.close()


def replay(c: Raw, name: str, *, skip_greeting_check: bool = False) -> None:
    """Send every recorded message and compare each recorded answer in turn."""
    ex = exchanges(name)
    assert skip_greeting_check or c.greeting == "Asterisk Call Manager/13.0.0"
    assert not ex[0].received
    for step in ex[1:]:
        c.send(step.sent)
        assert_same(c.read(len(step.received)), step.received)
        if step.closed:
            assert c.closed()
            return


# ---------------------------------------------------------------------------
# Login, errors, permissions


def test_login_ping_logoff(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    replay(c, "login_ping_logoff")
    assert c.closed(), "the server closes after Goodbye"


def test_action_before_login(sim: Simulator, clients: Callable[..., Raw]) -> None:
    replay(clients(sim.address), "action_before_login")


def test_permission_monitor(sim: Simulator, clients: Callable[..., Raw]) -> None:
    replay(clients(sim.address), "permission_monitor")


@pytest.mark.parametrize("name", ["login_failed", "login_unknown_user", "challenge_md5_bad"])
def test_failed_login_waits_then_closes(
    sim_factory: SimFactory, clients: Callable[..., Raw], name: str
) -> None:
    sim = sim_factory(auth_fail_delay=0.3)
    c = clients(sim.address)
    started = time.monotonic()
    replay(c, name)
    assert time.monotonic() - started >= 0.3


def test_acl_denied(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    users = {"restricted": User("r3stricted", permit=("10.99.99.0/24",))}
    sim = sim_factory(users=users)
    replay(clients(sim.address), "acl_denied")


def test_challenge_md5(sim: Simulator, clients: Callable[..., Raw]) -> None:
    ex = exchanges("challenge_md5")
    c = clients(sim.address)
    c.send(ex[1].sent)
    got = c.read(1)
    assert_same(got, ex[1].received)
    challenge = got[0].value("Challenge")
    assert challenge and challenge.isdigit()
    key = hashlib.md5((challenge + "s3cret-admin").encode()).hexdigest()
    c.send(ex[2].sent.replace(b"c8d12e9fea586c6bf09919ebd028bbc2", key.encode()))
    assert_same(c.read(len(ex[2].received)), ex[2].received)
    for step in ex[3:]:
        c.send(step.sent)
        assert_same(c.read(len(step.received)), step.received)


def test_errors(sim: Simulator, clients: Callable[..., Raw]) -> None:
    replay(clients(sim.address), "errors")


def test_line_and_message_limits(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    ok = "X-Pad: " + "a" * (1022 - len("X-Pad: "))
    c.action("Action: Ping", "ActionID: fits", ok)
    assert c.read(1)[0].value("Ping") == "Pong"
    c.action("Action: Ping", "ActionID: long", ok + "a" * 100)
    [m] = c.read(1)
    assert m.headers == [
        ("Response", "Error"),
        ("ActionID", "long"),
        ("Message", "Failed to parse message: line too long"),
    ]
    lines = ["Action: Ping", "ActionID: many"] + [f"X-{i}: y" for i in range(127)]
    c.action(*lines)
    [m] = c.read(1)
    assert m.headers == [
        ("Response", "Error"),
        ("ActionID", "many"),
        ("Message", "Too many lines in message or allocation failure"),
    ]
    c.action(*lines[:128])
    assert c.read(1)[0].value("Ping") == "Pong", "128 lines are accepted"
    c.send("\r\n")
    assert c.read(1)[0].headers == [("Response", "Error"), ("Message", "Missing action in request")]


# ---------------------------------------------------------------------------
# Commands


def test_command_output(sim: Simulator, clients: Callable[..., Raw]) -> None:
    ex = exchanges("command_output")
    c = clients(sim.address)
    for i, step in enumerate(ex[1:], 1):
        c.send(step.sent)
        got = c.read(len(step.received))
        if i == 2:  # core show version: our build line
            assert got[0].headers[:3] == step.received[0].headers[:3]
            assert got[0].output[0].startswith("Asterisk ")
        elif i == 3:  # core show uptime: seconds differ
            assert [re.sub(r"[\d ,a-z]+$", "", x) for x in got[0].output] == [
                "System uptime:",
                "Last reload:",
            ]
        elif i == 4:  # dialplan show demo: ours has more extensions
            shared = [x for x in step.received[0].output if not x.startswith("-=")]
            ours = got[0].output
            assert got[0].headers[:3] == step.received[0].headers[:3]
            for line in shared:
                assert line in ours
            assert ours[-1].startswith("-= ") and ours[-1].endswith(" in 1 context. =-")
        elif i == 9:  # manager show command Originate: Syntax exact, prose our own
            assert got[0].headers[:3] == step.received[0].headers[:3]
            assert _section(got[0].output, "[Syntax]") == _section(
                step.received[0].output, "[Syntax]"
            )
            assert _section(got[0].output, "[Privilege]") == ["originate,all"]
        elif i == 10:  # CoreShowChannels: its Syntax section
            assert (
                _section(got[0].output, "[Syntax]")
                == _section(step.received[0].output, "[Syntax]")[:2]
            )
        else:
            assert_same(got, step.received)
    assert c.closed()


def _section(lines: list[str], title: str) -> list[str]:
    start = lines.index(title) + 1
    end = lines.index("", start)
    return lines[start:end]


def test_dialplan_show_matches_recorded_lines() -> None:
    lines = render_show("demo")
    assert lines is not None
    assert lines[1] == (
        "  '100' =>          1. Answer()                                   [extensions.conf:6]"
    )
    assert "  '_9XX' =>         1. Answer()" in "\n".join(lines)


def test_command_completion(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    c.action(
        "Action: Command",
        'Command: _command matchesarray "manager show command Orig" "Orig"',
        "ActionID: 1",
    )
    assert c.read(1)[0].output == ["Originate Originate _EOF_"]
    c.action("Action: Command", 'Command: _command matchesarray "core show channels " ""')
    assert c.read(1)[0].output == [" concise count verbose _EOF_"]


def test_legacy_command_format(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(legacy_command=True)
    c = clients(sim.address)
    c.login()
    c.raw = b""
    c.action("Action: Command", "Command: core show channels", "ActionID: 7")
    [m] = c.read(1)
    assert c.raw == (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
        b"Channel                                                          Location"
        b"                         State   Application(Data)             \n"
        b"0 active channels\n0 active calls\n0 calls processed\n--END COMMAND--\r\n\r\n"
    )
    assert m.output[-1] == "0 calls processed"


def test_list_commands(sim: Simulator, clients: Callable[..., Raw]) -> None:
    ex = exchanges("list_commands")
    c = clients(sim.address)
    c.send(ex[1].sent)
    c.read(1)
    c.send(ex[2].sent)
    [got] = c.read(1)
    [want] = ex[2].received
    assert [k for k, _ in got.headers] == [k for k, _ in want.headers]
    priv = re.compile(r"\(Priv: ([^)]*)\)$")
    for (_, g), (_, w) in zip(got.headers[2:], want.headers[2:], strict=True):
        assert priv.search(g).group(1) == priv.search(w).group(1)  # type: ignore[union-attr]
        assert "  (Priv: " in g


def test_list_commands_only_shows_permitted(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login("monitor", "m0nitor")
    c.action("Action: ListCommands")
    names = {k for k, _ in c.read(1)[0].headers[1:]}
    assert {"Ping", "CoreShowChannels", "DBPut"} <= names
    assert not {"Originate", "Command", "Redirect"} & names


# ---------------------------------------------------------------------------
# Calls


def test_originate_events_in_real_order(
    sim_factory: SimFactory, clients: Callable[..., Raw]
) -> None:
    sim = sim_factory(time_scale=0.5)
    ex = exchanges("originate_events")
    when = ("LoginTime", "LastCall")  # the queue member's login and last call: timestamps
    c = clients(sim.address)
    c.send(ex[1].sent)
    assert_same(c.read(3), ex[1].received)
    c.send(ex[2].sent)  # Originate: the call's events up to both halves waiting
    assert_same(c.read(len(ex[2].received)), ex[2].received, when)
    for step in ex[3:5]:  # CoreShowChannels and Status while the call is up
        c.send(step.sent)
        assert_same(_sorted_list(c.read(6)), _sorted_list(step.received[:6]))
    hangup = ex[4].received[6:]  # after Status: the hang-up burst
    assert_same(c.read(len(hangup), timeout=5), hangup, when)
    c.send(ex[5].sent)
    assert_same(c.read(1), ex[5].received)


def test_call_listed_while_up_and_not_after(
    sim_factory: SimFactory, clients: Callable[..., Raw]
) -> None:
    sim = sim_factory(time_scale=0.2)
    c = clients(sim.address)
    c.login(events="call")
    name = sim.start_call("100")
    assert name is not None and name.endswith(";1")
    names = [m.name for m in c.read_until(lambda m: m.name == "DialEnd")]
    assert names == [
        "Newchannel",
        "Newchannel",
        "LocalBridge",
        "DialBegin",
        "Newstate",
        "OriginateResponse",
        "Newstate",
        "DialEnd",
    ]
    c.action("Action: CoreShowChannels", "ActionID: up")
    listed = c.read_until(lambda m: m.name == "CoreShowChannelsComplete")
    items = [m for m in listed if m.name == "CoreShowChannel"]
    assert {m.value("Channel") for m in items} == {name, name[:-1] + "2"}
    assert all(m.value("ActionID") == "up" for m in items)
    assert listed[-1].value("ListItems") == "2"
    ended = c.read_until(lambda m: m.name == "Hangup" and m.value("Channel") == name, 5)
    assert [m.name for m in ended][:3] == ["SoftHangupRequest", "HangupRequest", "Hangup"]
    c.action("Action: CoreShowChannels", "ActionID: down")
    after = c.read_until(lambda m: m.name == "CoreShowChannelsComplete")
    assert [m.name for m in after if m.name == "CoreShowChannel"] == []
    assert after[-1].value("ListItems") == "0"


@pytest.mark.slow
def test_live_calls(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    """The ``live_calls`` session, its recorded pauses and the calls 2.5 times faster."""
    scale = 0.4
    sim = sim_factory(time_scale=scale)
    ex = exchanges("live_calls")
    records = [json.loads(x) for x in (DATA / "live_calls.jsonl").open(encoding="utf-8")]
    times = [r["t"] for r in records if r["dir"] == "send"]
    # The recording's Local channel numbers, in order, are 0, 1, 2... on a fresh simulator.
    recorded = sorted(set(re.findall(rb"-([0-9a-f]{8});", b"".join(e.sent for e in ex))))
    ours = {seq: f"{i:08x}".encode() for i, seq in enumerate(recorded)}
    c = clients(sim.address)
    t0 = time.monotonic()
    durations = ("Holdtime", "TalkTime", "LastCall", "LoginTime")
    for i, step in enumerate(ex[1:]):
        time.sleep(max(t0 + times[i] * scale - time.monotonic(), 0))
        c.send(re.sub(rb"-([0-9a-f]{8});", lambda m: b"-" + ours[m.group(1)] + b";", step.sent))
        got, want = c.read(len(step.received), timeout=5), step.received
        if b"core show channels concise" in step.sent:
            assert sorted(map(_concise, got[0].output)) == sorted(map(_concise, want[0].output))
        elif b"core show channels" in step.sent:
            assert _cli_rows(got[0].output) == _cli_rows(want[0].output)
        elif b"CoreShowChannels" in step.sent or b"Action: Status" in step.sent:
            assert_same(_sorted_list(got), _sorted_list(want))
        else:
            assert_same(got, want, durations)
    assert c.closed()


def _sorted_list(msgs: list[Message]) -> list[Message]:
    """An event list with its items in a stable order (the server uses hash order)."""
    return msgs[:1] + sorted(msgs[1:-1], key=lambda m: str(norm(m))) + msgs[-1:]


def _concise(line: str) -> str:
    fields = line.split("!")
    fields[0] = _CHAN_SEQ.sub("-N;", fields[0])
    fields[11:14] = ["<age>", _UUID.sub("<bridge>", fields[12]), "<id>"]
    return "!".join(fields)


def _cli_rows(lines: list[str]) -> list[str]:
    rows = [_CHAN_SEQ.sub("-N;", x) for x in lines]
    return [rows[0], *sorted(rows[1:-3]), *rows[-3:-1], re.sub(r"^\d+", "N", rows[-1])]


def test_originate_sync(sim: Simulator, clients: Callable[..., Raw]) -> None:
    replay(clients(sim.address), "originate_sync_fail")


def test_events_and_filters(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(time_scale=0.3)
    replay(clients(sim.address), "events_filter")


def test_user_event_and_exclude_filter(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login(events="user")
    c.action("Action: UserEvent", "UserEvent: Shell", "ActionID: u1", "Header1: ä ö ü 日本")
    got = c.read(2)
    assert got[0].headers == [
        ("Response", "Success"),
        ("ActionID", "u1"),
        ("Message", "Event Sent"),
    ]
    assert got[1].headers == [
        ("Event", "UserEvent"),
        ("Privilege", "user,all"),
        ("UserEvent", "Shell"),
        ("ActionID", "u1"),
        ("Header1", "ä ö ü 日本"),
    ]
    c.action("Action: Filter", "Operation: Add", "Filter: !UserEvent: Quiet")
    assert c.read(1)[0].value("Message") == "Success"
    c.action("Action: UserEvent", "UserEvent: Quiet")
    c.action("Action: UserEvent", "UserEvent: Loud")
    got = c.read(3)
    assert [m.value("UserEvent") for m in got if m.is_event] == ["Loud"]


def test_extension_500_user_event(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(time_scale=0.2)
    c = clients(sim.address)
    c.login(events="user")
    sim.start_call("500")
    [ev] = c.read(1)
    assert ev.name == "UserEvent"
    assert ev.headers[-3:] == [("UserEvent", "Custom"), ("Key", "ä-unicode"), ("Other", "x")]


def test_variables_and_astdb(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    c.action("Action: Setvar", "Variable: GLOBALX", "Value: 42", "ActionID: s")
    c.action("Action: Getvar", "Variable: GLOBALX", "ActionID: g")
    got = c.read(2)
    assert got[1].headers == [
        ("Response", "Success"),
        ("ActionID", "g"),
        ("Variable", "GLOBALX"),
        ("Value", "42"),
    ]
    c.action("Action: DBPut", "Family: demo", "Key: a/b", "Val: one", "ActionID: 1")
    c.action("Action: DBPut", "Family: demo", "Key: c", "Val: two")
    c.action("Action: DBGet", "Family: demo", "Key: a/b", "ActionID: 2")
    got = c.read(5)
    assert got[0].value("Message") == "Updated database successfully"
    assert [m.name for m in got[2:]] == ["Success", "DBGetResponse", "DBGetComplete"]
    assert got[3].headers[1:] == [
        ("Family", "demo"),
        ("Key", "a/b"),
        ("Val", "one"),
        ("ActionID", "2"),
    ]
    c.action("Action: DBGetTree", "Family: demo", "ActionID: 3")
    got = c.read_until(lambda m: m.name == "DBGetTreeComplete")
    assert [m.value("Key") for m in got[1:-1]] == ["/demo/a/b", "/demo/c"]
    assert got[-1].value("ListItems") == "2"
    c.action("Action: DBDel", "Family: demo", "Key: c")
    c.action("Action: DBDelTree", "Family: demo")
    c.action("Action: DBGet", "Family: demo", "Key: a/b")
    got = c.read(3)
    assert [m.value("Message") for m in got] == [
        "Key deleted successfully",
        "Key tree deleted successfully",
        "Database entry not found",
    ]
    c.action("Action: DBGet", "Family: demo")
    assert c.read(1)[0].value("Message") == "No key specified."


def test_queue_actions(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    c.action("Action: QueueAdd", "Queue: sales", "Interface: Local/100@demo", "ActionID: a")
    assert c.read(1)[0].value("Message") == "Added interface to queue"
    c.action("Action: QueueAdd", "Queue: sales", "Interface: Local/100@demo")
    assert c.read(1)[0].value("Message") == "Unable to add interface: Already there"
    c.action("Action: QueueSummary", "Queue: sales", "ActionID: q")
    got = c.read_until(lambda m: m.name == "QueueSummaryComplete")
    assert got[1].value("LoggedIn") == "1"
    c.action("Action: QueueRemove", "Queue: support", "Interface: Local/100@demo")
    assert c.read(1)[0].value("Message") == "Member not dynamic"
    c.action("Action: QueueRemove", "Queue: sales", "Interface: Local/100@demo")
    assert c.read(1)[0].value("Message") == "Removed interface from queue"


def test_caller_waits_in_queue(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(time_scale=0.1)
    c = clients(sim.address)
    c.login(events="agent")
    name = sim.start_call("301")
    assert name is not None
    join = c.read_until(lambda m: m.name == "QueueCallerJoin")[-1]
    assert join.value("Queue") == "sales" and join.value("Count") == "1"
    c.action("Action: QueueStatus", "Queue: sales", "ActionID: qs")
    got = c.read_until(lambda m: m.name == "QueueStatusComplete")
    entry = [m for m in got if m.name == "QueueEntry"]
    assert [m.value("Channel") for m in entry] == [name[:-1] + "2"]
    assert [k for k, _ in entry[0].headers] == [
        "Event",
        "Queue",
        "Position",
        "Channel",
        "Uniqueid",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Wait",
        "Priority",
        "ActionID",
    ]


def test_hangup_by_regex_lists_channels(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    first = sim.start_call("400")
    assert first is not None
    c.action("Action: Hangup", "Channel: /^Local/400@demo-.*;1$/", "ActionID: h")
    got = c.read_until(lambda m: m.name == "ChannelsHungupListComplete")
    assert got[0].headers == [
        ("Response", "Success"),
        ("ActionID", "h"),
        ("EventList", "start"),
        ("Message", "Channels hung up will follow"),
    ]
    assert got[1].headers == [("Event", "ChannelHungup"), ("Channel", first), ("ActionID", "h")]
    assert got[2].value("ListItems") == "1"
    deadline = time.monotonic() + 3
    while sim.channels() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.channels() == []


def test_core_settings_and_status(sim: Simulator, clients: Callable[..., Raw]) -> None:
    c = clients(sim.address)
    c.login()
    c.action("Action: CoreSettings", "ActionID: 1")
    c.action("Action: CoreStatus", "ActionID: 2")
    settings, status = c.read(2)
    assert [k for k, _ in settings.headers] == [
        "Response",
        "ActionID",
        "AMIversion",
        "AsteriskVersion",
        "SystemName",
        "CoreMaxCalls",
        "CoreMaxLoadAvg",
        "CoreRunUser",
        "CoreRunGroup",
        "CoreMaxFilehandles",
        "CoreRealTimeEnabled",
        "CoreCDRenabled",
        "CoreHTTPenabled",
        "SoundsSearchCustomDir",
    ]
    assert settings.value("AMIversion") == "13.0.0"
    assert [k for k, _ in status.headers] == [
        "Response",
        "ActionID",
        "CoreStartupDate",
        "CoreStartupTime",
        "CoreReloadDate",
        "CoreReloadTime",
        "CoreCurrentCalls",
        "CoreProcessedCalls",
    ]


def test_background_traffic(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(call_rate=20.0, time_scale=0.05, seed=1)
    c = clients(sim.address)
    c.login(events="call")
    got = c.read_until(lambda m: m.name == "Hangup", timeout=5)
    assert "Newchannel" in [m.name for m in got]


# ---------------------------------------------------------------------------
# The server: greeting versions, faults, TLS, IPv6, bursts, command line


def test_greeting_version(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(version="2.10.0")
    assert clients(sim.address).greeting == "Asterisk Call Manager/2.10.0"


def test_fault_no_greeting_and_wrong_greeting(
    sim_factory: SimFactory, clients: Callable[..., Raw]
) -> None:
    sim = sim_factory(faults=Faults(no_greeting=True))
    c = clients(sim.address, greeting=False)
    assert c.read_for(0.3) == [] and c.raw == b""
    sim.faults = Faults(greeting_text="SSH-2.0-OpenSSH_9.6")
    assert clients(sim.address).greeting == "SSH-2.0-OpenSSH_9.6"


def test_fault_close_after_bytes(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(faults=Faults(close_after_bytes=40))
    c = clients(sim.address)
    c.action("Action: Login", "Username: admin", "Secret: s3cret-admin")
    assert c.closed()
    assert c.raw == b"Asterisk Call Manager/13.0.0\r\nResponse: ", "cut after 40 bytes"


def test_fault_close_after_messages(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(faults=Faults(close_after_messages=2))
    c = clients(sim.address)
    c.login()
    c.action("Action: Ping")
    assert c.read(1)[0].value("Ping") == "Pong"
    assert c.closed()


def test_fault_silent_after(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(faults=Faults(silent_after=1))
    c = clients(sim.address)
    c.login()
    c.action("Action: Ping")
    assert c.read_for(0.4) == []
    assert not c.closed(0.2), "a silent session stays open"
    assert sim.stats[0].dropped


def test_fault_delay_and_garbage(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(faults=Faults(delay=0.2, garbage=b"\x00\xff junk\r\n\r\n"))
    c = clients(sim.address)
    started = time.monotonic()
    c.action("Action: Login", "Username: admin", "Secret: s3cret-admin")
    answer = c.read_until(lambda m: m.is_response)[-1]
    assert answer.value("Message") == "Authentication accepted"
    assert time.monotonic() - started >= 0.2
    assert b"\x00\xff junk" in c.raw


def test_tls(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    sim = sim_factory(ssl_context=server_ctx)
    c = clients(sim.address, context=client_ctx)
    c.login(events="security")
    [auth] = c.read(1)
    assert auth.name == "SuccessfulAuth"
    assert (auth.value("LocalAddress") or "").startswith("IPV4/TLS/127.0.0.1/")
    c.action("Action: Ping", "ActionID: t")
    assert c.read(1)[0].value("Ping") == "Pong"


def test_ipv6(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        sim = sim_factory(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    c = clients(sim.address)
    assert c.login().value("Message") == "Authentication accepted"


def test_burst_and_stats(sim: Simulator, clients: Callable[..., Raw]) -> None:
    a, b = clients(sim.address), clients(sim.address)
    a.login()
    b.login()
    payload = sim.default_burst_payload()
    assert len(payload) > 50 and all(p.startswith(b"Event: ") for p in payload)
    assert sim.burst(1000) == 2
    got = a.read(1000, timeout=10)
    assert got[0].name == "Newchannel"
    assert sim.wait_bursts(5)
    stats = {s.remote[1]: s for s in sim.stats}
    mine = stats[a.sock.getsockname()[1]]
    assert mine.messages_sent == 1001 and mine.bursts_completed == 1


def test_slow_reader_does_not_block_others(sim: Simulator, clients: Callable[..., Raw]) -> None:
    slow, fast = clients(sim.address), clients(sim.address)
    slow.login()
    fast.login()
    sim.burst(20000, b"Event: Noise\r\nPrivilege: call,all\r\nX: " + b"y" * 200 + b"\r\n\r\n")
    assert len(fast.read(20001 - 1, timeout=10)) == 20000
    fast.action("Action: Ping", "ActionID: p")
    assert fast.read(1)[0].value("ActionID") == "p"


def test_stop_leaves_no_threads_or_sockets(clients: Callable[..., Raw]) -> None:
    before = set(threading.enumerate())
    sim = Simulator(users={"admin": User("s3cret-admin")}, call_rate=5.0, time_scale=0.1)
    sim.start()
    c = clients(sim.address)
    c.login()
    sim.start_call("400")
    sim.stop()
    assert c.closed()
    time.sleep(0.05)
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []
    with pytest.raises(OSError):
        socket.create_connection(sim.address, timeout=1).close()


def test_parse_user() -> None:
    name, user = parse_user("monitor:pw:read=system,call:write=system")
    assert name == "monitor" and user.read == "system,call" and user.write == "system"
    assert "pw" not in repr(user)
    with pytest.raises(Exception, match="unknown class"):
        parse_user("x:y:read=nope")


def test_amishell_sim_command(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = Path(sys.executable).parent / "amishell-sim"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "amishell.simulator"]
    proc = subprocess.Popen(
        [*command, "--port", "0", "--user", "admin:pw"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        assert m, line
        c = Raw((m.group(1), int(m.group(2))))
        assert c.greeting == "Asterisk Call Manager/13.0.0"
        assert c.login("admin", "pw").value("Message") == "Authentication accepted"
        c.action("Action: Ping", "ActionID: 1")
        assert c.read(1)[0].value("Ping") == "Pong"
        c.close()
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "stopped" in out and "pw" not in line + out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_client_library_against_simulator(sim_factory: SimFactory) -> None:
    from amishell.client import AMIClient

    sim = sim_factory(time_scale=0.2)
    host, port = sim.address
    events: list[Message] = []
    ami = AMIClient(
        "admin",
        "s3cret-admin",
        host,
        port,
        timeout=5,
        auth="md5",
        events="call",
        event_callback=events.append,
    )
    try:
        assert ami.connect(), ami.error
        name = sim.start_call("400")
        listing = ami.action(Action="CoreShowChannels")
        assert {e.value("Channel") for e in listing.events} == {name, name[:-1] + "2"}
        assert listing.complete is not None and listing.complete.value("ListItems") == "2"
        denied = AMIClient("monitor", "m0nitor", host, port, timeout=5)
        assert denied.connect(), denied.error
        assert (
            denied.action(Action="Originate", Channel="Local/100@demo").value("Message")
            == "Permission denied"
        )
        denied.close()
    finally:
        ami.close()
    assert any(e.name == "Newchannel" for e in events)


def test_fault_garbage_every(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(faults=Faults(garbage=b"#junk#\r\n\r\n", garbage_every=1))
    c = clients(sim.address)
    c.login()
    c.action("Action: Ping")
    c.read_until(lambda m: m.value("Ping") == "Pong")
    c.read_for(0.1)
    assert c.raw.count(b"#junk#") == 3, "after the greeting and after each answer"


def test_match_criteria_filter(sim_factory: SimFactory, clients: Callable[..., Raw]) -> None:
    sim = sim_factory(time_scale=0.2)
    c = clients(sim.address)
    c.login(events="call")
    c.action("Action: Filter", "Operation: Add", "Filter: (", "ActionID: bad")
    assert c.read(1)[0].value("Message") == (
        "Filter did not compile.  Check the syntax of the filter given."
    )
    c.action(
        "Action: Filter",
        "Operation: Add",
        "MatchCriteria: name(Newchannel),header(Channel),method(starts_with)",
        "Filter: Local/400@",
    )
    assert c.read(1)[0].value("Message") == "Success"
    sim.start_call("100")
    four = sim.start_call("400")
    got = c.read(2)
    assert [(m.name, m.value("Channel")) for m in got] == [
        ("Newchannel", four),
        ("Newchannel", (four or "")[:-1] + "2"),
    ]
    assert c.read_for(0.3) == []


def test_slow_reader_loses_its_session(
    sim_factory: SimFactory, clients: Callable[..., Raw]
) -> None:
    sim = sim_factory(write_timeout=0.2)
    slow = clients(sim.address)
    slow.login()
    sim.burst(100000, b"Event: Noise\r\nPrivilege: call,all\r\nX: " + b"y" * 500 + b"\r\n\r\n")
    deadline = time.monotonic() + 10
    while not all(s.dropped for s in sim.stats):
        assert time.monotonic() < deadline, "the slow reader kept its session"
        time.sleep(0.05)
    other = clients(sim.address)
    other.login()
    while slow.read_for(0.3):  # whatever the kernel had buffered
        pass
    slow.action("Action: Ping", "ActionID: late")
    assert slow.read_for(0.5) == [], "no answer any more"
    assert not slow.closed(0.2), "and no end-of-file either"
    other.action("Action: Ping", "ActionID: fine")
    assert other.read(1)[0].value("ActionID") == "fine", "other sessions carry on"
