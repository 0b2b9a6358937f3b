"""Routing frames to the actions waiting for them, by ActionID."""

from __future__ import annotations

from .future import ActionFuture, error_reply

__all__ = ["Router"]


class Router:
    """The actions of one connection that wait for a response.

    :meth:`route` (called by whichever thread reads) hands each frame carrying
    a waiting action's ActionID to that action (its response, then the items
    of its event list) and returns the frames nobody claimed. :meth:`close`
    fails every waiting action at once, when the connection is gone; an action
    added after that fails at once too.
    """

    def __init__(self) -> None:
        self._pending: dict[bytes, ActionFuture] = {}
        self._closed: str | None = None

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def add(self, future: ActionFuture) -> None:
        """Wait for ``future``'s frames (or fail it at once when closed)."""
        self._pending[future.key] = future
        reason = self._closed
        if reason is not None:  # closed meanwhile: close() may have missed it
            self._pending.pop(future.key, None)
            future.set(error_reply(reason, future.action_id))

    def route(self, frames: list[bytes]) -> tuple[list[bytes], list[ActionFuture]]:
        """The unclaimed frames, and the actions these frames completed.

        The caller completes those actions (:meth:`ActionFuture.set`) after
        queueing the unclaimed frames, so that whatever came before a response
        is there when its action returns.
        """
        pending = self._pending
        if not pending:
            return frames, []
        unclaimed: list[bytes] = []
        finished: list[ActionFuture] = []
        for frame in frames:
            i = frame.find(b"\nActionID:")  # (action_id_of, inlined: once per frame)
            if i < 0:
                unclaimed.append(frame)
                continue
            j = frame.find(b"\n", i + 10)
            future = pending.get((frame[i + 10 : j] if j >= 0 else frame[i + 10 :]).strip())
            if future is None:
                unclaimed.append(frame)
                continue
            taken = future.feed(frame)
            if taken is None:
                unclaimed.append(frame)
            elif taken:
                pending.pop(future.key, None)
                finished.append(future)
        return unclaimed, finished

    def fail(self, action_id: str, text: str) -> bool:
        """Complete one action with an error (a protocol error about its response)."""
        future = self._pending.pop(action_id.encode(), None)
        if future is None:
            return False
        future.set(error_reply(text, future.action_id))
        return True

    def close(self, reason: str) -> None:
        """Fail every waiting action with ``reason``; later ones fail at once."""
        if self._closed is None:
            self._closed = reason
        pending = list(self._pending.values())
        self._pending.clear()
        for future in pending:
            future.set(error_reply(reason, future.action_id))

    def holds_session(self, before: float) -> bool:
        """Does an action sent before ``before`` legitimately hold the session
        (a synchronous Originate still within its own timeout)?"""
        return any(
            f.holds_session and f.sent_at <= before and f.remaining() > 0
            for f in list(self._pending.values())
        )
