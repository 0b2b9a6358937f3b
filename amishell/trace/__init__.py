"""Following a call: which events belong to it (:mod:`.calls`), in words
(:mod:`.describe`), as text and JSON (:mod:`.text`)."""

from __future__ import annotations

from .calls import Call, CallSummary, channel_names, find_call, linked_ids, list_calls, resolve

__all__ = ["Call", "CallSummary", "channel_names", "find_call", "linked_ids", "list_calls",
           "resolve"]
