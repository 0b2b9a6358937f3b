"""This working tree against a git revision, side by side, in one run.

    python bench/compare.py --against REV [--reps 10] [--only parse,drain,ping,startup]

REV's ``amishell`` package is exported (``git archive``) to a temporary
directory. Every run is a process of its own with ``PYTHONPATH`` set to the
tree it measures; both sides run this tree's drivers against the same servers,
so only the code under test differs (a driver of an older revision may have
measured differently: the parser's line cache, for one, is warm for both
here). Each repetition runs every case for this
tree, for REV and for its reference (the same for both sides), in turn, the
order reversed at every other repetition, so a drift of the machine's speed
hits both sides alike. The cases (a subset of ``run.py``):

- parse: the recorded call storm through ``Parser.feed`` + ``events()``, and
  through ``Framer.feed`` + ``parse_frame``; reference: asterisk-ami's parser;
- drain: events framed and queued by the reader, nobody consuming; reference:
  asterisk-ami with a callback that only counts;
- events to a callback reading every header; reference: asterisk-ami's the same;
- sequential Ping round trip against the bench server and against the
  simulator; reference: the plain socket loop;
- start-up to a connected prompt; reference: a bare ``PromptSession``.

asterisk-ami stands for "the fastest peer" (it is, in every case, in the full
runs); ``run.py`` measures all the peers. The table gives the medians, this
tree's median over REV's, the median of the ratios of the runs made side by
side, and each side's ratio to the reference against its target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import run

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CASES = ("parse", "drain", "ping", "startup")
TREE = "tree"


@dataclass
class Measure:
    case: str  # one of CASES
    name: str
    unit: str
    key: str  # the result's field (``metrics`` are looked in too)
    argv: list[str]  # script and arguments
    server: str | None  # "burst", "ping", "sim" or None
    ref: tuple[str, list[str]] | None = None  # what is compared with: label, script and arguments
    limit: float = 0.0  # the target, as a ratio to the reference
    values: dict[str, list[float]] = field(default_factory=dict)

    @property
    def higher(self) -> bool:
        """Is a higher value better (a rate rather than a time)?"""
        return self.unit.endswith("/s")


def measures(args: argparse.Namespace) -> list[Measure]:
    parse = ["peer_amishell.py", "parse", "--messages", str(args.messages)]
    drain = ["drain", "--events", str(args.events)]
    ping = ["ping", "--count", str(args.pings), "--threads", "1"]
    raw_ping = ("plain socket loop", ["peer_raw.py", *ping])
    out = [
        Measure("parse", "parse: Parser feed + events", "msgs/s", "per_s", parse, None,
                ("asterisk-ami's parser",
                 ["peer_asterisk_ami.py", "parse", "--messages", str(args.messages)]), 1.2),
        Measure("parse", "parse: Framer + parse_frame", "msgs/s", "per_s",
                [*parse, "--via", "frames"], None),
        Measure("drain", "drain: framed and queued", "events/s", "per_s",
                ["peer_amishell.py", *drain, "--consumer", "none"], "burst",
                ("asterisk-ami, callback counting",
                 ["peer_asterisk_ami.py", *drain, "--consumer", "count"]), 3.0),
        Measure("drain", "callback reading every header", "events/s", "per_s",
                ["peer_amishell.py", *drain, "--consumer", "headers"], "burst",
                ("asterisk-ami, the same",
                 ["peer_asterisk_ami.py", *drain, "--consumer", "headers"]), 1.5),
        Measure("ping", "Ping, sequential, bench server", "us", "us_per_ping",
                ["peer_amishell.py", *ping], "ping", raw_ping, 1.3),
        Measure("ping", "Ping, sequential, simulator", "us", "us_per_ping",
                ["peer_amishell.py", *ping], "sim", raw_ping, 1.3),
        Measure("startup", "start-up to a connected prompt", "s", "seconds",
                ["startup.py", "amishell"], "sim",
                ("bare PromptSession", ["startup.py", "baseline"]), 1.5),
    ]
    return [m for m in out if m.case in args.only]


def measure(path: Path, argv: list[str], port: int | None, timeout: float, key: str) -> float:
    """One run of a driver of this tree with ``path`` on PYTHONPATH: the value of ``key``."""
    env = dict(run.ENV, PYTHONPATH=str(path))
    cmd = [run.PY, str(BENCH / argv[0]), *argv[1:]]
    if port is not None:
        cmd += ["--port", str(port)]
        if argv[0] != "startup.py":
            cmd += ["--timeout", str(max(5.0, timeout - 15))]
    what = " ".join(argv[:2])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=BENCH,
                              env=env)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{what}: no result within {timeout:g}s") from exc
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{what} ({path}): exit {proc.returncode}: {tail[0]}") from None
    if not result.get("ok"):
        raise RuntimeError(f"{what} ({path}): {result.get('error', 'failed')}")
    return float(result.get(key, result.get("metrics", {}).get(key)))


def export(rev: str, into: Path) -> str:
    """REV's ``amishell`` package written under ``into``; returns REV's short name."""
    short = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True,
                           text=True)
    if short.returncode != 0:
        raise SystemExit(f"compare.py: not a git revision: {rev}")
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "amishell"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return short.stdout.strip()


def fmt(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        return f"{value:,.0f}"
    return f"{value:.3f}" if unit == "s" else f"{value:.1f}"


def verdict(m: Measure, ratio: float) -> str:
    """A ratio to the reference, marked when it misses the target."""
    ok = ratio >= m.limit if m.higher else ratio <= m.limit
    return f"{ratio:.2f}x" + ("" if ok else " **missed**")


def table(items: list[Measure], rev: str, reps: int) -> str:
    out = [
        f"Medians of {reps} runs of each, alternating. tree/{rev}: this tree's median over"
        f" {rev}'s (> 1: faster for a rate, slower for a time); paired: the median of the"
        " ratios of the runs made side by side.",
        "",
        f"| case | unit | {rev} | tree | tree/{rev} | paired | reference | median |"
        f" {rev} vs ref | tree vs ref | target |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for m in items:
        before, after = statistics.median(m.values[rev]), statistics.median(m.values[TREE])
        paired = statistics.median(
            a / b for a, b in zip(m.values[TREE], m.values[rev], strict=True))
        row = (f"| {m.name} | {m.unit} | {fmt(before, m.unit)} | {fmt(after, m.unit)} |"
               f" {after / before:.2f}x | {paired:.2f}x |")
        if m.ref is None:
            out.append(row + " | | | | |")
            continue
        ref = statistics.median(m.values["ref"])
        sign = ">=" if m.higher else "<="
        out.append(f"{row} {m.ref[0]} | {fmt(ref, m.unit)} | {verdict(m, before / ref)} |"
                   f" {verdict(m, after / ref)} | {sign} {m.limit:g}x |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", default="HEAD", metavar="REV",
                   help="the git revision to compare with (default HEAD)")
    p.add_argument("--reps", type=int, default=6, help="runs of each (default 6)")
    p.add_argument("--only", default=",".join(CASES), help=f"any of {','.join(CASES)}")
    p.add_argument("--messages", type=int, default=200_000, help="parse: messages (200,000)")
    p.add_argument("--events", type=int, default=100_000, help="drain: events (100,000)")
    p.add_argument("--pings", type=int, default=5000, help="ping: round trips (5,000)")
    p.add_argument("--timeout", type=float, default=120.0, help="per run, seconds")
    args = p.parse_args()
    args.only = [c for c in args.only.split(",") if c]
    unknown = set(args.only) - set(CASES)
    if unknown:
        p.error(f"--only: unknown case(s) {', '.join(sorted(unknown))}")
    items = measures(args)
    run.ENV["PYTHONPATH"] = str(ROOT)  # the servers are this tree's
    servers: dict[str, run.Server] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="amishell-compare-") as tmp:
        rev = export(args.against, Path(tmp))
        sides = [(TREE, ROOT), (rev, Path(tmp)), ("ref", ROOT)]
        try:
            wanted = {m.server for m in items}
            if "burst" in wanted:
                servers["burst"] = run.Server(args.events)
            if "ping" in wanted:
                servers["ping"] = run.Server(0)
            if "sim" in wanted:
                servers["sim"] = run.Server(0, sim=True)
            for m in items:  # untimed: fills the bytecode caches of both sides alike
                if m.case == "startup":
                    for _, path in sides:
                        measure(path, m.argv, servers["sim"].port, args.timeout, m.key)
            for rep in range(args.reps):
                order = sides if rep % 2 == 0 else sides[::-1]
                for m in items:
                    port = servers[m.server].port if m.server else None
                    for name, path in order:
                        if name == "ref":
                            if m.ref is None:
                                continue
                            argv = m.ref[1]
                        else:
                            argv = m.argv
                        value = measure(path, argv, port, args.timeout, m.key)
                        m.values.setdefault(name, []).append(value)
                print(f"repetition {rep + 1} of {args.reps} done", file=sys.stderr, flush=True)
        except RuntimeError as exc:
            raise SystemExit(f"compare.py: {exc}") from None
        finally:
            for server in servers.values():
                server.stop()
    print(table(items, rev, args.reps))
    print(f"\n{time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
