"""End to end in a real pseudo-terminal: an event printed above a half-typed line."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from amishell.client import AMIClient
from amishell.simulator import Faults, Simulator

ROWS, COLS = 24, 100
CSI = re.compile(r"\x1b\[([?>=]?)([0-9;]*)([@-~])")
OTHER_ESCAPE = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class Screen:
    """Just enough of a VT100 to know what the user sees and where the cursor is."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.cells = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.autowrap = True
        #: Lines scrolled off the top, oldest first.
        self.scrolled: list[str] = []

    def feed(self, data: str) -> None:
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                m = CSI.match(data, i) or OTHER_ESCAPE.match(data, i)
                if m is None:
                    i += 1
                    continue
                if m.re is CSI:
                    self._csi(m.group(1), m.group(2), m.group(3))
                i = m.end()
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._line_feed()
            elif ch == "\x08":
                self.col = max(0, self.col - 1)
            elif ch >= " ":
                if self.col >= self.cols:
                    if self.autowrap:
                        self.col = 0
                        self._line_feed()
                    else:
                        self.col = self.cols - 1
                self.cells[self.row][self.col] = ch
                self.col += 1
            i += 1

    def _line_feed(self) -> None:
        if self.row == self.rows - 1:
            self.scrolled.append("".join(self.cells.pop(0)).rstrip())
            self.cells.append([" "] * self.cols)
        else:
            self.row += 1

    def _csi(self, private: str, params: str, final: str) -> None:
        if private == "?":
            if params == "7":
                self.autowrap = final == "h"
            return
        args = [int(p) if p else 0 for p in params.split(";")] if params else []
        n = max(args[0], 1) if args else 1
        if final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final in "Hf":
            self.row = min(self.rows, args[0] if args else 1) - 1
            self.col = min(self.cols, args[1] if len(args) > 1 else 1) - 1
        elif final == "J":
            mode = args[0] if args else 0
            if mode == 0:
                self.cells[self.row][self.col :] = [" "] * (self.cols - self.col)
                for r in range(self.row + 1, self.rows):
                    self.cells[r] = [" "] * self.cols
            elif mode == 2:
                self.cells = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "K":
            mode = args[0] if args else 0
            if mode == 0:
                self.cells[self.row][self.col :] = [" "] * (self.cols - self.col)
            elif mode == 2:
                self.cells[self.row] = [" "] * self.cols

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells]

    def find(self, text: str) -> int:
        for n, line in enumerate(self.lines()):
            if text in line:
                return n
        return -1


def _controlling_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty, so that
    Ctrl-C typed there becomes SIGINT, as in a real terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
            preexec_fn=_controlling_terminal,
        )
        os.close(slave)
        self.screen = Screen(ROWS, COLS)
        self.raw = b""

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.raw += data
            self.screen.feed(data.decode("utf-8", "replace"))

    def wait_for(self, text: str, timeout: float = 10.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            row = self.screen.find(text)
            if row >= 0:
                return row
            self.pump(0.05)
        screen = "\n".join(self.screen.lines())
        raise AssertionError(f"{text!r} never shown; screen:\n{screen}")

    def wait_shown(self, text: str, timeout: float = 10.0) -> None:
        """Wait until ``text`` is on the screen or has been (scrolled off since)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.screen.find(text) >= 0 or any(text in line for line in self.screen.scrolled):
                return
            self.pump(0.05)
        screen = "\n".join(self.screen.lines())
        raise AssertionError(f"{text!r} never shown; screen:\n{screen}")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.type("\x03\x04")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        os.close(self.master)
        return self.proc.returncode


def shell_env(tmp_path: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        AMI_SECRET="s3cret-admin",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        PROMPT_TOOLKIT_NO_CPR="1",
    )
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.slow
def test_event_printed_above_a_partly_typed_line(sim: Simulator, tmp_path: Path) -> None:
    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, shell_env(tmp_path))
    try:
        prompt = f"admin@{host}> "
        term.wait_for(prompt.rstrip())
        term.type("Originate Chan")
        term.wait_for(prompt + "Originate Chan")
        term.pump(0.3)

        with AMIClient("admin", "s3cret-admin", host, port, events="off") as other:
            other.action({"Action": "UserEvent", "UserEvent": "PtyCheck"})
        event_row = term.wait_for("UserEvent=PtyCheck")
        term.pump(0.5)  # let the prompt be redrawn

        event_row = term.screen.find("UserEvent=PtyCheck")
        prompt_row = term.screen.find(prompt + "Originate Chan")
        assert 0 <= event_row < prompt_row, "\n".join(term.screen.lines())
        assert term.screen.lines()[prompt_row].startswith(prompt + "Originate Chan")
        assert (term.screen.row, term.screen.col) == (
            prompt_row, len(prompt + "Originate Chan")
        ), "the cursor is not where the user left it"

        # The half-typed line is still in the buffer: finishing it runs the action.
        term.type("nel=Local/100@demo Exten=100 Context=demo Priority=1 Async=true\r")
        # (The call's events may scroll the response off before it is looked at.)
        term.wait_shown("Originate successfully queued")
        assert b"Traceback" not in term.raw
    finally:
        status = term.close()
    assert status == 0
    history = (tmp_path / "data" / "amishell" / "history").read_text()
    assert "Originate Channel=Local/100@demo" in history


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_waiting(sim: Simulator, tmp_path: Path) -> None:
    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, shell_env(tmp_path))
    try:
        term.wait_for(f"admin@{host}>")
        term.type(".events off\r")
        term.wait_for("events: off")
        for session in sim.sessions():
            session.faults = Faults(delay=1.5)
        term.type("Ping\r")
        term.pump(0.4)
        term.type("\x03")  # the terminal turns it into SIGINT: the shell is not prompting
        term.wait_for("stopped waiting for Ping")
        term.wait_for("late response")
        term.wait_for("Ping: Pong")
        for session in sim.sessions():
            session.faults = Faults()
        term.type("Ping\r")
        term.pump(0.5)
        assert b"Traceback" not in term.raw
        assert term.proc.poll() is None  # still running
    finally:
        status = term.close()
    assert status == 0


@pytest.mark.slow
def test_keys_typed_while_waiting_are_not_echoed_into_the_output(
    sim: Simulator, tmp_path: Path
) -> None:
    """While a response is awaited the terminal is raw and the shell reads the keys:
    no ``^C`` glued to the next line, no typed-ahead text among the answers; what was
    typed reaches the next prompt once, intact."""
    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, shell_env(tmp_path))
    try:
        prompt = f"admin@{host}> "
        term.wait_for(prompt.rstrip())
        term.type(".events off\r")
        term.wait_for("events: off")
        for session in sim.sessions():
            session.faults = Faults(delay=0.6)
        term.type("Getvar Variable=SLOW\r")
        term.pump(0.3)
        term.type("\x03")
        term.wait_for("stopped waiting for Getvar")
        term.type("Ping\r")
        term.pump(0.2)
        term.type("CoreSett")  # typed while Ping waits behind the Getvar
        term.wait_for("Ping: Pong")
        term.wait_for(prompt + "CoreSett")
        for session in sim.sessions():
            session.faults = Faults()
        lines = term.screen.lines()
        assert not any("^C" in line for line in lines), "\n".join(lines)
        stray = [line for line in lines if "CoreSett" in line
                 and not line.startswith(prompt) and "Show core settings" not in line]
        assert stray == [], "\n".join(lines)  # not echoed among the answers
        assert lines[term.screen.row].startswith(prompt + "CoreSett")
        term.type("ings\r")
        term.wait_for("AsteriskVersion:")
    finally:
        status = term.close()
    assert status == 0


@pytest.mark.slow
def test_ctrl_c_during_a_hanging_connect_keeps_the_session_and_echoes_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    """A server that accepts but never greets: Ctrl-C abandons the ``.connect``, the
    prompt shows the old session as connected, and keys typed meanwhile were not
    echoed raw into the output."""
    import socket

    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hang = silent.getsockname()[1]
        term = Terminal(argv, shell_env(tmp_path))
        try:
            prompt = f"admin@{host}> "
            term.wait_for(prompt.rstrip())
            term.type(".events off\r")
            term.wait_for("events: off")
            term.type(f".connect 127.0.0.1:{hang}\r")
            term.pump(0.5)
            term.type("zqx")  # typed while it hangs
            term.pump(0.3)
            term.type("\x03")
            term.wait_for(f"stopped connecting to 127.0.0.1:{hang}; still connected to")
            term.pump(0.3)
            lines = term.screen.lines()
            assert lines[term.screen.row].startswith(prompt.rstrip()), "\n".join(lines)
            assert not any("zqx" in line or "^C" in line for line in lines), "\n".join(lines)
            assert not any("(connecting)" in line for line in lines), "\n".join(lines)
            term.type("Ping\r")
            term.wait_for("Ping: Pong")
            assert b"Traceback" not in term.raw
        finally:
            status = term.close()
    assert status == 0


@pytest.mark.slow
def test_ctrl_c_at_connects_secret_prompt_returns_to_a_working_prompt(
    sim: Simulator, tmp_path: Path
) -> None:
    host, port = sim.address
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, shell_env(tmp_path))
    try:
        prompt = f"admin@{host}> "
        term.wait_for(prompt.rstrip())
        term.type(".events off\r")
        term.wait_for("events: off")
        term.type(".connect -u monitor\r")  # AMI_SECRET is admin's: asked for
        term.wait_for(f"Secret for monitor@{host}:{port}:")
        term.type("\x03")
        term.wait_for("stopped waiting")
        term.type("Ping\r")
        term.wait_for("Ping: Pong")
        term.type(".status\r")
        term.wait_for(f"connected: admin@{host}:{port}")
        assert b"Traceback" not in term.raw
    finally:
        status = term.close()
    assert status == 0


@pytest.mark.slow
def test_a_wrong_secret_at_start_is_asked_again(sim: Simulator, tmp_path: Path) -> None:
    host, port = sim.address
    env = shell_env(tmp_path)
    del env["AMI_SECRET"]
    argv = [sys.executable, "-m", "amishell", f"{host}:{port}", "-u", "admin"]
    term = Terminal(argv, env)
    try:
        term.wait_for(f"Secret for admin@{host}:{port}:")
        term.type("not-it\r")
        term.wait_for("permit/deny")
        term.pump(0.3)
        term.type("s3cret-admin\r")
        term.wait_for(f"admin@{host}>")
        assert b"not-it" not in term.raw and b"s3cret-admin" not in term.raw
    finally:
        status = term.close()
    assert status == 0
