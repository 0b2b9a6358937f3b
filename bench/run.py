"""Run the benchmark suite: ``python bench/run.py`` (``--help`` for options).

Each measurement is a separate process (one driver script per client), runs
are interleaved (A B C A B C ...) so that drift on the machine hits every
client alike, and the table reports medians over the runs that delivered and
checked every message. Results go to ``bench/results/`` (not committed);
``--baseline`` also writes the summary of a full run to ``bench/baseline.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import report

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
PY = sys.executable
BENCHMARKS = ("parser", "drain", "ping", "flood", "startup", "completion", "memory", "top")
PEERS = ("amishell", "asterisk_ami", "panoramisk", "pyst2", "pystrix", "raw")
# Children write and read bytecode in a cache of their own: the environment may
# say PYTHONDONTWRITEBYTECODE (then an editable install recompiles amishell at
# every start, which a user's install never does), and the repository stays clean.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "amishell-bench-pycache")


@dataclass
class Case:
    bench: str
    client: str  # a peer name, or "raw" for the plain-Python baseline
    label: str  # what the row says
    argv: list[str]
    events: int | None = None  # the burst server this case needs (None: no server)
    sim: bool = False  # needs the simulator instead (amishell-sim)
    delay: float = 0.0  # the burst server waits this long after Login before pushing
    n: int = 0  # messages / events / round trips in this case
    runs: list[dict[str, Any]] = field(default_factory=list)


class Server:
    """A bench/server.py process (``sim=False``) or the simulator, amishell-sim
    (``sim=True``); collects the bench server's per-connection reports."""

    def __init__(self, events: int, sim: bool = False, delay: float = 0.0) -> None:
        if sim:
            argv = [PY, "-m", "amishell.simulator", "--port", "0",
                    "--user", f"{common.USER}:{common.SECRET}"]
        else:
            argv = [PY, str(BENCH / "server.py"), "--events", str(events), "--delay", str(delay)]
        self.sim = sim
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=BENCH, env=ENV
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if sim:
            found = re.search(r"listening on \S+:(\d+)", first)
            if found is None:
                self.proc.kill()
                raise RuntimeError(f"amishell-sim did not say where it listens: {first!r}")
            self.port: int = int(found.group(1))
        else:
            self.port = json.loads(first)["port"]
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not self.sim:
                self.lines.put(json.loads(line))

    def reports(self, wait: float) -> list[dict[str, Any]]:
        out = []
        try:
            out.append(self.lines.get(timeout=wait))
            while True:
                out.append(self.lines.get(timeout=0.2))
        except queue.Empty:
            pass
        return out

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        if self.sim:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def driver(name: str) -> str:
    return str(BENCH / f"peer_{name}.py")


def plan(args: argparse.Namespace) -> list[Case]:
    """The cases of every selected benchmark, with each client's own N."""
    q = 0.1 if args.quick else 1.0

    def n(full: int, scale: float = 1.0) -> int:
        return max(1, int(full * q * scale))

    peers = [p for p in args.peers if p in PEERS]
    cases: list[Case] = []
    if "parser" in args.only:
        # Slow parsers get a shorter stream: rates hold at any N and the run
        # stays within minutes.
        scale = {"panoramisk": 0.5, "pyst2": 0.1, "pystrix": 0.25}
        for p in peers:
            m = n(args.messages, scale.get(p, 1.0))
            argv = [driver(p), "parse", "--messages", str(m)]
            if p == "amishell":
                # The first amishell row is the one the targets use.
                cases.append(Case("parser", p, "Parser: feed + events", argv, n=m))
                cases.append(Case("parser", p, "Framer + parse_frame (the client's split)",
                                  [*argv, "--via", "frames"], n=m))
                continue
            label = "split-only reference" if p == "raw" else "its parser"
            cases.append(Case("parser", p, label, argv, n=m))
    if "drain" in args.only:
        scale = {"panoramisk": 0.5, "pyst2": 0.02, "pystrix": 0.2}
        for p in peers:
            ev = n(args.events, scale.get(p, 1.0))
            if p == "raw":
                modes = [("recv, split, dict per message", [])]
            elif p == "amishell":
                modes = [
                    ("drain: framed and queued", ["--consumer", "none"]),
                    ("read_response() loop", ["--consumer", "queue"]),
                    ("callback, count only", ["--consumer", "count"]),
                    ("callback, reads every header", ["--consumer", "headers"]),
                ]
            else:
                modes = [
                    ("callback, count only", ["--consumer", "count"]),
                    ("callback, reads every header", ["--consumer", "headers"]),
                ]
            for label, extra in modes:
                argv = [driver(p), "drain", "--events", str(ev), *extra]
                cases.append(Case("drain", p, label, argv, events=ev, n=ev))
    if "ping" in args.only:
        scale = {"pyst2": 0.2, "pystrix": 0.008}
        for sim in (True, False):
            where = "simulator" if sim else "bench server"
            for p in peers:
                c = n(args.pings, scale.get(p, 1.0))
                for threads in (1, 8):
                    if threads == 1:
                        how = "sequential"
                    elif p == "panoramisk":
                        how = f"{threads} concurrent tasks"
                    elif p == "raw":
                        how = f"{threads} threads, a connection each"
                    else:
                        how = f"{threads} threads, one client"
                    argv = [driver(p), "ping", "--count", str(c), "--threads", str(threads)]
                    cases.append(Case("ping", p, f"{where}: {how}", argv, events=0, sim=sim, n=c))
    if "flood" in args.only:
        ev = n(args.flood_events)
        argv = [str(BENCH / "shell_flood.py"), "--events", str(ev)]
        cases.append(Case("flood", "amishell", "shell, one-line display", argv, events=ev, n=ev))
    if "startup" in args.only:
        for which in ("amishell", "baseline"):
            label = "shell: connected, logged in, prompt" if which == "amishell" else (
                "prompt_toolkit PromptSession only")
            argv = [str(BENCH / "startup.py"), which]
            cases.append(Case("startup", which, label, argv, events=0, sim=True, n=1))
    if "completion" in args.only:
        argv = [str(BENCH / "completion.py")]
        cases.append(Case("completion", "amishell", "AMICompleter + LiveSources, simulator",
                          argv, events=0, sim=True, n=1))
        cases.append(Case("completion", "amishell",
                          "offline catalogue padded to 154 actions (as many as Asterisk's source)",
                          [*argv, "--actions", "154"], events=0, n=1))
    if "memory" in args.only:
        ev = n(args.memory_events)
        for label, extra in (
            ("client, no consumer, default bound", []),
            ("client, no consumer, 32 MiB bound", ["--max-queue-mb", "32"]),
        ):
            argv = [str(BENCH / "memory.py"), "--events", str(ev), *extra]
            cases.append(Case("memory", "amishell", label, argv, events=ev, n=ev))
        argv = [str(BENCH / "shell_flood.py"), "--events", str(ev), "--pause"]
        cases.append(Case("memory", "amishell", "shell, event display paused", argv, events=ev,
                          delay=1.5, n=ev))
    if "top" in args.only:
        argv = [str(BENCH / "top_flood.py")]
        cases.append(Case("top", "amishell", ".top, 300 calls, 5,000 events/s", argv, n=1))
    return cases


def _kind(case: Case) -> object:
    """What a case measures, for pairing it with the cases it is compared with."""
    if case.bench == "drain":
        # The plain loop parses every message into a dict: the nearest
        # amishell case is the callback that reads every header.
        return "callback, reads every header" if case.client == "raw" else case.label
    if case.bench == "ping":
        return (case.label.split(":")[0], "sequential" in case.label)
    return case.bench


def run_order(group: list[Case]) -> list[Case]:
    """The order a benchmark's cases run in: each amishell case followed at
    once by asterisk-ami and the plain-Python baseline measuring the same
    thing, then the others. The machine has slow spells of a few seconds; a
    ratio compares neighbours, so a spell hits both sides of it. (The tables
    keep their own order.)"""
    out: list[Case] = []
    # The nearer neighbour is the one of the closer target.
    nearest = ("asterisk_ami", "raw") if group and group[0].bench == "drain" else (
        "raw", "asterisk_ami")
    for case in group:
        if case.client != "amishell" or case in out:
            continue
        out.append(case)
        for client in nearest:
            out += [c for c in group
                    if c.client == client and c not in out and _kind(c) == _kind(case)]
    return out + [c for c in group if c not in out]


def run_case(case: Case, servers: dict[Any, Server], timeout: float) -> dict[str, Any]:
    argv = [PY, *case.argv]
    server = None
    if case.events is not None:
        key = "sim" if case.sim else (case.events, case.delay)
        server = servers.get(key)
        if server is None:
            try:
                server = servers[key] = Server(case.events, sim=case.sim, delay=case.delay)
            except (RuntimeError, OSError) as exc:
                return {"ok": False, "error": f"server: {exc}"}
        argv += ["--port", str(server.port)]
    if case.bench in ("drain", "ping", "flood", "memory"):
        argv += ["--timeout", str(max(5.0, timeout - 15))]  # the driver gives up first
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=BENCH, env=ENV
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no result within {timeout:.0f}s"}
    wall = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        result = {"ok": False, "error": f"exit {proc.returncode}: {tail[0][:300]}"}
    result["wall"] = round(wall, 3)
    if server is not None and not case.sim and case.bench in ("drain", "flood", "memory"):
        conns = server.reports(wait=3.0)
        if conns:
            result["server"] = conns[-1]
            sent = conns[-1].get("events_sent")
            if sent != case.events and result.get("ok"):
                result.update(ok=False, error=f"server sent {sent} of {case.events}")
    elif server is not None:
        server.reports(wait=0.5)
    if case.argv[0].endswith("shell_flood.py") and "server" in result and "metrics" in result:
        srv = result["server"]
        if srv.get("push_seconds"):
            result["metrics"]["events_per_s"] = round(srv["events_sent"] / srv["push_seconds"])
        result["metrics"]["longest_gap_ms"] = round(srv["max_send_block"] * 1000, 1)
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("panoramisk", "asterisk-ami", "pyst2", "pystrix", "prompt_toolkit", "amishell"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "not installed"
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, cwd=BENCH, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        rev = "unknown"
    return {
        "revision": rev,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
        "load_before": os.getloadavg()[0],
        "versions": versions,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a tenth of the traffic, one repetition")
    p.add_argument("--only", default=",".join(BENCHMARKS),
                   help=f"comma-separated benchmarks (default all): {','.join(BENCHMARKS)}")
    p.add_argument("--peers", default=",".join(PEERS),
                   help="comma-separated clients to measure (default all; raw = the baseline;"
                   " asterisk-ami or asterisk_ami)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 10, quick 1)")
    p.add_argument("--messages", type=int, default=200_000, help="parser: messages (200,000)")
    p.add_argument("--events", type=int, default=100_000, help="drain: events (100,000)")
    p.add_argument("--pings", type=int, default=5000, help="ping: round trips (5,000)")
    p.add_argument("--flood-events", type=int, default=200_000, help="flood: events (200,000)")
    p.add_argument("--memory-events", type=int, default=1_000_000,
                   help="memory: events (1,000,000)")
    p.add_argument("--timeout", type=float, default=120.0, help="per run, seconds")
    p.add_argument("--baseline", action="store_true",
                   help="a full run: also write its summary to bench/baseline.md")
    args = p.parse_args()
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    args.peers = [x.strip().replace("-", "_") for x in args.peers.split(",") if x.strip()]
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        p.error(f"unknown peer(s): {', '.join(sorted(unknown))}; choose from {', '.join(PEERS)}")
    if "raw" not in args.peers:
        args.peers.append("raw")  # the ratios need the baseline
    reps = args.reps or (1 if args.quick else 10)

    cases = plan(args)
    info = machine()
    print(f"{len(cases)} cases x {reps} repetitions on {info['nproc']} x {info['cpu']}, "
          f"Python {info['python']}", flush=True)
    servers: dict[Any, Server] = {}
    t0 = time.perf_counter()
    try:
        for bench in args.only:
            group = run_order([c for c in cases if c.bench == bench])
            # Memory is long: once. Start-up, parsing and draining are short,
            # and a run lands on a fast or a slow moment of this machine's
            # cores (one in four to one in three runs of the same code is
            # 1.3-1.6x slower): more runs, so that the medians hold still.
            rounds = {"memory": 1, "top": min(reps, 3), "startup": 3 * reps, "parser": 2 * reps,
                      "drain": 2 * reps}.get(bench, reps)
            if bench == "startup":
                for case in group:  # untimed: fills the bytecode cache for both alike
                    run_case(case, servers, args.timeout)
            for rep in range(rounds):
                # A B C, then C B A: a drift of the machine's speed during the
                # group hits every client alike on average.
                for case in group if rep % 2 == 0 else group[::-1]:
                    result = run_case(case, servers, args.timeout)
                    case.runs.append(result)
                    print(report.progress_line(case, rep, result), flush=True)
            for key in list(servers):
                servers.pop(key).stop()
    finally:
        for server in servers.values():
            server.stop()
    info["seconds"] = round(time.perf_counter() - t0, 1)
    info["reps"] = reps
    info["quick"] = args.quick
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    raw = {
        "machine": info,
        "argv": sys.argv[1:],
        "cases": [
            {"bench": c.bench, "client": c.client, "label": c.label, "n": c.n,
             "argv": c.argv, "runs": c.runs}
            for c in cases
        ],
    }
    (RESULTS / f"{stamp}.json").write_text(json.dumps(raw, indent=1) + "\n")
    text = report.render(raw)
    (RESULTS / f"{stamp}.md").write_text(text)
    print()
    print(text)
    if args.baseline and not args.quick and set(args.only) == set(BENCHMARKS):
        report.write_baseline(BENCH / "baseline.md", text, f"results/{stamp}.json")
        print(f"bench/baseline.md written; raw results in bench/results/{stamp}.json")
    else:
        print(f"raw results in bench/results/{stamp}.json")

if __name__ == "__main__":
    main()
