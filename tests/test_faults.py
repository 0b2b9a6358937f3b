"""The client against a misbehaving server: closes, bad bytes, silence, TLS mix-ups.

Each fault ends in one clear error (or a correct parse) within a bounded time,
and leaves no client thread or file descriptor behind.
"""

from __future__ import annotations

import io
import itertools
import random
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from scripted import (
    SECRET,
    USERNAME,
    LeakCheck,
    Server,
    client_threads,
    lenient,
    open_fds,
)

from amishell.client import NOT_CONNECTED, TIMED_OUT, AMIClient
from amishell.errors import ConnectFailed
from amishell.message import Message
from amishell.protocol import DEFAULT_MAX_MESSAGE_SIZE

#: How long a fault may take to surface (the client's own timeouts are shorter).
BOUND = 2.0
CLOSED = "Reading from socket failed: connection closed by the server"


class Env:
    """Servers and clients made by a test; closed and leak-checked afterwards."""

    def __init__(self) -> None:
        self.leaks = LeakCheck()
        self.servers: list[Server] = []
        self.clients: list[AMIClient] = []

    def server(self, **knobs: Any) -> Server:
        server = Server(lenient, **knobs)
        self.servers.append(server)
        return server

    def client(self, server: Server, secret: str = SECRET, **options: Any) -> AMIClient:
        options.setdefault("timeout", BOUND)
        client = AMIClient(USERNAME, secret, server.hostport, **options)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for server in self.servers:
            server.stop()
        for server in self.servers:
            assert not server.errors, server.errors
        self.leaks.check()


@pytest.fixture
def env() -> Iterator[Env]:
    e = Env()
    try:
        yield e
    finally:
        e.close()


def assert_no_client_threads(before: set[threading.Thread] | None = None) -> None:
    """Right after close(): no client thread may still be running."""
    alive = client_threads() - (before or set())
    assert not alive, sorted(t.name for t in alive)


class Disconnects:
    """A disconnect_callback that records what it was given."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.called = threading.Event()

    def __call__(self, text: str) -> None:
        self.texts.append(text)
        self.called.set()


# ---------------------------------------------------------------------------
# The server closes the connection


def test_close_before_greeting(env: Env) -> None:
    before = client_threads()
    client = env.client(env.server(close_before_greeting=True))
    start = time.monotonic()
    assert client.connect() is False
    assert time.monotonic() - start < BOUND
    assert client.error == "Connection closed without input"
    assert not client.connected
    assert_no_client_threads(before)


def test_close_during_login(env: Env) -> None:
    before = client_threads()
    client = env.client(env.server(close_during_login=True))
    start = time.monotonic()
    assert client.connect() is False
    assert time.monotonic() - start < BOUND
    assert client.error == f"Login failed: {CLOSED}"
    assert not client.connected
    assert_no_client_threads(before)


def test_close_mid_message(env: Env) -> None:
    before = client_threads()
    gone = Disconnects()
    server = env.server(close_mid_message=True)
    client = env.client(server, disconnect_callback=gone)
    assert client.connect(), client.error
    reply = client.action(Action="Ping")
    assert reply.is_error
    assert reply.value("Message") == CLOSED
    assert reply.action_id is not None
    assert server.closed_at is not None
    assert gone.called.wait(BOUND)
    assert gone.texts == [CLOSED]
    assert client.error == CLOSED and not client.connected
    # Later actions fail at once with the same story, never hang.
    assert client.action(Action="Ping").value("Message") == NOT_CONNECTED
    client.close()
    assert_no_client_threads(before)


@pytest.mark.parametrize("close_mid_list", [False, True], ids=["whole-list", "closed-mid-list"])
def test_event_list(env: Env, close_mid_list: bool) -> None:
    before = client_threads()
    client = env.client(env.server(close_mid_list=close_mid_list))
    assert client.connect(), client.error
    reply = client.action(Action="Status")
    if close_mid_list:
        assert reply.is_error
        assert reply.value("Message") == CLOSED
        assert not client.connected
    else:
        assert not reply.is_error
        assert [e.value("Channel") for e in reply.events] == [
            "PJSIP/100-00000000", "PJSIP/101-00000001"
        ]
        assert reply.complete is not None and reply.complete.value("ListItems") == "2"
    client.close()
    assert_no_client_threads(before)


def test_close_while_50_actions_wait(env: Env) -> None:
    before = client_threads()
    server = env.server(close_when_waiting=50)
    client = env.client(server, timeout=30)  # only the close may end these waits
    assert client.connect(), client.error
    results: list[tuple[Message, float]] = []
    lock = threading.Lock()

    def wait_one() -> None:
        reply = client.action(Action="Status")
        with lock:
            results.append((reply, time.monotonic()))

    threads = [threading.Thread(target=wait_one) for _ in range(50)]
    for t in threads:
        t.start()
    assert server.closed.wait(BOUND * 2), "the 50 actions never reached the server"
    for t in threads:
        t.join(BOUND * 2)
    assert not any(t.is_alive() for t in threads), "an action is still waiting"
    assert server.closed_at is not None
    assert len(results) == 50
    for reply, ended in results:
        assert reply.is_error
        assert reply.value("Message") == CLOSED
        assert ended - server.closed_at < BOUND
    # Each action got its own outcome, under its own ActionID.
    assert len({reply.action_id for reply, _ in results}) == 50
    client.close()
    assert_no_client_threads(before)


# ---------------------------------------------------------------------------
# Bad bytes


def test_never_greeting(env: Env) -> None:
    client = env.client(env.server(greeting=None), timeout=0.5)
    start = time.monotonic()
    assert client.connect() is False
    assert time.monotonic() - start < BOUND
    assert client.error is not None
    assert "0.5s" in client.error and "waiting for the server's greeting" in client.error


@pytest.mark.parametrize(
    ("greeting", "shown"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"\x16\x03\x01\x02\x00\x01\xff\xfe\r\n", "\x16\x03\x01\x02\x00\x01\xff\xfe"),
        (b"z" * 10000, "z" * 200 + "..."),
    ],
    ids=["ssh", "http", "binary", "endless"],
)
def test_wrong_greeting(env: Env, greeting: bytes, shown: str) -> None:
    before = client_threads()
    client = env.client(env.server(greeting=greeting))
    assert client.connect() is False
    assert client.error == f"Unknown protocol: {shown}"
    assert_no_client_threads(before)


def test_garbage_then_valid_messages(env: Env) -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(200_000))
    server = env.server(after_login=garbage + b"\r\n\r\n")
    seen: list[Message] = []
    client = env.client(server, event_callback=seen.append)
    assert client.connect(), client.error
    # Whatever the garbage became, the session goes on working.
    assert client.ping() is not None, client.error
    assert client.action(Action="Getvar", Token="after").value("Echo") == "after"
    assert client.connected and client.callback_errors == 0


def test_10mb_line_is_a_protocol_error_and_memory_stays_bounded(env: Env) -> None:
    huge = b"Event: Huge\r\nData: " + b"x" * (10 << 20) + b"\r\n\r\n"
    after = b"Event: After\r\nPrivilege: system,all\r\n\r\n"
    seen: list[str] = []
    server = env.server(after_login=huge + after)
    client = env.client(server, timeout=10, event_callback=lambda m: seen.append(m.name))
    assert client.connect(), client.error
    assert client.ping() is not None, client.error
    deadline = time.monotonic() + BOUND
    while "After" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == ["After"]  # the huge event is dropped, the next one arrives
    assert client.protocol_errors == 1
    assert client.queued_bytes <= DEFAULT_MAX_MESSAGE_SIZE
    assert client.connected


def test_100000_headers_parse(env: Env) -> None:
    count = 100_000
    body = "".join(f"V: {i % 100}\r\n" for i in range(count))
    payload = f"Event: Many\r\nPrivilege: system,all\r\n{body}\r\n".encode()
    assert len(payload) < DEFAULT_MAX_MESSAGE_SIZE
    got: list[Message] = []
    done = threading.Event()

    def on_event(message: Message) -> None:
        got.append(message)
        done.set()

    client = env.client(env.server(after_login=payload), timeout=10, event_callback=on_event)
    assert client.connect(), client.error
    assert done.wait(10)
    assert client.ping() is not None
    [message] = got
    assert message.name == "Many"
    assert message.getall("V") == [str(i % 100) for i in range(count)]
    assert client.protocol_errors == 0


def test_trickle_one_byte_at_a_time(env: Env) -> None:
    # A two-byte UTF-8 character arrives in two reads: it must not be lost.
    event = "Event: Newchannel\r\nCallerIDName: José\r\n\r\n".encode()
    got: list[Message] = []
    done = threading.Event()

    def on_event(message: Message) -> None:
        got.append(message)
        done.set()

    client = env.client(env.server(trickle=0.01, after_login=event), event_callback=on_event)
    assert client.connect(), client.error
    assert client.greeting == "Asterisk Call Manager/13.0.0"
    assert done.wait(BOUND)
    assert got[0].value("CallerIDName") == "José"


def test_non_utf8_message_decodes_as_latin1(env: Env) -> None:
    payload = (
        b"Event: Newchannel\r\nCallerIDName: Jos\xe9 M\xfcller\r\n\r\n"
        b"Event: Newchannel\r\nCallerIDName: Jos\xc3\xa9\r\n\r\n"
    )
    got: list[str | None] = []
    client = env.client(env.server(after_login=payload),
                        event_callback=lambda m: got.append(m.value("CallerIDName")))
    assert client.connect(), client.error
    assert client.ping() is not None
    deadline = time.monotonic() + BOUND
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == ["José Müller", "José"]


# ---------------------------------------------------------------------------
# A server that stops answering


def test_silent_server_action_times_out(env: Env) -> None:
    client = env.client(env.server(silent=True), timeout=0.5)
    assert client.connect(), client.error
    start = time.monotonic()
    reply = client.action(Action="Ping")
    assert 0.4 < time.monotonic() - start < BOUND
    assert reply.is_error and reply.value("Message") == TIMED_OUT
    assert client.error == TIMED_OUT


def test_keepalive_detects_silent_server(env: Env) -> None:
    before = client_threads()
    gone = Disconnects()
    client = env.client(env.server(silent=True), timeout=1.0, keepalive=0.3,
                        disconnect_callback=gone)
    assert client.connect(), client.error
    waiter = client.submit(Action="Status")
    released: list[Message] = []
    thread = threading.Thread(target=lambda: released.append(waiter.result(30)))
    thread.start()
    assert gone.called.wait(BOUND * 3), "keep-alive did not notice the silent server"
    thread.join(BOUND)
    assert not thread.is_alive(), "a waiting action was not released"
    [text] = gone.texts
    assert "stopped answering" in text and "reads too slowly" in text
    assert client.error == text and not client.connected
    assert released[0].is_error and released[0].value("Message") == text
    client.close()
    assert_no_client_threads(before)


def test_keepalive_waits_behind_a_long_synchronous_originate(env: Env) -> None:
    gone = Disconnects()
    server = env.server(delays={"Originate": 2.0})
    # The keep-alive gives up on a Ping after 1 s; the Originate takes 2 s.
    transcript = io.StringIO()
    client = env.client(server, timeout=1.0, keepalive=0.3, disconnect_callback=gone,
                        debug_file=transcript)
    assert client.connect(), client.error
    reply = client.action(Action="Originate", Channel="Local/100@demo", Exten="100",
                          Context="demo", Priority=1)
    assert not reply.is_error, reply
    assert client.connected and client.error is None
    assert client.ping() is not None
    assert not gone.called.is_set()
    client.flush_debug()
    # A keep-alive Ping was sent before the Originate's answer came: it did wait behind it.
    text = transcript.getvalue()
    assert text.index(">> Action: Ping") < text.index("<< ActionID: 2")


# ---------------------------------------------------------------------------
# TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


def test_tls_unverifiable_certificate_is_refused(env: Env, ca: trustme.CA) -> None:
    server = env.server(tls=tls_server_context(ca))
    refused = env.client(server, tls=True)
    start = time.monotonic()
    assert refused.connect() is False
    assert time.monotonic() - start < BOUND
    assert refused.error is not None
    assert "certificate" in refused.error and "did not verify" in refused.error
    # The same server is fine for a client that trusts its CA.
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    client = env.client(server, tls=trusting)
    assert client.connect(), client.error
    assert client.ping() is not None
    assert client.disconnect()


def test_tls_client_on_a_plain_port_fails_clearly(env: Env) -> None:
    client = env.client(env.server(), tls=True, timeout=1.0)
    start = time.monotonic()
    assert client.connect() is False
    assert time.monotonic() - start < BOUND
    assert client.error is not None and "TLS" in client.error


def test_plain_client_on_a_tls_port_fails_clearly(env: Env, ca: trustme.CA) -> None:
    """A TLS port says nothing until the client speaks: the greeting is given
    up on after 5 s (not the whole 30 s timeout), with a hint."""
    client = env.client(env.server(tls=tls_server_context(ca)), timeout=30.0)
    start = time.monotonic()
    assert client.connect() is False
    assert time.monotonic() - start < 8.0
    assert client.error is not None
    assert "within 5s waiting for the server's greeting" in client.error
    assert client.error.endswith("(is it a TLS port?)")
    assert isinstance(client.last_error, ConnectFailed)


# ---------------------------------------------------------------------------
# Many cycles


def test_100_connect_disconnect_cycles_leave_threads_and_fds_flat(env: Env) -> None:
    # Every other connection is dropped by the server instead of logged off.
    numbers = itertools.count()
    server = env.server(drop_after=lambda: 2 if next(numbers) % 2 else 10**9)
    client = env.client(server, keepalive=5.0)

    def cycle() -> None:
        assert client.connect(), client.error
        assert client.ping() is not None
        if client.ping() is None:
            assert client.error is not None and not client.connected
            client.close()
        else:
            assert client.disconnect(), client.error
        assert server.wait_idle()

    for _ in range(5):
        cycle()
    threads, fds = threading.active_count(), open_fds()
    for _ in range(100):
        cycle()
    assert server.drops >= 50
    # Flat: not one more thread or descriptor than after the first few cycles.
    assert threading.active_count() <= threads
    assert open_fds() <= fds
