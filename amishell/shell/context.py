"""Where the shell reads and writes, and how it exits (injectable for tests)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import IO, TextIO, cast

from ..textsafe import clean

__all__ = ["Context", "ExitStatus", "private_fd", "private_file"]


class ExitStatus(IntEnum):
    """The command line's exit statuses."""

    OK = 0
    #: An action answered ``Response: Error`` (or a CLI command failed).
    ACTION_ERROR = 1
    #: Bad arguments, a bad config file, bad input in a script.
    USAGE = 2
    #: The connection or the login failed.
    CONNECTION = 3
    #: A bug in amishell (reported in one line, never as a traceback).
    INTERNAL = 70


class Context:
    """The process's standard streams and environment, replaceable in tests.

    By default the process's own: ``sys.stdin``, ``sys.stdout``, ``sys.stderr``
    (as they are when the context is made) and a copy of ``os.environ``.
    """

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        tty_path: str | None = "/dev/tty",
    ) -> None:
        self.stdin: TextIO = sys.stdin if stdin is None else stdin
        self.stdout: TextIO = sys.stdout if stdout is None else stdout
        self.stderr: TextIO = sys.stderr if stderr is None else stderr
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        #: Where to ask for a secret without echo; None means the controlling terminal.
        self.tty_path = tty_path

    def __repr__(self) -> str:
        return f"Context(stdin={self.stdin!r}, stdout={self.stdout!r}, stderr={self.stderr!r})"

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when NO_COLOR is set."""
        return self.stdout_isatty and not self.env.get("NO_COLOR")

    def silence_stdout(self) -> None:
        """Point stdout at /dev/null once its reader went away (``| head``), so that
        the final flush at exit does not fail again."""
        try:
            fd = self.stdout.fileno()
        except (OSError, ValueError, AttributeError):
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except OSError:
            pass

    def error(self, text: str) -> None:
        """One line on stderr, prefixed with the program name; what came from the wire
        in ``text`` (a server's message) cannot drive the terminal."""
        try:
            self.stderr.write(f"amishell: {clean(text)}\n")
            self.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nowhere left to say it
            pass


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def private_fd(path: str) -> int:
    """``path`` opened for appending, readable by its owner only: created mode 0600,
    and an existing file that group or others could read is tightened to 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return fd


def private_file(path: str, redact: Callable[[str], str] = str) -> IO[str]:
    """A file for appending, readable by its owner only (see :func:`private_fd`),
    every write passed through ``redact`` first."""
    inner = os.fdopen(private_fd(os.path.expanduser(path)), "a", encoding="utf-8")
    return cast(IO[str], _Redacting(inner, redact))


class _Redacting(io.TextIOBase):
    """A text file that stars out the secret in whatever is written to it (the debug
    transcript: the client masks Secret and Key headers, this catches the secret
    anywhere else, such as a value typed or echoed by the server)."""

    def __init__(self, inner: IO[str], redact: Callable[[str], str]) -> None:
        super().__init__()
        self._inner = inner
        self._redact = redact
        #: A terminal (``.debug /dev/tty``) gets the text made terminal-safe.
        self._terminal = inner.isatty()

    def write(self, text: str) -> int:
        shown = self._redact(text)
        if self._terminal:
            shown = clean(shown.replace("\r\n", "\n"))
        self._inner.write(shown)
        return len(text)

    def flush(self) -> None:
        if not self._inner.closed:
            self._inner.flush()

    def close(self) -> None:
        try:
            super().close()  # flushes
        finally:
            self._inner.close()

    def writable(self) -> bool:
        return True

