"""A quick side-by-side check: this working tree against a git revision.

``python bench/quick.py [--against REV]`` checks REV (default ``HEAD``) out
into a temporary directory (``git worktree add --detach``), then measures a
small subset of the suite for both, alternating (this tree first, then REV,
then REV first...), each run in its own process with ``PYTHONPATH`` pointing
at the tree it measures, so each side runs its own code and its own drivers:

- Ping round trip, sequential, against the bench server (and the plain
  socket loop beside it: the target is <= 1.3x that loop);
- drain: events framed and queued by the reader, nobody consuming;
- events to an ``event_callback`` that reads every header;
- start-up to a connected prompt (and a bare ``PromptSession`` beside it: the
  target is <= 1.5x that).

It prints the medians and the ratios. No peers run here: the targets
measured against the other clients need ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import run

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass
class Measure:
    name: str
    unit: str
    key: str  # the result's field (``metrics`` are looked in too)
    higher: bool  # is a higher value better?
    driver: str  # the script in the side's bench/ directory
    args: list[str]
    server: str  # "burst", "ping" or "sim"
    reference: tuple[str, list[str]] | None = None  # a driver run beside it, the same for both
    target: tuple[str, float] | None = None  # what the reference ratio should be within
    values: dict[str, list[float]] = field(default_factory=dict)


def measures(args: argparse.Namespace) -> list[Measure]:
    ping = ["ping", "--count", str(args.pings), "--threads", "1"]
    drain = ["drain", "--events", str(args.events)]
    out = [
        Measure("Ping round trip, sequential", "us", "us_per_ping", False, "peer_amishell.py",
                ping, "ping", ("peer_raw.py", ping), ("plain socket loop", 1.3)),
        Measure("drain: framed and queued", "events/s", "per_s", True, "peer_amishell.py",
                [*drain, "--consumer", "none"], "burst"),
        Measure("callback reading every header", "events/s", "per_s", True, "peer_amishell.py",
                [*drain, "--consumer", "headers"], "burst"),
        Measure("start-up to a connected prompt", "s", "seconds", False, "startup.py",
                ["amishell"], "sim", ("startup.py", ["baseline"]), ("bare PromptSession", 1.5)),
    ]
    return [m for m in out if m.server != "sim" or not args.no_startup]


def measure(tree: Path, script: str, argv: list[str], port: int, timeout: float,
            key: str) -> float:
    """One run of a driver of ``tree`` with ``tree`` on PYTHONPATH: the value of ``key``."""
    env = dict(run.ENV, PYTHONPATH=str(tree))
    cmd = [run.PY, str(tree / "bench" / script), *argv, "--port", str(port)]
    if script != "startup.py":
        cmd += ["--timeout", str(max(5.0, timeout - 15))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=tree / "bench", env=env)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{script} {argv[0]}: no result within {timeout:g}s") from exc
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{tree.name}/{script}: exit {proc.returncode}: {tail[0]}") from None
    if not result.get("ok"):
        raise RuntimeError(f"{tree.name}/{script}: {result.get('error', 'failed')}")
    value = result.get(key, result.get("metrics", {}).get(key))
    return float(value)


def checkout(rev: str, where: Path) -> str:
    """``rev`` checked out at ``where``; returns its short name."""
    short = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True,
                           text=True)
    if short.returncode != 0:
        raise SystemExit(f"quick.py: not a git revision: {rev}")
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(where), rev],
                   cwd=ROOT, check=True)
    return short.stdout.strip()


def fmt(value: float, unit: str) -> str:
    if unit == "events/s":
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f}"
    return f"{value:.1f}"


def report(items: list[Measure], sides: list[str], reps: int) -> None:
    tree, rev = sides
    print()
    print(f"Medians of {reps} runs each, alternating. 'tree/rev': this tree's median over")
    print("REV's (> 1 is faster for a rate, slower for a time); 'paired': the median of the")
    print("ratios of the runs made side by side, steadier when the machine's speed drifts.")
    print()
    head = f"{'':34} {'unit':>8} {tree:>14} {rev:>14} {'tree/rev':>9} {'paired':>8}"
    print(head)
    print("-" * len(head))
    for m in items:
        a, b = (statistics.median(m.values[s]) for s in sides)
        mine, theirs = (m.values[s] for s in sides)
        paired = statistics.median(x / y for x, y in zip(mine, theirs, strict=True))
        print(f"{m.name:34} {m.unit:>8} {fmt(a, m.unit):>14} {fmt(b, m.unit):>14}"
              f" {a / b:>8.2f}x {paired:>7.2f}x")
        if m.reference and m.target:
            ref = statistics.median(m.values["reference"])
            what, limit = m.target
            ratios = "   ".join(
                f"{s} {statistics.median(m.values[s]) / ref:.2f}x" for s in sides
            )
            print(f"{'  vs ' + what:34} {m.unit:>8} {fmt(ref, m.unit):>14}   {ratios}"
                  f"   (target <= {limit:g}x)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", default="HEAD", metavar="REV",
                   help="the git revision to compare with (default HEAD)")
    p.add_argument("--reps", type=int, default=6, help="runs of each side (default 6)")
    p.add_argument("--pings", type=int, default=2000, help="round trips per run (2,000)")
    p.add_argument("--events", type=int, default=50_000, help="events per drain run (50,000)")
    p.add_argument("--no-startup", action="store_true", help="leave start-up out")
    p.add_argument("--timeout", type=float, default=60.0, help="per run, seconds")
    args = p.parse_args()
    items = measures(args)
    tmp = Path(tempfile.mkdtemp(prefix="amishell-quick-"))
    where = tmp / "rev"
    rev = checkout(args.against, where)
    sides = {"this tree": ROOT, rev: where}
    # Both sides run against the same servers, from this tree.
    run.ENV["PYTHONPATH"] = str(ROOT)
    servers: dict[str, run.Server] = {}
    started = time.perf_counter()
    try:
        servers["burst"] = run.Server(args.events)
        servers["ping"] = run.Server(0)
        if not args.no_startup:
            servers["sim"] = run.Server(0, sim=True)
            for tree in sides.values():  # untimed: fills the bytecode cache for both alike
                measure(tree, "startup.py", ["amishell"], servers["sim"].port, args.timeout,
                        "seconds")
        for rep in range(args.reps):
            order = list(sides.items()) if rep % 2 == 0 else list(sides.items())[::-1]
            for m in items:
                port = servers[m.server].port
                for name, tree in order:
                    v = measure(tree, m.driver, m.args, port, args.timeout, m.key)
                    m.values.setdefault(name, []).append(v)
                if m.reference:
                    script, argv = m.reference
                    v = measure(ROOT, script, argv, port, args.timeout, m.key)
                    m.values.setdefault("reference", []).append(v)
            print(f"repetition {rep + 1} of {args.reps} done", file=sys.stderr, flush=True)
    except RuntimeError as exc:
        raise SystemExit(f"quick.py: {exc}") from None
    finally:
        for server in servers.values():
            server.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT,
                       check=False)
        if tmp.exists():
            os.rmdir(tmp)
    report(items, list(sides), args.reps)
    print(f"\n{time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
