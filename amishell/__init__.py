"""amishell: an interactive shell and a small client library for the Asterisk Manager Interface."""

from __future__ import annotations

__version__ = "0.1.0"

from .client import AMIClient, AMIError, ActionFuture
from .message import Message
from .protocol import LocalProtocolError, ProtocolError

__all__ = [
    "AMIClient",
    "AMIError",
    "ActionFuture",
    "LocalProtocolError",
    "Message",
    "ProtocolError",
    "__version__",
]
