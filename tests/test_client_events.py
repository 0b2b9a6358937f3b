"""AMIClient: events, callbacks, event lists, routing by ActionID, timeouts,
concurrency, a dropped connection and futures."""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from scripted import USERNAME, Session, standard, wait_until

from amishell import Message

T = 2.0


def event(name: str, **headers: str) -> list[tuple[str, str]]:
    return [("Event", name), ("Privilege", "call,all"), *headers.items()]


def booted(session: Session, msg: Message) -> None:
    """Like Asterisk: events follow a successful Login."""
    standard(session, msg)
    if msg.value("Action") == "Login" and session.authenticated:
        session.send(event("FullyBooted", Status="Fully Booted"))
        session.send(event("SuccessfulAuth", AccountID=USERNAME))


# -------------------------------------------------------------------- events


def test_events_are_queued_for_read_response_without_callback(pool) -> None:
    client = pool.client(pool.server(booted))
    assert client.connect()
    assert client.action(Action="Ping")["Ping"] == "Pong"
    first = client.read_response(timeout=T)
    second = client.read_response(timeout=T)
    assert first is not None and first.is_event and first["Event"] == "FullyBooted"
    assert second is not None and second["Event"] == "SuccessfulAuth"
    assert client.read_response(timeout=0.05) is None


def test_events_go_to_callback_on_a_dispatcher_thread(pool) -> None:
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def callback(msg: Message) -> None:
        seen.append((msg["Event"], threading.current_thread().name))
        if len(seen) == 2:
            done.set()

    client = pool.client(pool.server(booted), event_callback=callback)
    assert client.connect()
    assert done.wait(T)
    assert [name for name, _ in seen] == ["FullyBooted", "SuccessfulAuth"]
    threads = {thread for _, thread in seen}
    assert threading.current_thread().name not in threads
    assert "amishell-reader" not in threads
    assert client.events_received == 2
    assert client.read_response(timeout=0.05) is None  # events went to the callback only


def test_callback_may_call_action(pool) -> None:
    replies: list[Message] = []
    done = threading.Event()

    def callback(msg: Message) -> None:
        if msg["Event"] == "FullyBooted":
            replies.append(client.action(Action="Ping"))
            done.set()

    client = pool.client(pool.server(booted), event_callback=callback)
    assert client.connect()
    assert done.wait(T)
    assert replies[0]["Ping"] == "Pong"
    assert replies[0]["ActionID"] == "2"


def test_callback_exception_is_logged_and_delivery_continues(
    pool, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    done = threading.Event()

    def callback(msg: Message) -> None:
        seen.append(msg["Event"])
        if msg["Event"] == "FullyBooted":
            raise RuntimeError("callback broke")
        done.set()

    client = pool.client(pool.server(booted), event_callback=callback)
    with caplog.at_level(logging.ERROR, logger="amishell"):
        assert client.connect()
        assert done.wait(T)
    assert seen == ["FullyBooted", "SuccessfulAuth"]
    assert "callback broke" in caplog.text
    assert client.callback_errors == 1
    assert client.action(Action="Ping")["Ping"] == "Pong"


def test_prefilter_sees_raw_events_and_drops_before_parsing(
    pool, caplog: pytest.LogCaptureFixture
) -> None:
    frames: list[bytes] = []
    seen: list[str] = []
    done = threading.Event()

    def prefilter(frame: bytes) -> bool:
        frames.append(frame)
        if b"SuccessfulAuth" in frame:
            raise RuntimeError("prefilter broke")  # counted; the event is delivered
        return b"FullyBooted" not in frame

    def callback(msg: Message) -> None:
        seen.append(msg["Event"])
        done.set()

    client = pool.client(pool.server(booted), event_callback=callback, event_prefilter=prefilter)
    with caplog.at_level(logging.ERROR, logger="amishell"):
        assert client.connect()
        assert done.wait(T)
    assert seen == ["SuccessfulAuth"]
    assert [f.split(b"\r\n", 1)[0] for f in frames] == [
        b"Event: FullyBooted", b"Event: SuccessfulAuth"
    ]  # responses never reach it
    assert client.events_received == 2 and client.callback_errors == 1
    assert "prefilter broke" in caplog.text
    assert client.action(Action="Ping")["Ping"] == "Pong"


def test_blocking_callback_does_not_hold_up_responses(pool) -> None:
    release = threading.Event()
    entered = threading.Event()

    def callback(msg: Message) -> None:
        entered.set()
        release.wait(5.0)

    client = pool.client(pool.server(booted), event_callback=callback)
    try:
        assert client.connect()
        assert entered.wait(T)
        for _ in range(3):
            assert client.action(Action="Ping")["Ping"] == "Pong"
        assert not release.is_set()  # the callback is still blocked
    finally:
        release.set()


def test_events_before_a_response_are_queued_when_action_returns(pool) -> None:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Ping":  # an event and the reply in one write
            aid = msg["ActionID"].encode()
            session.send(b"Event: Heartbeat\r\nN: %s\r\n\r\n"
                         b"Response: Success\r\nActionID: %s\r\nPing: Pong\r\n\r\n" % (aid, aid))
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    for _ in range(20):
        reply = client.action(Action="Ping")
        got = client.read_response(timeout=0)
        assert got is not None and got["N"] == reply["ActionID"]


# --------------------------------------------------------------- event lists


def lists(session: Session, msg: Message) -> None:
    """CoreShowChannels with three channels, each item interleaved with an event."""
    if msg.value("Action") == "CoreShowChannels":
        aid = msg["ActionID"]
        session.reply(msg, Response="Success", EventList="start",
                      Message="Channels will follow")
        for n in range(3):
            session.send(event("Newexten", Channel=f"Local/{n}"))
            session.send([("Event", "CoreShowChannel"), ("ActionID", aid),
                          ("Channel", f"Local/10{n}@demo-0000000{n};1")])
        session.send([("Event", "CoreShowChannelsComplete"), ("ActionID", aid),
                      ("EventList", "Complete"), ("ListItems", "3")])
    elif msg.value("Action") == "Originate":
        session.reply(msg, Response="Success", Message="Originate successfully queued")
        session.send([("Event", "OriginateResponse"), ("Privilege", "call,all"),
                      ("ActionID", msg["ActionID"]), ("Response", "Success"),
                      ("Channel", "Local/100@demo-00000000;1")])
    elif msg.value("Action") == "Status":  # an error before the list: no Complete event
        session.reply(msg, Response="Error", Message="No such channel")
    else:
        standard(session, msg)


def test_event_list_is_collected_and_items_skip_the_callback(pool) -> None:
    seen: list[Message] = []
    client = pool.client(pool.server(lists), event_callback=seen.append)
    assert client.connect()
    reply = client.action(Action="CoreShowChannels")
    assert reply["Response"] == "Success" and reply["EventList"] == "start"
    assert [e["Channel"] for e in reply.events] == [
        "Local/100@demo-00000000;1", "Local/101@demo-00000001;1", "Local/102@demo-00000002;1",
    ]
    assert all(e["ActionID"] == reply["ActionID"] for e in reply.events)
    assert reply.complete is not None
    assert reply.complete["Event"] == "CoreShowChannelsComplete"
    assert int(reply.complete["ListItems"]) == len(reply.events)
    assert wait_until(lambda: len(seen) == 3)
    time.sleep(0.05)
    assert [m["Event"] for m in seen] == ["Newexten"] * 3


def test_event_list_through_send_action_and_read_response(pool) -> None:
    seen: list[Message] = []
    client = pool.client(pool.server(lists), event_callback=seen.append)
    assert client.connect()
    aid = client.send_action(Action="CoreShowChannels")
    got = [client.read_response(timeout=T) for _ in range(5)]
    assert [(m.name, m.action_id) for m in got if m is not None] == [
        ("Success", aid),
        ("CoreShowChannel", aid),
        ("CoreShowChannel", aid),
        ("CoreShowChannel", aid),
        ("CoreShowChannelsComplete", aid),
    ]
    assert wait_until(lambda: len(seen) == 3)
    assert {m["Event"] for m in seen} == {"Newexten"}


def test_error_before_a_list_is_a_plain_reply(pool) -> None:
    client = pool.client(pool.server(lists), timeout=0.5)
    assert client.connect()
    reply = client.action(Action="Status", Channel="nope")
    assert reply.is_error and reply["Message"] == "No such channel"
    assert reply.events == [] and reply.complete is None
    assert client.error is None


def test_later_messages_with_a_finished_action_id_are_events(pool) -> None:
    seen: list[Message] = []
    got = threading.Event()

    def callback(msg: Message) -> None:
        seen.append(msg)
        got.set()

    client = pool.client(pool.server(lists), event_callback=callback)
    assert client.connect()
    reply = client.action(Action="Originate", Channel="Local/100@demo", Async="true",
                          Application="Wait", Data="1")
    assert reply["Message"] == "Originate successfully queued"
    assert reply.events == []
    assert got.wait(T)
    assert seen[0]["Event"] == "OriginateResponse"
    assert seen[0]["ActionID"] == reply["ActionID"]


def test_later_messages_go_to_read_response_without_callback(pool) -> None:
    client = pool.client(pool.server(lists))
    assert client.connect()
    reply = client.action(Action="Originate", Channel="Local/100@demo", Async="true")
    late = client.read_response(timeout=T)
    assert late is not None and late["Event"] == "OriginateResponse"
    assert late["ActionID"] == reply["ActionID"]


def test_list_timeout_restarts_with_each_item(pool) -> None:
    def trickle(session: Session, msg: Message) -> None:
        if msg.value("Action") != "Status":
            standard(session, msg)
            return
        aid = msg["ActionID"]
        session.reply(msg, Response="Success", EventList="start")
        for n in range(8):
            time.sleep(0.06)
            session.send([("Event", "Status"), ("ActionID", aid), ("Channel", f"c{n}")])
        time.sleep(0.06)
        session.send([("Event", "StatusComplete"), ("ActionID", aid),
                      ("EventList", "Complete"), ("ListItems", "8")])

    client = pool.client(pool.server(trickle), timeout=0.25)
    assert client.connect()
    start = time.monotonic()
    reply = client.action(Action="Status")
    assert time.monotonic() - start > 0.25  # longer than the timeout in total
    assert not reply.is_error, reply
    assert [e["Channel"] for e in reply.events] == [f"c{n}" for n in range(8)]
    assert reply.complete is not None and reply.complete["ListItems"] == "8"
    assert client.error is None


def test_a_stalled_list_times_out(pool) -> None:
    def stall(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Status":
            session.reply(msg, Response="Success", EventList="start")
            session.send([("Event", "Status"), ("ActionID", msg["ActionID"])])
        else:
            standard(session, msg)

    client = pool.client(pool.server(stall), timeout=0.2)
    assert client.connect()
    reply = client.action(Action="Status")
    assert reply.is_error and reply["Message"] == "Timed out waiting for response"
    assert client.error == "Timed out waiting for response"


# --------------------------------------------------------- routing, timeouts


def test_a_reply_is_only_the_response_with_its_own_action_id(pool) -> None:
    def stray(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Ping":
            session.send([("Response", "Error"), ("Message", "Missing action in request")])
            session.send([("Response", "Error"), ("ActionID", "999"), ("Message", "Not yours")])
            session.send([("Response", "Success"), ("ActionID", "42x"), ("Message", "Nor this")])
        standard(session, msg)

    client = pool.client(pool.server(stray))
    assert client.connect()
    reply = client.action(Action="Ping")
    assert reply["Response"] == "Success" and reply["Ping"] == "Pong"
    assert reply["ActionID"] == "2"
    strays = [client.read_response(timeout=T) for _ in range(3)]
    assert [m.get("Message") for m in strays if m is not None] == [
        "Missing action in request", "Not yours", "Nor this",
    ]


ANSWERS = {
    # How the server answers each Status: what the client reads in one read.
    "alone": lambda head: [head],
    "after an event": lambda head: [EVENT + head],
    "before an event": lambda head: [head + EVENT],
    "in two reads": lambda head: [head[:20], head[20:]],
    "its empty line in a read of its own": lambda head: [head[:-2], head[-2:]],
    "with a bare LF in a value": lambda head: [head.replace(b"yours", b"yo\nurs")],
    "with a CR in a value": lambda head: [head.replace(b"yours", b"yo\rurs")],
    "starting a list": lambda head: [
        head.replace(b"Message:", b"eventlist: start\r\nMessage:"),  # then the items
        b"Event: Status\r\nActionID: " + head.split(b"ActionID: ")[1].split(b"\r\n")[0]
        + b"\r\n\r\nEvent: StatusComplete\r\nActionID: "
        + head.split(b"ActionID: ")[1].split(b"\r\n")[0] + b"\r\nEventList: Complete\r\n\r\n"
    ],
    "after an event carrying its ActionID": lambda head: [
        b"Event: VarSet\r\nActionID: " + head.split(b"ActionID: ")[1].split(b"\r\n")[0]
        + b"\r\n\r\n",
        head,
    ],
    "with its ActionID twice": lambda head: [
        head.replace(b"Message:", b"ActionID: 0\r\nMessage:")
    ],
    "as legacy Command output": lambda head: [
        head.replace(b"Response: Success", b"Response: Follows")
        .replace(b"\r\n\r\n", b"\r\nout\r\n\r\nput\n--END COMMAND--\r\n\r\n")
    ],
}
EVENT = b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-00000001\r\n\r\n"


def no_id(message: Message) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "ActionID"}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_an_action_sent_again_is_answered_as_the_first_time(pool, answer) -> None:
    """The same action sent again takes a shorter way (its bytes are known, and
    a response read alone needs no future): every reply, event and list must
    come out as on the first time, whatever the reads look like."""
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Status":
            aid = msg["ActionID"]
            head = f"Response: Success\r\nActionID: {aid}\r\nMessage: yours\r\n\r\n"
            for i, chunk in enumerate(ANSWERS[answer](head.encode())):
                if i:
                    time.sleep(0.05)  # a read of its own
                session.send(chunk)
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    seen = []
    for _ in range(4):
        reply = client.action(Action="Status")
        extra = client.read_response(timeout=0.2)
        seen.append((
            no_id(reply), [no_id(e) for e in reply.events],
            reply.complete and no_id(reply.complete), extra and no_id(extra),
        ))
        assert reply.get("ActionID") == str(len(seen) + 1) or answer == "with its ActionID twice"
    assert seen[1:] == seen[:1] * 3
    assert client.error is None and client.messages_received == {
        "alone": 5, "after an event": 9, "before an event": 9, "in two reads": 5,
        "its empty line in a read of its own": 5, "after an event carrying its ActionID": 9,
        "with a bare LF in a value": 5, "with a CR in a value": 5, "starting a list": 13,
        "with its ActionID twice": 5, "as legacy Command output": 5,
    }[answer]


def test_a_repeated_action_left_unanswered_times_out(pool) -> None:
    pings = []

    def first_only(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Ping":
            pings.append(msg)
            if len(pings) > 1:
                return
        standard(session, msg)

    client = pool.client(pool.server(first_only), timeout=0.3)
    assert client.connect()
    assert client.action(Action="Ping")["Ping"] == "Pong"
    started = time.monotonic()
    reply = client.action(Action="Ping")
    assert reply["Message"] == "Timed out waiting for response" and reply["ActionID"] == "3"
    assert 0.25 < time.monotonic() - started < 2.0
    assert client.error == "Timed out waiting for response"


def test_a_response_glued_to_an_unfinished_message_is_not_taken_for_itself(pool) -> None:
    """A server that leaves a message without its empty line glues the next
    response to it: one message, an event's, which answers nothing."""
    pings = []

    def glue(session: Session, msg: Message) -> None:
        standard(session, msg)
        if msg.value("Action") == "Ping":
            pings.append(msg)
            if len(pings) == 1:
                session.send(b"Event: VarSet\r\nVariable: a\r\n")  # no empty line

    client = pool.client(pool.server(glue), timeout=0.3)
    assert client.connect()
    assert client.action(Action="Ping")["Ping"] == "Pong"
    time.sleep(0.1)  # the unfinished event is read
    assert client.read_response(timeout=0.1) is None
    reply = client.action(Action="Ping")  # sent again: the short way, if it could
    assert reply["Message"] == "Timed out waiting for response"
    glued = client.read_response(timeout=T)
    assert glued is not None and glued["Event"] == "VarSet" and glued["Response"] == "Success"
    assert client.action(Action="Ping")["Ping"] == "Pong"


BARE_LF_STREAM = (
    b"Event: A\r\nX: 1\n\nEvent: B\r\n\r\n"
    b"Event: C\r\nX: 2\n\r\nResponse: Success\r\nActionID: 77\r\nMessage: stray\n\n"
    b"Event: D\r\nX: a\nb\r\n\r\nEvent: E\r\n\r\n"
)


def test_messages_bare_lfs_end_reach_the_callback_one_by_one(pool) -> None:
    """With a callback and no action waiting, each message that bare LFs end
    comes out as the framer says, in order, responses to read_response()."""
    from amishell.protocol import Framer, parse_frame

    def handler(session: Session, msg: Message) -> None:
        standard(session, msg)
        if msg.value("Action") == "UserEvent":
            time.sleep(0.2)  # no action waiting any more when this is read
            session.send(BARE_LF_STREAM)

    got: list[dict[str, Any]] = []
    client = pool.client(pool.server(handler), event_callback=lambda m: got.append(dict(m)))
    assert client.connect()
    assert client.action(Action="UserEvent")["Response"] == "Error"  # (unknown here)
    before = client.messages_received
    wait_until(lambda: len(got) >= 5, T)
    frames = Framer().feed(BARE_LF_STREAM)
    assert got == [dict(parse_frame(f)) for f in frames if not f.startswith(b"Response")]
    stray = client.read_response(timeout=T)
    assert stray is not None and stray["Message"] == "stray"
    assert client.messages_received - before == len(frames) == 6


def test_silent_server_times_out(pool) -> None:
    def deaf(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Login":
            standard(session, msg)

    client = pool.client(pool.server(deaf), timeout=0.2)
    assert client.connect()
    reply = client.action(Action="Ping")
    assert reply["Response"] == "Error"
    assert reply["Message"] == "Timed out waiting for response"
    assert reply["ActionID"] == "2"
    assert client.error == "Timed out waiting for response"


def delayed_originate(delay: float) -> Callable[[Session, Message], None]:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Originate":
            time.sleep(delay)
            session.reply(msg, Response="Success", Message="Originate successfully queued")
        else:
            standard(session, msg)

    return handler


def test_sync_originate_may_take_its_own_timeout(pool) -> None:
    client = pool.client(pool.server(delayed_originate(0.5)), timeout=0.2)
    assert client.connect()
    reply = client.action(Action="Originate", Channel="Local/100@demo", Exten="100",
                          Context="demo", Priority="1", Timeout="1000")
    assert reply["Message"] == "Originate successfully queued"
    assert client.error is None


def test_async_originate_keeps_the_normal_timeout(pool) -> None:
    client = pool.client(pool.server(delayed_originate(0.5)), timeout=0.2)
    assert client.connect()
    reply = client.action(Action="Originate", Channel="Local/100@demo", Async="true",
                          Timeout="1000")
    assert reply["Message"] == "Timed out waiting for response"


def test_connection_dropped_mid_wait_reaches_every_waiter(pool) -> None:
    def hold(session: Session, msg: Message) -> None:
        if msg.value("Action") != "Wait":
            standard(session, msg)

    server = pool.server(hold)
    client = pool.client(server, timeout=30.0)
    assert client.connect()
    results: list[Message] = []
    threads = [threading.Thread(target=lambda: results.append(client.action(Action="Wait")))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    assert server.wait_for(lambda: server.actions().count("Wait") == 8)
    server.drop()
    for thread in threads:
        thread.join(timeout=1.0)  # promptly: far inside the 30 s action timeout
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 8
    for reply in results:
        assert reply.is_error
        assert reply["Message"].startswith("Reading from socket failed: ")
    assert client.error is not None and client.error.startswith("Reading from socket failed: ")
    assert not client.connected
    assert client.action(Action="Ping")["Message"] == "Not connected to Asterisk!"


def test_disconnect_callback_gets_the_error(pool) -> None:
    told: list[str] = []
    server = pool.server()
    client = pool.client(server, disconnect_callback=told.append)
    assert client.connect()
    server.drop()
    assert wait_until(lambda: bool(told))
    assert told[0].startswith("Reading from socket failed: ")


# --------------------------------------------------------------- concurrency


class Shuffler:
    """Answers each action after a random short delay: replies leave out of order."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Session, Message]] = []
        self.cv = threading.Condition()
        self.sent: list[int] = []
        self.seq = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def __call__(self, session: Session, msg: Message) -> None:
        if msg.value("Action") != "Echo":
            standard(session, msg)
            return
        with self.cv:
            self.seq += 1
            due = time.monotonic() + random.uniform(0, 0.003)
            heapq.heappush(self.heap, (due, self.seq, session, msg))
            self.cv.notify()

    def run(self) -> None:
        while True:
            with self.cv:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    if self.stop:
                        return
                    wait = self.heap[0][0] - time.monotonic() if self.heap else 0.05
                    self.cv.wait(max(wait, 0.0005))
                _due, seq, session, msg = heapq.heappop(self.heap)
                self.sent.append(seq)
            session.reply(msg, Response="Success", Token=msg["Token"])

    def close(self) -> None:
        with self.cv:
            self.stop = True
            self.cv.notify()
        self.thread.join(timeout=2.0)


def test_many_threads_each_get_their_own_response(pool) -> None:
    shuffler = Shuffler()
    try:
        client = pool.client(pool.server(shuffler), timeout=10.0)
        assert client.connect()
        per_thread, n_threads = 300, 8
        wrong: list[tuple[str, Message]] = []
        counts = [0] * n_threads

        def work(t: int) -> None:
            for i in range(per_thread):
                token = f"{t}-{i}"
                fields = {"Action": "Echo", "Token": token} if i % 2 else None
                reply = (client.action(fields) if fields else
                         client.action(Action="Echo", Token=token))
                if reply.get("Token") != token or reply.is_error:
                    wrong.append((token, reply))
                counts[t] += 1

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30.0)
        assert not any(thread.is_alive() for thread in threads)
        assert wrong == []
        assert counts == [per_thread] * n_threads
        assert shuffler.sent != sorted(shuffler.sent)  # the server really answered out of order
        assert client.error is None
    finally:
        shuffler.close()


def test_futures_from_many_threads_out_of_order(pool) -> None:
    shuffler = Shuffler()
    try:
        client = pool.client(pool.server(shuffler), timeout=10.0)
        assert client.connect()
        futures = [client.submit(Action="Echo", Token=str(n)) for n in range(500)]
        results = [f.result() for f in futures]
        assert [r["Token"] for r in results] == [str(n) for n in range(500)]
        assert [r["ActionID"] for r in results] == [f.action_id for f in futures]
        assert shuffler.sent != sorted(shuffler.sent)
    finally:
        shuffler.close()


# ------------------------------------------------------------------- futures


def test_submit_cancel_and_late_response(pool) -> None:
    release = threading.Event()

    def slow(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Slow":
            release.wait(5.0)
            session.reply(msg, Response="Success", Message="Late")
        else:
            standard(session, msg)

    client = pool.client(pool.server(slow), timeout=5.0)
    assert client.connect()
    future = client.submit(Action="Slow")
    assert future.action_id == "2"
    assert not future.done()
    waited = future.result(timeout=0.05)
    assert waited["Message"] == "Timed out waiting for response"
    future.cancel()
    late: list[tuple[Message, str]] = []
    called = threading.Event()

    def on_done(msg: Message) -> None:
        late.append((msg, threading.current_thread().name))
        called.set()

    future.add_done_callback(on_done)
    other = client.submit(Action="Ping")
    release.set()
    reply = other.result()
    assert reply["Ping"] == "Pong" and reply["ActionID"] == "3"
    assert called.wait(T)
    assert late[0][0]["Message"] == "Late" and late[0][0]["ActionID"] == "2"
    assert late[0][1] != threading.current_thread().name
    assert future.done() and future.result()["Message"] == "Late"
    assert client.read_response(timeout=0.1) is None  # never handed to anyone else


def test_done_callback_added_after_completion(pool) -> None:
    client = pool.client(pool.server())
    assert client.connect()
    future = client.submit(Action="Ping")
    assert future.result()["Ping"] == "Pong"
    got: list[Message] = []
    future.add_done_callback(got.append)
    assert wait_until(lambda: bool(got))
    assert got[0]["ActionID"] == future.action_id


def test_submit_not_connected(pool) -> None:
    client = pool.client(pool.server())
    future = client.submit(Action="Ping")
    assert future.done()
    assert future.result()["Message"] == "Not connected to Asterisk!"


def test_ping_measures_round_trip(pool) -> None:
    client = pool.client(pool.server())
    assert client.ping() is None  # not connected
    assert client.connect()
    rtt = client.ping()
    assert rtt is not None and rtt >= 0
    assert client.last_latency == rtt
