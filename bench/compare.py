"""This working tree against a git revision, side by side, in one run.

    python bench/compare.py --against REV [--reps 10] [--only parse,drain,ping,startup,shell]

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
- start-up to a connected prompt; reference: a bare ``PromptSession``;
- the shell in a pseudo-terminal: a flood with the one-line display on (events
  lost, peak RSS), and a million events with the display paused (RSS at the
  end, growth after the first 100,000), against bounds of their own.

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
CASES = ("parse", "drain", "ping", "startup", "shell")
TREE = "tree"


@dataclass
class Row:
    """One figure of a measure's runs."""

    name: str
    unit: str
    key: str  # the result's field (``metrics`` are looked in too)
    #: The target: a ratio to the measure's reference, or (no reference) the value's own bound.
    limit: float | None = None

    @property
    def higher(self) -> bool:
        """Is a higher value better (a rate rather than a time or a size)?"""
        return self.unit.endswith("/s")


@dataclass
class Measure:
    case: str  # one of CASES
    rows: list[Row]
    argv: list[str]  # script and arguments
    server: str | None  # "burst", "ping", "sim", "flood", "paused" or None
    ref: tuple[str, list[str]] | None = None  # what is compared with: label, script and arguments
    #: Each side's runs: the driver's result (with its metrics), or None for a failed run.
    values: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)


def measures(args: argparse.Namespace) -> list[Measure]:
    parse = ["peer_amishell.py", "parse", "--messages", str(args.messages)]
    drain = ["drain", "--events", str(args.events)]
    ping = ["ping", "--count", str(args.pings), "--threads", "1"]
    raw_ping = ("plain socket loop", ["peer_raw.py", *ping])
    out = [
        Measure("parse", [Row("parse: Parser feed + events", "msgs/s", "per_s", 1.2)], parse, None,
                ("asterisk-ami's parser",
                 ["peer_asterisk_ami.py", "parse", "--messages", str(args.messages)])),
        Measure("parse", [Row("parse: Framer + parse_frame", "msgs/s", "per_s")],
                [*parse, "--via", "frames"], None),
        Measure("drain", [Row("drain: framed and queued", "events/s", "per_s", 3.0)],
                ["peer_amishell.py", *drain, "--consumer", "none"], "burst",
                ("asterisk-ami, callback counting",
                 ["peer_asterisk_ami.py", *drain, "--consumer", "count"])),
        Measure("drain", [Row("callback reading every header", "events/s", "per_s", 1.5)],
                ["peer_amishell.py", *drain, "--consumer", "headers"], "burst",
                ("asterisk-ami, the same",
                 ["peer_asterisk_ami.py", *drain, "--consumer", "headers"])),
        Measure("ping", [Row("Ping, sequential, bench server", "us", "us_per_ping", 1.3)],
                ["peer_amishell.py", *ping], "ping", raw_ping),
        Measure("ping", [Row("Ping, sequential, simulator", "us", "us_per_ping", 1.3)],
                ["peer_amishell.py", *ping], "sim", raw_ping),
        Measure("startup", [Row("start-up to a connected prompt", "s", "seconds", 1.5)],
                ["startup.py", "amishell"], "sim",
                ("bare PromptSession", ["startup.py", "baseline"])),
        Measure("shell", [
            Row(f"shell flood ({args.flood_events:,}): lost", "events", "lost", 0),
            Row("shell flood: peak RSS", "MB", "peak_rss_mb", 100),
        ], ["shell_flood.py", "--events", str(args.flood_events)], "flood"),
        Measure("shell", [
            Row(f"shell paused ({args.memory_events:,}): RSS at the end", "MB", "rss_end_mb",
                100),
            Row("shell paused: growth after 100,000", "MB", "growth_after_100k_mb", 10),
        ], ["shell_flood.py", "--events", str(args.memory_events), "--pause"], "paused"),
    ]
    return [m for m in out if m.case in args.only]


def measure(path: Path, argv: list[str], port: int | None, timeout: float
            ) -> dict[str, Any] | None:
    """One run of a driver of this tree with ``path`` on PYTHONPATH: its result
    (metrics merged in), or None when it failed (said on stderr)."""
    env = dict(run.ENV, PYTHONPATH=str(path))
    cmd = [run.PY, str(BENCH / argv[0]), *argv[1:]]
    if port is not None:
        cmd += ["--port", str(port)]
        if argv[0] != "startup.py":
            cmd += ["--timeout", str(max(5.0, timeout - 15))]
    what = f"{' '.join(argv[:2])} ({path})"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=BENCH,
                              env=env)
    except subprocess.TimeoutExpired:
        print(f"{what}: no result within {timeout:g}s", file=sys.stderr)
        return None
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"{what}: exit {proc.returncode}: {tail[0]}", file=sys.stderr)
        return None
    if not result.get("ok"):
        print(f"{what}: {result.get('error', 'failed')}", file=sys.stderr)
        return None
    return {**result, **result.get("metrics", {})}


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
    if unit.endswith("/s") or unit == "events":
        return f"{value:,.0f}"
    return f"{value:.3f}" if unit == "s" else f"{value:.1f}"


def verdict(row: Row, value: float) -> str:
    """A value (a ratio, or the figure itself), marked when it misses the target."""
    assert row.limit is not None
    ok = value >= row.limit if row.higher else value <= row.limit
    return "" if ok else " **missed**"


def figures(m: Measure, side: str, row: Row) -> list[float]:
    return [float(r[row.key]) if r is not None and row.key in r else float("nan")
            for r in m.values.get(side, [])]


def median(values: list[float]) -> float:
    kept = [v for v in values if v == v]  # (not the NaN of a failed run)
    return statistics.median(kept) if kept else float("nan")


def table(items: list[Measure], rev: str, reps: int) -> str:
    out = [
        f"Medians of {reps} runs of each, alternating. tree/{rev}: this tree's median over"
        f" {rev}'s (> 1: faster for a rate, slower for a time); paired: the median of the"
        " ratios of the runs made side by side. Failed runs: runs ok column.",
        "",
        f"| case | unit | {rev} | tree | runs ok | tree/{rev} | paired | reference | median |"
        f" {rev} vs ref | tree vs ref | target |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for m in items:
        for row in m.rows:
            mine, theirs = figures(m, TREE, row), figures(m, rev, row)
            before, after = median(theirs), median(mine)
            ok = sum(v == v for v in mine + theirs)
            ratio = f"{after / before:.2f}x" if before else "-"
            paired = median([a / b for a, b in zip(mine, theirs, strict=True) if b])
            line = (f"| {row.name} | {row.unit} | {fmt(before, row.unit)} |"
                    f" {fmt(after, row.unit)} | {ok}/{len(mine) + len(theirs)} | {ratio} |"
                    f" {paired:.2f}x |".replace("nanx", "-"))
            if row.limit is None:
                out.append(line + " | | | | |")
            elif m.ref is None:
                sign = ">=" if row.higher else "<="
                out.append(f"{line} | | {verdict(row, before).strip() or 'met'} |"
                           f" {verdict(row, after).strip() or 'met'} | {sign} {row.limit:g} |")
            else:
                ref = median(figures(m, "ref", row))
                sign = ">=" if row.higher else "<="
                b, a = before / ref, after / ref
                out.append(f"{line} {m.ref[0]} | {fmt(ref, row.unit)} |"
                           f" {b:.2f}x{verdict(row, b)} | {a:.2f}x{verdict(row, a)} |"
                           f" {sign} {row.limit:g}x |")
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
    p.add_argument("--flood-events", type=int, default=200_000,
                   help="shell: events of the flood (200,000)")
    p.add_argument("--memory-events", type=int, default=1_000_000,
                   help="shell: events with the display paused (1,000,000)")
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
            if "flood" in wanted:
                servers["flood"] = run.Server(args.flood_events)
            if "paused" in wanted:  # (a moment after Login for the shell to pause)
                servers["paused"] = run.Server(args.memory_events, delay=1.5)
            for m in items:  # untimed: fills the bytecode caches of both sides alike
                if m.case == "startup":
                    for _, path in sides:
                        measure(path, m.argv, servers["sim"].port, args.timeout)
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
                        m.values.setdefault(name, []).append(
                            measure(path, argv, port, args.timeout))
                print(f"repetition {rep + 1} of {args.reps} done", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.stop()
    print(table(items, rev, args.reps))
    print(f"\n{time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
