"""``amishell-sim --replay FILE``: serve a capture to any AMI client until Ctrl-C."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from .recording import RecordingError, load
from .server import ReplayServer

__all__ = ["serve"]


def serve(
    path: str, host: str, port: int, speed: float, out: TextIO, stop: threading.Event | None
) -> int:
    if speed < 0:
        print("amishell-sim: --speed must be 0 (as fast as possible) or more", file=sys.stderr)
        return 2
    try:
        recording = load(path)
    except (RecordingError, OSError) as e:
        text = str(e) if isinstance(e, RecordingError) else f"{path}: {e.strerror or e}"
        print(f"amishell-sim: cannot replay {text}", file=sys.stderr)
        return 1
    server = ReplayServer(recording, host, port, speed=speed)
    try:
        bound_host, bound_port = server.start()
    except OSError as e:
        print(f"amishell-sim: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    pace = "as fast as possible" if not speed else f"at {speed:g}x the recorded pace"
    print(f"amishell-sim: replaying {path} on {shown}:{bound_port}: {len(recording.events)}"
          f" events over {recording.duration:.1f} s, {pace}, to each client that logs in"
          " (any user and secret)", file=out)
    from ..simulator.__main__ import serve_until_stopped

    serve_until_stopped(server.stop, stop, out)
    print("amishell-sim: stopped", file=out, flush=True)
    return 0
