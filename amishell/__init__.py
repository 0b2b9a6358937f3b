"""amishell: an interactive shell and a small client library for the Asterisk Manager Interface."""

from __future__ import annotations

from .client import ActionFuture, AMIClient, ConnectionChange, ConnectionState
from .errors import (
    AMIConnectionError,
    AMIError,
    ConnectFailed,
    LocalProtocolError,
    LoginFailed,
    NotConnected,
    ProtocolError,
    ReadFailed,
    ResponseTimeout,
    WriteFailed,
)
from .message import Message

__version__ = "0.1.0"

__all__ = [
    "AMIClient",
    "AMIConnectionError",
    "AMIError",
    "ActionFuture",
    "ConnectFailed",
    "ConnectionChange",
    "ConnectionState",
    "LocalProtocolError",
    "LoginFailed",
    "Message",
    "NotConnected",
    "ProtocolError",
    "ReadFailed",
    "ResponseTimeout",
    "WriteFailed",
    "__version__",
]
