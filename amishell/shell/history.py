"""Persistent history: in the XDG data directory, mode 0600, secrets masked."""

from __future__ import annotations

import os

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from .lineparse import mask_secrets

__all__ = ["MaskedFileHistory", "MaskedMemoryHistory", "open_history"]


class MaskedFileHistory(FileHistory):
    """A FileHistory that masks ``Secret``/``Key`` values and keeps the file private.

    Every entry is written at once (append), so history survives an exit on error.
    """

    def __init__(self, filename: str) -> None:
        directory = os.path.dirname(filename)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        super().__init__(filename)

    def append_string(self, string: str) -> None:
        super().append_string(mask_secrets(string))

    def store_string(self, string: str) -> None:
        super().store_string(mask_secrets(string))


class MaskedMemoryHistory(InMemoryHistory):
    def append_string(self, string: str) -> None:
        super().append_string(mask_secrets(string))


def open_history(directory: str | None) -> History:
    """The history in ``directory`` (created 0700), or in memory when that fails."""
    if directory is None:
        return MaskedMemoryHistory()
    try:
        return MaskedFileHistory(os.path.join(directory, "history"))
    except OSError:
        return MaskedMemoryHistory()
