"""End to end in a real pseudo-terminal: a hostile server never drives the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scripted import Server, Session, standard
from test_shell_pty import Terminal, shell_env

from amishell.message import Message

#: A window title, a screen clear, a C1 CSI and a right-to-left override.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"


def _reply(session: Session, request: Message, *lines: str) -> None:
    aid = request.value("ActionID") or ""
    text = f"Response: Success\r\nActionID: {aid}\r\n" + "".join(f"{x}\r\n" for x in lines)
    session.send((text + "\r\n").encode())


def hostile(session: Session, msg: Message) -> None:
    """A server whose every answer carries HOSTILE: the banner's version strings,
    a response's Message:, a CLI command's output, and an event's CallerIDName."""
    action = (msg.value("Action") or "").lower()
    if action == "coresettings":
        _reply(session, msg, "AMIversion: 13.0.0", f"AsteriskVersion: 20.1{HOSTILE}",
               f"SystemName: pbx{HOSTILE}")
    elif action == "command":
        _reply(session, msg, "Message: Command output follows", f"Output: cli{HOSTILE}")
    elif action == "getvar":
        event = ("Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-00000001\r\n"
                 f"ChannelStateDesc: Ring\r\nCallerIDNum: 100\r\nCallerIDName: caller{HOSTILE}"
                 "\r\nUniqueid: 1.1\r\n\r\n")
        session.send(event.encode())
        _reply(session, msg, f"Message: msg{HOSTILE}", "Variable: X", "Value: 1")
    else:
        standard(session, msg)


@pytest.mark.slow
def test_a_hostile_server_never_drives_the_terminal(tmp_path: Path) -> None:
    with Server(hostile) as server:
        argv = [sys.executable, "-m", "amishell", server.hostport, "-u", "admin"]
        term = Terminal(argv, shell_env(tmp_path))
        try:
            term.wait_for("admin@127.0.0.1>")
            term.wait_shown("pbx^[]0;pwned^G^[[2J<U+009B>31m<U+202E>evil")  # the banner
            term.type("Getvar Variable=X\r")
            term.wait_shown("msg^[]0;pwned^G")  # Message:
            term.wait_shown("caller^[]0;pwned^G")  # the event line
            term.type("/core show uptime\r")
            term.wait_shown("cli^[]0;pwned^G")  # CLI output
            term.pump(0.3)
        finally:
            term.close()
    shown = term.raw.decode("utf-8", "replace")
    assert "\x1b]0;pwned" not in shown and "\x1b[2J" not in shown
    assert "\x9b" not in shown and "\u202e" not in shown
    assert "\x1b[7m^[" in shown  # shown visibly, in the shell's own reverse video
    assert "\x1b[1;31m" in shown or "\x1b[36m" in shown  # the shell's colours remain
    assert "Traceback" not in shown
