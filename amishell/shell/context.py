"""Where the shell reads and writes, and how it exits (injectable for tests)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TextIO

__all__ = ["Context", "ExitStatus"]


class ExitStatus(IntEnum):
    """The command line's exit statuses."""

    OK = 0
    #: An action answered ``Response: Error`` (or a CLI command failed).
    ACTION_ERROR = 1
    #: Bad arguments, a bad config file, bad input in a script.
    USAGE = 2
    #: The connection or the login failed.
    CONNECTION = 3


def _default_env() -> Mapping[str, str]:
    return dict(os.environ)


@dataclass
class Context:
    """The process's standard streams and environment, replaceable in tests."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    env: Mapping[str, str] = field(default_factory=_default_env)
    #: Where to ask for a secret without echo; None means the controlling terminal.
    tty_path: str | None = "/dev/tty"

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

    def error(self, text: str) -> None:
        """One line on stderr, prefixed with the program name."""
        self.stderr.write(f"amishell: {text}\n")
        self.stderr.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
