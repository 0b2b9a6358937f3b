"""Completion latency (benchmark 6): the shell's completer, in process.

Builds the completer the way the shell does (``AMICompleter`` over
``LiveSources`` with the offline catalogue and a connected client when a
server is given) and times ``get_completions`` to the last item for three
kinds of request:

actions  ``Orig``, ``Q``, ...: action names (prefix, then substring matches)
params   ``Originate Chan``, ``QueueAdd ``, ...: parameter names of an action
values   ``Originate Async=``, ``Hangup Channel=``, ``Events EventMask=``, ...

Cold is the first request of each kind in a fresh process (it loads the
catalogue and may ask the server); warm is the p50/p99 over many requests.
With the bench server (which answers Login and Ping only) live look-ups get an
error and fall back to the catalogue; with the simulator they are answered.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from typing import Any

import common


def requests(names: list[str], catalog: Any, rng: random.Random) -> dict[str, list[str]]:
    acts = [n[: rng.randint(1, 4)] for n in rng.choices(names, k=400)]
    acts += ["", "q", "core", "show"]
    params = []
    values = []
    for name in rng.choices(names, k=400):
        spec = catalog.get(name)
        ps = spec.params if spec else ()
        p = rng.choice(ps).name[: rng.randint(0, 3)] if ps else ""
        params.append(f"{name} {p}")
    for line in ("Originate Async=", "Originate Channel=", "Hangup Channel=",
                 "Events EventMask=", "Events EventMask=call,", "QueueAdd Queue=",
                 "Redirect Context=", "Getvar Channel=", "Status Channel=PJ"):
        values += [line] * 40
    rng.shuffle(params)
    rng.shuffle(values)
    return {"actions": acts, "params": params, "values": values}


def padded(catalog: Any, size: int) -> Any:
    """``catalog`` with copies of its actions under new names, up to ``size`` actions."""

    from amishell.catalog import Catalog

    specs = [catalog.get(name) for name in catalog.names()]
    extra = []
    i = 0
    while len(specs) + len(extra) < size:
        spec = specs[i % len(specs)]
        extra.append(spec._replace(name=f"{spec.name}X{i // len(specs) + 1}"))
        i += 1
    return Catalog([*specs, *extra]) if extra else catalog


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0, help="a server to connect to (0: offline)")
    p.add_argument("--rounds", type=int, default=3, help="passes over the request lists")
    p.add_argument("--actions", type=int, default=0,
                   help="pad the offline catalogue to this many actions (copies of real ones"
                        " under new names), to time completion over a larger catalogue")
    args = p.parse_args()
    try:
        from prompt_toolkit.completion import CompleteEvent
        from prompt_toolkit.document import Document

        from amishell.catalog import load_offline
        from amishell.shell.completer import AMICompleter
        from amishell.shell.sources import LiveSources
    except ImportError as exc:
        common.emit({"ok": False, "skip": True, "error": f"completer: {exc}"})
        sys.exit(0)
    client = None
    if args.port:
        from amishell.client import AMIClient

        client = AMIClient(common.USER, common.SECRET, "127.0.0.1", args.port, timeout=5.0)
        if not client.connect():
            common.emit({"ok": False, "error": f"connect: {client.error}"})
            return
    event = CompleteEvent(completion_requested=True)
    offline = padded(load_offline(), args.actions)
    sources = LiveSources(lambda: client, lambda: offline)
    completer = AMICompleter(sources)

    def once(text: str) -> tuple[float, int]:
        doc = Document(text, len(text))
        t = time.perf_counter()
        n = sum(1 for _ in completer.get_completions(doc, event))
        return time.perf_counter() - t, n

    metrics: dict[str, float] = {}
    cold: dict[str, float] = {}
    for kind, text in (("actions", "Orig"), ("params", "Originate Chan"),
                       ("values", "Originate Channel=")):
        cold[kind], _ = once(text)
    catalog = offline
    reqs = requests(catalog.names(), catalog, random.Random(6))
    empty = 0
    for kind, texts in reqs.items():
        times = []
        for _ in range(args.rounds):
            for text in texts:
                dt, n = once(text)
                times.append(dt)
                if kind == "actions" and n == 0:
                    empty += 1
        times.sort()
        metrics[f"{kind}_cold_ms"] = round(cold[kind] * 1000, 3)
        metrics[f"{kind}_p50_ms"] = round(statistics.median(times) * 1000, 3)
        metrics[f"{kind}_p99_ms"] = round(times[int(len(times) * 0.99)] * 1000, 3)
    metrics["catalogue_actions"] = len(catalog.names())
    if client is not None:
        client.close()
    ok = empty == 0
    common.emit({"ok": ok, "metrics": metrics,
                 **({} if ok else {"error": f"{empty} action prefixes gave nothing"})})


if __name__ == "__main__":
    main()
