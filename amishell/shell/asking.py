"""Asking the user a question on the terminal: a user name, a secret (no echo).

The question goes to the terminal itself (``/dev/tty``) even when stdin is a
script; with no terminal, a script gets a clear error instead of a hang.
"""

from __future__ import annotations

import os
import threading

from .config import ConfigError, Target, stored_secret
from .context import Context

__all__ = ["ask", "resolve_secret", "resolve_username"]


def ask(
    ctx: Context, prompt: str, *, echo: bool, stop: threading.Event | None = None
) -> str:
    """Ask on the terminal (even when stdin is a script); without echo for secrets.
    ``stop`` set meanwhile abandons the question (a :class:`ConfigError`)."""
    if ctx.tty_path is None:
        ctx.stderr.write(prompt)
        ctx.stderr.flush()
        line = ctx.stdin.readline()
        if not line:
            raise ConfigError("no answer (end of input)")
        return line.rstrip("\r\n")
    try:
        fd = os.open(ctx.tty_path, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        what = "AMI_SECRET or a profile" if not echo else "-u USER or AMI_USER"
        raise ConfigError(f"no terminal to ask on: set {what}") from None
    try:
        return _ask_tty(fd, prompt, echo, stop)
    finally:
        os.close(fd)


def _ask_tty(fd: int, prompt: str, echo: bool, stop: threading.Event | None) -> str:
    """Ask on the terminal ``fd`` (a terminal cannot seek, so no buffered file on it)."""
    import termios

    _write_all(fd, prompt.encode("utf-8", "replace"))
    old = None
    if not echo:
        try:
            old = termios.tcgetattr(fd)
            new = termios.tcgetattr(fd)
            new[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        except termios.error:
            old = None
    try:
        data = _read_line(fd, stop)
    except KeyboardInterrupt:
        raise ConfigError("interrupted") from None
    finally:
        if old is not None:
            termios.tcsetattr(fd, termios.TCSAFLUSH, old)
            _write_all(fd, b"\n")
    if data is None:
        raise ConfigError("no answer (end of input)")
    return data.decode("utf-8", "replace").rstrip("\r\n")


def _read_line(fd: int, stop: threading.Event | None = None) -> bytes | None:
    """One line from ``fd`` (None at end of input before any byte)."""
    import select

    chunks: list[bytes] = []
    while True:
        if stop is not None:
            while not select.select([fd], [], [], 0.1)[0]:
                if stop.is_set():
                    raise ConfigError("interrupted")
        try:
            got = os.read(fd, 1024)
        except OSError as e:
            raise ConfigError(f"cannot read the answer: {e.strerror}") from None
        if not got:
            return b"".join(chunks) if chunks else None
        chunks.append(got)
        if b"\n" in got or b"\r" in got:
            return b"".join(chunks).splitlines()[0]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def resolve_secret(target: Target, ctx: Context) -> str:
    """The secret from the profile, ``AMI_SECRET``, or a prompt that does not echo."""
    secret = stored_secret(target, ctx)
    if secret is not None:
        return secret
    return ask(ctx, f"Secret for {target.username}@{target.address}: ", echo=False)


def resolve_username(target: Target, ctx: Context) -> str:
    if target.username:
        return target.username
    user = ctx.env.get("AMI_USER")
    if user:
        return user
    user = ask(ctx, f"Username for {target.address}: ", echo=True).strip()
    if not user:
        raise ConfigError("no username: give -u USER, AMI_USER or a profile's username")
    return user
