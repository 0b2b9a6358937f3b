"""The baselines: plain Python with no protocol library.

parse: the split-only reference parser. It splits the byte stream on the empty
    line, decodes each message and builds one plain dict per message from
    ``line.partition(": ")``. It keeps no header order for repeated keys, no
    repeated values, no decoding fallback, no legacy Command output.
drain: a socket loop doing the same on what ``recv`` returns, counting events.
ping: send Ping, read until the response's empty line, check its ActionID.
"""

from __future__ import annotations

import socket
import threading
import time

import common


def split_parse(chunks: list[bytes], greeting: bytes) -> tuple[int, int]:
    """The reference: returns (messages, events)."""
    buf = b""
    messages = events = 0
    first = True
    for chunk in chunks:
        buf += chunk
        if first:
            nl = buf.find(b"\n")
            if nl < 0:
                continue
            buf = buf[nl + 1 :]
            first = False
        *frames, buf = buf.split(b"\r\n\r\n")
        for frame in frames:
            msg = {}
            for line in frame.decode().split("\r\n"):
                k, _, v = line.partition(": ")
                msg[k] = v
            messages += 1
            if "Event" in msg:
                events += 1
    return messages, events


def do_parse(n: int) -> dict[str, object]:
    src = common.ParserInput(n)
    chunks = [src.greeting, *src.chunks]
    t = time.perf_counter()
    messages, events = split_parse(chunks, src.greeting)
    dt = time.perf_counter() - t
    return common.parse_result(src, messages, events, dt)


def login(sock: socket.socket) -> bytes:
    """Read the greeting, log in, return what followed the Login response."""
    sock.sendall(
        f"Action: Login\r\nActionID: 1\r\nUsername: {common.USER}\r\n"
        f"Secret: {common.SECRET}\r\n\r\n".encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed during login")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b"Response: Success" not in head:
        raise ConnectionError(head.decode())
    return rest


def do_drain(port: int, expected: int, timeout: float) -> dict[str, object]:
    t0 = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(timeout)
    buf = login(sock)
    events = 0
    recv = sock.recv
    try:
        while True:
            *frames, buf = buf.split(b"\r\n\r\n")
            for frame in frames:
                msg = {}
                for line in frame.decode().split("\r\n"):
                    k, _, v = line.partition(": ")
                    msg[k] = v
                if "Event" in msg:
                    events += 1
            if events >= expected:
                break
            data = recv(262144)
            if not data:
                break
            buf += data
    except TimeoutError:
        pass
    dt = time.perf_counter() - t0
    sock.close()
    return common.throughput(events, expected, dt)


def ping_loop(sock: socket.socket, buf: bytes, count: int, bad: list[int]) -> None:
    for i in range(2, count + 2):
        sock.sendall(f"Action: Ping\r\nActionID: {i}\r\n\r\n".encode())
        while True:  # events may come first: skip them
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            frame, _, buf = buf.partition(b"\r\n\r\n")
            msg = dict(line.partition(": ")[::2] for line in frame.decode().split("\r\n"))
            if "Response" in msg:
                break
        if msg.get("ActionID") != str(i) or msg.get("Ping") != "Pong":
            bad.append(i)


def do_ping(port: int, count: int, threads: int) -> dict[str, object]:
    """Each thread runs its own connection (a plain socket cannot be shared)."""
    bad: list[int] = []
    ts = []
    socks = []
    for n in common.split_ping_work(count, threads):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
        ts.append(threading.Thread(target=ping_loop, args=(sock, login(sock), n, bad)))
    dt = common.timed_threads(ts)
    for sock in socks:
        sock.close()
    return common.ping_result(count, bad, dt)


def main() -> None:
    args = common.driver_args(["parse", "drain", "ping"]).parse_args()
    if args.mode == "parse":
        common.emit(do_parse(args.messages))
    elif args.mode == "drain":
        common.emit(do_drain(args.port, args.events, args.timeout))
    else:
        common.emit(do_ping(args.port, args.count, args.threads))


if __name__ == "__main__":
    main()
