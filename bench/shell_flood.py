"""The shell under a flood (benchmark 4; and 7 with ``--pause``), in a pty.

The real shell (``python -m amishell 127.0.0.1:P -u bench``) logs in to the
burst server, which then pushes N events as fast as the socket takes them.
The terminal side is read as fast as it comes (a fast terminal). Every second
the shell is asked for its counters (``.events stats``) and its RSS is read
from /proc, until it reports every event.

Default: the shell's default one-line event display is on. ``--pause``: the
display is paused first (``.events pause``; run it with a server that waits a
moment after Login before pushing), which is the memory benchmark.

Reported here: the count the shell says it received, its RSS at the end (and,
paused, at the first look after 100,000 events), its peak RSS (VmHWM), and how much it wrote to
the terminal. ``run.py`` adds the burst server's side: events/s (N over the
push time) and the longest single ``sendall``, i.e. the longest time the shell
left the socket full.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import common
from startup import SHELL_PROMPT

STATS = ".events stats"
#: "received 200,000" in the stats output.
RECEIVED = re.compile(r"received\D{0,20}?(\d[\d,]*)", re.I)
MARK = 100_000


#: "dropped before display (client queue bound): 1,234" in the stats output.
DROPPED = re.compile(r"dropped before display\D{0,40}?(\d[\d,]*)", re.I)


def dropped(text: str) -> int:
    found = 0
    for m in DROPPED.finditer(text):
        found = int(m.group(1).replace(",", ""))
    return found


def received(text: str) -> int | None:
    found = None
    for m in RECEIVED.finditer(text):
        found = int(m.group(1).replace(",", ""))
    return found


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--pause", action="store_true", help="pause the event display first")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    try:
        import amishell.__main__  # noqa: F401
    except ImportError as exc:
        common.emit({"ok": False, "skip": True, "error": f"no shell yet ({exc})"})
        return
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ)
        env.update(
            TERM="xterm-256color",
            HOME=home,
            XDG_CONFIG_HOME=str(Path(home) / "config"),
            XDG_DATA_HOME=str(Path(home) / "data"),
            AMI_SECRET=common.SECRET,
            AMI_USER=common.USER,
        )
        argv = [sys.executable, "-m", "amishell", f"127.0.0.1:{args.port}", "-u", common.USER]
        term = common.Pty(argv, env)
        try:
            result = flood(term, args.events, args.pause, args.timeout)
        finally:
            term.close()
    common.emit(result)


def ask(term: common.Pty, line: str, settle: float = 0.3) -> str:
    """Type a line, read what comes back for ``settle`` seconds."""
    term.out.clear()
    term.write(line + "\r")
    end = time.perf_counter() + settle
    while time.perf_counter() < end:
        term.read(0.05)
    return term.text()


def flood(term: common.Pty, expected: int, pause: bool, timeout: float) -> dict[str, object]:
    if term.wait_for(SHELL_PROMPT, 20.0) is None:
        return {"ok": False, "error": f"no prompt: {term.text()[-300:]!r}"}
    if pause and "pause" not in ask(term, ".events pause"):
        return {"ok": False, "error": f"could not pause: {term.text()[-300:]!r}"}
    end = time.perf_counter() + timeout
    count = None
    drops = 0
    at_mark = None
    asked = time.perf_counter()
    while time.perf_counter() < end:
        if not term.read(0.05):
            break
        if time.perf_counter() - asked < 1.0:
            continue
        asked = time.perf_counter()
        stats = ask(term, STATS)
        count = received(stats)
        drops = dropped(stats)
        if count is not None and pause:
            count += drops  # paused: the bounded queue drops, counted (received + dropped)
        if pause and count is not None and count >= MARK and at_mark is None:
            at_mark = rss_mb(term.proc.pid)
        if count is not None and count >= expected:
            break
    last = rss_mb(term.proc.pid)
    peak = term.peak_rss_mb()
    metrics: dict[str, float] = {
        "shell_received": count if count is not None else -1,
        "dropped_counted": drops,
        "lost": expected - count if count is not None else expected,
        "peak_rss_mb": round(peak, 1) if peak is not None else -1,
        "rss_end_mb": round(last, 1) if last is not None else -1,
        "terminal_mb": round(term.bytes_read / 1e6, 1),
    }
    if at_mark is not None and last is not None:
        metrics["rss_100k_mb"] = round(at_mark, 1)
        metrics["growth_after_100k_mb"] = round(last - at_mark, 1)
    ok = count == expected
    out: dict[str, object] = {"ok": ok, "metrics": metrics}
    if not ok:
        out["error"] = f"the shell reports {count} of {expected} events received"
    return out


if __name__ == "__main__":
    main()
