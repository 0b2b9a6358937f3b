"""Nothing is lost: every action gets one outcome, every event is delivered or counted."""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time
from collections.abc import Iterator

import pytest
from scripted import SECRET, USERNAME, LeakCheck, Server, lenient, wait_until

from amishell.client import NOT_CONNECTED, TIMED_OUT, ActionFuture, AMIClient
from amishell.message import Message

#: How long the event consumer stays stalled in the slow-consumer test.
STALL_SECONDS = 3.0
#: Bytes of events the server writes while the consumer is stalled.
BURST_BYTES = 20 << 20

#: Actions sent in all, from WORKERS threads, over as many connections as it takes.
TOTAL = 4000
WORKERS = 4
CONNECTION_ERRORS = (
    NOT_CONNECTED,
    "Reading from socket failed: connection closed by the server",
    "Reading from socket failed: connection reset by peer",
)


@pytest.fixture
def leaks() -> Iterator[None]:
    check = LeakCheck()
    yield
    check.check()


def outcome(future: ActionFuture, kind: str, token: str, reply: Message) -> str:
    """Classify one action's outcome; anything unexpected is an error of its own."""
    if reply.action_id != future.action_id:
        return "mismatched"
    text = reply.value("Message")
    if reply.is_error:
        if text == TIMED_OUT:
            return "timeout"
        if text == "Invalid/unknown command":
            return "server error"
        if text in CONNECTION_ERRORS or (text or "").startswith("Writing to socket failed"):
            return "connection error"
        return f"unexpected error {text!r}"
    if kind == "Getvar" and reply.value("Echo") != token:
        return "mismatched"
    if kind == "Status" and (len(reply.events) != 2 or reply.complete is None):
        return "incomplete list"
    return "response"


ALLOWED = {
    "Getvar": {"response", "connection error"},
    "Status": {"response", "connection error"},
    "Fail": {"server error", "connection error"},
    "Ignore": {"timeout", "connection error"},
}


def test_every_action_gets_exactly_one_outcome(leaks: None) -> None:
    rng = random.Random(1234)
    # Each connection is dropped, part way through a response, after 20 to 500 actions.
    server = Server(lenient, drop_after=lambda: rng.randrange(20, 500), rng=rng)
    client = AMIClient(USERNAME, SECRET, server.hostport, timeout=5.0)
    outcomes: collections.Counter[str] = collections.Counter()
    wrong: list[str] = []
    callbacks: dict[str, list[Message]] = collections.defaultdict(list)
    results: dict[str, Message] = {}
    lock = threading.Lock()
    sent = 0

    def worker(round_no: int, worker_no: int) -> None:
        nonlocal sent
        pick = random.Random(round_no * 100 + worker_no)
        for i in itertools.count():
            with lock:
                if sent >= TOTAL:
                    return
                sent += 1
            kind = pick.choices(["Getvar", "Status", "Fail", "Ignore"], [85, 5, 9, 1])[0]
            token = f"{round_no}.{worker_no}.{i}"
            future = client.submit(Action=kind, Token=token)
            key = f"{token}#{future.action_id}"
            future.add_done_callback(callbacks[key].append)
            reply = future.result(0.1 if kind == "Ignore" else None)
            got = outcome(future, kind, token, reply)
            with lock:
                outcomes[got] += 1
                results[key] = reply
                if got not in ALLOWED[kind]:
                    wrong.append(f"{kind} {token}: {got}: {reply!r}")
            if got == "connection error":
                return  # this round is over: reconnect

    rounds = 0
    try:
        while sent < TOTAL and rounds < 200:
            rounds += 1
            assert client.connect(), client.error
            threads = [threading.Thread(target=worker, args=(rounds, w)) for w in range(WORKERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert not any(t.is_alive() for t in threads), "an action never got an outcome"
    finally:
        client.close()
        server.stop()

    assert not server.errors
    assert not wrong, wrong[:5]
    assert sent == TOTAL
    assert sum(outcomes.values()) == TOTAL == len(results)
    # Every kind of outcome happened, so the test saw what it is about.
    assert server.drops >= 5
    for kind in ("response", "server error", "timeout", "connection error"):
        assert outcomes[kind] > 0, outcomes
    # Done-callbacks: exactly one call per action, after close() too.
    wait_until(lambda: sum(map(len, callbacks.values())) >= TOTAL, 5)
    assert len(callbacks) == TOTAL
    assert all(len(got) == 1 for got in callbacks.values())
    for key, [message] in callbacks.items():
        if results[key].value("Message") != TIMED_OUT:
            assert message is results[key] or message == results[key]
        assert message.action_id == results[key].action_id


class StalledConsumer:
    """An event_callback that blocks on its first event until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.delivered = 0

    def __call__(self, message: Message) -> None:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(STALL_SECONDS + 30)
        if message.name == "Burst":
            self.delivered += 1


def test_stalled_consumer_does_not_stall_the_reader(leaks: None) -> None:
    server = Server(lenient, burst_bytes=BURST_BYTES)
    consumer = StalledConsumer()
    client = AMIClient(USERNAME, SECRET, server.hostport, timeout=5.0, keepalive=0.5,
                       event_callback=consumer)
    try:
        assert client.connect(), client.error
        assert consumer.entered.wait(5)
        stalled_at = time.monotonic()
        # Every write of the server completes while the consumer is still stalled ...
        assert server.writes_done.wait(STALL_SECONDS), "the server's writes were blocked"
        assert not consumer.release.is_set()
        # ... and the session stays alive: answers still come during the stall.
        assert client.ping(timeout=5) is not None, client.error
        time.sleep(max(0.0, STALL_SECONDS - (time.monotonic() - stalled_at)))
        assert client.connected, client.error
        assert consumer.delivered == 0
        consumer.release.set()
        sent = server.events_sent
        assert sent * 1000 > BURST_BYTES * 0.9
        assert wait_until(lambda: consumer.delivered >= sent, 30), (consumer.delivered, sent)
        assert consumer.delivered == sent
        assert client.dropped_events == 0
        assert client.connected and client.error is None
        assert not server.errors
    finally:
        consumer.release.set()
        client.close()
        server.stop()


def test_bounded_queue_counts_what_it_drops(leaks: None) -> None:
    server = Server(lenient, burst_bytes=BURST_BYTES)
    consumer = StalledConsumer()
    client = AMIClient(USERNAME, SECRET, server.hostport, timeout=5.0,
                       event_callback=consumer, max_queue_bytes=1 << 20)
    try:
        assert client.connect(), client.error
        assert consumer.entered.wait(5)
        assert server.writes_done.wait(STALL_SECONDS), "the server's writes were blocked"
        assert client.ping(timeout=5) is not None  # the responses are never shed
        consumer.release.set()
        sent = server.events_sent
        assert wait_until(lambda: consumer.delivered + client.dropped_events >= sent, 30)
        assert client.dropped_events > 0
        assert consumer.delivered + client.dropped_events == sent
        assert client.events_received == consumer.delivered
        assert not server.errors
    finally:
        consumer.release.set()
        client.close()
        server.stop()
