"""A loopback AMI server that plays a :class:`~.recording.Recording` to its clients.

Any login is accepted (a capture's secret is starred, so none could be
checked). After the login, the recorded events are played at the recorded pace
divided by ``speed`` (0: as fast as possible). An action gets the next unused
recorded answer to the same action with the same headers (then the last one
again), its ActionID rewritten to the client's; an action the capture never
answered gets ``Response: Error`` saying so. Ping and Logoff are answered as a
server would.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from typing import Final

from ..errors import AMIError
from ..protocol import Framer, parse_frame
from .recording import Recording, action_key

__all__ = ["ReplayServer"]

NOT_RECORDED: Final = "This is a replay of {name}: the capture holds no answer to this action"


class ReplayServer:
    def __init__(
        self, recording: Recording, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or more")
        self.recording = recording
        self.host, self.port = host, port
        self.speed = speed
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._sessions: list[_Session] = []
        self._lock = threading.Lock()
        #: Set when a client has been sent every recorded event.
        self.played = threading.Event()

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> tuple[str, int]:
        """Listen (raises OSError when it cannot) and serve in the background."""
        listener = socket.create_server((self.host, self.port))
        self.host, self.port = listener.getsockname()[:2]
        self._listener = listener
        threading.Thread(target=self._accept, name="replay-accept", daemon=True).start()
        return self.address

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            session = _Session(self, sock)
            with self._lock:
                self._sessions.append(session)
            threading.Thread(target=session.run, name="replay-session", daemon=True).start()


class _Session:
    """One client: answers its actions; plays the events once it has logged in."""

    def __init__(self, server: ReplayServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self._write = threading.Lock()
        self._closed = threading.Event()
        self._used: dict[object, int] = {}
        self._playing = False
        self._challenge = ""

    def send(self, data: bytes) -> bool:
        with self._write:
            if self._closed.is_set():
                return False
            try:
                self.sock.sendall(data)
            except OSError:
                self.close()
                return False
        return True

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def run(self) -> None:
        framer = Framer()
        if not self.send(self.server.recording.greeting.encode() + b"\r\n"):
            return
        while not self._closed.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            for frame in framer.feed(data):
                if not self._answer(frame):
                    break
        self.close()

    def _answer(self, frame: bytes) -> bool:
        try:
            message = parse_frame(frame)
        except (ValueError, AMIError):  # garbage from the client: ignored
            return True
        action = (message.value("Action") or "").lower()
        action_id = message.action_id
        if action == "login":
            ok = self.send(_response(action_id, [("Response", "Success"),
                                                 ("Message", "Authentication accepted")]))
            if ok and not self._playing:
                self._playing = True
                threading.Thread(target=self._play, name="replay-play", daemon=True).start()
            return ok
        if action == "challenge":
            self._challenge = secrets.token_hex(5)
            return self.send(_response(action_id, [("Response", "Success"),
                                                   ("Challenge", self._challenge)]))
        if action == "logoff":
            self.send(_response(action_id, [("Response", "Goodbye"),
                                            ("Message", "Thanks for all the fish.")]))
            self.close()
            return False
        key = action_key(message)
        answers = self.server.recording.answers.get(key)
        if answers:
            used = self._used.get(key, 0)
            self._used[key] = used + 1
            answer = answers[min(used, len(answers) - 1)]
            return self.send(b"".join(_with_id(f, action_id) + b"\r\n\r\n" for f in answer))
        if action == "ping":
            return self.send(_response(action_id, [
                ("Response", "Success"), ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")
            ]))
        name = self.server.recording.path.rsplit("/", 1)[-1]
        return self.send(_response(action_id, [("Response", "Error"),
                                               ("Message", NOT_RECORDED.format(name=name))]))

    def _play(self) -> None:
        events = self.server.recording.events
        speed = self.server.speed
        start = time.monotonic()
        first = events[0][0] if events else 0.0
        batch: list[bytes] = []
        for t, frame in events:
            if speed:
                due = start + (t - first) / speed
                wait = due - time.monotonic()
                if wait > 0:
                    if batch and not self.send(b"".join(batch)):
                        return
                    batch = []
                    if self._closed.wait(wait):
                        return
            batch.append(frame + b"\r\n\r\n")
            if len(batch) >= 64:
                if not self.send(b"".join(batch)):
                    return
                batch = []
        if batch and not self.send(b"".join(batch)):
            return
        self.server.played.set()


def _response(action_id: str | None, pairs: list[tuple[str, str]]) -> bytes:
    if action_id is not None:
        pairs.insert(1, ("ActionID", action_id))
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def _with_id(frame: bytes, action_id: str | None) -> bytes:
    """``frame`` with its ActionID line(s) carrying ``action_id`` (none if None)."""
    out = []
    for line in frame.split(b"\n"):
        if line[:9].lower() == b"actionid:":
            if action_id is None:
                continue
            line = b"ActionID: " + action_id.encode() + (b"\r" if line.endswith(b"\r") else b"")
        out.append(line)
    return b"\n".join(out)
