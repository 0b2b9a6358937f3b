"""AMIClient: construction, ActionIDs, connect/login/disconnect, IPv6 and TLS.

Arguments, read_response, transcripts and the context manager are in
test_client_actions.py; events, lists, concurrency and failures mid-session in
test_client_events.py; the real recorded transcripts in test_client_replay.py.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any

import pytest
import trustme
from scripted import SECRET, USERNAME, Server, Session, free_port, silent, standard

from amishell import AMIClient, Message

T = 2.0  # client timeout for tests that expect an answer


def ids(server: Server) -> list[tuple[str, str]]:
    return [(m.value("Action") or "", m.value("ActionID") or "") for m in server.received]


# ---------------------------------------------------------------- constructor


def test_constructor_does_no_io() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        before = threading.active_count()
        client = AMIClient(USERNAME, SECRET, "127.0.0.1", port)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert threading.active_count() == before
    assert not client.connected
    assert client.error is None
    assert client.greeting is None


@pytest.mark.parametrize("missing", ["username", "secret"])
def test_constructor_requires_username_and_secret(missing: str) -> None:
    args = {"username": USERNAME, "secret": SECRET, missing: None}
    with pytest.raises(ValueError, match=f"^Required parameter '{missing}' not defined$"):
        AMIClient(args["username"], args["secret"])


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("localhost", 5038, ("localhost", 5038)),
        ("pbx.example.com", 6000, ("pbx.example.com", 6000)),
        ("pbx.example.com:5039", 5038, ("pbx.example.com", 5039)),
        ("pbx.example.com:5039", 6000, ("pbx.example.com", 5039)),
        ("192.0.2.7:7000", 5038, ("192.0.2.7", 7000)),
        ("[2001:db8::1]:5039", 5038, ("2001:db8::1", 5039)),
        ("[::1]", 6000, ("::1", 6000)),
        ("2001:db8::1", 5038, ("2001:db8::1", 5038)),
        ("::1", 6000, ("::1", 6000)),
    ],
)
def test_host_forms(host: str, port: int, expected: tuple[str, int]) -> None:
    client = AMIClient(USERNAME, SECRET, host, port)
    assert (client.host, client.port) == expected


@pytest.mark.parametrize("host", ["pbx:notaport", "pbx:70000", "[::1"])
def test_bad_host_is_a_value_error(host: str) -> None:
    with pytest.raises(ValueError):
        AMIClient(USERNAME, SECRET, host)


def test_defaults() -> None:
    client = AMIClient(USERNAME, SECRET)
    assert (client.host, client.port) == ("localhost", 5038)
    assert client.timeout == 30.0
    assert SECRET not in repr(client)


# ----------------------------------------------------------------- ActionIDs


def test_action_ids_are_decimal_and_login_logoff_consume_one(pool) -> None:
    server = pool.server()
    client = pool.client(server, action_id=100)
    assert client.connect()
    assert client.action(Action="Ping").value("ActionID") == "101"
    assert client.send_action(Action="Ping") == "102"
    assert client.read_response(timeout=T)["ActionID"] == "102"
    assert client.disconnect()
    assert ids(server) == [("Login", "100"), ("Ping", "101"), ("Ping", "102"), ("Logoff", "103")]


def test_action_ids_start_at_one(pool) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    assert client.action(Action="Ping")["ActionID"] == "2"
    assert client.disconnect()
    assert ids(server) == [("Login", "1"), ("Ping", "2"), ("Logoff", "3")]


def test_md5_login_challenge_is_one_login_two(pool) -> None:
    server = pool.server()
    client = pool.client(server, auth="md5")
    assert client.connect(), client.error
    assert client.action(Action="Ping")["ActionID"] == "3"
    assert ids(server)[:2] == [("Challenge", "1"), ("Login", "2")]
    login = server.received[1]
    assert login.value("AuthType") == "MD5" and login.value("Key")
    assert "Secret" not in login
    assert SECRET.encode() not in server.raw


def test_md5_wrong_secret_fails(pool) -> None:
    client = pool.client(pool.server(), secret="wrong", auth="md5")
    assert client.connect() is False
    assert client.error == "Login failed: Authentication failed"


# ------------------------------------------------------------------- connect


def test_connect_logs_in_and_reads_greeting(pool) -> None:
    server = pool.server()
    client = pool.client(server, events="off")
    assert client.connect() is True
    assert client.connected and client.error is None
    assert client.greeting == "Asterisk Call Manager/13.0.0"
    assert client.ami_version == "13.0.0"
    login = server.received[0]
    assert (login["Action"], login["Username"], login["Secret"], login["Events"]) == (
        "Login", USERNAME, SECRET, "off",
    )
    assert client.connect() is True  # already connected: no second login
    assert server.actions() == ["Login"]


def test_connect_refused(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    assert client.connect() is False
    assert not client.connected
    assert client.error is not None and client.error.startswith("Connection failed: ")
    assert "refused" in client.error


def test_connect_unresolvable_host(pool) -> None:
    client = pool.client("no-such-host.invalid:5038")
    assert client.connect() is False
    assert client.error is not None and client.error.startswith("Connection failed: ")


def test_connection_closed_without_input(pool) -> None:
    server = pool.server(greeting=b"", on_connect=Session.close)
    client = pool.client(server)
    assert client.connect() is False
    assert client.error == "Connection closed without input"
    assert not client.connected


def test_unknown_protocol(pool) -> None:
    server = pool.server(greeting=b"SSH-2.0-OpenSSH_9.6\r\n")
    client = pool.client(server)
    assert client.connect() is False
    assert client.error == "Unknown protocol: SSH-2.0-OpenSSH_9.6"
    assert server.received == []


def test_no_greeting_times_out(pool) -> None:
    client = pool.client(pool.server(greeting=b""), timeout=0.3)
    assert client.connect() is False
    assert client.error is not None and client.error.startswith("Connection failed: ")
    assert "greeting" in client.error


def test_login_failed_wording(pool) -> None:
    server = pool.server()
    client = pool.client(server, secret="wrong")
    assert client.connect() is False
    assert client.error == "Login failed: Authentication failed"
    assert not client.connected
    reply = client.action(Action="Ping")
    assert reply["Message"] == "Not connected to Asterisk!"


def test_login_without_answer_times_out(pool) -> None:
    client = pool.client(pool.server(lambda s, m: None), timeout=0.3)
    assert client.connect() is False
    assert client.error == "Login failed: Timed out waiting for response"


def test_successful_connect_clears_error(pool) -> None:
    attempts: list[int] = []

    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Login":
            attempts.append(1)
            if len(attempts) == 1:
                session.reply(msg, Response="Error", Message="Authentication failed")
                session.close()
                return
        standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect() is False
    assert client.error == "Login failed: Authentication failed"
    assert client.connect() is True
    assert client.error is None


def test_disconnect_then_connect_again(pool) -> None:
    server = pool.server()
    client = pool.client(server)
    assert client.connect()
    assert client.disconnect() is True
    assert not client.connected
    assert client.error is None
    assert server.wait_for(lambda: server.sessions[0].closed.is_set())
    assert client.connect() is True
    assert client.action(Action="Ping")["Ping"] == "Pong"
    assert len(server.sessions) == 2
    assert server.actions() == ["Login", "Logoff", "Login", "Ping"]
    assert [m["ActionID"] for m in server.received] == ["1", "2", "3", "4"]


def test_disconnect_when_not_connected(pool) -> None:
    client = pool.client(f"127.0.0.1:{free_port()}")
    assert client.disconnect() is False
    assert client.error == "Not connected to Asterisk!"


def test_logoff_refused_sets_error(pool) -> None:
    def handler(session: Session, msg: Message) -> None:
        if msg.value("Action") == "Logoff":
            session.reply(msg, Response="Error", Message="Not today")
        else:
            standard(session, msg)

    client = pool.client(pool.server(handler))
    assert client.connect()
    assert client.disconnect() is False
    assert client.error == "Logoff failed: Not today"
    assert not client.connected


# --------------------------------------------------------------- IPv6, TLS


def _ipv6_server() -> Server:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 support")
    try:
        return Server(family=socket.AF_INET6)
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")


@pytest.mark.parametrize("form", ["bare", "bracketed"])
def test_ipv6_loopback(pool, form: str) -> None:
    server = _ipv6_server()
    try:
        if form == "bare":
            client = pool.client("::1", port=server.port)
        else:
            client = pool.client(f"[::1]:{server.port}")
        assert client.connect(), client.error
        assert client.action(Action="Ping")["Ping"] == "Pong"
        assert client.disconnect()
    finally:
        server.close()


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


def _tls_server_context(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def test_tls_verified_with_ca_in_context(pool, ca: Any) -> None:
    server = pool.server(tls=_tls_server_context(ca))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    client = pool.client(server, tls=client_context)
    assert client.connect(), client.error
    assert client.action(Action="Ping")["Ping"] == "Pong"
    assert client.send_action(Action="Ping") == "3"
    reply = client.read_response(timeout=T)
    assert reply is not None and reply["ActionID"] == "3"
    assert client.disconnect()
    assert server.actions() == ["Login", "Ping", "Ping", "Logoff"]


def test_tls_default_verification_refuses_self_signed(pool, ca: Any
                                                       ) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with ca.cert_pem.tempfile() as cert, ca.private_key_pem.tempfile() as key:
        context.load_cert_chain(cert, key)  # the CA's own, self-signed certificate
    server = pool.server(tls=context)
    client = pool.client(server, tls=True)
    assert client.connect() is False
    assert client.error is not None
    assert client.error.startswith("Connection failed: TLS certificate of 127.0.0.1:")
    assert "did not verify" in client.error and "self" in client.error.lower()
    assert server.received == []


def test_tls_against_a_plain_port(pool) -> None:
    server = pool.server(silent)
    client_context = ssl.create_default_context()
    client = pool.client(server, tls=client_context, timeout=0.5)
    assert client.connect() is False
    assert client.error is not None and client.error.startswith("Connection failed: ")
