"""``amishell --replay FILE``: the shell on a capture, through a loopback replay server.

The capture is served by a :class:`~.server.ReplayServer` in this process and
the shell connects to it as to any server, so every view works unchanged. In a
script (``-x``), the whole capture is played first, as fast as possible, then
the lines run: :class:`ReplayedShell` waits after connecting until every
recorded event is in the event history, then gives the history the recorded
times (an event file's own, or the capture's offsets, ending at the replay),
so that a trace shows when each step happened.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from ..shell.core import Shell
from .recording import Recording, load
from .server import ReplayServer

if TYPE_CHECKING:
    from ..shell.config import Target
    from ..shell.connection import Login
    from ..shell.context import Context

__all__ = ["ReplayedShell", "start_replay"]

#: The longest wait for a capture to be played into the history.
PLAY_TIMEOUT = 300.0


def start_replay(path: str, speed: float, target: Target, ctx: Context) -> tuple[ReplayServer, str]:
    """Load ``path`` and serve it on loopback; point ``target`` at it. Returns the
    server and the (random) secret to log in with. OSError or RecordingError."""
    recording = load(path)
    server = ReplayServer(recording, "127.0.0.1", 0, speed=speed)
    host, port = server.start()
    target.host, target.port, target.username = host, port, "replay"
    target.tls = target.md5 = False
    target.secret_command = target.secret_file = None
    pace = "as fast as possible" if not speed else f"at {speed:g}x the recorded pace"
    lost = f"; the capture lost {recording.lost_bytes} bytes" if recording.lost_bytes else ""
    ctx.stderr.write(
        f"replay: {len(recording.events)} events over {recording.duration:.1f} s from"
        f" {path}, {pace}; actions are answered from the capture{lost}\n"
    )
    return server, secrets.token_hex(8)


class ReplayedShell(Shell):
    """A shell that, once connected, waits until the whole capture was played."""

    def __init__(self, *args: Any, server: ReplayServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replay_server = server

    def connect(self, login: Login | None = None) -> str | None:
        error = super().connect(login)
        if error is None:
            wait_played(self, self.replay_server.recording, self.replay_server)
        return error


def wait_played(shell: Shell, recording: Recording, server: ReplayServer) -> None:
    # A capture's times are offsets: its last event is placed at the moment of the replay.
    origin = recording.started if recording.started is not None else (
        time.time() - recording.duration
    )
    deadline = time.monotonic() + PLAY_TIMEOUT
    server.played.wait(PLAY_TIMEOUT)
    want = len(recording.events)
    while shell.history.total < want and time.monotonic() < deadline and shell.connected:
        time.sleep(0.01)
    if shell.history.total >= want:
        shell.history.clear()
        first = recording.events[0][0] if recording.events else 0.0
        for t, frame in recording.events:
            shell.history.add(frame, origin + t - first)
