"""The shell on a production PBX: terminal-safe output, read-only mode, confirmation."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_shell_app import Harness
from test_shell_cli import address, run

from amishell.client import AMIClient
from amishell.message import Message
from amishell.shell.config import Target
from amishell.shell.context import Context, ExitStatus
from amishell.shell.core import Shell
from amishell.shell.events import format_event_line
from amishell.shell.guard import Confirm, Guard, Refused
from amishell.shell.render import Problem, Renderer, to_ansi, to_plain, to_text
from amishell.shell.toolbar import toolbar_fragments
from amishell.simulator import Simulator
from amishell.textsafe import UNSAFE

SECRET = "s3cret-admin"
HOSTILE = "Eve\x1b]0;title\x07\x1b[2J\x9b31m\u202eevil"
#: The shell's own colours: SGR sequences only.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def hostile_message() -> Message:
    return Message([
        ("Response", "Success"), ("Message", HOSTILE), ("CallerIDName", HOSTILE),
        ("Output", HOSTILE),
    ])


def only_own_escapes(text: str) -> bool:
    """No unsafe character is left once the shell's own colour codes are taken out."""
    return UNSAFE.search(SGR.sub("", text)) is None


# -- the renderer and the formats -----------------------------------------------------


def test_pretty_output_shows_escapes_visibly_in_their_own_style() -> None:
    frags = Renderer("pretty").response(hostile_message())
    coloured = to_ansi(frags)
    assert only_own_escapes(coloured)
    assert "\x1b[7m^[\x1b[0m]0;title" in coloured  # reverse video: told apart from text
    assert "<U+202E>" in coloured and "<U+009B>" in coloured
    plain = to_plain(frags)
    assert UNSAFE.search(plain) is None and "Eve^[]0;title^G^[[2J" in plain


def test_event_lines_blocks_tables_and_cli_output_are_safe() -> None:
    renderer = Renderer("pretty", width=100)
    event = Message([("Event", "Newchannel"), ("Channel", "PJSIP/1-1"),
                     ("CallerIDNum", "100"), ("CallerIDName", HOSTILE), ("Exten", "1")])
    other = Message([("Event", "Newchannel"), ("Channel", "PJSIP/2-1"),
                     ("CallerIDNum", "200"), ("CallerIDName", "Bob"), ("Exten", "2")])
    outputs = [
        format_event_line(time.time(), event, 100),
        renderer.event_block(event),
        renderer.table([event, other]),
        renderer.cli(hostile_message()),
        renderer.result(Problem(HOSTILE)),
    ]
    for frags in outputs:
        assert only_own_escapes(to_ansi(frags))
        assert UNSAFE.search(to_plain(frags)) is None
    header, first, second = to_plain(renderer.table([event, other])).splitlines()
    # Columns line up on the shown text (^[ takes two columns, <U+202E> eight).
    assert first.rindex(" 1") == second.rindex(" 2") == header.rindex(" Exten")
    assert "Eve^[]0;title^G" in first


def test_raw_is_kept_as_received_only_for_a_file_or_a_pipe() -> None:
    msg = hostile_message()
    msg.raw = b"Response: Success\r\nMessage: " + HOSTILE.encode() + b"\r\n"
    frags = Renderer("raw").response(msg)
    assert HOSTILE in to_text(frags, color=False, terminal=False)
    on_terminal = to_text(frags, color=False, terminal=True)
    assert UNSAFE.search(on_terminal) is None and "Eve^[]0;title" in on_terminal
    assert only_own_escapes(to_text(frags, color=True, terminal=True))


def test_json_holds_no_control_character_and_decodes_exactly() -> None:
    frags = Renderer("json").response(hostile_message())
    text = to_plain(frags, keep_raw=True)
    assert UNSAFE.search(text) is None
    assert json.loads(text)["Message"] == HOSTILE


def test_error_lines_on_stderr_are_safe() -> None:
    err = io.StringIO()
    Context(stderr=err).error(f"server said {HOSTILE}")
    assert UNSAFE.search(err.getvalue()) is None and "^[]0;title" in err.getvalue()


# -- the guard and the toolbar ---------------------------------------------------------


def test_guard_refuses_in_read_only_even_with_yes() -> None:
    guard = Guard(read_only=True, confirm=True, yes=True)
    verdict = guard.check("action", "Hangup", [("Channel", "PJSIP/1-1")])
    assert isinstance(verdict, Refused) and "read-only" in verdict.text
    assert guard.check("action", "Ping", []) is None
    assert guard.check("cli", "Command", [("Command", "core show channels")]) is None


def test_guard_asks_before_harm_unless_yes() -> None:
    verdict = Guard(confirm=True).check("action", "Hangup", [("Channel", "/^PJSIP/")])
    assert isinstance(verdict, Confirm)
    assert verdict.what == "hang up /^PJSIP/" and verdict.regex == "^PJSIP"
    assert Guard(confirm=True, yes=True).check("action", "Hangup", [("Channel", "x")]) is None
    assert Guard().check("action", "Hangup", [("Channel", "x")]) is None


def test_connecting_elsewhere_never_drops_read_only_or_confirm() -> None:
    guard = Guard(read_only=True)
    guard.adopt(read_only=False, confirm=True)
    assert guard.read_only and guard.confirm
    guard = Guard()
    guard.adopt(read_only=True, confirm=False)
    assert guard.read_only and not guard.confirm


@pytest.mark.parametrize("width", [200, 60, 20])
def test_toolbar_keeps_read_only_and_production_at_any_width(width: int) -> None:
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={})
    shell = Shell(ctx, Target(username="admin", read_only=True), username="admin", secret="x")
    texts = [text for _, text, *_ in toolbar_fragments(shell, width)]
    assert texts[0] == " READ-ONLY "
    shell.guard.read_only, shell.guard.confirm = False, True
    first = toolbar_fragments(shell, width)[0]
    assert first[1] == " PRODUCTION: confirm " and "production" in first[0]


# -- scripts ----------------------------------------------------------------------------


def call(sim: Simulator) -> str:
    channel = sim.start_call()
    assert channel is not None
    return channel


def test_read_only_script_refuses_sends_nothing_and_exits_2(
    sim: Simulator, tmp_path: Path
) -> None:
    channel = call(sim)
    status, out, err = run(
        [address(sim), "--read-only", "--yes", "-x", f"Hangup Channel={channel}", "-x",
         "/channel request hangup all", "-x", "Ping", "-x", "/core show uptime"],
        tmp_path,
    )
    assert status == ExitStatus.USAGE
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all("read-only session" in line for line in lines)
    assert "Hangup not sent" in lines[0] and "channel request hangup all" in lines[1]
    assert "Ping: Pong" in out and "System uptime" in out
    assert channel in sim.channels()


def test_read_only_from_the_profile(sim: Simulator, tmp_path: Path) -> None:
    host, port = sim.address
    config = tmp_path / "config" / "amishell" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[profiles.prod]\nhost = "{host}"\nport = {port}\nread_only = true\n')
    status, _, err = run(["prod", "-x", "UserEvent UserEvent=Hi"], tmp_path)
    assert status == ExitStatus.USAGE and "reaches every manager session" in err


def test_confirm_in_a_script_refuses_unless_yes(sim: Simulator, tmp_path: Path) -> None:
    channel = call(sim)
    status, _, err = run([address(sim), "--confirm", "-x", f"Hangup Channel={channel}"],
                         tmp_path)
    assert status == ExitStatus.USAGE and "--yes" in err
    assert channel in sim.channels()
    status, out, err = run(
        [address(sim), "--confirm", "--yes", "-x", f"Hangup Channel={channel}"], tmp_path
    )
    assert status == ExitStatus.OK, err
    assert "Message: Channel Hungup" in out
    assert channel not in sim.channels()


def test_stdin_script_with_confirm_refuses(sim: Simulator, tmp_path: Path) -> None:
    status, _, err = run([address(sim), "--confirm"], tmp_path,
                         stdin="Ping\n/module unload res_pjsip.so\nPing\n")
    assert status == ExitStatus.USAGE
    assert err.count("not sent") == 1 and "line 2:" in err


def test_script_output_formats_with_hostile_values(sim: Simulator, tmp_path: Path) -> None:
    host, port = sim.address
    with AMIClient("admin", SECRET, host, port, events="off") as other:
        other.action({"Action": "Setvar", "Variable": "HOSTILE", "Value": HOSTILE})
    line = "Getvar Variable=HOSTILE"
    _, pretty, _ = run([address(sim), "-x", line], tmp_path)
    assert UNSAFE.search(pretty) is None and "Eve^[]0;title^G" in pretty
    _, as_json, _ = run([address(sim), "--json", "-x", line], tmp_path)
    assert UNSAFE.search(as_json) is None and json.loads(as_json)["Value"] == HOSTILE
    _, raw, _ = run([address(sim), "-x", ".format raw", "-x", line], tmp_path)
    assert f"Value: {HOSTILE}" in raw  # a pipe gets the text as received


# -- the interactive shell ------------------------------------------------------------


@pytest.fixture
def harness(sim_factory: Callable[..., Simulator]) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(sim: Simulator, **options: Any) -> Harness:
        h = Harness(sim, **options)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def test_hangup_by_regex_lists_matches_and_ignores_keys_typed_before_the_question(
    sim: Simulator, harness: Callable[..., Harness]
) -> None:
    first, second = call(sim), call(sim)
    h = harness(sim, confirm=True, event_display="off")
    h.wait_for("ready")
    # "y" comes with the line, before any question: it must not answer it.
    h.type("Hangup Channel=/^Local/400@demo-/\ry\r")
    h.wait_for("match /^Local/400@demo-/ now")
    assert "approximation" in h.text and first in h.text and second in h.text
    time.sleep(0.3)
    assert first in sim.channels()  # still waiting for the real answer
    h.type("y\r")
    h.wait_for("4 items")  # the server's answer: the channels it hung up
    assert first not in sim.channels() and second not in sim.channels()


def test_a_regex_matching_nothing_is_not_sent_and_no_is_the_default(
    sim: Simulator, harness: Callable[..., Harness]
) -> None:
    channel = call(sim)
    h = harness(sim, confirm=True, event_display="off")
    h.wait_for("ready")
    h.type("Hangup Channel=/^NoSuch/\r")
    h.wait_for("no channel matches /^NoSuch/ now: Hangup not sent")
    h.type(f"Hangup Channel={channel}\r")
    time.sleep(0.3)
    h.type("\r")  # Enter alone is no
    h.wait_for(f"not sent: hang up {channel}")
    assert channel in sim.channels()


def test_read_only_refusal_in_the_interactive_shell(
    sim: Simulator, harness: Callable[..., Harness]
) -> None:
    h = harness(sim, read_only=True, event_display="off")
    h.wait_for("ready")
    h.type("Originate Channel=Local/100@demo Exten=200 Context=demo Priority=1\r")
    h.wait_for("read-only session, Originate not sent")
    h.type("CoreStatus\r")
    h.wait_for("CoreCurrentCalls")


def test_completion_menu_text_and_meta_are_safe() -> None:
    from prompt_toolkit.completion import Completion

    from amishell.shell.completer import shown_safely

    got = shown_safely(Completion("PJSIP/1", 0, display=f"PJSIP/1 {HOSTILE}",
                                  display_meta=f"channel {HOSTILE}"))
    for _style, text, *_ in [*got.display, *got.display_meta]:
        assert UNSAFE.search(text) is None
    assert any("class:unsafe" in style for style, *_ in got.display_meta)
    assert got.text == "PJSIP/1"


def test_debug_transcript_on_a_terminal_is_safe(tmp_path: Path) -> None:
    import os

    from amishell.shell.context import private_file

    master, slave = os.openpty()
    try:
        transcript = private_file(os.ttyname(slave))
        transcript.write(f"<< CallerIDName: {HOSTILE}\r\n")
        transcript.flush()
        data = os.read(master, 4096).decode("utf-8", "replace")
        transcript.close()
    finally:
        os.close(master)
        os.close(slave)
    assert "CallerIDName: Eve^[]0;title^G" in data
    assert UNSAFE.search(data.replace("\r\n", "\n")) is None
    file_path = tmp_path / "debug.txt"
    in_file = private_file(str(file_path))
    in_file.write(f"<< {HOSTILE}\n")
    in_file.close()
    assert HOSTILE in file_path.read_text()  # a file keeps what was received
