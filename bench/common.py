"""Shared pieces of the benchmark drivers: the traffic, the result line, RSS.

Every driver is a script run in its own process by ``run.py``. It builds its
input from the recorded ``call_storm`` transcript, does one measurement, and
prints one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TRANSCRIPT = ROOT / "tests" / "data" / "asterisk" / "call_storm.jsonl"
GREETING = b"Asterisk Call Manager/13.0.0\r\n"
USER = "bench"
SECRET = "bench-secret"


def recv_chunks() -> list[bytes]:
    """The recorded recv side of call_storm, chunked as the socket returned it."""
    chunks = []
    with TRANSCRIPT.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["dir"] == "recv":
                chunks.append(rec["data"].encode("utf-8"))
    return chunks


def storm_messages() -> list[bytes]:
    """Every message after the greeting, each ending in its empty line."""
    data = b"".join(recv_chunks())
    assert data.startswith(GREETING)
    body = data[len(GREETING) :]
    return [part + b"\r\n\r\n" for part in body.split(b"\r\n\r\n") if part]


def storm_events() -> list[bytes]:
    """The event messages of call_storm (4,564), in order."""
    return [m for m in storm_messages() if m.startswith(b"Event:")]


class ParserInput:
    """The parser benchmark's stream: the greeting, then call_storm's messages
    (less the closing Goodbye) repeated, cut where the recorded reads were cut."""

    def __init__(self, messages: int) -> None:
        chunks = recv_chunks()
        # The last chunk is the Goodbye that ends the session: leave it out so
        # that the repeated stream never says goodbye in the middle.
        assert chunks[-1].startswith(b"Response: Goodbye")
        assert chunks[0] == GREETING
        body = chunks[1:-1]
        joined = b"".join(body)
        per_cycle = joined.count(b"\r\n\r\n")
        self.events_per_cycle = sum(1 for m in joined.split(b"\r\n\r\n") if m.startswith(b"Event:"))
        self.repeats = max(1, -(-messages // per_cycle))
        self.greeting = GREETING
        #: Reads in one pass of the transcript (``chunks`` repeats them).
        self.cycle = len(body)
        self.chunks = body * self.repeats
        self.messages = per_cycle * self.repeats
        self.events = self.events_per_cycle * self.repeats
        self.bytes = len(GREETING) + len(joined) * self.repeats

    def stream(self) -> Iterator[bytes]:
        yield self.greeting
        yield from self.chunks


class ChunkSocket:
    """A stand-in for a connected socket that returns the given chunks from
    ``recv(n)`` (never more than ``n`` bytes, as a socket does), then b""."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self._pending = b""

    def recv(self, n: int) -> bytes:
        if not self._pending:
            self._pending = next(self._it, b"")
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def close(self) -> None:
        pass


class ChunkStream(io.RawIOBase):
    """The same chunks as a raw stream, for readers that wrap a socket file."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._sock = ChunkSocket(chunks)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self._sock.recv(len(buf))
        buf[: len(data)] = data
        return len(data)


def read_headers(mapping: Mapping[str, Any]) -> int:
    """What a consumer does with an event: read every header's value."""
    n = 0
    for value in mapping.values():
        n += len(value)
    return n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def emit(result: Mapping[str, Any]) -> None:
    """Print the driver's result line (the last line of its stdout)."""
    out = dict(result)
    out.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def parse_result(
    src: ParserInput, messages: int, events: int, seconds: float, errors: object = None
) -> dict[str, Any]:
    """A parser run's result: it counts only if every message and event came out."""
    out = throughput(messages, src.messages, seconds, src.bytes, events=events)
    if events != src.events or errors:
        problem = f"{events} events, expected {src.events}"
        out.update(ok=False, error=f"{problem}; errors {errors}" if errors else problem)
    return out


def throughput(count: int, expected: int, seconds: float, nbytes: int = 0, **extra: Any) -> dict[
    str, Any
]:
    ok = count == expected
    out: dict[str, Any] = {
        "ok": ok,
        "count": count,
        "expected": expected,
        "seconds": round(seconds, 6),
        "per_s": round(count / seconds, 1) if seconds > 0 else 0.0,
    }
    if nbytes:
        out["mb_s"] = round(nbytes / seconds / 1e6, 2)
    if not ok:
        out["error"] = f"received {count} of {expected}"
    out.update(extra)
    return out


def driver_args(modes: Iterable[str]) -> argparse.ArgumentParser:
    """The command line every peer driver takes."""
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=list(modes))
    p.add_argument("--messages", type=int, default=200_000, help="parser: messages to parse")
    p.add_argument("--via", choices=["parser", "frames"], default="parser",
                   help="parse (amishell): Parser.feed, or Framer + parse_frame")
    p.add_argument("--port", type=int, default=0, help="drain/ping: the server's port")
    p.add_argument("--events", type=int, default=100_000, help="drain: events the server sends")
    p.add_argument("--count", type=int, default=5000, help="ping: round trips in all")
    p.add_argument("--threads", type=int, default=1, help="ping: threads sharing the work")
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this long")
    return p


def run_driver(
    do_parse: Callable[..., dict[str, object]],
    do_drain: Callable[[int, int, str, float], dict[str, object]],
    do_ping: Callable[[int, int, int], dict[str, object]],
    consumers: Iterable[str] = ("count", "headers"),
) -> None:
    """A client driver's main: parse its command line, run one mode, emit the result."""
    p = driver_args(["parse", "drain", "ping"])
    p.add_argument("--consumer", choices=list(consumers), default="headers")
    args = p.parse_args()
    if args.mode == "parse":
        # Only amishell parses two ways (--via); the peers have one.
        emit(do_parse(args.messages) if args.via == "parser" else do_parse(args.messages, args.via))
    elif args.mode == "drain":
        emit(do_drain(args.port, args.events, args.consumer, args.timeout))
    else:
        emit(do_ping(args.port, args.count, args.threads))


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(step)
    return True


def split_ping_work(count: int, threads: int) -> list[int]:
    base, extra = divmod(count, threads)
    return [base + (1 if i < extra else 0) for i in range(threads)]


def timed_threads(threads: list[threading.Thread]) -> float:
    """Start ``threads``, wait for all of them; the seconds that took."""
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t


def ping_threads(loop: Callable[[int], None], count: int, threads: int) -> float:
    """Run ``loop(n)`` in ``threads`` threads sharing ``count`` pings; the seconds."""
    return timed_threads(
        [threading.Thread(target=loop, args=(n,)) for n in split_ping_work(count, threads)]
    )


def ping_result(count: int, bad: list[object], seconds: float, **extra: Any) -> dict[str, Any]:
    """Round trips: every answer must be the Pong with the ActionID sent."""
    out = throughput(count - len(bad), count, seconds, **extra)
    out["us_per_ping"] = round(seconds / count * 1e6, 1)
    if bad:
        out["error"] = f"{len(bad)} of {count} answers missing or not matching (first: {bad[0]!r})"
    return out


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r")


def plain(text: str) -> str:
    """Terminal output without escape sequences and carriage returns."""
    return _ANSI.sub("", text)


class Pty:
    """A child process on a pseudo-terminal; the output is read and kept."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None,
                 cols: int = 120, rows: int = 40) -> None:
        import fcntl
        import pty
        import struct
        import subprocess
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.out = bytearray()
        self.bytes_read = 0

    def read(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False at end of file."""
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:
            return False
        if not data:
            return False
        self.bytes_read += len(data)
        if b"\x1b[6n" in data:  # a cursor position request: answer as a terminal does
            os.write(self.master, b"\x1b[1;1R" * data.count(b"\x1b[6n"))
        self.out += data
        if len(self.out) > 1 << 20:  # keep the tail only
            del self.out[: len(self.out) - (1 << 19)]
        return True

    def text(self) -> str:
        return plain(self.out.decode("utf-8", "replace"))

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> float | None:
        """Seconds since start when the output matches ``pattern``, or None."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if not self.read(0.05):
                break
            if pattern.search(self.text()):
                return time.perf_counter() - self.started
        return None

    def write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def peak_rss_mb(self) -> float | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return None

    def close(self) -> None:
        import signal

        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(3)
            except Exception:
                self.proc.kill()
                self.proc.wait(3)
        os.close(self.master)
