"""Each part of the client on its own, without sockets: frames in, futures,
callbacks and messages out."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

from amishell.client.actions import build, timeout_for
from amishell.client.dispatcher import Dispatcher
from amishell.client.future import NOT_CONNECTED, TIMED_OUT, ActionFuture
from amishell.client.reader import Reader
from amishell.client.router import Router
from amishell.client.state import Stats
from amishell.client.transcript import Transcript
from amishell.errors import AMIConnectionError, ReadFailed, WriteFailed
from amishell.message import Message
from amishell.protocol import Framer


def future(action_id: str, action: str = "Ping", timeout: float = 5.0,
           holds: bool = False) -> ActionFuture:
    return ActionFuture(None, action_id, action, timeout, holds)


RESPONSE = b"Response: Success\r\nActionID: 7\r\nPing: Pong"
EVENT = b"Event: Heartbeat\r\nPrivilege: system,all"


# ------------------------------------------------------------------- router


def test_router_hands_a_response_to_its_action_and_the_rest_back() -> None:
    router = Router()
    ping = future("7")
    router.add(ping)
    unclaimed, finished = router.route([EVENT, RESPONSE, b"Response: Success\r\nActionID: 8"])
    assert finished == [ping] and not ping.done()  # the caller completes it
    assert unclaimed == [EVENT, b"Response: Success\r\nActionID: 8"]
    ping.set()
    assert ping.result(0)["Ping"] == "Pong" and len(router) == 0


def test_router_collects_an_event_list_and_leaves_foreign_events() -> None:
    router = Router()
    status = future("9", "Status")
    router.add(status)
    frames = [
        b"Event: Other\r\nActionID: 9",  # before its response: not part of it
        b"Response: Success\r\nActionID: 9\r\nEventList: start",
        b"Event: Status\r\nActionID: 9\r\nChannel: A",
        EVENT,
        b"Event: Status\r\nActionID: 9\r\nChannel: B",
        b"Event: StatusComplete\r\nActionID: 9\r\nEventList: Complete\r\nListItems: 2",
    ]
    unclaimed, finished = router.route(frames)
    assert unclaimed == [frames[0], EVENT] and finished == [status]
    status.set()
    reply = status.result(0)
    assert [e["Channel"] for e in reply.events] == ["A", "B"]
    assert reply.complete is not None and reply.complete["ListItems"] == "2"


def test_router_close_fails_everything_at_once_and_later_additions_too() -> None:
    router = Router()
    waiting = [future(str(n)) for n in range(3)]
    for f in waiting:
        router.add(f)
    router.close("Reading from socket failed: connection closed by the server")
    for f in waiting:
        assert f.done()
        assert f.result(0)["Message"] == (
            "Reading from socket failed: connection closed by the server"
        )
    late = future("4")
    router.add(late)
    assert late.done() and late.result(0)["ActionID"] == "4"


def test_only_a_synchronous_originate_holds_the_session() -> None:
    router = Router()
    getvar = future("1", "Getvar", timeout=30.0)
    router.add(getvar)
    assert not router.holds_session(time.monotonic())
    originate = future("2", "Originate", timeout=35.0, holds=True)
    router.add(originate)
    assert router.holds_session(time.monotonic())
    assert not router.holds_session(originate.sent_at - 1)  # sent after the Ping


# ------------------------------------------------------------------- futures


def test_a_future_times_out_with_the_manufactured_error() -> None:
    f = future("3", timeout=0.01)
    reply = f.result()
    assert reply.is_error and reply["Message"] == TIMED_OUT and reply["ActionID"] == "3"
    assert f.timed_out


def test_done_callbacks_run_once_done() -> None:
    f = future("5")
    got: list[Message] = []
    f.add_done_callback(got.append)
    assert got == []
    f.set(Message([("Response", "Error"), ("Message", NOT_CONNECTED)]))
    assert got[0]["Message"] == NOT_CONNECTED
    f.add_done_callback(got.append)
    assert len(got) == 2


def test_actions_are_checked_and_originate_gets_its_own_timeout() -> None:
    with pytest.raises(ValueError, match="ActionID"):
        build({"Action": "Ping", "ActionID": "1"}, {})
    with pytest.raises(ValueError, match="Action"):
        build(None, {"Channel": "x"})
    pairs, action = build([("Action", "Originate")], {"Timeout": "60000"})
    assert action == "Originate"
    assert timeout_for(action, pairs, 30.0) == (65.0, True)
    assert timeout_for(action, [*pairs, ("Async", "true")], 30.0) == (30.0, False)
    assert timeout_for("Ping", [], 30.0) == (30.0, False)


# ---------------------------------------------------------------- dispatcher


class Hooks:
    def __init__(self, **settings: Any) -> None:
        self.event_callback = settings.get("event_callback")
        self.event_prefilter = settings.get("event_prefilter")
        self.max_queue_bytes = settings.get("max_queue_bytes", 1 << 20)


def test_dispatcher_calls_back_on_its_thread_and_queues_responses() -> None:
    seen: list[tuple[str, str]] = []
    hooks = Hooks(event_callback=lambda m: seen.append((m.name, threading.current_thread().name)))
    dispatcher = Dispatcher(hooks, Stats())
    dispatcher.start()
    try:
        dispatcher.put([EVENT, b"Response: Success\r\nActionID: 99"])
        reply = dispatcher.read(2.0, lambda: None)
        assert reply is not None and reply["ActionID"] == "99"
        assert seen == [("Heartbeat", "amishell-dispatcher")]
        assert dispatcher.read(0.01, lambda: None) is None
    finally:
        dispatcher.stop()
    assert dispatcher.queued_bytes == 0


def test_the_prefilter_sees_every_event_not_in_a_list_even_without_callback() -> None:
    offered: list[bytes] = []

    def prefilter(frame: bytes) -> bool:
        offered.append(frame)
        return b"Keep" in frame

    stats = Stats()
    dispatcher = Dispatcher(Hooks(event_prefilter=prefilter), stats)
    items = [
        b"Response: Success\r\nActionID: 3\r\nEventList: start",
        b"Event: Item\r\nActionID: 3",
        b"Event: ItemComplete\r\nActionID: 3\r\nEventList: Complete",
    ]
    dispatcher.put([b"Event: Keep", b"Event: Drop", *items, b"Event: After"])
    got = []
    while (m := dispatcher.read(0, lambda: None)) is not None:
        got.append(m)
    assert offered == [b"Event: Keep", b"Event: Drop", b"Event: After"]
    assert [m.get("Event", "(response)") for m in got] == [
        "Keep", "(response)", "Item", "ItemComplete",
    ]
    assert stats.events_received == 2  # the two the prefilter answered for
    assert dispatcher.queued_bytes == 0


def test_over_its_bound_the_inbox_drops_events_never_responses() -> None:
    stats = Stats()
    dispatcher = Dispatcher(Hooks(max_queue_bytes=100), stats)
    events = [b"Event: E\r\nN: %02d" % n for n in range(20)]
    dispatcher.put(events[:10])
    dispatcher.put([RESPONSE, *events[10:]])
    assert stats.dropped_events > 0
    got = []
    while (m := dispatcher.read(0, lambda: None)) is not None:
        got.append(m)
    assert any(m.get("Ping") == "Pong" for m in got)
    assert len(got) - 1 + stats.dropped_events == 20


def test_read_returns_the_gone_error_once_the_queue_is_empty() -> None:
    dispatcher = Dispatcher(Hooks(), Stats())
    dispatcher.put([EVENT])
    gone = Message([("Response", "Error"), ("Message", NOT_CONNECTED)])
    first = dispatcher.read(0, lambda: gone)
    assert first is not None and first.name == "Heartbeat"
    assert dispatcher.read(None, lambda: gone) is gone


# ---------------------------------------------------------------- transcript


def test_the_transcript_masks_secrets_and_keeps_wire_order() -> None:
    out = io.StringIO()
    transcript = Transcript(lambda: out)
    transcript.sent(b"Action: Login\r\nUsername: u\r\nSecret: hunter2\r\nActionID: 1\r\n\r\n")
    transcript.received(b"Response: Success\r\nActionID: 1\r\nMess")
    transcript.received(b"age: ok\r\nSecret: back\r\nKey: shown\r\n\r\n")
    assert transcript.flush(2.0)
    assert out.getvalue().splitlines() == [
        ">> Action: Login", ">> Username: u", ">> Secret: ********", ">> ActionID: 1", ">> ",
        "<< Response: Success", "<< ActionID: 1", "<< Message: ok", "<< Secret: ********",
        "<< Key: shown", "<< ",
    ]
    transcript.stop()


def test_a_slow_transcript_file_never_stalls_the_caller() -> None:
    release = threading.Event()

    class Slow(io.StringIO):
        def write(self, text: str) -> int:
            release.wait(5.0)
            return super().write(text)

    out = Slow()
    transcript = Transcript(lambda: out)
    start = time.monotonic()
    for _ in range(100):
        transcript.received(b"Event: X\r\n\r\n")
    assert time.monotonic() - start < 1.0
    assert not transcript.flush(0.05)  # bounded wait
    release.set()
    assert transcript.flush(5.0)
    assert out.getvalue().count("<< Event: X") == 100
    transcript.stop()


# -------------------------------------------------------------------- reader


class FakeTransport:
    """A transport whose writes fail with ``error`` (when set)."""

    def __init__(self, error: OSError | None = None) -> None:
        self.read_lock = threading.Lock()
        self.error = error
        self.written: list[bytes] = []
        self.shut = False

    def sendall(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.written.append(data)

    def shutdown(self) -> None:
        self.shut = True

    def close(self) -> None:
        self.shut = True


def reader_for(transport: FakeTransport, router: Router, queued: list[bytes],
               drops: list[AMIConnectionError]) -> Reader:
    return Reader(transport, Framer(), router, sink=queued.extend,  # type: ignore[arg-type]
                  observers=[], stats=Stats(), on_drop=lambda r, e: drops.append(e))


def test_the_reader_frames_routes_and_queues_what_it_reads() -> None:
    router, queued, drops = Router(), [], []  # type: ignore[var-annotated]
    reader = reader_for(FakeTransport(), router, queued, drops)
    ping = future("7")
    router.add(ping)
    assert reader.take(EVENT + b"\r\n\r\n" + RESPONSE[:20])
    assert queued == [EVENT] and not ping.done()
    assert reader.take(RESPONSE[20:] + b"\r\n\r\n")
    assert ping.done() and ping.result(0)["Ping"] == "Pong"
    assert not reader.take(b"")  # the end
    assert isinstance(drops[0], ReadFailed)
    assert str(drops[0]) == "Reading from socket failed: connection closed by the server"


def test_a_write_failure_ends_the_connection_once() -> None:
    router, queued, drops = Router(), [], []  # type: ignore[var-annotated]
    transport = FakeTransport(ConnectionResetError(104, "Connection reset by peer"))
    reader = reader_for(transport, router, queued, drops)
    assert not reader.send(b"Action: Ping\r\n\r\n")
    assert not reader.send(b"Action: Ping\r\n\r\n")
    assert [str(d) for d in drops] == ["Writing to socket failed: connection reset by peer"]
    assert isinstance(drops[0], WriteFailed) and transport.shut and not reader.alive


# ----------------------------------------------------------------- keep-alive


class Pinged:
    """A connection for the keep-alive: a router and a fail() that records."""

    def __init__(self) -> None:
        self.router = Router()
        self.alive = True
        self.failures: list[AMIConnectionError] = []

    def fail(self, error: AMIConnectionError) -> None:
        self.failures.append(error)
        self.alive = False
        self.router.close(str(error))


class Client:
    timeout = 0.1
    last_latency: float | None = None

    def ping_future(self) -> None:
        return None  # the test drives check() itself


def test_the_keepalive_fails_a_silent_connection_whatever_is_pending() -> None:
    from amishell.client.keepalive import Keepalive

    keepalive = Keepalive(Client(), 60.0)
    try:
        conn = Pinged()
        getvar = future("1", "Getvar", timeout=30.0)
        conn.router.add(getvar)
        ping = future("2")
        conn.router.add(ping)
        start = time.monotonic()
        keepalive.check(conn, ping)  # type: ignore[arg-type]
        assert time.monotonic() - start < 1.0
        assert [type(e).__name__ for e in conn.failures] == ["ResponseTimeout"]
        assert "stopped answering" in str(conn.failures[0])
        assert getvar.result(0)["Message"] == str(conn.failures[0])  # not a timeout
    finally:
        keepalive.stop()


def test_the_keepalive_waits_behind_a_synchronous_originate() -> None:
    from amishell.client.keepalive import Keepalive

    keepalive = Keepalive(Client(), 60.0)
    try:
        conn = Pinged()
        originate = future("1", "Originate", timeout=0.4, holds=True)
        conn.router.add(originate)
        ping = future("2")
        conn.router.add(ping)
        start = time.monotonic()
        keepalive.check(conn, ping)  # type: ignore[arg-type]
        took = time.monotonic() - start
        assert conn.failures and 0.35 < took < 2.0  # only once the Originate's time was up
    finally:
        keepalive.stop()
