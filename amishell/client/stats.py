"""The client's counters, as attributes of the client."""

from __future__ import annotations

from .state import Stats

__all__ = ["StatsView"]


class StatsView:
    """``messages_received``, ``events_received``, ``dropped_events``,
    ``protocol_errors``, ``callback_errors`` and ``last_received`` (the
    monotonic time of the last read), kept across reconnects."""

    _stats: Stats

    @property
    def messages_received(self) -> int:
        return self._stats.messages_received

    @messages_received.setter
    def messages_received(self, value: int) -> None:
        self._stats.messages_received = value

    @property
    def events_received(self) -> int:
        return self._stats.events_received

    @events_received.setter
    def events_received(self, value: int) -> None:
        self._stats.events_received = value

    @property
    def dropped_events(self) -> int:
        return self._stats.dropped_events

    @dropped_events.setter
    def dropped_events(self, value: int) -> None:
        self._stats.dropped_events = value

    @property
    def protocol_errors(self) -> int:
        return self._stats.protocol_errors

    @protocol_errors.setter
    def protocol_errors(self, value: int) -> None:
        self._stats.protocol_errors = value

    @property
    def callback_errors(self) -> int:
        return self._stats.callback_errors

    @callback_errors.setter
    def callback_errors(self, value: int) -> None:
        self._stats.callback_errors = value

    @property
    def last_received(self) -> float | None:
        return self._stats.last_received
