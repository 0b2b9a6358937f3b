"""``amishell --stat``: one line a second about the PBX, as ``redis-cli --stat`` does.

Each line gives the active channels and calls (Linkedids), the events per
second, the actions this session sent per second, and the round trip of a
Ping sent every second. The counts come from a
:class:`~.livestate.LiveState` kept from events and resynced from
CoreShowChannels at the start and every few seconds (a missed Hangup does not
linger). ``--json`` writes one object a second instead, with the events per
second of each class (the first word of the event's ``Privilege``).

It logs in with events on and sends its own Pings; it never reconnects: a
dropped connection ends it with exit status 3. Ctrl-C, ``--count N`` lines or
``--duration S`` seconds end it with status 0.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple

from ..message import Message
from ..textsafe import clean, json_dumps
from .context import Context, ExitStatus
from .jsonlines import iso_time
from .livestate import LiveState

if TYPE_CHECKING:
    from ..client import ActionFuture
    from .config import Target
    from .core import Shell

__all__ = ["HEADER", "Sample", "StatRunner", "format_line", "run_stat"]

#: Seconds between resyncs of the channel list.
RESYNC: Final = 5.0
#: Data lines between headers when the output is not a terminal.
PAGE: Final = 20
HEADER: Final = (
    f"{'time':<8}  {'channels':>8}  {'calls':>7}  {'events/s':>9}  {'actions/s':>9}"
    f"  {'rtt ms':>7}"
)


class Sample(NamedTuple):
    """One second's line."""

    time: float  # wall clock, seconds since the epoch
    channels: int
    calls: int
    events_per_s: float
    actions_per_s: float
    rtt_ms: float | None
    events_by_class: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {
            "time": iso_time(self.time),
            "channels": self.channels,
            "calls": self.calls,
            "events_per_s": self.events_per_s,
            "actions_per_s": self.actions_per_s,
            "rtt_ms": self.rtt_ms,
            "events_by_class": self.events_by_class,
        }


def format_line(s: Sample) -> str:
    """The text line of a sample, in the columns of :data:`HEADER`."""
    rtt = "-" if s.rtt_ms is None else f"{s.rtt_ms:.1f}"
    return (
        f"{time.strftime('%H:%M:%S', time.localtime(s.time)):<8}  {s.channels:>8,}"
        f"  {s.calls:>7,}  {s.events_per_s:>9,.1f}  {s.actions_per_s:>9,.1f}  {rtt:>7}"
    )


class StatRunner:
    """Counts events, keeps the live state, sends the Pings, writes the lines."""

    def __init__(
        self,
        shell: Shell,
        ctx: Context,
        *,
        json_out: bool = False,
        count: int | None = None,
        duration: float | None = None,
        resync: float = RESYNC,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.shell = shell
        self.ctx = ctx
        self.json_out = json_out
        self.count = count
        self.duration = duration
        self.resync_every = resync
        self._clock = clock
        self._wall = wall
        self.state = LiveState()
        self._lock = threading.Lock()  # the state and the counters
        self.events = 0
        self.by_class: dict[str, int] = {}
        self.actions = 0
        self._lost = threading.Event()
        self.lost_reason = ""
        self._ping: ActionFuture | None = None
        self._resync: ActionFuture | None = None
        self._last_resync = -1e9

    # -- on the client's dispatcher thread -------------------------------------------
    def on_event(self, msg: Message) -> None:
        privilege = msg.value("Privilege") or ""
        kind = privilege.split(",", 1)[0].strip().lower() or "other"
        now = self._clock()
        with self._lock:
            self.events += 1
            if kind in self.by_class or len(self.by_class) < 64:
                self.by_class[kind] = self.by_class.get(kind, 0) + 1
            self.state.apply(msg, now)

    def on_drop(self, text: str) -> None:
        self.lost_reason = text
        self._lost.set()

    def _resynced(self, msg: Message) -> None:
        if msg.is_error:
            return  # not allowed to this user: events alone
        with self._lock:
            self.state.resync_channels(msg.events, self._clock())

    # -- the main thread ---------------------------------------------------------------
    def _submit(self, fields: dict[str, str]) -> ActionFuture | None:
        client = self.shell.client
        if client is None or not client.connected:
            return None
        self.actions += 1
        return client.submit(fields)

    def _maybe_resync(self, now: float) -> None:
        if self._resync is not None and not self._resync.done():
            return
        if now - self._last_resync < self.resync_every:
            return
        self._last_resync = now
        self._resync = self._submit({"Action": "CoreShowChannels"})
        if self._resync is not None:
            self._resync.add_done_callback(self._resynced)

    def _take_rtt(self) -> float | None:
        """The round trip of the last Ping if it came back; a new Ping goes out
        once the last one is answered."""
        ping = self._ping
        rtt = None
        if ping is not None and ping.done():
            reply = ping.result(0)
            if not reply.is_error:
                rtt = round(ping.elapsed * 1000, 2)
        if ping is None or ping.done():
            self._ping = self._submit({"Action": "Ping"})
        return rtt

    def sample(self, seconds: float) -> Sample:
        """The counts now, and the rates over the last ``seconds``."""
        rtt = self._take_rtt()
        with self._lock:
            channels = len(self.state.channels)
            calls = len({c.linkedid or c.uniqueid for c in self.state.channels.values()})
            events, self.events = self.events, 0
            by_class, self.by_class = self.by_class, {}
        actions, self.actions = self.actions, 0
        per = max(seconds, 1e-6)
        return Sample(
            self._wall(), channels, calls, round(events / per, 1), round(actions / per, 1), rtt,
            {k: round(v / per, 1) for k, v in sorted(by_class.items())},
        )

    def _page(self) -> int:
        if not self.ctx.stdout_isatty:
            return PAGE
        try:
            return max(2, os.get_terminal_size(self.ctx.stdout.fileno()).lines - 1)
        except (OSError, ValueError, AttributeError):
            return PAGE

    def _write(self, text: str) -> None:
        self.ctx.stdout.write(text)
        self.ctx.stdout.flush()

    def run(self) -> ExitStatus:
        """Connect, then a line a second until stopped; the exit status."""
        shell = self.shell
        shell.event_sink = self.on_event
        shell.drop_sink = self.on_drop
        error = shell.connect()
        if error is not None:
            self.ctx.error(error)
            shell.close()
            return ExitStatus.CONNECTION
        try:
            return self._loop()
        except KeyboardInterrupt:
            return ExitStatus.OK
        except BrokenPipeError:  # | head: nobody reads any more
            self.ctx.silence_stdout()
            return ExitStatus.OK
        finally:
            shell.close()

    def _loop(self) -> ExitStatus:
        start = last = self._clock()
        with self._lock:
            self.events, self.by_class = 0, {}
        self.actions = 0
        self._maybe_resync(start)
        self._take_rtt()
        lines = 0
        page = self._page()
        while True:
            due = start + lines + 1
            if self.duration is not None:
                due = min(due, start + self.duration)
            wait = due - self._clock()
            if self._lost.wait(max(wait, 0.0)):
                reason = clean(self.shell.redact(self.lost_reason))
                self.ctx.error(f"connection lost: {reason}")
                return ExitStatus.CONNECTION
            now = self._clock()
            sample = self.sample(now - last)
            last = now
            if self.json_out:
                self._write(json_dumps(sample.to_json()) + "\n")
            else:
                head = HEADER + "\n" if lines % page == 0 else ""
                self._write(head + format_line(sample) + "\n")
            lines += 1
            if self.count is not None and lines >= self.count:
                return ExitStatus.OK
            if self.duration is not None and now - start >= self.duration - 0.01:
                return ExitStatus.OK
            self._maybe_resync(now)


def run_stat(
    ctx: Context,
    target: Target,
    secret: str,
    *,
    json_out: bool = False,
    count: int | None = None,
    duration: float | None = None,
) -> ExitStatus:
    """``amishell --stat``: connect with events on, no reconnect, no keep-alive of
    the client's own (this sends a Ping a second), and run."""
    from .core import Shell

    assert target.username is not None
    target.reconnect = False
    target.keepalive = 0
    target.events = "on"
    shell = Shell(ctx, target, username=target.username, secret=secret)
    runner = StatRunner(shell, ctx, json_out=json_out, count=count, duration=duration)
    return runner.run()
