"""amishell: an interactive shell and a small client library for the Asterisk Manager Interface."""

from __future__ import annotations

from .client import ActionFuture, AMIClient, AMIError
from .message import Message
from .protocol import LocalProtocolError, ProtocolError

__version__ = "0.1.0"

__all__ = [
    "AMIClient",
    "AMIError",
    "ActionFuture",
    "LocalProtocolError",
    "Message",
    "ProtocolError",
    "__version__",
]
