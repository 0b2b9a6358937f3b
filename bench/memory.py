"""Memory with nobody consuming events (benchmark 7).

An ``AMIClient`` with no event callback and nobody calling ``read_response()``
receives N events (1,000,000 by default) from the burst server. Its queue is
bounded by ``max_queue_bytes``: past the bound it drops events and counts them.
Reports the process RSS after the first 100,000 events and at the end, how
much it grew in between, and the queue's size and drop count.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import common


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--max-queue-mb", type=float, default=None, help="default: the client's")
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args()
    try:
        from amishell.client import AMIClient
    except ImportError as exc:
        common.emit({"ok": False, "skip": True, "error": f"amishell.client: {exc}"})
        sys.exit(0)
    kwargs = {}
    if args.max_queue_mb is not None:
        kwargs["max_queue_bytes"] = int(args.max_queue_mb * (1 << 20))
    client = AMIClient(common.USER, common.SECRET, "127.0.0.1", args.port, timeout=10.0,
                       **kwargs)
    base = common.current_rss_mb()
    t0 = time.perf_counter()
    if not client.connect():
        common.emit({"ok": False, "error": f"connect: {client.error}"})
        return
    samples: dict[int, float] = {}
    step = 100_000
    stop = threading.Event()

    def received() -> int:
        return client.messages_received - 1  # the Login response

    def watch() -> None:
        next_mark = step
        while not stop.is_set():
            n = received()
            while n >= next_mark:
                samples[next_mark] = common.current_rss_mb()
                next_mark += step
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    done = common.wait_until(lambda: received() >= args.events, args.timeout, 0.01)
    dt = time.perf_counter() - t0
    stop.set()
    watcher.join()
    time.sleep(0.2)  # let the reader settle
    end = common.current_rss_mb()
    got = received()
    first = samples.get(step, end)
    metrics = {
        "events_per_s": round(got / dt),
        "rss_start_mb": round(base, 1),
        "rss_100k_mb": round(first, 1),
        "rss_end_mb": round(end, 1),
        "growth_after_100k_mb": round(end - first, 1),
        "queued_mb": round(client.queued_bytes / (1 << 20), 1),
        "dropped": client.dropped_events,
    }
    client.close()
    out = common.throughput(got, args.events, dt)
    out["metrics"] = metrics
    out["samples_mb"] = {str(k): round(v, 1) for k, v in sorted(samples.items())}
    if not done:
        out.update(ok=False, error=f"received {got} of {args.events} in {args.timeout:.0f}s")
    common.emit(out)


if __name__ == "__main__":
    main()
