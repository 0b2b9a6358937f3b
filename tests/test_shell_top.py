"""The live views in a real pseudo-terminal: .top stays true to the PBX, .watch marks changes."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from test_shell_pty import Terminal, shell_env

from amishell.client import AMIClient
from amishell.simulator import Simulator

pytestmark = pytest.mark.slow

SECRET = "s3cret-admin"


def channels_shown(term: Terminal) -> int:
    """The channel count in the view's header."""
    for line in term.screen.lines():
        m = re.search(r"channels (\d+)\]?", line)
        if m and "events/s" in line:
            return int(m.group(1))
    return -1


def wait_count(term: Terminal, want: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if channels_shown(term) == want:
            return
        term.pump(0.1)
    raise AssertionError(f"the view never showed {want} channels:\n"
                         + "\n".join(term.screen.lines()))


def hang_up(sim: Simulator, name: str) -> None:
    host, port = sim.address
    with AMIClient("admin", SECRET, host, port, events="off") as other:
        assert not other.action({"Action": "Hangup", "Channel": name}).is_error


def open_shell(sim: Simulator, tmp_path: Path) -> Terminal:
    host, port = sim.address
    term = Terminal([sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"],
                    shell_env(tmp_path))
    term.wait_for(f"admin@{host}>")
    term.type(".events off\r")
    term.wait_for("events: off")
    return term


def test_top_counts_what_the_pbx_has_as_calls_start_and_end(
    sim: Simulator, tmp_path: Path
) -> None:
    names = [sim.start_call("400") for _ in range(3)]
    term = open_shell(sim, tmp_path)
    try:
        term.type(".top\r")
        wait_count(term, len(sim.channels()))  # each call is two Local halves
        assert len(sim.channels()) == 6
        names.append(sim.start_call("400"))
        wait_count(term, len(sim.channels()))
        assert names[0] is not None
        hang_up(sim, names[0])
        wait_count(term, 6)  # the Hangup was seen: two halves gone
        term.type("q")
        term.wait_for("events arrived while .top was open")
        for name in names[1:3]:  # hung up while the view is closed
            assert name is not None
            hang_up(sim, name)
        sim.start_call("400")
        term.type(".top calls\r")
        wait_count(term, len(sim.channels()))
        assert term.screen.find("[calls 2]") >= 0, "\n".join(term.screen.lines())
        term.type("q")
        term.wait_for("admin@")
        assert b"Traceback" not in term.raw
    finally:
        term.close()


def test_top_says_when_the_connection_is_lost_and_resyncs_after_the_reconnect(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.start_call("400")
    term = open_shell(sim, tmp_path)
    try:
        term.type(".top\r")
        wait_count(term, 2)
        for session in sim.sessions():
            session.stop()
        term.wait_for("connection lost", timeout=5)
        name = sim.start_call("400")  # while the shell is away
        assert name is not None
        wait_count(term, 4, timeout=15)  # reconnected, then resynced
        assert term.screen.find("connection lost") < 0
        term.type("q")
    finally:
        term.close()


def test_watch_reruns_a_line_and_marks_what_changed(sim: Simulator, tmp_path: Path) -> None:
    term = open_shell(sim, tmp_path)
    try:
        term.type(".watch --count 3 1 CoreShowChannels\r")
        term.wait_for("run 1/3")
        sim.start_call("400")
        term.wait_shown("run 2/3")
        term.wait_shown("run 3/3")
        text = "\n".join(term.screen.scrolled + term.screen.lines())
        assert re.search(r"run 2/3 .* ([1-9]\d*) lines? changed", text), text
        term.wait_for("admin@")
    finally:
        term.close()
