"""The outcome of one action (:class:`ActionFuture`) and the manufactured error reply."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..message import Message
from ..protocol import parse_frame

__all__ = ["NOT_CONNECTED", "TIMED_OUT", "ActionFuture", "action_id_of", "error_reply"]

NOT_CONNECTED = "Not connected to Asterisk!"
TIMED_OUT = "Timed out waiting for response"

LIST_START = re.compile(rb"\nEventList:[ \t]*start", re.I)
LIST_COMPLETE = re.compile(rb"\nEventList:[ \t]*complete", re.I)

#: Guards the state of every ActionFuture (held for a few instructions at a time).
_state = threading.Lock()


def error_reply(text: str, action_id: str | None = None) -> Message:
    """The ``Response: Error`` message the client returns for a failure of its own."""
    pairs = [("Response", "Error")]
    if action_id is not None:
        pairs.append(("ActionID", action_id))
    pairs.append(("Message", text))
    return Message(pairs)


def action_id_of(frame: bytes) -> bytes | None:
    """The ActionID of a frame (not its first line), as bytes, or None."""
    i = frame.find(b"\nActionID:")
    if i < 0:
        return None
    j = frame.find(b"\n", i + 10)
    return (frame[i + 10 : j] if j >= 0 else frame[i + 10 :]).strip()


class Owner(Protocol):
    """What a future needs from its client."""

    def run_callbacks(self, future: ActionFuture, callbacks: list[Callable[[Message], object]]
                      ) -> None: ...

    def timed_out(self) -> None: ...


class ActionFuture:
    """The outcome of one action, matched by ActionID.

    :meth:`result` waits for it; :meth:`cancel` stops waiting without forgetting
    it, so a late response still reaches :meth:`add_done_callback` callbacks and
    is never mistaken for another action's.
    """

    __slots__ = (
        "action_id", "action", "key", "holds_session", "_owner", "_done", "_gate",
        "_response", "_items", "_complete", "_message", "collecting", "last", "timeout",
        "_callbacks", "cancelled", "timed_out", "sent_at", "done_at",
    )

    def __init__(self, owner: Owner | None, action_id: str, action: str, timeout: float,
                 holds_session: bool = False) -> None:
        self.action_id = action_id
        self.action = action
        #: The ActionID as the router finds it in frames.
        self.key = action_id.encode()
        #: A synchronous Originate: it may hold the session for its own timeout.
        self.holds_session = holds_session
        self._owner = owner
        self._done = False
        self._gate: Any = None  # made only when a thread has to wait
        self._response: bytes | None = None
        self._items: list[bytes] = []
        self._complete: bytes | None = None
        self._message: Message | None = None
        #: Collecting an event list (the response said ``EventList: start``).
        self.collecting = False
        self.timeout = timeout
        self._callbacks: list[Callable[[Message], object]] | None = None
        self.cancelled = False
        self.timed_out = False
        #: The last sign of this action (sending, its response, a list item).
        self.sent_at = self.last = time.monotonic()
        self.done_at: float | None = None

    # -- the router's side ------------------------------------------------------
    def feed(self, frame: bytes) -> bool | None:
        """Take a frame carrying this action's ActionID: True when that
        completes it, False when more is to come, None when the frame is not
        its own (an event that happens to carry the ID)."""
        if self._response is None:
            if not frame.startswith(b"Response:"):
                return None
            self.last = time.monotonic()
            self._response = frame
            self.collecting = LIST_START.search(frame) is not None
            return not self.collecting
        if not self.collecting:
            return None
        self.last = time.monotonic()
        if LIST_COMPLETE.search(frame):
            self._complete = frame
            return True
        self._items.append(frame)
        return False

    def set(self, message: Message | None = None) -> None:
        """Complete it: with what :meth:`feed` gathered, or with ``message``."""
        with _state:
            if self._done:
                return
            if message is not None:
                self._message = message
            self.done_at = time.monotonic()
            self._done = True
            gate = self._gate
            callbacks = self._callbacks
        if gate is not None:
            gate.release()
        if callbacks:
            if self._owner is not None:
                self._owner.run_callbacks(self, callbacks)
            else:
                for fn in callbacks:
                    fn(self.message())

    # -- public -----------------------------------------------------------------
    def done(self) -> bool:
        return self._done

    @property
    def elapsed(self) -> float:
        end = self.done_at if self.done_at is not None else time.monotonic()
        return end - self.sent_at

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; True when the outcome is there."""
        if self._done:
            return True
        with _state:
            if self._done:
                return True
            gate = self._gate
            if gate is None:
                # Locked until set() releases it; each waiter passes it on.
                gate = self._gate = threading.Lock()
                gate.acquire()
        if gate.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            gate.release()
        return self._done

    def result(self, timeout: float | None = None) -> Message:
        """The response (with ``.events``/``.complete`` for a list).

        With ``timeout=None`` the client's policy applies: ``timeout`` seconds
        since the last sign of this action (each list item restarts it). A
        number waits at most that long. Either way, running out gives the
        manufactured ``Timed out waiting for response`` error.
        """
        if timeout is not None:
            if not self.wait(timeout):
                return self._expire()
            return self.message()
        while not self._done:
            remaining = self.remaining()
            if remaining <= 0:
                return self._expire()
            self.wait(remaining)
        return self.message()

    @property
    def answered(self) -> bool:
        """Did the server answer (rather than the client, for a failure)?"""
        return self._response is not None

    def remaining(self) -> float:
        """Seconds left under the client's timeout policy."""
        return self.last + self.timeout - time.monotonic()

    def cancel(self) -> None:
        """Stop waiting. A late response still goes to the done-callbacks."""
        self.cancelled = True

    def add_done_callback(self, fn: Callable[[Message], object]) -> None:
        """Call ``fn(message)`` on the dispatcher thread when the outcome is there."""
        with _state:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        if self._owner is not None:
            self._owner.run_callbacks(self, [fn])
        else:
            fn(self.message())

    def message(self) -> Message:
        """The outcome as a message (once done)."""
        msg = self._message
        if msg is not None:
            return msg
        assert self._response is not None
        msg = parse_frame(self._response)
        if self.collecting:
            msg.events = [parse_frame(f) for f in self._items]
            msg.complete = parse_frame(self._complete) if self._complete else None
        with _state:  # two threads may build at once: both return the first
            if self._message is None:
                self._message = msg
            return self._message

    def _expire(self) -> Message:
        self.timed_out = True
        if self._owner is not None:
            self._owner.timed_out()
        return error_reply(TIMED_OUT, self.action_id)
