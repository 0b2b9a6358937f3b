"""Turn the runs of ``run.py`` into the results tables (Markdown)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

NAMES = {
    "amishell": "amishell",
    "asterisk_ami": "asterisk-ami",
    "panoramisk": "panoramisk",
    "pyst2": "pyst2",
    "pystrix": "pystrix",
    "raw": "plain Python",
    "baseline": "baseline",
}
START = "<!-- results:start -->"
END = "<!-- results:end -->"


def progress_line(case: Any, rep: int, result: dict[str, Any]) -> str:
    what = f"[{case.bench} {rep + 1}] {NAMES.get(case.client, case.client)}: {case.label}"
    if result.get("skip"):
        return f"{what}: not run ({result.get('error')})"
    if not result.get("ok"):
        return f"{what}: FAILED ({result.get('error')})"
    if "us_per_ping" in result:
        return f"{what}: {result['us_per_ping']:.1f} us per round trip"
    if "per_s" in result:
        return f"{what}: {result['per_s']:,.0f}/s"
    metrics = result.get("metrics", {})
    return f"{what}: " + ", ".join(f"{k}={v}" for k, v in metrics.items())


def _ok(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in case["runs"] if r.get("ok")]


def _med(case: dict[str, Any], key: str) -> float | None:
    vals = [r[key] for r in _ok(case) if isinstance(r.get(key), int | float)]
    return statistics.median(vals) if vals else None


def _metric(case: dict[str, Any], key: str) -> float | None:
    vals = [r["metrics"][key] for r in _ok(case)
            if isinstance(r.get("metrics", {}).get(key), int | float)]
    return statistics.median(vals) if vals else None


def _runs(case: dict[str, Any]) -> str:
    ok = len(_ok(case))
    return f"{ok}/{len(case['runs'])}"


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "-" if x is None else format(x, fmt)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def _failures(cases: list[dict[str, Any]]) -> list[str]:
    out = []
    for c in cases:
        bad = [r for r in c["runs"] if not r.get("ok")]
        if bad:
            kind = "not run" if bad[0].get("skip") else "did not count"
            out.append(f"- {NAMES.get(c['client'], c['client'])} ({c['label']}): {len(bad)} run(s)"
                       f" {kind}: {bad[0].get('error')}")
    return out


def _peer(c: dict[str, Any]) -> bool:
    return c["client"] not in ("amishell", "raw", "baseline")


def _fastest(cases: list[dict[str, Any]], key: str = "per_s") -> tuple[float | None, str]:
    best: tuple[float | None, str] = (None, "-")
    for c in cases:
        v = _med(c, key)
        if _peer(c) and v is not None and (best[0] is None or v > best[0]):
            best = (v, NAMES[c["client"]])
    return best


def _target(rows: list[str], name: str, value: float | None, limit: float, higher: bool,
            unit: str = "x") -> None:
    if value is None:
        rows.append(f"| {name} | not measured | {'>=' if higher else '<='} {limit:g}{unit} | - |")
        return
    met = value >= limit if higher else value <= limit
    shown = f"{value:.2f}{unit}" if unit == "x" else f"{value:,.1f}{unit}"
    rows.append(f"| {name} | {shown} | {'>=' if higher else '<='} {limit:g}{unit} |"
                f" {'met' if met else '**missed**'} |")


def render(raw: dict[str, Any]) -> str:
    m = raw["machine"]
    cases = raw["cases"]
    by = {b: [c for c in cases if c["bench"] == b] for b in
          ("parser", "drain", "ping", "flood", "startup", "completion", "memory")}
    out = [
        f"Machine: {m['nproc']} x {m['cpu']}, {m['system']}, {m['implementation']} {m['python']};"
        f" {m['reps']} interleaved repetitions{' (quick)' if m.get('quick') else ''};"
        f" load average {m['load_before']:.2f} at the start; {m['seconds']:.0f} s in all.",
        f"amishell at git revision {m.get('revision', 'unknown')}.",
        "Peers: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        "Figures are medians over the runs that delivered and checked every message"
        " (runs ok / runs).",
    ]
    targets: list[str] = ["| target | measured | wanted | |", "|---|---|---|---|"]

    if by["parser"]:
        ref = next((_med(c, "per_s") for c in by["parser"] if c["client"] == "raw"), None)
        fast, fast_name = _fastest(by["parser"])
        out += ["", "### 1. Parser throughput (call_storm, recorded read boundaries)", "",
                "| client | what | messages | msgs/s | MB/s | runs ok | vs reference |"
                f" vs fastest peer ({fast_name}) |",
                "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in by["parser"]:
            v = _med(c, "per_s")
            out.append(f"| {NAMES[c['client']]} | {c['label']} | {c['n']:,} | {_num(v)} |"
                       f" {_num(_med(c, 'mb_s'), '.1f')} | {_runs(c)} | {_ratio(v, ref)} |"
                       f" {_ratio(v, fast)} |")
        out += _failures(by["parser"])
        ami = next((_med(c, "per_s") for c in by["parser"] if c["client"] == "amishell"), None)
        _target(targets, "parser vs fastest peer parser", ami / fast if ami and fast else None,
                1.2, True)
        _target(targets, "parser vs split-only reference", ami / ref if ami and ref else None,
                0.9, True)

    if by["drain"]:
        rawv = next((_med(c, "per_s") for c in by["drain"] if c["client"] == "raw"), None)
        fast, fast_name = _fastest(by["drain"])
        fast_h, fast_h_name = _fastest([c for c in by["drain"] if "header" in c["label"]])
        out += ["", "### 2. End-to-end drain over loopback (burst server, call_storm events)", "",
                "| client | consumer | events | events/s | runs ok | vs plain loop |"
                f" vs fastest peer ({fast_name}) | longest sendall block | peak RSS |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c in by["drain"]:
            v = _med(c, "per_s")
            blocks = [r["server"]["max_send_block"] for r in _ok(c) if "server" in r]
            block = f"{statistics.median(blocks) * 1000:.0f} ms" if blocks else "-"
            out.append(f"| {NAMES[c['client']]} | {c['label']} | {c['n']:,} | {_num(v)} |"
                       f" {_runs(c)} | {_ratio(v, rawv)} | {_ratio(v, fast)} | {block} |"
                       f" {_num(_med(c, 'peak_rss_mb'), '.0f')} MB |")
        out += _failures(by["drain"])
        mine = {c["label"]: _med(c, "per_s") for c in by["drain"] if c["client"] == "amishell"}
        d = mine.get("drain: framed and queued")
        h = mine.get("callback, reads every header")
        _target(targets, f"drain vs fastest peer end to end ({fast_name})",
                d / fast if d and fast else None, 3.0, True)
        _target(targets, f"callback reading every header vs fastest peer ({fast_h_name})",
                h / fast_h if h and fast_h else None, 1.5, True)

    if by["ping"]:
        out += ["", "### 3. Action round trip (Ping)", "",
                "| client | server: how | pings | us per round trip | pings/s | runs ok |"
                " vs plain loop |",
                "|---|---|---:|---:|---:|---:|---:|"]

        def kind(c: dict[str, Any]) -> tuple[str, bool]:
            where, _, how = c["label"].partition(": ")
            return where, how == "sequential"

        raws = {kind(c): _med(c, "us_per_ping") for c in by["ping"] if c["client"] == "raw"}
        for c in by["ping"]:
            v = _med(c, "us_per_ping")
            out.append(f"| {NAMES[c['client']]} | {c['label']} | {c['n']:,} | {_num(v, ',.1f')} |"
                       f" {_num(_med(c, 'per_s'))} | {_runs(c)} | {_ratio(v, raws.get(kind(c)))} |")
        out += _failures(by["ping"])
        for c in by["ping"]:
            where, seq = kind(c)
            if c["client"] == "amishell" and seq:
                v, base = _med(c, "us_per_ping"), raws.get((where, True))
                _target(targets, f"round trip vs plain socket loop ({where})",
                        v / base if v and base else None, 1.3, False)

    for key, title in (("flood", "### 4. The shell under a flood"),
                       ("startup", "### 5. Start-up to a ready prompt"),
                       ("completion", "### 6. Completion latency"),
                       ("memory", "### 7. Memory with nobody consuming events")):
        if not by[key]:
            continue
        out += ["", title, ""]
        names: list[str] = []
        for c in by[key]:
            for r in c["runs"]:
                for k in r.get("metrics", {}):
                    if k not in names:
                        names.append(k)
        if names:
            out += ["| client | what | runs ok | " + " | ".join(names) + " |",
                    "|---|---|---:|" + "---:|" * len(names)]
            for c in by[key]:
                vals = []
                for k in names:
                    v = _metric(c, k)
                    if v is None:
                        vals.append("-")
                    elif float(v).is_integer() and abs(v) >= 1000:
                        vals.append(f"{int(v):,}")
                    else:
                        vals.append(f"{v:,.4g}")
                out.append(f"| {NAMES.get(c['client'], c['client'])} | {c['label']} |"
                           f" {_runs(c)} | " + " | ".join(vals) + " |")
        out += _failures(by[key])
        _more_targets(key, by[key], targets)

    out += ["", "### Targets (issue 6)", "", *targets, ""]
    return "\n".join(out)


def _more_targets(key: str, cases: list[dict[str, Any]], targets: list[str]) -> None:
    get = {c["client"] + ":" + c["label"]: c for c in cases}
    if key == "flood" and cases:
        c = cases[0]
        lost = _metric(c, "lost")
        _target(targets, "shell flood: events lost", lost, 0, False, "")
        _target(targets, "shell flood: longest gap between reads",
                _metric(c, "longest_gap_ms"), 50, False, " ms")
        _target(targets, "shell flood: peak RSS", _metric(c, "peak_rss_mb"), 100, False, " MB")
    elif key == "startup":
        a = next((c for c in cases if c["client"] == "amishell"), None)
        b = next((c for c in cases if c["client"] == "baseline"), None)
        va = _metric(a, "seconds") if a else None
        vb = _metric(b, "seconds") if b else None
        _target(targets, "start-up vs PromptSession baseline", va / vb if va and vb else None,
                1.5, False)
    elif key == "completion" and cases:
        worst = None
        for k in ("actions_p99_ms", "params_p99_ms", "values_p99_ms"):
            v = _metric(cases[0], k)
            if v is not None and (worst is None or v > worst):
                worst = v
        _target(targets, "completion p99, warm (worst of actions, params, values)", worst, 15,
                False, " ms")
    elif key == "memory":
        for c in get.values():
            if "default bound" in c["label"]:
                # The library's default bound (256 MiB) is above the target by
                # design: that row shows the bound holding, not a target.
                continue
            _target(targets, f"memory after all events ({c['label']})",
                    _metric(c, "rss_end_mb"), 100, False, " MB")
            _target(targets, f"memory growth after the first 100,000 ({c['label']})",
                    _metric(c, "growth_after_100k_mb"), 10, False, " MB")


def update_readme(path: Path, text: str, raw_name: str) -> None:
    body = f"{START}\n\n{text}\nRaw output: `bench/{raw_name}`.\n\n{END}"
    old = path.read_text() if path.exists() else f"{START}\n{END}\n"
    if START not in old:
        old += f"\n## Last results\n\n{START}\n{END}\n"
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: body, old, flags=re.S)
    path.write_text(new)
