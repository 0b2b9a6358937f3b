"""Reconnect in the library, the connection state, filters, last_error; and
the keep-alive's verdict on a dead server, against the simulator (loopback)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from scripted import SECRET, USERNAME, Server, lenient

from amishell.client import NOT_CONNECTED, AMIClient, ConnectionState
from amishell.errors import ConnectFailed, LoginFailed, ReadFailed, ResponseTimeout
from amishell.message import Message
from amishell.simulator import Simulator
from amishell.simulator.config import CLASS_BITS

T = 5.0


def wait_until(check: Callable[[], object], timeout: float = T) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return bool(check())


class Recorder:
    """Collects state changes (with their thread) and events."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []
        self.threads: set[str] = set()
        self.events: list[Message] = []

    def state(self, change: str, detail: str) -> None:
        self.changes.append((str(change), detail))
        self.threads.add(threading.current_thread().name)

    def event(self, message: Message) -> None:
        self.events.append(message)

    def names(self) -> list[str]:
        return [c for c, _ in self.changes]


def client_for(sim: Simulator, rec: Recorder, **options: Any) -> AMIClient:
    host, port = sim.address
    options.setdefault("timeout", T)
    return AMIClient("admin", "s3cret-admin", host, port, state_callback=rec.state,
                     event_callback=rec.event, **options)


def user_events(client: AMIClient, *names: str) -> None:
    for name in names:
        assert not client.action(Action="UserEvent", UserEvent=name).is_error


def drop_sessions(sim: Simulator) -> None:
    for session in sim.sessions():
        session.stop()


def test_reconnect_reapplies_event_mask_and_filters(sim: Simulator) -> None:
    rec = Recorder()
    client = client_for(sim, rec, events="user", reconnect=True, reconnect_delay=0.05)
    assert client.connect(), client.error
    assert client.state is ConnectionState.CONNECTED
    assert not client.add_filter("UserEvent: Keep").is_error
    assert not client.add_filter(
        "Drop", match_criteria="action(exclude),name(UserEvent),header(UserEvent),method(exact)"
    ).is_error
    assert client.filters == [
        [("Operation", "Add"), ("Filter", "UserEvent: Keep")],
        [("Operation", "Add"), ("MatchCriteria",
          "action(exclude),name(UserEvent),header(UserEvent),method(exact)"),
         ("Filter", "Drop")],
    ]

    drop_sessions(sim)
    assert wait_until(lambda: "reconnected" in rec.names()), rec.changes
    assert rec.names() == ["connected", "lost", "reconnecting", "reconnected"]
    lost, reconnecting = rec.changes[1][1], rec.changes[2][1]
    assert "connection closed by the server" in lost
    assert reconnecting == "attempt 1 in 0.05 s"
    assert rec.threads == {"amishell-dispatcher"}
    assert client.state is ConnectionState.CONNECTED and client.connected
    assert client.last_error is None  # connected again

    # Filters and mask hold on the new session: only "Keep" user events come,
    # and no call event at all.
    rec.events.clear()
    user_events(client, "Other", "Drop", "Keep")
    sim.pbx.emit("Newchannel", CLASS_BITS["call"], [("Channel", "PJSIP/keep")])
    user_events(client, "Keep")
    assert wait_until(lambda: len(rec.events) >= 2)
    time.sleep(0.1)
    assert [(m.name, m.get("UserEvent")) for m in rec.events] == [
        ("UserEvent", "Keep"), ("UserEvent", "Keep"),
    ]
    assert client.disconnect()
    assert rec.names()[-1] == "closed"
    assert client.state is ConnectionState.CLOSED


def test_while_down_an_action_fails_at_once(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory()
    rec = Recorder()
    client = client_for(sim, rec, reconnect=True, reconnect_delay=30.0)
    assert client.connect(), client.error
    sim.stop()
    assert wait_until(lambda: "reconnecting" in rec.names())
    assert client.state is ConnectionState.RECONNECTING
    start = time.monotonic()
    reply = client.action(Action="Ping")
    assert time.monotonic() - start < 0.5
    assert reply.is_error and reply["Message"] == NOT_CONNECTED
    assert client.send_action(Action="Ping") is None
    assert client.submit(Action="Ping").result(0.1)["Message"] == NOT_CONNECTED
    client.close()  # stops reconnecting
    assert client.state is ConnectionState.CLOSED
    assert rec.names()[-1] == "closed"


def test_reconnect_now_skips_the_wait_and_backoff_doubles(
    sim_factory: Callable[..., Simulator],
) -> None:
    sim = sim_factory()
    host, port = sim.address
    rec = Recorder()
    client = client_for(sim, rec, reconnect=True, reconnect_delay=0.05, reconnect_max_delay=0.1)
    assert client.connect(), client.error
    sim.stop()  # nobody listens: attempts fail
    assert wait_until(lambda: rec.names().count("reconnecting") >= 4)
    details = [d for c, d in rec.changes if c == "reconnecting"][:4]
    assert details == ["attempt 1 in 0.05 s", "attempt 2 in 0.1 s", "attempt 3 in 0.1 s",
                       "attempt 4 in 0.1 s"]
    assert isinstance(client.last_error, ConnectFailed)
    client.close()

    slow = client_for(sim, Recorder(), reconnect=True, reconnect_delay=60.0)
    again = sim_factory(port=port)
    assert slow.connect(), slow.error
    drop_sessions(again)
    assert wait_until(lambda: slow.state is ConnectionState.RECONNECTING)
    slow.reconnect_now()
    assert wait_until(lambda: slow.connected), slow.state
    assert slow.action(Action="Ping")["Ping"] == "Pong"
    slow.close()
    del host


def test_a_refused_login_stops_reconnecting(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory()
    rec = Recorder()
    client = client_for(sim, rec, reconnect=True, reconnect_delay=0.01)
    assert client.connect(), client.error
    port = sim.address[1]
    sim.stop()
    sim_factory(port=port, users={})  # the same address, the user gone
    assert wait_until(lambda: rec.names()[-1:] == ["closed"]), rec.changes
    assert isinstance(client.last_error, LoginFailed)
    assert client.error == "Login failed: Authentication failed"
    assert rec.changes[-1] == ("closed", "Login failed: Authentication failed")
    assert client.state is ConnectionState.CLOSED
    client.close()


def test_set_filters_replaces_the_filters_on_a_fresh_session(sim: Simulator) -> None:
    rec = Recorder()
    client = client_for(sim, rec, events="user")
    assert client.connect(), client.error
    assert not client.add_filter("UserEvent: One").is_error
    assert client.set_filters([[("Operation", "Add"), ("Filter", "UserEvent: Two")]])
    assert client.filters == [[("Operation", "Add"), ("Filter", "UserEvent: Two")]]
    rec.events.clear()
    user_events(client, "One", "Two")
    assert wait_until(lambda: rec.events)
    time.sleep(0.1)
    assert [m["UserEvent"] for m in rec.events] == ["Two"]
    assert not client.set_filters([[("Operation", "Add"), ("Filter", "(unclosed")]])
    assert client.error is not None and client.error.startswith("Filter failed: ")
    client.close()


def test_without_reconnect_a_drop_is_lost(sim: Simulator) -> None:
    rec = Recorder()
    gone: list[str] = []
    client = client_for(sim, rec, disconnect_callback=gone.append)
    assert client.connect(), client.error
    drop_sessions(sim)
    assert wait_until(lambda: gone)
    assert client.state is ConnectionState.LOST and not client.connected
    assert rec.names() == ["connected", "lost"]
    assert gone[0] == client.error == str(client.last_error)
    assert isinstance(client.last_error, ReadFailed)
    client.close()
    assert rec.names() == ["connected", "lost", "closed"]


def test_context_manager_raises_the_exception_object() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    client = AMIClient("admin", "x", "127.0.0.1", port, timeout=1)
    try:
        with client:
            raise AssertionError("connected to nobody")  # pragma: no cover
    except ConnectFailed as exc:
        assert exc is client.last_error
        assert str(exc) == client.error and "connection refused" in str(exc)


# ------------------------------------------------- a server that stops answering


def test_a_dead_server_is_lost_in_time_even_behind_a_pending_action() -> None:
    """A Getvar sent just before a keep-alive Ping holds nothing: the verdict
    comes keepalive + 5 s after connecting (0.5 + 5), not after the Getvar's
    own timeout (8 s); the Getvar gets the connection error."""
    with Server(lenient, silent=True) as server:
        rec = Recorder()
        client = AMIClient(USERNAME, SECRET, server.hostport, keepalive=0.5, timeout=8.0,
                           state_callback=rec.state)
        assert client.connect(), client.error
        time.sleep(0.4)
        start = time.monotonic()
        reply = client.action(Action="Getvar", Variable="X")
        took = time.monotonic() - start
        assert reply.is_error
        assert "stopped answering" in reply["Message"], reply
        assert isinstance(client.last_error, ResponseTimeout)
        assert took < 7.5  # before the Getvar's own timeout
        assert wait_until(lambda: rec.names() == ["connected", "lost"])
        client.close()


def test_a_synchronous_originate_defers_the_verdict() -> None:
    """The session is legitimately busy for 1.5 s (keep-alive Pings queue
    behind the Originate): no verdict; the Originate gets its answer."""
    with Server(lenient, delays={"originate": 1.5}) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, keepalive=0.2, timeout=1.0)
        assert client.connect(), client.error
        reply = client.action(Action="Originate", Channel="Local/100@demo", Application="Wait",
                              Data="1", Timeout="3000")
        assert not reply.is_error, reply
        assert client.connected, client.error
        assert client.action(Action="Ping")["Response"] == "Success"
        client.close()


class Wire:
    """A wire observer that keeps what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def opened(self, address: str) -> None:
        self.seen.append(("opened", address))

    def sent(self, data: bytes) -> None:
        self.seen.append(("sent", data))

    def received(self, data: bytes) -> None:
        self.seen.append(("received", data))

    def closed(self) -> None:
        self.seen.append(("closed", None))


def test_the_wire_observer_sees_every_connection_and_every_byte(sim: Simulator) -> None:
    wire, rec = Wire(), Recorder()
    client = client_for(sim, rec, reconnect=True, reconnect_delay=0.01, wire_observer=wire)
    assert client.connect(), client.error
    drop_sessions(sim)
    assert wait_until(lambda: "reconnected" in rec.names())
    assert client.action(Action="Ping")["Ping"] == "Pong"
    client.close()
    kinds = [k for k, _ in wire.seen]
    host, port = sim.address
    assert [a for k, a in wire.seen if k == "opened"] == [f"{host}:{port}"] * 2
    assert kinds.count("closed") == 2 and kinds[-1] == "closed"
    sent = b"".join(d for k, d in wire.seen if k == "sent")  # type: ignore[misc]
    received = b"".join(d for k, d in wire.seen if k == "received")  # type: ignore[misc]
    assert sent.count(b"Action: Login\r\n") == 2 and b"Action: Ping\r\n" in sent
    assert received.startswith(b"Asterisk Call Manager/")
    assert received.count(b"Asterisk Call Manager/") == 2 and b"Ping: Pong" in received


def test_the_transcript_holds_the_response_when_action_returns(sim: Simulator) -> None:
    """A slow transcript file: action() still returns with its response's
    lines written (it waits, bounded, for the transcript's own thread)."""

    class Slow:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            time.sleep(0.05)
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    out = Slow()
    client = client_for(sim, Recorder(), debug_file=out)  # type: ignore[arg-type]
    assert client.connect(), client.error
    for _ in range(3):
        reply = client.action(Action="Ping")
        assert f"<< ActionID: {reply['ActionID']}" in out.text.splitlines()
    client.close()
