"""asterisk-ami (``asterisk.ami``), through its public API.

parse: its own reading loop (``AMIClient._next_pack``, which frames with a
    regex on the bytes read ``buffer_size`` at a time, then decodes each pack)
    over the recorded reads, then ``Response.read`` / ``Event.read`` per pack.
    The framing loop is the one its client runs; only the socket is a stand-in.
drain: ``AMIClient.login`` then ``add_event_listener``; the listener runs on
    the client's reading thread.
ping: ``send_action(SimpleAction("Ping")).response`` (a blocking future).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import common
from asterisk.ami import AMIClient, Event, Response, SimpleAction


def do_parse(n: int) -> dict[str, object]:
    src = common.ParserInput(n)
    t = time.perf_counter()
    client = AMIClient()
    client._socket = common.ChunkSocket(src.stream())
    client.finished = threading.Event()
    packs = client._next_pack()
    next(packs)  # the greeting
    messages = events = 0
    for pack in packs:
        if Response.match(pack):
            Response.read(pack)
        elif Event.match(pack):
            Event.read(pack)
            events += 1
        else:
            continue
        messages += 1
    dt = time.perf_counter() - t
    return common.parse_result(src, messages, events, dt)


def do_drain(port: int, expected: int, consumer: str, timeout: float) -> dict[str, object]:
    done = threading.Event()
    count = 0
    headers = 0
    read = consumer == "headers"

    def on_event(event: Any, source: Any) -> None:
        nonlocal count, headers
        if read:
            headers += common.read_headers(event.keys) + len(event.name)
        count += 1
        if count >= expected:
            done.set()

    t0 = time.perf_counter()
    client = AMIClient(address="127.0.0.1", port=port)
    client.add_event_listener(on_event)
    future = client.login(username=common.USER, secret=common.SECRET)
    resp = future.response
    if resp is None or resp.is_error():
        return {"ok": False, "error": f"login: {resp}"}
    done.wait(timeout)
    dt = time.perf_counter() - t0
    close(client)
    return common.throughput(count, expected, dt)


def close(client: Any) -> None:
    """Log off (the server then closes, which ends the reading thread), then
    disconnect; ``disconnect()`` alone waits for a blocked ``recv`` to time out."""
    future = client.logoff()
    if future is not None:
        future.response  # noqa: B018 (waits for Goodbye)
    client.disconnect()


def do_ping(port: int, count: int, threads: int) -> dict[str, object]:
    client = AMIClient(address="127.0.0.1", port=port, timeout=10)
    resp = client.login(username=common.USER, secret=common.SECRET).response
    if resp is None or resp.is_error():
        return {"ok": False, "error": f"login: {resp}"}
    bad: list[object] = []

    def loop(n: int) -> None:
        for _ in range(n):
            action = SimpleAction("Ping")
            r = client.send_action(action).response
            if r is None or r.keys.get("Ping") != "Pong":
                bad.append(str(r))
            elif r.keys.get("ActionID") != action.keys["ActionID"]:
                bad.append(f"ActionID {r.keys.get('ActionID')} for {action.keys['ActionID']}")

    dt = common.ping_threads(loop, count, threads)
    close(client)
    return common.ping_result(count, bad, dt)


def main() -> None:
    common.run_driver(do_parse, do_drain, do_ping)


if __name__ == "__main__":
    main()
