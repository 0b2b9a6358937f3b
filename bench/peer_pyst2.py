"""pyst2 (``asterisk.manager``), through its public API.

parse: its reading loop (``Manager._receive_data``, which collects lines into
    messages) over a buffered stand-in for the socket file, then its parser
    (``ManagerMsg`` and ``Event``) per message. In its real client the socket
    file is unbuffered (``makefile(buffering=0)``), so each line is read one
    byte per ``recv``: the drain benchmark shows what that costs.
drain: ``Manager.connect``, ``login``, ``register_event("*", callback)``.
ping: ``Manager.ping()`` (``send_action`` waits on one shared response queue:
    responses are not matched by ActionID, so with threads a caller can get
    another caller's answer; the ActionID check counts those).
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import common
from asterisk.manager import Event, Manager, ManagerMsg


def do_parse(n: int) -> dict[str, object]:
    src = common.ParserInput(n)
    t = time.perf_counter()
    mgr = Manager()
    mgr._sock = io.BufferedReader(common.ChunkStream(src.stream()))
    mgr._running.set()
    mgr._connected.set()
    mgr._receive_data()  # runs until the stand-in socket's end of file
    mgr._running.clear()
    queue = mgr._message_queue
    messages = events = 0
    first = True
    while True:
        lines = queue.get_nowait()
        if lines is None:
            break
        if first:  # the greeting, which pyst2 turns into a pseudo-response
            first = False
            continue
        msg = ManagerMsg(lines)
        messages += 1
        if msg.has_header("Event"):
            Event(msg)
            events += 1
    dt = time.perf_counter() - t
    return common.parse_result(src, messages, events, dt)


def do_drain(port: int, expected: int, consumer: str, timeout: float) -> dict[str, object]:
    done = threading.Event()
    count = 0
    headers = 0
    read = consumer == "headers"

    def on_event(event: Any, manager: Any) -> None:
        nonlocal count, headers
        if read:
            headers += common.read_headers(event.headers)
        count += 1
        if count >= expected:
            done.set()

    t0 = time.perf_counter()
    mgr = Manager()
    mgr.register_event("*", on_event)
    mgr.connect("127.0.0.1", port)
    mgr.login(common.USER, common.SECRET)
    done.wait(timeout)
    dt = time.perf_counter() - t0
    mgr._running.clear()
    return common.throughput(count, expected, dt)


def do_ping(port: int, count: int, threads: int) -> dict[str, object]:
    mgr = Manager()
    mgr.connect("127.0.0.1", port)
    mgr.login(common.USER, common.SECRET)
    bad: list[object] = []

    def loop(n: int) -> None:
        for _ in range(n):
            aid = f"p{threading.get_ident()}-{mgr.next_seq()}"
            r = mgr.send_action({"Action": "Ping", "ActionID": aid})
            if r is None or r.get_header("Ping") != "Pong":
                bad.append(str(r))
            elif r.get_header("ActionID") != aid:
                bad.append(f"got the answer to {r.get_header('ActionID')} for {aid}")

    dt = common.ping_threads(loop, count, threads)
    return common.ping_result(count, bad, dt)


def main() -> None:
    common.run_driver(do_parse, do_drain, do_ping)


if __name__ == "__main__":
    main()
