"""Replaying a capture: :func:`load` reads one, :class:`ReplayServer` serves it."""

from __future__ import annotations

from .recording import Recording, RecordingError, action_key, load
from .server import ReplayServer

__all__ = ["Recording", "RecordingError", "ReplayServer", "action_key", "load"]
