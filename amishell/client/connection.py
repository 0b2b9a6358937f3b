"""Opening a connection: socket, TLS, greeting; and logging in (plain or MD5).

Failures raise the exception of :mod:`amishell.errors` whose text the client
shows in :attr:`AMIClient.error`.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import (
    ConnectFailed,
    LocalProtocolError,
    LoginFailed,
    ReadFailed,
    ResponseTimeout,
)
from ..message import Message
from ..protocol import Framer
from .future import ActionFuture
from .state import WireObserver
from .transport import PlainTransport, TLSTransport, Transport

__all__ = ["GREETING_WAIT", "Opened", "login", "open_connection", "reason"]

#: Longest wait for the greeting on a plain connection: a TLS port says
#: nothing until the client speaks first, so waiting the whole timeout there
#: only delays the hint.
GREETING_WAIT = 5.0


class Opened:
    """A connection that greeted: its transport, framer, greeting and any
    frames that came with the greeting."""

    def __init__(self, transport: Transport, framer: Framer, greeting: str,
                 frames: list[bytes], address: str) -> None:
        self.transport = transport
        self.framer = framer
        self.greeting = greeting
        self.frames = frames
        self.address = address


def address_of(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def open_connection(
    host: str,
    port: int,
    *,
    timeout: float,
    tls: bool | ssl.SSLContext,
    max_message_size: int,
    observers: Iterable[WireObserver],
) -> Opened:
    """Connect, shake hands (TLS) and read the greeting; raises ConnectFailed."""
    where = address_of(host, port)
    # A name in ASCII goes as bytes (getaddrinfo takes both): a str would
    # load the IDNA codec, milliseconds of every start-up, to encode it the same.
    name: str | bytes = host.encode() if host.isascii() else host
    try:
        sock = socket.create_connection((name, port), timeout=timeout)  # type: ignore[arg-type]
    except TimeoutError:
        raise ConnectFailed(f"Connection failed: timed out connecting to {where}") from None
    except OSError as exc:
        raise ConnectFailed(f"Connection failed: {reason(exc)} ({where})") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    wait = timeout if tls else min(timeout, GREETING_WAIT)
    told: list[WireObserver] = []  # the observers told of this connection

    def abandon() -> None:
        sock.close()
        for observer in told:
            observer.closed()

    try:
        transport: Transport
        if tls:
            context = tls if isinstance(tls, ssl.SSLContext) else ssl.create_default_context()
            secure = TLSTransport(sock, context, host)
            secure.handshake()
            transport = secure
        else:
            sock.settimeout(wait)
            transport = PlainTransport(sock)
        for observer in observers:
            observer.opened(where)
            told.append(observer)
        framer = Framer(greeting=True, max_message_size=max_message_size)
        frames = _read_greeting(transport, framer, observers)
    except ssl.SSLCertVerificationError as exc:
        abandon()
        raise ConnectFailed(
            f"Connection failed: TLS certificate of {where} did not verify:"
            f" {exc.verify_message or exc.reason}"
        ) from None
    except ssl.SSLError as exc:
        abandon()
        raise ConnectFailed(
            f"Connection failed: TLS handshake with {where} failed: {exc.reason or exc}"
            " (is it a TLS port?)"
        ) from None
    except TimeoutError:
        abandon()
        if tls:
            raise ConnectFailed(
                f"Connection failed: no answer from {where} within {timeout:g}s"
                " waiting for TLS handshake or greeting"
            ) from None
        raise ConnectFailed(
            f"Connection failed: no answer from {where} within {wait:g}s waiting for the"
            " server's greeting, the line 'Asterisk Call Manager/...' (is it a TLS port?)"
        ) from None
    except ConnectFailed:
        abandon()
        raise
    except OSError as exc:
        abandon()
        raise ConnectFailed(f"Connection failed: {reason(exc)} ({where})") from None
    sock.settimeout(None)
    assert framer.greeting is not None
    return Opened(transport, framer, str(framer.greeting), frames, where)


def _read_greeting(transport: Transport, framer: Framer, observers: Iterable[WireObserver]
                   ) -> list[bytes]:
    frames: list[bytes] = []
    while framer.greeting is None:
        data = transport.recv()
        if not data:
            raise ConnectFailed("Connection closed without input")
        for observer in observers:
            observer.received(data)
        frames.extend(framer.feed(data))
    greeting = str(framer.greeting)
    if not framer.greeting.is_ami:
        text = greeting if len(greeting) < 200 else greeting[:200] + "..."
        raise ConnectFailed(f"Unknown protocol: {text}")
    return frames


#: Sends an action on the new connection and waits: its future, done or timed out.
Action = Callable[[list[tuple[str, Any]]], ActionFuture]


def _ask(action: Action, request: list[tuple[str, Any]]) -> Message:
    future = action(request)
    reply = future.result()
    if not reply.is_error:
        return reply
    text = f"Login failed: {reply.value('Message') or 'unknown reason'}"
    if future.answered:
        raise LoginFailed(text)  # the server said no
    raise (ResponseTimeout if future.timed_out else ReadFailed)(text)


def login(action: Action, username: str, secret: str, auth: str, events: str | None) -> None:
    """Log in through ``action`` (the client's, on the new connection).

    Raises LoginFailed when the server refuses, ReadFailed or ResponseTimeout
    when the login could not finish; the text is the one the client shows.
    """
    if auth == "md5":
        challenge = _ask(action, [("Action", "Challenge"), ("AuthType", "MD5")])
        if not challenge.value("Challenge"):
            raise LoginFailed("Login failed: no challenge")
        key = hashlib.md5(
            (challenge.value("Challenge", "") or "").encode() + secret.encode()
        ).hexdigest()
        request: list[tuple[str, Any]] = [
            ("Action", "Login"), ("AuthType", "MD5"), ("Username", username), ("Key", key)
        ]
    else:
        request = [("Action", "Login"), ("Username", username), ("Secret", secret)]
    if events is not None:
        request.append(("Events", events))
    try:
        _ask(action, request)
    except LocalProtocolError as exc:  # a line break in the secret, an over-long name
        raise LoginFailed(f"Login failed: {exc}") from None


def reason(exc: BaseException) -> str:
    """A socket error in a few words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe (the server closed the connection)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or exc.__class__.__name__
