"""The live view under a flood (``.top`` with 300 calls and ~5,000 events a second).

    python bench/top_flood.py [--calls 300] [--rate 5000] [--seconds 10]

This script starts itself again with ``--serve``: a simulator
(``amishell.simulator.Simulator``) that keeps ``--calls`` calls up
(extension 400 answers and hangs up after 30 s; each call that ends is
replaced at once, so calls come and go all the time) and pushes events of
the recorded ``call_storm`` transcript on top, paced every 20 ms, so that
the PBX's own events and the pushed ones together make ``--rate`` events a
second. The shell (``python -m amishell HOST:PORT``) runs in a
pseudo-terminal (120x40) whose output is read as fast as it comes.

Measured, each phase under the flood:

- prompt: the shell at its prompt, the default one-line event display on;
  keys typed one at a time (a Greek letter, which no event holds) and the
  time from writing each to the pty until it shows in the output: p50, p99.
- view: ``.top`` open. For ``--seconds``: screen updates per second (an
  update is a burst of output after 30 ms of silence; a render is one write),
  the shell's CPU (user + system time of the process over wall time, % of one
  core). Then ``/`` opens the filter prompt and keys are typed and timed as
  at the prompt, for ``--seconds`` too; Esc, ``q``.
- gaps between reads, from outside: a third process (this script with
  ``--probe``) polls the shell socket's receive queue (``rx_queue`` in
  ``/proc/net/tcp``: bytes the kernel holds that the shell has not read yet)
  every half millisecond or so, through both phases; the longest time it
  stayed non-empty (first to last poll that saw it so: a lower bound) is the
  longest the shell left data unread. The polls per second and the longest
  time between two polls are reported with it.
- nothing lost: once the flood stops and every call is hung up, the number of
  events the simulator emitted and pushed against the shell's own count
  (``.events stats``: received, and nothing dropped before display).

The last stdout line is one JSON object (``ok``, ``metrics``, ``targets``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import common
from startup import SHELL_PROMPT

#: Keys typed for the echo timings: characters no event and no screen holds.
KEYS = "αβγδεζηθικλμνξοπρστυφχψω"
RECEIVED = re.compile(r"received\D{0,20}?(\d[\d,]*)")
DROPPED = re.compile(r"dropped before display\D{0,40}?(\d[\d,]*)")
HEADER = re.compile(r"channels \d+.*events/s")
TARGETS = {
    "redraws_per_s": (">=", 4.0),
    "view_cpu_percent": ("<", 30.0),
    "longest_read_gap_ms": ("<", 50.0),
    "lost": ("==", 0),
    "echo_p99_ms": ("<", 50.0),
}


# -- the simulator side ------------------------------------------------------------------
class _Counter:
    """A PBX sink: counts every event the PBX emits (all go to the shell's session)."""

    def __init__(self) -> None:
        self.count = 0

    def deliver(self, ev: object) -> None:
        self.count += 1


def probe(client_port: int) -> None:
    """``--probe PORT``: poll the receive queue of the shell's socket (local port
    PORT) until stdin closes; print how long it stayed non-empty each time.

    A stretch runs from the first poll that saw unread bytes to the last one
    that still did (a lower bound: the time between two polls is not counted),
    and the longest time between two polls is reported with it."""
    local = f":{client_port:04X}"
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    stretches: list[tuple[float, float]] = []  # (end, seconds)
    first = last = None
    samples, prev, worst_poll = 0, time.monotonic(), 0.0
    while not done.is_set():
        rx = 0
        with open("/proc/net/tcp") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 4 and parts[1].endswith(local):
                    rx = int(parts[4].split(":")[1], 16)
                    break
        now = time.monotonic()
        samples += 1
        worst_poll = max(worst_poll, now - prev)
        prev = now
        if rx > 0:
            first = now if first is None else first
            last = now
        elif first is not None and last is not None:
            stretches.append((last, last - first))
            first = last = None
        time.sleep(0.0005)
    print(json.dumps({"stretches": stretches, "samples": samples, "worst_poll": worst_poll}),
          flush=True)


def serve() -> None:
    from amishell.simulator import Simulator, User
    from amishell.simulator.local import request_hangup

    sim = Simulator("127.0.0.1", 0, {common.USER: User(common.SECRET)}, seed=7)
    _, port = sim.start()
    counter = _Counter()
    sim.pbx.add_sink(counter)
    storm = [e for e in common.storm_events() if b"\r\nActionID:" not in e]
    state: dict[str, Any] = {"calls": 0, "rate": 0.0, "pushed": 0}
    stop = threading.Event()

    def say(obj: dict[str, Any]) -> None:
        print(json.dumps(obj), flush=True)

    def keeper() -> None:
        while not stop.is_set():
            want = state["calls"]
            up = sum(1 for n in sim.channels() if n.endswith(";1"))
            for _ in range(max(0, want - up)):
                sim.start_call("400")
            time.sleep(0.02)

    def pusher() -> None:
        tick, at = 0.02, 0
        emitted = counter.count
        next_t = time.monotonic()
        while not stop.is_set():
            next_t += tick
            time.sleep(max(0.0, next_t - time.monotonic()))
            rate = state["rate"]
            if rate <= 0:
                emitted = counter.count
                continue
            own = counter.count - emitted  # what the PBX made meanwhile counts too
            emitted = counter.count
            n = max(0, int(rate * tick) - own)
            if n:
                chunk = [storm[(at + i) % len(storm)] for i in range(n)]
                at = (at + n) % len(storm)
                if sim.burst(n, chunk):
                    state["pushed"] += n

    threading.Thread(target=keeper, daemon=True).start()
    threading.Thread(target=pusher, daemon=True).start()
    say({"port": port})
    for line in sys.stdin:
        word, *args = line.split()
        if word == "calls":
            state["calls"] = int(args[0])
            end = time.monotonic() + 60
            while time.monotonic() < end and len(sim.channels()) < 2 * state["calls"]:
                time.sleep(0.05)
            say({"channels": len(sim.channels())})
        elif word == "flood":
            state["rate"] = float(args[0])
            say({"client_port": sim.sessions()[0].remote[1]})
        elif word == "stop":
            state["rate"] = 0
            state["calls"] = 0
            time.sleep(0.1)
            with sim.pbx.lock:
                for ch in list(sim.pbx.channels.values()):
                    request_hangup(ch, 16)
            end = time.monotonic() + 30
            while time.monotonic() < end and sim.channels():
                time.sleep(0.05)
            sim.wait_bursts(10)
            time.sleep(1.0)
            say({"emitted": counter.count, "pushed": state["pushed"]})
        elif word == "mark":  # what the PBX emitted so far (the shell's login ...)
            say({"emitted": counter.count})
        elif word == "quit":
            break
    stop.set()
    sim.stop()


# -- the driver side ---------------------------------------------------------------------
class Typist:
    """Types one key at a time and times its echo."""

    def __init__(self, term: common.Pty, spacing: float = 0.1) -> None:
        self.term = term
        self.spacing = spacing
        self.latencies: list[float] = []
        self.timeouts = 0
        self.key = ""
        self.sent = 0.0
        self.seen = bytearray()
        self.typed = 0
        self.next_at = time.perf_counter() + spacing

    def step(self, chunk: bytes, now: float) -> None:
        if self.key:
            self.seen += chunk
            if self.key.encode() in self.seen:
                self.latencies.append(now - self.sent)
                self.key = ""
                self.next_at = now + self.spacing
            elif now - self.sent > 2.0:
                self.timeouts += 1
                self.key = ""
                self.next_at = now + self.spacing
            return
        if now < self.next_at:
            return
        if self.typed and self.typed % 12 == 0:
            self.term.write("\x15")  # Ctrl-U: an empty line again, letters unseen again
            self.typed += 1
            self.next_at = now + 0.2
            return
        self.key = KEYS[self.typed % len(KEYS)]
        self.typed += 1
        self.seen.clear()
        self.sent = time.perf_counter()
        self.term.write(self.key)


def pump(term: common.Pty, seconds: float, typist: Typist | None = None,
         frames: list[float] | None = None) -> None:
    """Read the terminal for ``seconds``; feed the typist; note screen updates."""
    import select

    end = time.perf_counter() + seconds
    last_output = 0.0
    while (now := time.perf_counter()) < end:
        ready, _, _ = select.select([term.master], [], [], 0.002)
        chunk = b""
        if ready:
            try:
                chunk = os.read(term.master, 1 << 16)
            except OSError:
                return
            now = time.perf_counter()
            term.bytes_read += len(chunk)
            if b"\x1b[6n" in chunk:
                os.write(term.master, b"\x1b[1;1R" * chunk.count(b"\x1b[6n"))
            term.out += chunk
            if len(term.out) > 1 << 20:
                del term.out[: len(term.out) - (1 << 19)]
            if frames is not None and now - last_output > 0.03:
                frames.append(now)
            last_output = now
        if typist is not None:
            typist.step(chunk, now)


def ask(term: common.Pty, line: str, settle: float = 0.5) -> str:
    term.out.clear()
    term.write(line + "\r")
    pump(term, settle)
    return term.text()


def pct(values: list[float], q: float) -> float:
    if not values:
        return -1.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(args: argparse.Namespace) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None

    def tell(line: str) -> dict[str, Any]:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(line + "\n")
        server.stdin.flush()
        return dict(json.loads(server.stdout.readline()))

    port = json.loads(server.stdout.readline())["port"]
    home = tempfile.mkdtemp(prefix="amishell-bench-")
    env = dict(os.environ, TERM="xterm-256color", HOME=home,
               XDG_CONFIG_HOME=str(Path(home) / "config"), XDG_DATA_HOME=str(Path(home) / "data"),
               AMI_SECRET=common.SECRET, AMI_USER=common.USER)
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    term = common.Pty([sys.executable, *profile, "-m", "amishell", f"127.0.0.1:{port}", "-u",
                       common.USER], env)
    m: dict[str, Any] = {}
    try:
        if term.wait_for(SHELL_PROMPT, 20.0) is None:
            return {"ok": False, "error": f"no prompt: {term.text()[-300:]!r}"}
        base = _received(ask(term, ".events stats"))
        before = tell("mark")["emitted"]
        m["channels"] = tell(f"calls {args.calls}")["channels"]
        pump(term, 1.0)
        client_port = tell(f"flood {args.rate}")["client_port"]
        prober = subprocess.Popen([sys.executable, __file__, "--probe", str(client_port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        flood_start = time.perf_counter()
        pump(term, 2.0)  # the flood settles
        pid = term.proc.pid

        # At the prompt, the event display on.
        phases = {"prompt": time.monotonic()}
        typist = Typist(term)
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        pump(term, args.seconds, typist)
        m["prompt_cpu_percent"] = round(100 * (cpu_seconds(pid) - c0)
                                        / (time.perf_counter() - t0), 1)
        term.write("\x15")
        pump(term, 0.3)
        prompt_keys = typist.latencies

        # The view.
        phases["view"] = time.monotonic()
        term.out.clear()
        term.write(".top\r")
        opened = time.perf_counter()
        while not HEADER.search(term.text()) and time.perf_counter() - opened < 10:
            pump(term, 0.05)
        m["view_open_s"] = round(time.perf_counter() - opened, 3)
        pump(term, 1.0)
        frames: list[float] = []
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        pump(term, args.seconds, frames=frames)
        wall = time.perf_counter() - t0
        m["view_cpu_percent"] = round(100 * (cpu_seconds(pid) - c0) / wall, 1)
        m["redraws_per_s"] = round(len(frames) / wall, 2)
        gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]
        m["longest_redraw_gap_ms"] = round(1000 * max(gaps, default=0), 1)
        term.write("/")
        pump(term, 0.5)
        typist = Typist(term)
        pump(term, args.seconds, typist)
        view_keys = typist.latencies
        timeouts = typist.timeouts
        term.write("\x1b")
        pump(term, 0.5)
        term.write("q")
        phases["after"] = time.monotonic()
        pump(term, 1.0)
        m["after_view"] = next((ln.strip() for ln in term.text().splitlines()
                                if "while .top was open" in ln), "")
        m["flood_seconds"] = round(time.perf_counter() - flood_start, 1)
        gaps_out, _ = prober.communicate(timeout=10)
        probed = json.loads(gaps_out)
        report = tell("stop")
        pump(term, 1.0)
        stats = ask(term, ".events stats", 1.0)
        got = _received(stats)
        dropped_m = DROPPED.search(stats)
        m["dropped_before_display"] = int(dropped_m.group(1).replace(",", "")) if dropped_m else 0
        sent = report["emitted"] - before + report["pushed"]
        m["events_sent"] = sent
        m["events_received"] = (got - base) if got is not None and base is not None else -1
        m["lost"] = sent - m["events_received"] + m["dropped_before_display"]
        stretches = [g for _, g in probed["stretches"]]
        for name, (a, b) in (("prompt", (phases["prompt"], phases["view"])),
                             ("view", (phases["view"], phases["after"]))):
            inside = [g for end, g in probed["stretches"] if a <= end < b]
            m[f"read_gap_{name}_max_ms"] = round(1000 * max(inside, default=0), 1)
        m["longest_read_gap_ms"] = round(1000 * max(stretches, default=0), 1)
        m["read_gap_p99_ms"] = round(1000 * pct(stretches, 0.99), 1)
        m["rx_polls_per_s"] = round(probed["samples"] / m["flood_seconds"])
        m["rx_longest_poll_ms"] = round(1000 * probed["worst_poll"], 1)
        m["echo_prompt_p50_ms"] = round(1000 * pct(prompt_keys, 0.5), 1)
        m["echo_prompt_p99_ms"] = round(1000 * pct(prompt_keys, 0.99), 1)
        m["echo_view_p50_ms"] = round(1000 * pct(view_keys, 0.5), 1)
        m["echo_view_p99_ms"] = round(1000 * pct(view_keys, 0.99), 1)
        m["echo_p99_ms"] = max(m["echo_prompt_p99_ms"], m["echo_view_p99_ms"])
        m["keys_timed"] = len(prompt_keys) + len(view_keys)
        m["keys_unechoed_2s"] = timeouts
    finally:
        if args.profile:
            term.write("\x04")  # Ctrl-D: leave, so that the profile is written
            pump(term, 2.0)
        term.close()
        try:
            tell("quit")
        except (OSError, ValueError, json.JSONDecodeError):
            pass
        server.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    results = {k: _check(m.get(k), op, limit) for k, (op, limit) in TARGETS.items()}
    out: dict[str, Any] = {"ok": all(results.values()), "metrics": m, "targets": results}
    if not out["ok"]:
        out["error"] = "missed: " + ", ".join(
            f"{k} {m.get(k)} (wanted {op} {limit:g})" for k, (op, limit) in TARGETS.items()
            if not results[k])
    return out


def _received(text: str) -> int | None:
    found = RECEIVED.findall(text)
    return int(found[-1].replace(",", "")) if found else None


def _check(value: Any, op: str, limit: float) -> bool:
    if not isinstance(value, int | float):
        return False
    return {">=": value >= limit, "<": value < limit, "==": value == limit}[op]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probe", type=int, help=argparse.SUPPRESS)
    p.add_argument("--profile", metavar="PATH",
                   help="run the shell under cProfile (its main thread), stats to PATH")
    p.add_argument("--calls", type=int, default=300, help="concurrent calls (300)")
    p.add_argument("--rate", type=float, default=5000, help="events a second in all (5,000)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each phase (10)")
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)  # run.py passes one; unused
    p.add_argument("--timeout", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve()
        return
    if args.probe is not None:
        probe(args.probe)
        return
    common.emit(drive(args))


if __name__ == "__main__":
    main()
