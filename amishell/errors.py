"""Every error amishell reports, in one tree.

The client returns failures rather than raising them (``action()`` gives a
``Response: Error`` message, ``connect()`` gives False); :attr:`AMIClient.error`
holds the Perl-style text and :attr:`AMIClient.last_error` the exception object
below, whose ``str()`` is that same text. The context manager raises it.

    AMIError
    ├── ProtocolError            the peer broke the protocol (RemoteProtocolError)
    ├── LocalProtocolError       we were asked to send what AMI cannot carry (also a ValueError)
    └── AMIConnectionError       the connection, not the protocol
        ├── ConnectFailed        socket, TLS handshake or greeting
        ├── LoginFailed          the server refused the login (or it could not finish)
        ├── NotConnected         no connection when an action was asked for
        ├── ReadFailed           reading failed or the server closed the connection
        ├── WriteFailed          writing failed
        └── ResponseTimeout      no response in time (the session may still be alive)
"""

from __future__ import annotations

__all__ = [
    "AMIConnectionError",
    "AMIError",
    "ConnectFailed",
    "LocalProtocolError",
    "LoginFailed",
    "NotConnected",
    "ProtocolError",
    "ReadFailed",
    "RemoteProtocolError",
    "ResponseTimeout",
    "WriteFailed",
]


class AMIError(Exception):
    """Base of every amishell error; ``str()`` is the text :attr:`AMIClient.error` shows."""


class ProtocolError(AMIError):
    """The peer broke the protocol (an oversized message, a bad greeting)."""

    #: The ActionID of the message concerned, when it could be read.
    action_id: str | None = None


RemoteProtocolError = ProtocolError


class LocalProtocolError(AMIError, ValueError):
    """We were asked to send something the protocol cannot carry."""


class AMIConnectionError(AMIError):
    """A failure of the connection rather than of the protocol."""


class ConnectFailed(AMIConnectionError):
    """The socket, the TLS handshake or the greeting failed."""


class LoginFailed(AMIConnectionError):
    """The server refused the login, or the login could not finish."""


class NotConnected(AMIConnectionError):
    """An action was asked for while there was no connection."""


class ReadFailed(AMIConnectionError):
    """Reading failed, or the server closed the connection."""


class WriteFailed(AMIConnectionError):
    """Writing to the socket failed."""


class ResponseTimeout(AMIConnectionError):
    """No response within the timeout."""
