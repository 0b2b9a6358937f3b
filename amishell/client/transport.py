"""Byte transports for the client: plain TCP and TLS.

TLS runs over memory BIOs (:class:`ssl.SSLObject`) so that one thread can read
while others write: the OpenSSL object is only touched under a short lock and the
socket itself is read and written outside it.
"""

from __future__ import annotations

import math
import select
import socket
import ssl
import struct
import threading

__all__ = ["Transport", "PlainTransport", "TLSTransport", "parse_host"]

RECV_SIZE = 262144
#: The longest single wait of :meth:`Transport.recv_within` (seconds).
SLICE = 0.5


class Transport:
    """The interface the client needs: recv, recv_nowait, sendall, close.

    After the greeting, reads go through :meth:`wait_readable` and
    :meth:`recv_nowait` under :attr:`read_lock`: whichever thread holds the
    lock (the reader thread, or a thread waiting in ``action()`` for its own
    response) reads and frames.
    """

    sock: socket.socket

    def _init_reading(self) -> None:
        #: Held by the thread that is reading and framing.
        self.read_lock = threading.Lock()
        # One poll object per waiting role: a poll object is not shared by
        # two threads at once (the reader thread; the holder of read_lock).
        self._polls = (select.poll(), select.poll())
        for poll in self._polls:
            poll.register(self.sock, select.POLLIN)
        # Reads land in one buffer kept for the connection, and only the bytes
        # read are copied out: ``recv(RECV_SIZE)`` would allocate a fresh
        # RECV_SIZE block for every read.
        self._rbuf = bytearray(RECV_SIZE)
        self._rview = memoryview(self._rbuf)

    def _recv_copy(self, flags: int) -> bytes:
        """One ``recv`` into the reading buffer (the caller holds :attr:`read_lock`)."""
        n = self.sock.recv_into(self._rbuf, RECV_SIZE, flags)
        return self._rview[:n].tobytes()

    def recv(self) -> bytes:
        """A blocking read (the socket's timeout applies): for the greeting."""
        raise NotImplementedError

    def buffered(self) -> bool:
        """Is input already read off the socket but not yet returned?"""
        return False

    def wait_readable(self, timeout: float | None, *, holder: bool = False) -> bool:
        """Wait for input. ``holder``: the caller holds :attr:`read_lock`
        (else it is the reader thread); each role has its own poll object."""
        if self.buffered():
            return True
        ms = -1 if timeout is None else max(math.ceil(timeout * 1000), 0)
        return bool(self._polls[holder].poll(ms))

    def recv_nowait(self) -> bytes | None:
        """Bytes, ``b""`` at end of input, or None when nothing is there yet."""
        raise NotImplementedError

    def recv_within(self, timeout: float) -> bytes | None:
        """For the holder of :attr:`read_lock`: bytes, ``b""`` at the end, or
        None when nothing came within ``timeout`` (at most :data:`SLICE`)."""
        if self.wait_readable(timeout, holder=True):
            return self.recv_nowait()
        return None

    def sendall(self, data: bytes) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Wake a blocked reader: the peer and the reader both see end-of-file."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.shutdown()
        try:
            self.sock.close()
        except OSError:
            pass


class PlainTransport(Transport):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._init_reading()
        # A blocking read gives up after SLICE: the holder of read_lock then
        # waits for its response in one system call instead of poll + recv.
        try:
            whole = int(SLICE)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                            struct.pack("ll", whole, int((SLICE - whole) * 1_000_000)))
            self._slice = SLICE
        except (OSError, struct.error):
            self._slice = math.inf  # always poll first

    def recv(self) -> bytes:
        while True:
            try:
                return self._recv_copy(0)
            except (BlockingIOError, InterruptedError):
                continue  # the receive timeout passed: keep waiting

    def recv_within(self, timeout: float) -> bytes | None:
        if timeout < self._slice:
            return super().recv_within(timeout)
        try:
            return self._recv_copy(0)
        except (BlockingIOError, InterruptedError):
            return None

    def recv_nowait(self) -> bytes | None:
        try:
            return self._recv_copy(socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)  # (the caller takes turns: Reader.send)


class TLSTransport(Transport):
    def __init__(
        self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None
    ) -> None:
        self.sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname
        )
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._init_reading()

    def handshake(self) -> None:
        """Blocking handshake (the socket's timeout applies)."""
        while True:
            try:
                self._obj.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(RECV_SIZE)
                if not data:
                    raise ConnectionError(
                        "the server closed the connection during the TLS handshake"
                    ) from None
                self._incoming.write(data)
            else:
                self._flush()
                return

    def _flush(self) -> None:
        with self._send_lock:
            with self._lock:
                out = self._outgoing.read()
            if out:
                self.sock.sendall(out)

    def recv(self) -> bytes:
        data = self._read(0)
        assert data is not None  # a blocking read never comes back empty-handed
        return data

    def buffered(self) -> bool:
        return self._obj.pending() > 0 or self._incoming.pending > 0

    def recv_nowait(self) -> bytes | None:
        return self._read(socket.MSG_DONTWAIT)

    def _read(self, flags: int) -> bytes | None:
        """Plain text; ``b""`` at the end; None when ``MSG_DONTWAIT`` finds nothing."""
        while True:
            with self._lock:
                try:
                    # With a buffer, read() returns the count (typeshed says bytes).
                    got: int = self._obj.read(RECV_SIZE, self._rbuf)  # type: ignore[assignment]
                except ssl.SSLWantReadError:
                    pending_out = self._outgoing.pending
                except ssl.SSLZeroReturnError:
                    return b""
                else:
                    return self._rview[:got].tobytes()
            if pending_out:
                self._flush()
            try:
                n = self.sock.recv_into(self._rbuf, RECV_SIZE, flags)
            except (BlockingIOError, InterruptedError):
                if not flags:
                    raise
                return None
            if not n:
                return b""
            with self._lock:
                self._incoming.write(self._rview[:n])

    def sendall(self, data: bytes) -> None:
        with self._send_lock:
            with self._lock:
                self._obj.write(data)
                out = self._outgoing.read()
            self.sock.sendall(out)


def parse_host(host: str, port: int) -> tuple[str, int]:
    """``name``, ``name:port``, ``[v6addr]:port``, ``[v6addr]`` or a bare IPv6 literal."""
    host = host.strip()
    if not host:
        raise ValueError("empty host name")
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise ValueError(f"unterminated '[' in host {host!r}")
        name, rest = host[1:end], host[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"unexpected text after ']' in host {host!r}")
            return name, _port(rest[1:], host)
        return name, port
    if host.count(":") == 1:
        name, _, p = host.partition(":")
        return name, _port(p, host)
    return host, port


def _port(text: str, host: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"bad port {text!r} in host {host!r}") from None
    if not 0 < value < 65536:
        raise ValueError(f"port {value} out of range in host {host!r}")
    return value
