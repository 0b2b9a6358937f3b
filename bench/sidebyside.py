"""The client's round trip and drain, this working tree against a git revision, side by side.

    python bench/sidebyside.py main            # 5 interleaved runs of each case
    python bench/sidebyside.py HEAD~3 --reps 9

The revision's ``amishell`` is exported to a temporary directory and put first
on ``PYTHONPATH`` of its runs; both sides use this tree's drivers and bench
server. Runs alternate (raw, revision, tree; then the other way round), each
in a fresh process; the table gives medians. Cases: sequential Ping round trip
(``--pings``), drain into the queue (``--consumer none``) and into a callback
that reads every header (``--consumer headers``, with the raw loop for scale).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
TREE = BENCH.parent
PY = sys.executable
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def export(revision: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", revision, "amishell"], cwd=TREE, check=True,
                             capture_output=True).stdout
    into.joinpath("rev.tar").write_bytes(archive)
    with tarfile.open(into / "rev.tar") as tar:
        tar.extractall(into, filter="data")


def server(events: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([PY, str(BENCH / "server.py"), "--events", str(events)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=BENCH,
                            env=ENV)
    assert proc.stdout is not None
    return proc, int(json.loads(proc.stdout.readline())["port"])


def stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)


def run(peer: str, path: str | None, argv: list[str]) -> dict[str, Any]:
    env = dict(ENV)
    if path is not None:
        env["PYTHONPATH"] = path
    out = subprocess.run([PY, str(BENCH / f"peer_{peer}.py"), *argv], capture_output=True,
                         text=True, env=env, cwd=BENCH, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{peer}: no result\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("revision", help="git revision to compare with (e.g. main)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--pings", type=int, default=5000)
    p.add_argument("--events", type=int, default=100_000)
    args = p.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        export(args.revision, Path(tmp))
        sides = [("raw", "raw", None), (args.revision, "amishell", tmp),
                 ("tree", "amishell", str(TREE))]
        proc, port = server(0)
        try:
            for rep in range(args.reps):
                for name, peer, path in sides if rep % 2 == 0 else sides[::-1]:
                    r = run(peer, path, ["ping", "--port", str(port), "--count",
                                         str(args.pings), "--threads", "1"])
                    results.setdefault(("ping: us per round trip", name), []).append(
                        r["us_per_ping"])
        finally:
            stop(proc)
        for consumer in ("none", "headers"):
            for rep in range(args.reps):
                for name, peer, path in sides if rep % 2 == 0 else sides[::-1]:
                    if peer == "raw" and consumer == "none":
                        continue
                    proc, port = server(args.events)
                    try:
                        extra = ["--consumer", consumer] if peer == "amishell" else []
                        r = run(peer, path, ["drain", "--port", str(port), "--events",
                                             str(args.events), *extra])
                    finally:
                        stop(proc)
                    results.setdefault((f"drain {consumer}: events/s", name), []).append(
                        r["per_s"])
    print("| case | side | median | runs | vs raw |\n|---|---|---|---|---|")
    for (case, name), values in results.items():
        base = results.get((case, "raw")) or results.get(("drain headers: events/s", "raw"))
        ratio = statistics.median(values) / statistics.median(base) if base else 0.0
        print(f"| {case} | {name} | {statistics.median(values):,.1f} | {len(values)} |"
              f" {ratio:.2f}x |")


if __name__ == "__main__":
    main()
