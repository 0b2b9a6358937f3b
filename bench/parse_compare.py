"""Parse throughput of the working tree against a git revision, side by side.

    python bench/parse_compare.py [--rev main] [--runs 20]

Feeds call_storm's recorded reads (tests/data/asterisk/call_storm.jsonl) two
ways: ``Framer.feed`` each read and ``parse_frame`` each frame (the client's
split), and ``Parser.feed`` + ``events()``. The revision's protocol code is
loaded from git into a temporary package; runs alternate between the two and
the medians are printed. Each run is one pass of the transcript in a
process of its own, so no run profits from what an earlier one left in a
cache; with ``--warm`` every run is in this process, after one untimed pass
of each (every line the parsers keep is then known, as in a long session).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import common

ROOT = Path(__file__).resolve().parent.parent


def load_revision(rev: str, where: Path) -> ModuleType:
    """``amishell.protocol`` (with the message and errors modules) as of ``rev``."""
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "amishell/"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    wanted = [n for n in names if n.startswith("amishell/protocol")
              or n in ("amishell/message.py", "amishell/errors.py")]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, *wanted], cwd=ROOT, check=True,
        capture_output=True,
    ).stdout
    package = where / "at_revision"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(where / "x", filter="data")
    (where / "x" / "amishell").rename(package)
    (package / "__init__.py").write_text("")
    sys.path.insert(0, str(where))
    return importlib.import_module("at_revision.protocol")


def run_frames(protocol: Any, chunks: list[bytes]) -> tuple[float, int]:
    framer, parse, n = protocol.Framer(greeting=True), protocol.parse_frame, 0
    t = time.perf_counter()
    for chunk in chunks:
        for frame in framer.feed(chunk):
            parse(frame)
            n += 1
    return time.perf_counter() - t, n


def run_parser(protocol: Any, chunks: list[bytes]) -> tuple[float, int]:
    parser, n = protocol.Parser(greeting=True), 0
    t = time.perf_counter()
    for chunk in chunks:
        parser.feed(chunk)
        n += len(parser.events())
    return time.perf_counter() - t, n - 1  # (less the greeting)


RUNS = {"frames": run_frames, "parser": run_parser}


def one_run(how: str, revision_dir: str | None) -> None:
    """Child process: one timed pass; prints seconds and messages."""
    if revision_dir:
        sys.path.insert(0, revision_dir)
        protocol = importlib.import_module("at_revision.protocol")
    else:
        protocol = importlib.import_module("amishell.protocol")
    chunks = common.recv_chunks()
    dt, n = RUNS[how](protocol, chunks)
    print(dt, n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rev", default="main", help="git revision to compare with (main)")
    p.add_argument("--runs", type=int, default=20, help="runs of each (20)")
    p.add_argument("--warm", action="store_true", help="runs in this process, caches warm")
    p.add_argument("--one", nargs=2, metavar=("HOW", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        one_run(args.one[0], args.one[1] if args.one[1] != "-" else None)
        return
    size = sum(map(len, common.recv_chunks()))
    with tempfile.TemporaryDirectory() as tmp:
        before = load_revision(args.rev, Path(tmp))
        sides = ((args.rev, tmp), ("working tree", "-"))
        chunks = common.recv_chunks()
        import amishell.protocol as tree

        modules = {tmp: before, "-": tree}

        def timed(how: str, where: str) -> tuple[float, int]:
            if args.warm:
                return RUNS[how](modules[where], chunks)
            out = subprocess.run(
                [sys.executable, __file__, "--one", how, where],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            return float(out[0]), int(out[1])

        if args.warm:
            for how in RUNS:
                for _, where in sides:
                    timed(how, where)
        for name, how in (("Framer + parse_frame", "frames"), ("Parser", "parser")):
            times: dict[str, list[float]] = {label: [] for label, _ in sides}
            counts = set()
            for _ in range(args.runs):
                for label, where in sides:
                    dt, n = timed(how, where)
                    times[label].append(dt)
                    counts.add(n)
            assert len(counts) == 1, f"the two gave different message counts: {counts}"
            (n,) = counts
            medians = {k: statistics.median(v) for k, v in times.items()}
            print(f"{name}: {n:,} messages, {size / 1e6:.2f} MB, median of {args.runs}"
                  f" {'warm' if args.warm else 'cold'} runs")
            for label, dt in medians.items():
                print(f"  {label:>14}: {dt * 1000:7.2f} ms  {n / dt:>10,.0f} msgs/s"
                      f"  {size / dt / 1e6:6.1f} MB/s")
            ratio = medians[args.rev] / medians["working tree"]
            print(f"  working tree / {args.rev} throughput: {ratio:.2f}x")


if __name__ == "__main__":
    main()
