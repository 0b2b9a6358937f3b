"""panoramisk (asyncio), through its public API.

parse: ``AMIProtocol.data_received`` over the recorded reads (decode, split on
    the empty line, ``Message.from_line``); only ``handle_message``, the
    dispatch to waiting actions and event callbacks, is replaced by a counter.
drain: ``Manager(...).register_event("*", callback)`` then ``connect()``.
ping: ``await manager.send_action({"Action": "Ping"})``; for "threads", that
    many concurrent tasks on the one event loop (panoramisk is not meant to
    be called from other threads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import common
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

logging.getLogger("panoramisk").setLevel(logging.CRITICAL)


class CountingProtocol(AMIProtocol):
    messages = 0
    events = 0

    def handle_message(self, message: Any) -> None:
        self.messages += 1
        if "Event" in message:
            self.events += 1


def do_parse(n: int) -> dict[str, object]:
    src = common.ParserInput(n)
    chunks = [src.greeting, *src.chunks]
    t = time.perf_counter()
    proto = CountingProtocol()
    proto.connection_made(None)
    proto.encoding = "utf8"  # as Manager sets it
    for chunk in chunks:
        proto.data_received(chunk)
    dt = time.perf_counter() - t
    return common.parse_result(src, proto.messages, proto.events, dt)


def manager(loop: asyncio.AbstractEventLoop, port: int) -> Any:
    return Manager(
        loop=loop,
        host="127.0.0.1",
        port=port,
        username=common.USER,
        secret=common.SECRET,
        ping_delay=3600,
        reconnect_timeout=3600,
    )


async def drain(port: int, expected: int, consumer: str, timeout: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0
    headers = 0
    read = consumer == "headers"

    def on_event(mgr: Any, event: Any) -> None:
        nonlocal count, headers
        if read:
            headers += common.read_headers(event)
        count += 1
        if count == expected:
            done.set_result(None)

    t0 = time.perf_counter()
    mgr = manager(loop, port)
    mgr.register_event("*", on_event)
    await mgr.connect()
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError:
        pass
    dt = time.perf_counter() - t0
    mgr.close()
    return common.throughput(count, expected, dt)


async def ping(port: int, count: int, tasks: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    mgr = manager(loop, port)
    logged_in = loop.create_future()
    mgr.on_login = lambda m: logged_in.set_result(True)
    await mgr.connect()
    await asyncio.wait_for(logged_in, 10)
    bad: list[object] = []

    async def one(n: int) -> None:
        for _ in range(n):
            r = await mgr.send_action({"Action": "Ping"})
            if r.get("Ping") != "Pong":
                bad.append(repr(r))

    t = time.perf_counter()
    await asyncio.gather(*(one(n) for n in common.split_ping_work(count, tasks)))
    dt = time.perf_counter() - t
    mgr.close()
    return common.ping_result(count, bad, dt)


def main() -> None:
    common.run_driver(
        do_parse,
        lambda port, events, consumer, timeout: asyncio.run(
            drain(port, events, consumer, timeout)
        ),
        lambda port, count, threads: asyncio.run(ping(port, count, threads)),
    )


if __name__ == "__main__":
    main()
