"""amishell: the parser and the client (AMIClient).

parse: every header of every message parsed into a full Message (decoded,
    ordered, repeated keys kept), two ways: ``--via parser`` (the default):
    ``Parser.feed`` each recorded read, then ``Parser.events()``; ``--via
    frames``: ``Framer.feed`` each read and ``parse_frame`` each frame, which
    is how the client splits the work between its reader thread and the
    consumer.
drain: events over loopback; ``--consumer`` says who takes them:
    ``none``: nobody while the clock runs: the time until the reader thread
    has framed and queued them all (``messages_received``); then they are
    taken with ``read_response()`` and counted, untimed, to check them.
    ``queue``: no callback; the main thread takes them with ``read_response()``
    and only counts them (socket into framed, queued messages).
    ``count``: an event_callback that only counts.
    ``headers``: an event_callback that reads every header.
ping: ``action(Action="Ping")`` in a loop, from one or more threads sharing
    one client.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import common

from amishell.message import Message
from amishell.protocol import Framer, Greeting, Parser, parse_frame


def do_parse(n: int, via: str = "parser") -> dict[str, object]:
    src = common.ParserInput(n)

    def reads() -> Iterator[bytes]:
        yield from [src.greeting, *src.chunks]

    messages = events = 0
    errors: list[object] = []
    t = time.perf_counter()
    if via == "parser":
        parser = Parser(greeting=True)
        for chunk in reads():
            parser.feed(chunk)
            for msg in parser.events():
                if not isinstance(msg, Message):
                    if not isinstance(msg, Greeting):
                        errors.append(msg)
                    continue
                messages += 1
                if "Event" in msg:
                    events += 1
    else:
        framer = Framer(greeting=True)
        for chunk in reads():
            for frame in framer.feed(chunk):
                msg = parse_frame(frame)
                messages += 1
                if "Event" in msg:
                    events += 1
        errors.extend(framer.errors)
    return common.parse_result(src, messages, events, time.perf_counter() - t, errors)


def client_class() -> Any:
    try:
        from amishell.client import AMIClient
    except ImportError as exc:
        common.emit({"ok": False, "skip": True, "error": f"amishell.client: {exc}"})
        sys.exit(0)
    return AMIClient


def do_drain(port: int, expected: int, consumer: str, timeout: float) -> dict[str, object]:
    AMIClient = client_class()
    done = threading.Event()
    count = 0
    headers = 0

    def counting(msg: Any) -> None:
        nonlocal count
        if "Event" in msg:
            count += 1
            if count >= expected:
                done.set()

    def reading(msg: Any) -> None:
        nonlocal count, headers
        headers += common.read_headers(msg)
        if "Event" in msg:
            count += 1
            if count >= expected:
                done.set()

    callback = {"none": None, "queue": None, "count": counting, "headers": reading}[consumer]
    t0 = time.perf_counter()
    client = AMIClient(
        common.USER, common.SECRET, "127.0.0.1", port, event_callback=callback, timeout=10.0
    )
    if not client.connect():
        return {"ok": False, "error": f"connect: {client.error}"}
    if consumer == "none":
        # Every frame after the Login response is an event.
        common.wait_until(lambda: client.messages_received > expected, timeout, 0.002)
        dt = time.perf_counter() - t0
        while count < expected:
            msg = client.read_response(timeout=1.0)
            if msg is None or "Event" not in msg:
                break
            count += 1
        dropped = client.dropped_events
        client.close()
        return common.throughput(count, expected, dt, dropped=dropped)
    if callback is None:
        read = client.read_response
        deadline = time.monotonic() + timeout
        while count < expected and time.monotonic() < deadline:
            msg = read(timeout=1.0)
            if msg is None:
                continue
            if "Event" in msg:
                count += 1
            elif msg.get("Response") == "Error" and client.error:
                break
    else:
        done.wait(timeout)
    dt = time.perf_counter() - t0
    dropped = getattr(client, "dropped_events", 0)
    client.close()
    return common.throughput(count, expected, dt, dropped=dropped)


def do_ping(port: int, count: int, threads: int) -> dict[str, object]:
    AMIClient = client_class()
    client = AMIClient(common.USER, common.SECRET, "127.0.0.1", port, timeout=10.0)
    if not client.connect():
        return {"ok": False, "error": f"connect: {client.error}"}
    bad: list[object] = []

    def loop(n: int) -> None:
        action = client.action
        for _ in range(n):
            r = action(Action="Ping")
            if r.get("Ping") != "Pong":
                bad.append(dict(r))

    dt = common.ping_threads(loop, count, threads)
    client.close()
    return common.ping_result(count, bad, dt)


def main() -> None:
    common.run_driver(do_parse, do_drain, do_ping, ("none", "queue", "count", "headers"))


if __name__ == "__main__":
    main()
