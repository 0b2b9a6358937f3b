"""The manager secret never shows: transcripts, repr, errors, logs; with MD5 not on the wire."""

from __future__ import annotations

import hashlib
import io
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from scripted import CHALLENGE, SECRET, USERNAME, LeakCheck, Server, lenient

from amishell.client import AMIClient, AMIError

MASKED = "********"


@pytest.fixture
def leaks() -> Iterator[None]:
    check = LeakCheck()
    yield
    check.check()


def assert_hidden(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text
        # Not even a recognisable piece of it.
        assert secret[:8] not in text


def test_plain_login_session_shows_no_secret(
    leaks: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gone: list[str] = []
    with Server(lenient, close_mid_message=True) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2, debug=True,
                           disconnect_callback=gone.append)
        assert client.connect(), client.error
        assert SECRET.encode() in server.raw  # plain login does send it
        shown = repr(client)
        # The server drops the session on the next action: errors, callback, repr again.
        reply = client.action(Action="Getvar", Variable="X")
        assert reply.is_error
        client.close()
    out, err = capsys.readouterr()
    assert f">> Secret: {MASKED}" in err  # the transcript was written, masked
    assert ">> Action: Login" in err
    assert_hidden(SECRET, out, err, caplog.text, shown, repr(client), str(client.error),
                  repr(reply), *gone)


def test_secret_headers_in_other_actions_are_masked_in_the_transcript(leaks: None) -> None:
    transcript = io.StringIO()
    with Server(lenient) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2, debug_file=transcript)
        assert client.connect(), client.error
        reply = client.action(Action="Getvar", Token="t", Secret=SECRET, Key="k-" + SECRET)
        assert reply.value("Echo") == "t"
        assert client.disconnect()
        client.close()
    text = transcript.getvalue()
    assert text.count(f">> Secret: {MASKED}") == 2
    assert f">> Key: {MASKED}" in text
    assert_hidden(SECRET, text)


def test_md5_login_keeps_the_secret_off_the_wire(leaks: None) -> None:
    transcript = io.StringIO()
    with Server(lenient) as server:
        client = AMIClient(USERNAME, SECRET, server.hostport, timeout=2, auth="md5",
                           debug_file=transcript)
        assert client.connect(), client.error  # the server checked the Key
        assert client.ping() is not None
        assert client.disconnect()
        client.close()
        wire = bytes(server.raw)
    key = hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
    assert b"AuthType: MD5" in wire and f"Key: {key}".encode() in wire
    assert SECRET.encode() not in wire and b"Secret" not in wire
    text = transcript.getvalue()
    assert f">> Key: {MASKED}" in text
    assert_hidden(SECRET, text)
    assert key not in text


WRONG = "Wr0ng-Hunter2-secret"


@pytest.mark.parametrize(
    ("knobs", "secret", "why"),
    [
        ({}, WRONG, "Login failed: Authentication failed"),
        ({"close_during_login": True}, SECRET, "connection closed by the server"),
        ({"greeting": None}, SECRET, "waiting for the server's greeting"),
        ({}, "Hunter2-abc\r\nAction: Originate", "contains a line break"),
        ({}, "Zq9-" * 400, "Asterisk accepts at most 1022"),
    ],
    ids=["wrong-secret", "closed-in-login", "no-greeting", "line-break", "too-long"],
)
def test_failed_connections_show_no_secret(
    leaks: None, caplog: pytest.LogCaptureFixture, knobs: dict[str, Any], secret: str, why: str
) -> None:
    caplog.set_level(logging.DEBUG)
    transcript = io.StringIO()
    with Server(lenient, **knobs) as server:
        client = AMIClient(USERNAME, secret, server.hostport, timeout=0.5,
                           debug_file=transcript)
        assert client.connect() is False
        assert client.error is not None and why in client.error
        assert not client.connected
        with pytest.raises(AMIError) as raised:
            with AMIClient(USERNAME, secret, server.hostport, timeout=0.5):
                pass  # pragma: no cover - connecting fails
        client.close()
        wire = bytes(server.raw)
    exc = raised.value
    assert why in str(exc)
    assert b"Action: Originate" not in wire  # nothing was injected
    assert_hidden(secret, client.error, repr(client), str(exc), repr(exc),
                  "".join(traceback.format_exception(exc)), transcript.getvalue(), caplog.text)
