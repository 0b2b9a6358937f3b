"""The AMI client library: :class:`AMIClient` and the parts behind it.

- :mod:`.connection`: socket, TLS, greeting, login (plain or MD5)
- :mod:`.transport`: bytes in and out, plain or TLS
- :mod:`.reader`: the reader thread, and a caller reading its own response
- :mod:`.router`: pending actions by ActionID, event lists, failing all on a drop
- :mod:`.dispatcher`: the bounded inbox, event callbacks, ``read_response``
- :mod:`.keepalive`, :mod:`.reconnect`, :mod:`.transcript`
- :mod:`.future`: :class:`ActionFuture`; :mod:`.state`: the connection's state
"""

from __future__ import annotations

from ..errors import AMIError
from .core import AMIClient
from .future import NOT_CONNECTED, TIMED_OUT, ActionFuture
from .state import ConnectionChange, ConnectionState, WireObserver

__all__ = [
    "NOT_CONNECTED",
    "TIMED_OUT",
    "AMIClient",
    "AMIError",
    "ActionFuture",
    "ConnectionChange",
    "ConnectionState",
    "WireObserver",
]
