"""The AMI wire format, sans-IO: bytes in, messages out; messages to bytes.

No sockets, no threads, no clock:

* :class:`Framer` (``framer.py``) cuts a byte stream into whole messages
  (``bytes`` frames) and the greeting line, without decoding them: the
  client's reader thread runs it.
* :func:`parse_frame` (``parser.py``) turns one frame into a
  :class:`~amishell.message.Message`; :class:`Parser` is both together in the
  h11 style: ``feed(data)``, then ``next_event()`` until it returns
  :data:`NEED_DATA`.
* :func:`serialize` (``serialize.py``) turns a mapping or pairs into bytes,
  refusing header injection and the server's line limits.
* ``legacy.py``: the legacy ``Response: Follows`` Command output.
"""

from ..errors import LocalProtocolError, ProtocolError
from .framer import (
    DEFAULT_MAX_MESSAGE_SIZE,
    GREETING_PREFIX,
    Framer,
    Greeting,
    decode,
    split_greeting,
)
from .parser import NEED_DATA, Parser, parse_frame
from .serialize import MAX_LINE_LENGTH, MAX_LINES, check_header, format_pairs, serialize

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "GREETING_PREFIX",
    "MAX_LINE_LENGTH",
    "MAX_LINES",
    "NEED_DATA",
    "Framer",
    "Greeting",
    "LocalProtocolError",
    "Parser",
    "ProtocolError",
    "check_header",
    "decode",
    "format_pairs",
    "parse_frame",
    "serialize",
    "split_greeting",
]
