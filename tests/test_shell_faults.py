"""The shell when the server misbehaves (issue 5, shell side), each bounded in time.

The real PromptSession on a pipe (the ``harness`` of test_shell_app) against the
simulator and its fault knobs: a server that closes while an action waits, one
that comes back only after a few tries, one that goes silent, an action typed
while the connection is down, and the history of a shell whose terminal goes away.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_shell_app import SECRET, Harness, harness, slow_down  # noqa: F401
from test_shell_pty import Terminal, shell_env

from amishell.client import AMIClient
from amishell.simulator import Faults, Simulator
from amishell.simulator.config import CLASS_BITS


def live_sessions(sim: Simulator) -> list[object]:
    return [s for s in sim.sessions() if not s.closing]


def getvar(sim: Simulator, name: str) -> str | None:
    host, port = sim.address
    with AMIClient("admin", SECRET, host, port, events="off") as other:
        return other.action({"Action": "Getvar", "Variable": name}).value("Value")


def test_server_closes_while_an_action_waits(
    harness: Callable[..., Harness], sim: Simulator  # noqa: F811
) -> None:
    h = harness(sim, timeout=10.0)
    h.shell.reconnect_first = 0.05
    h.type(".events mask call,user\r")
    h.wait_for("server event mask: call,user")
    h.type(".serverfilter UserEvent\r.filter UserEvent=Wanted*\r")
    h.wait_for("showing events matching")
    (session,) = sim.sessions()
    slow_down(sim, 5.0)  # the Ping below would be answered in 5 s
    mark = len(h.text)
    started = time.monotonic()
    h.type("Ping\r")
    time.sleep(0.2)
    session.stop()

    error_at = h.wait_for("Response: Error", after=mark)
    waited = time.monotonic() - started
    assert waited < 2.0, "the waiting action did not end with the connection"
    assert "connection closed by the server" in h.text[error_at:]
    lost = h.wait_for(
        "connection lost: Reading from socket failed: connection closed by the server",
        after=mark,
    )
    h.wait_for("reconnected to", after=lost)
    assert "re-applied event mask call,user and 1 filter(s)" in h.text[lost:]

    (fresh,) = live_sessions(sim)
    assert fresh is not session
    assert fresh.send_events == CLASS_BITS["call"] | CLASS_BITS["user"]  # type: ignore[attr-defined]
    assert len(fresh.includes) == 1  # type: ignore[attr-defined]
    assert h.shell.view.filter is not None and h.shell.view.filter.spec == "UserEvent=Wanted*"
    mark = len(h.text)
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=mark)
    assert "Traceback" not in h.text + h.err.getvalue()


def test_reconnect_backs_off_until_the_server_is_back(
    harness: Callable[..., Harness], sim: Simulator  # noqa: F811
) -> None:
    h = harness(sim, reconnect_max=0.4)
    h.shell.reconnect_first = 0.05
    sim.faults = Faults(close_after_bytes=0)  # new sessions close before the greeting
    (session,) = sim.sessions()
    session.stop()
    h.wait_for("attempt 3 in")
    shown = [float(x) for x in re.findall(r"attempt \d+ in ([0-9.]+) s", h.text)]
    assert shown[:3] == [0.05, 0.1, 0.2], shown  # doubling ...
    h.wait_for("attempt 10 in 0.4 s")  # ... up to reconnect_max
    assert "(last: Connection closed without input)" in h.text
    sim.faults = Faults()
    h.wait_for("reconnected to")
    assert len(live_sessions(sim)) == 1  # no second session left behind
    mark = len(h.text)
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=mark)


def test_silent_server_is_reported_with_the_likely_cause(
    harness: Callable[..., Harness], sim: Simulator  # noqa: F811
) -> None:
    h = harness(sim, keepalive=0.2, timeout=1.0)
    h.shell.reconnect_first = 0.05
    for session in sim.sessions():
        session.faults = Faults(silent_after=0)  # answers one more message, then nothing
    mark = len(h.text)
    h.type("Ping\r")
    lost = h.wait_for("connection lost: Server stopped answering", after=mark)
    line = h.text[lost:].split("\n", 1)[0]
    assert "keep-alive" in line and "reads too slowly" in line, line
    h.wait_for("reconnected to", after=lost)
    mark = len(h.text)
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=mark)


def test_action_typed_while_reconnecting_is_refused_and_never_sent(
    harness: Callable[..., Harness], sim: Simulator  # noqa: F811
) -> None:
    h = harness(sim, reconnect_max=0.2)
    h.shell.reconnect_first = 0.05
    sim.faults = Faults(close_after_bytes=0)
    (session,) = sim.sessions()
    session.stop()
    h.wait_for("attempt 2 in")
    mark = len(h.text)
    h.type("Setvar Variable=TYPED_WHILE_DOWN Value=1\r")
    h.wait_for(f"error: Setvar was not sent: reconnecting to {h.target.address}", after=mark)
    sim.faults = Faults()
    h.wait_for("reconnected to", after=mark)
    time.sleep(0.2)
    assert not getvar(sim, "TYPED_WHILE_DOWN")  # not sent then, nor replayed later


@pytest.mark.slow
def test_history_is_written_when_the_terminal_goes_away(sim: Simulator, tmp_path: Path) -> None:
    """The terminal (an ssh session, a window) closes under the shell: what was typed
    is in the history file already, secrets masked."""
    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, shell_env(tmp_path))
    try:
        term.wait_for(f"admin@{host}>")
        term.type(".events off\r")
        term.wait_for("events: off")
        term.type("UserEvent UserEvent=Typed Secret=hunter22\r")
        term.wait_for("Event Sent")
        os.close(term.master)  # the terminal is gone: the shell exits on an error
        term.proc.wait(10)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait(5)
    history = (tmp_path / "data" / "amishell" / "history").read_text()
    assert "UserEvent UserEvent=Typed Secret=********" in history
    assert "hunter22" not in history
