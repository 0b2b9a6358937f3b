"""A minimal AMI server for the benchmarks, run as its own process.

``python bench/server.py --events N`` listens on a free loopback port and
prints ``{"port": P}``. Each connection gets the greeting; after a Login (any
user, any secret) the Success response, then (after ``--delay`` seconds) N
events from call_storm pushed from pre-rendered bytes as fast as the socket
takes them. It answers Ping (``Ping: Pong`` with the ActionID), Logoff
(Goodbye, then close) and anything else with an error, at any time, between
blocks of whole events.

When a connection ends it prints one JSON line: events and bytes sent, how
long the push took, and the longest single ``sendall`` (the longest time the
client left the socket full). It exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time

import common

BLOCK = 16384


def render_blocks(events: list[bytes], block: int) -> list[tuple[bytes, int]]:
    """Events joined into blocks of about ``block`` bytes, each of whole events."""
    out: list[tuple[bytes, int]] = []
    cur: list[bytes] = []
    size = 0
    for ev in events:
        cur.append(ev)
        size += len(ev)
        if size >= block:
            out.append((b"".join(cur), len(cur)))
            cur, size = [], 0
    if cur:
        out.append((b"".join(cur), len(cur)))
    return out


class Plan:
    """What to push after Login: whole cycles of call_storm, then a remainder."""

    def __init__(self, total: int, block: int, delay: float = 0.0) -> None:
        events = common.storm_events()
        self.total = total
        self.delay = delay
        self.cycles, rest = divmod(total, len(events))
        self.cycle = render_blocks(events, block)
        self.rest = render_blocks(events[:rest], block)


_print_lock = threading.Lock()


def report(obj: dict[str, object]) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class Connection:
    def __init__(self, sock: socket.socket, plan: Plan) -> None:
        self.sock = sock
        self.plan = plan
        self.lock = threading.Lock()
        self.sent_events = 0
        self.sent_bytes = 0
        self.max_block = 0.0
        self.push_seconds = 0.0
        self.pings = 0
        self.closed = False
        self.pusher: threading.Thread | None = None

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def run(self) -> None:
        try:
            self.send(common.GREETING)
            self.serve()
        except OSError:
            pass
        finally:
            self.closed = True
            if self.pusher is not None:
                self.pusher.join()
            try:
                self.sock.close()
            except OSError:
                pass
            report(
                {
                    "conn": True,
                    "events_sent": self.sent_events,
                    "bytes_sent": self.sent_bytes,
                    "push_seconds": round(self.push_seconds, 6),
                    "max_send_block": round(self.max_block, 6),
                    "pings": self.pings,
                }
            )

    def serve(self) -> None:
        buf = b""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            buf += data.replace(b"\r\n", b"\n")
            *frames, buf = buf.split(b"\n\n")
            for frame in frames:
                if frame.strip() and not self.answer(frame):
                    return

    def answer(self, frame: bytes) -> bool:
        headers: dict[str, str] = {}
        for line in frame.decode("utf-8", "replace").split("\n"):
            key, _, value = line.partition(":")
            headers.setdefault(key.strip().lower(), value.strip())
        action = headers.get("action", "").lower()
        aid = headers.get("actionid")
        idline = f"ActionID: {aid}\r\n" if aid is not None else ""
        if action == "login":
            self.send(
                f"Response: Success\r\n{idline}Message: Authentication accepted\r\n\r\n".encode()
            )
            if self.plan.total and self.pusher is None:
                self.pusher = threading.Thread(target=self.push, daemon=True)
                self.pusher.start()
        elif action == "ping":
            self.pings += 1
            self.send(
                f"Response: Success\r\n{idline}Ping: Pong\r\n"
                f"Timestamp: {time.time():.6f}\r\n\r\n".encode()
            )
        elif action == "logoff":
            self.send(
                f"Response: Goodbye\r\n{idline}Message: Thanks for all the fish.\r\n\r\n".encode()
            )
            return False
        else:
            self.send(
                f"Response: Error\r\n{idline}Message: Invalid/unknown command\r\n\r\n".encode()
            )
        return True

    def push(self) -> None:
        plan = self.plan
        clock = time.perf_counter
        lock = self.lock
        sendall = self.sock.sendall
        worst = 0.0
        if plan.delay:
            time.sleep(plan.delay)
        start = clock()
        try:
            for blocks in [plan.cycle] * plan.cycles + [plan.rest]:
                for data, n in blocks:
                    if self.closed:
                        return
                    with lock:
                        t = clock()
                        sendall(data)
                        dt = clock() - t
                    if dt > worst:
                        worst = dt
                    self.sent_events += n
                    self.sent_bytes += len(data)
        except OSError:
            pass
        finally:
            self.push_seconds = clock() - start
            self.max_block = worst


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=0, help="events to push after each Login")
    p.add_argument("--block", type=int, default=BLOCK, help="bytes per sendall")
    p.add_argument("--delay", type=float, default=0.0, help="seconds between Login and push")
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    plan = Plan(args.events, args.block, args.delay)
    lsock = socket.create_server((args.host, 0), backlog=64)
    port = lsock.getsockname()[1]

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Connection(conn, plan)
            threading.Thread(target=c.run, daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    report({"port": port})
    sys.stdin.read()  # until the runner closes our stdin
    lsock.close()
    time.sleep(0.05)


if __name__ == "__main__":
    main()
