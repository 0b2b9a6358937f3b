"""The dispatcher: the bounded inbox, event callbacks and ``read_response``.

The reader puts unclaimed frames (events, responses nobody waits for) into
the inbox with :meth:`Dispatcher.put`, never waiting. The dispatcher thread
takes them in batches: every event frame that is not an item of a list some
``send_action`` started goes through ``event_prefilter`` (when set), then to
``event_callback`` (when set); the other frames wait in the outbox for
:meth:`Dispatcher.read`. Frames count against ``max_queue_bytes`` until they
are delivered. Jobs (done-callbacks, state changes) run on the same thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from operator import call
from typing import Protocol

from ..message import Message
from ..protocol import parse_frame
from .future import LIST_COMPLETE, LIST_START, action_id_of
from .state import Stats

__all__ = ["Dispatcher", "Hooks"]

log = logging.getLogger("amishell")

#: Most frames the dispatcher takes from the inbox at once.
BATCH = 512
#: How long past its timeout read() waits for frames already queued to be sorted.
SORT_GRACE = 1.0


class Hooks(Protocol):
    """Where the dispatcher finds the user's settings (read at each batch)."""

    event_callback: Callable[[Message], object] | None
    event_prefilter: Callable[[bytes], bool] | None
    max_queue_bytes: int


class Dispatcher:
    def __init__(self, hooks: Hooks, stats: Stats) -> None:
        self._hooks = hooks
        self._stats = stats
        self._cv = threading.Condition(threading.Lock())
        self._inbox: deque[bytes] = deque()
        self._outbox: deque[bytes] = deque()
        self._bytes = 0
        self._jobs: deque[Callable[[], object]] = deque()
        self._open_lists: set[bytes] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._readers = 0  # threads waiting in read()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    # -- the reader's side ------------------------------------------------------
    def put(self, frames: list[bytes]) -> None:
        """Queue unclaimed frames; over the bound, drop (and count) events."""
        size = sum(map(len, frames))
        with self._cv:
            if self._bytes + size > self._hooks.max_queue_bytes:
                frames = self._shed(frames)
                size = sum(map(len, frames))
            self._inbox.extend(frames)
            self._bytes += size
            if self._readers or self._sorting():  # (nobody else needs waking)
                self._cv.notify_all()

    def _shed(self, frames: list[bytes]) -> list[bytes]:
        room = self._hooks.max_queue_bytes - self._bytes
        kept = []
        for frame in frames:
            if frame.startswith(b"Response:") or len(frame) <= room:
                kept.append(frame)
                room -= len(frame)
        self._stats.dropped_events += len(frames) - len(kept)
        return kept

    # -- jobs -------------------------------------------------------------------
    def call_soon(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the dispatcher thread (at once here when it is not running)."""
        with self._cv:
            self._jobs.append(job)
            self._cv.notify_all()
            running = self._thread is not None
        if not running:
            self._run_jobs()

    def _run_jobs(self) -> None:
        while True:
            with self._cv:
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            self._safely(job, "callback")

    def _safely(self, job: Callable[[], object], what: str) -> None:
        try:
            job()
        except Exception:
            self._stats.callback_errors += 1
            log.exception("amishell %s raised", what)

    # -- the thread -------------------------------------------------------------
    def start(self) -> None:
        with self._cv:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="amishell-dispatcher",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the thread once its jobs are done (jobs queued later run at once)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._run_jobs()

    def _run(self) -> None:
        cv = self._cv
        try:
            while True:
                with cv:
                    while not self._jobs and not (self._inbox and self._sorting()):
                        if self._stopping:
                            return
                        cv.wait()
                    jobs = list(self._jobs)
                    self._jobs.clear()
                    batch = self._take()
                for job in jobs:
                    self._safely(job, "callback")
                if batch:
                    self._sort(batch)
        finally:
            with cv:
                self._thread = None

    def _sorting(self) -> bool:
        """Does the inbox need sorting? Not while every frame would only go to
        the outbox (no callback, no prefilter): read() then takes them as they are."""
        hooks = self._hooks
        return hooks.event_callback is not None or hooks.event_prefilter is not None

    def _take(self) -> list[bytes]:
        inbox = self._inbox
        if len(inbox) <= BATCH:
            batch = list(inbox)
            inbox.clear()
            return batch
        return list(map(call, itertools.repeat(inbox.popleft, BATCH)))

    def _sort(self, frames: list[bytes]) -> None:
        """Callback, prefilter or outbox for each frame of a batch."""
        hooks = self._hooks
        callback = hooks.event_callback
        prefilter = hooks.event_prefilter
        open_lists = self._open_lists
        queued: list[bytes] = []
        done = 0  # bytes delivered or dropped
        received = 0
        for frame in frames:
            if frame.startswith(b"Response:"):
                if LIST_START.search(frame) and (key := action_id_of(frame)):
                    open_lists.add(key)
                queued.append(frame)
                continue
            if open_lists and (key := action_id_of(frame)) in open_lists:
                if LIST_COMPLETE.search(frame):
                    open_lists.discard(key)
                queued.append(frame)
                continue
            if prefilter is not None:
                try:
                    wanted = prefilter(frame)
                except Exception:
                    self._stats.callback_errors += 1
                    log.exception("amishell event_prefilter raised")
                    wanted = True
                if not wanted:
                    received += 1
                    done += len(frame)
                    continue
            if callback is None:
                queued.append(frame)
                continue
            received += 1
            done += len(frame)
            try:
                callback(parse_frame(frame))
            except Exception:
                self._stats.callback_errors += 1
                log.exception("amishell event_callback raised")
        self._stats.events_received += received
        with self._cv:
            self._bytes -= done
            if queued:
                self._outbox.extend(queued)
                self._cv.notify_all()

    # -- read_response ----------------------------------------------------------
    def read(self, timeout: float | None, gone: Callable[[], Message | None]) -> Message | None:
        """The next queued message; ``gone()`` (the error to return, or None to
        wait on) once nothing is left; None when ``timeout`` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                if self._outbox:
                    frame = self._outbox.popleft()
                    self._bytes -= len(frame)
                    return parse_frame(frame)
                if self._inbox and not self._sorting():
                    frame = self._inbox.popleft()
                    self._bytes -= len(frame)
                    return parse_frame(frame)
                if self._inbox and self._thread is None:
                    batch = self._take()
                    self._cv.release()
                    try:
                        self._sort(batch)
                    finally:
                        self._cv.acquire()
                    continue
                if not self._inbox and (error := gone()) is not None:
                    return error
                self._readers += 1
                try:
                    if deadline is None:
                        self._cv.wait()
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining > 0:
                        self._cv.wait(remaining)
                    elif self._inbox and remaining > -SORT_GRACE:
                        # What arrived before now is being sorted: wait for it,
                        # so that read_response(0) after action() finds it.
                        self._cv.wait(SORT_GRACE + remaining)
                    else:
                        return None
                finally:
                    self._readers -= 1

    def wake(self) -> None:
        """Wake the threads in :meth:`read` (the connection changed)."""
        with self._cv:
            self._cv.notify_all()
