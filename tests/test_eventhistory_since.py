"""EventHistory.since: the events after a seq, whatever fell out of the bound."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amishell.shell.eventhistory import EventHistory


def frame(n: int) -> bytes:
    return f"Event: UserEvent\r\nPrivilege: user,all\r\nN: {n}".encode()


def test_since_gives_the_newer_events_in_order() -> None:
    history = EventHistory(max_events=5)
    for n in range(1, 11):
        assert history.add(frame(n), float(n)) == n
    assert [k.seq for k in history.since(7)] == [8, 9, 10]
    assert [k.message["N"] for k in history.since(8)] == ["9", "10"]
    assert [k.seq for k in history.since(2)] == [6, 7, 8, 9, 10]  # 1-5 fell out
    assert [k.seq for k in history.since(2, limit=2)] == [6, 7]
    assert history.since(10) == [] and history.since(99) == []
    history.clear()
    assert history.since(5) == []


@given(st.integers(1, 30), st.integers(0, 40), st.integers(0, 45))
def test_since_matches_a_filter_of_everything_kept(bound: int, added: int, after: int) -> None:
    history = EventHistory(max_events=bound)
    for n in range(1, added + 1):
        history.add(frame(n), float(n))
    expected = [k.seq for k in history if k.seq > after]
    assert [k.seq for k in history.since(after)] == expected
