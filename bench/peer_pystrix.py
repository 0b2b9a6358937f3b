"""pystrix (``pystrix.ami``), through its public API.

parse: its reader (``_SynchronisedSocket.read_message``: ``readline`` on the
    buffered socket file, then ``_Message`` parses the lines) over a stand-in
    for the socket file; the instance is built without connecting.
drain: ``Manager.connect``, ``send_action(core.Login(...))``,
    ``register_callback("", callback)`` (every event). Its dispatcher takes
    events from a queue one at a time and sleeps 20 ms whenever it is empty.
ping: ``send_action(core.Ping())``. ``send_action`` polls for the response in
    a loop that sleeps 50 ms between checks, so one round trip costs 50 ms
    (run with fewer pings; the rate holds at any count).
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import common
from pystrix.ami import Manager, core
from pystrix.ami.ami import _SynchronisedSocket


def do_parse(n: int) -> dict[str, object]:
    src = common.ParserInput(n)
    t = time.perf_counter()
    sock = object.__new__(_SynchronisedSocket)
    sock._socket_file = io.BufferedReader(common.ChunkStream(src.stream()))
    sock._connected = True
    sock._socket_read_lock = threading.Lock()
    sock._socket_write_lock = threading.Lock()
    sock._socket_file.readline()  # the greeting, as its connect() does
    messages = events = 0
    # read_message() never returns at end of file: read exactly what was sent.
    for _ in range(src.messages):
        msg = sock.read_message()
        messages += 1
        if "Event" in msg:
            events += 1
    dt = time.perf_counter() - t
    return common.parse_result(src, messages, events, dt)


def connect(port: int) -> Any:
    mgr = Manager()
    mgr.connect("127.0.0.1", port)
    r = mgr.send_action(core.Login(common.USER, common.SECRET))
    if r is None or not r.success:
        raise SystemExit(f"login failed: {r}")
    return mgr


def do_drain(port: int, expected: int, consumer: str, timeout: float) -> dict[str, object]:
    done = threading.Event()
    count = 0
    headers = 0
    read = consumer == "headers"

    def on_event(event: Any, manager: Any) -> None:
        nonlocal count, headers
        if read:
            headers += common.read_headers(event)
        count += 1
        if count >= expected:
            done.set()

    t0 = time.perf_counter()
    mgr = Manager()
    mgr.register_callback("", on_event)
    mgr.connect("127.0.0.1", port)
    r = mgr.send_action(core.Login(common.USER, common.SECRET))
    if r is None or not r.success:
        return {"ok": False, "error": f"login: {r}"}
    done.wait(timeout)
    dt = time.perf_counter() - t0
    mgr.close()
    return common.throughput(count, expected, dt)


def do_ping(port: int, count: int, threads: int) -> dict[str, object]:
    mgr = connect(port)
    bad: list[object] = []

    def loop(n: int) -> None:
        for _ in range(n):
            r = mgr.send_action(core.Ping())
            if r is None or r.response.get("Ping") != "Pong":
                bad.append(str(r))
            elif r.response.get("ActionID") != r.action_id:
                bad.append(f"ActionID {r.response.get('ActionID')} for {r.action_id}")

    dt = common.ping_threads(loop, count, threads)
    mgr.close()
    return common.ping_result(count, bad, dt)


def main() -> None:
    common.run_driver(do_parse, do_drain, do_ping)


if __name__ == "__main__":
    main()
