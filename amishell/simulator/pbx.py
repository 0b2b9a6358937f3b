"""The PBX core: live state, the engine thread and its scheduler, event fan-out.

One re-entrant lock guards everything here. Session threads take it to run
an action (so an answer is queued before any event the action causes); the
engine thread takes it to run timers. Simulated calls are generators driven by
:class:`Runner`: they yield a delay in seconds or a :class:`Waiter`, and a
hang-up is thrown into them as :class:`HangupRequested`.

Work that must follow the current step at once (a hang-up passed from one
half of a Local channel to the other, a waiter that fired) goes on a ready
queue that is drained before any timer runs, so such cascades happen in one
burst as on the real server.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .channels import Bridge, Channel
from .wire import Event, event

__all__ = ["PBX", "HangupRequested", "Runner", "Sink", "Timer", "Waiter", "Queue", "Member"]

log = logging.getLogger("amishell.simulator")

#: A simulated call: a generator that yields a delay in seconds or a Waiter.
CallGen = Generator[Any, Any, None]


class HangupRequested(Exception):
    """Thrown into a call generator when its channel is asked to hang up."""

    def __init__(self, cause: int = 16, *, soft: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.soft = soft


class Sink(Protocol):
    """Something that receives every event (a session)."""

    def deliver(self, ev: Event) -> None: ...


@dataclass(eq=False)
class Timer:
    when: float
    fn: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Waiter:
    """A mailbox a call waits on: each :meth:`fire` value resumes it once, in order.

    With a ``timeout``, :data:`TIMEOUT` is posted once that many simulated
    seconds after creation. Values posted while nobody waits are kept.
    """

    TIMEOUT = "timeout"

    def __init__(self, pbx: PBX, timeout: float | None = None) -> None:
        self.pbx = pbx
        self._values: deque[object] = deque()
        self._runner: Runner | None = None
        self._timer: Timer | None = None
        if timeout is not None:
            self._timer = pbx.call_later(timeout, lambda: self.fire(Waiter.TIMEOUT))

    def fire(self, value: object) -> None:
        self._values.append(value)
        runner = self._runner
        if runner is not None:
            self._runner = None
            self._wake(runner)

    def _wake(self, runner: Runner) -> None:
        value = self._values.popleft()
        self.pbx.call_soon(lambda: runner.resume(value))

    def attach(self, runner: Runner) -> None:
        if self._values:
            self._wake(runner)
        else:
            self._runner = runner

    def detach(self) -> None:
        self._runner = None

    def close(self) -> None:
        """Stop the timeout; later values are ignored by nobody."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Runner:
    """Drives one call generator on the engine."""

    def __init__(self, pbx: PBX, gen: CallGen, name: str = "") -> None:
        self.pbx = pbx
        self.gen = gen
        self.name = name
        self.done = False
        self._timer: Timer | None = None
        self._waiter: Waiter | None = None
        self._running = False
        self._pending: BaseException | None = None

    def start(self) -> Runner:
        self._step(None, None)
        return self

    def resume(self, value: object = None) -> None:
        self._step(value, None)

    def interrupt(self, exc: BaseException) -> None:
        """Throw ``exc`` into the generator as soon as it is waiting."""
        if self.done:
            return
        if self._running:
            self._pending = exc
            return
        self._cancel_wait()
        self.pbx.call_soon(lambda: self._step(None, exc))

    def _cancel_wait(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiter is not None:
            self._waiter.detach()
            self._waiter = None

    def _step(self, value: object, exc: BaseException | None) -> None:
        if self.done:
            return
        self._timer = None
        self._waiter = None
        self._running = True
        try:
            got = self.gen.throw(exc) if exc is not None else self.gen.send(value)
        except StopIteration:
            self.done = True
            return
        except HangupRequested:
            self.done = True
            return
        finally:
            self._running = False
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.pbx.call_soon(lambda: self._step(None, pending))
            return
        if isinstance(got, Waiter):
            self._waiter = got
            got.attach(self)
        else:
            self._timer = self.pbx.call_later(float(got), self.resume)


@dataclass(eq=False)
class Member:
    """A queue member."""

    interface: str
    name: str
    dynamic: bool = False
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    calls: int = 0
    last_call: int = 0
    login_time: int = field(default_factory=lambda: int(time.time()))
    in_call: bool = False
    #: Device status last reported in QueueMemberStatus (1 not in use, 2 in use).
    reported: int = 1
    wrapuptime: int = 0

    def blob(self, queue: str, status: int) -> list[tuple[str, object]]:
        return [
            ("Queue", queue),
            ("MemberName", self.name),
            ("Interface", self.interface),
            ("StateInterface", self.interface),
            ("Membership", "dynamic" if self.dynamic else "static"),
            ("Penalty", self.penalty),
            ("CallsTaken", self.calls),
            ("LastCall", self.last_call),
            ("LastPause", 0),
            ("LoginTime", self.login_time),
            ("InCall", int(self.in_call)),
            ("Status", status),
            ("Paused", int(self.paused)),
            ("PausedReason", self.paused_reason),
            ("Ringinuse", 1),
            ("Wrapuptime", self.wrapuptime),
        ]


@dataclass(eq=False)
class Queue:
    """A call queue: members, waiting callers and its counters."""

    name: str
    strategy: str = "ringall"
    members: list[Member] = field(default_factory=list)
    callers: list[tuple[Channel, float]] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0

    def member(self, interface: str) -> Member | None:
        for m in self.members:
            if m.interface == interface or m.name == interface:
                return m
        return None


class PBX:
    """Live state of the simulated PBX and the engine that changes it."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self.time_scale = time_scale
        self._timers: list[tuple[float, int, Timer]] = []
        self._ready: deque[Callable[[], None]] = deque()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.sinks: list[Sink] = []
        #: Event names (lower case) never sent to anyone (manager.conf ``disabledevents``).
        self.disabled_events: set[str] = set()
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.globals: dict[str, str] = {}
        self.db: dict[str, str] = {}
        self.queues: dict[str, Queue] = {}
        self.processed_calls = 0
        self.started = time.time()
        self.last_reload = self.started
        self._uid = itertools.count()
        self._local = itertools.count()
        self._events_emitted = 0
        self._deferred: list[tuple[int, int, Callable[[], None]]] = []
        #: Errors raised inside simulated calls (logged; kept for tests).
        self.failures: list[str] = []

    # -- engine ----------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="amishell-sim-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self.lock:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        with self.lock:
            while not self._stopping:
                if self._ready:
                    self._call(self._ready.popleft())
                    continue
                now = time.monotonic()
                if self._timers and self._timers[0][0] <= now:
                    timer = heapq.heappop(self._timers)[2]
                    if not timer.cancelled:
                        self._call(timer.fn)
                    continue
                wait = self._timers[0][0] - now if self._timers else None
                self._cond.wait(wait)

    def run_until_idle(self, limit: int = 100_000) -> None:
        """Run every pending step now, ignoring timer deadlines (engine not started).

        Used to render a whole call at once: timers fire in deadline order.
        """
        with self.lock:
            for _ in range(limit):
                if self._ready:
                    self._call(self._ready.popleft())
                elif self._timers:
                    timer = heapq.heappop(self._timers)[2]
                    if not timer.cancelled:
                        self._call(timer.fn)
                else:
                    return

    def _call(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # the engine must survive a broken call
            self.failures.append(f"{type(exc).__name__}: {exc}")
            log.exception("simulated call failed")

    def call_soon(self, fn: Callable[[], None]) -> None:
        with self.lock:
            self._ready.append(fn)
            self._cond.notify()

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        """Run ``fn`` after ``delay`` simulated seconds (scaled by ``time_scale``)."""
        with self.lock:
            timer = Timer(time.monotonic() + max(delay, 0.0) * self.time_scale, fn)
            heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
            self._cond.notify()
            return timer

    def spawn(self, gen: CallGen, name: str = "") -> Runner:
        """Start a call generator now (its first step runs immediately)."""
        with self.lock:
            return Runner(self, gen, name).start()

    def elapsed(self, since: float) -> float:
        """Simulated seconds since the monotonic time ``since``."""
        return (time.monotonic() - since) / (self.time_scale or 1.0)

    # -- events ----------------------------------------------------------------
    def emit(self, name: str, category: int, body: Iterable[tuple[str, object]]) -> None:
        """Broadcast an event to every session, then run what waited for it."""
        ev = event(name, category, body)
        if name.lower() not in self.disabled_events:
            for sink in list(self.sinks):
                sink.deliver(ev)
        self._events_emitted += 1
        while self._deferred and self._deferred[0][0] <= self._events_emitted:
            heapq.heappop(self._deferred)[2]()

    def after_events(self, count: int, fn: Callable[[], None]) -> None:
        """Run ``fn`` once ``count`` more events were emitted (or after this burst)."""
        done = [False]

        def once() -> None:
            if not done[0]:
                done[0] = True
                fn()

        heapq.heappush(self._deferred, (self._events_emitted + count, next(self._seq), once))
        self.call_later(0, once)

    def add_sink(self, sink: Sink) -> None:
        with self.lock:
            self.sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with self.lock:
            if sink in self.sinks:
                self.sinks.remove(sink)

    # -- identities ------------------------------------------------------------
    def next_uniqueid(self) -> str:
        return f"{int(time.time())}.{next(self._uid)}"

    def next_local(self) -> int:
        return next(self._local)

    def add_channel(self, ch: Channel) -> None:
        self.channels[ch.name] = ch

    def remove_channel(self, ch: Channel) -> None:
        self.channels.pop(ch.name, None)

    def find_channel(self, name: str) -> Channel | None:
        ch = self.channels.get(name)
        if ch is not None:
            return ch
        lower = name.lower()
        for c in self.channels.values():
            if c.name.lower() == lower:
                return c
        return None

    @property
    def active_calls(self) -> int:
        return sum(1 for c in self.channels.values() if c.in_pbx)
