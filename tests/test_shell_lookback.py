"""Looking back at events through the session's event history: ``.events last N``,
what a pause held back, the per-tick limit and the history's size as settings."""

from __future__ import annotations

import io
from pathlib import Path

from amishell.protocol import parse_frame
from amishell.shell.config import Target, load_config
from amishell.shell.context import Context
from amishell.shell.core import Shell
from amishell.shell.lineparse import parse
from amishell.shell.render import Info, Output, Problem, Renderer, to_plain


def make_shell(**target: object) -> Shell:
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)
    return Shell(ctx, Target(**target), username="admin", secret="x" * 8,  # type: ignore[arg-type]
                 width=lambda: 120)


def arrive(shell: Shell, name: str, n: int, when: float = 1_000_000.0) -> None:
    """An event reaches the shell: kept in the history, offered to the display."""
    frame = f"Event: {name}\r\nChannel: PJSIP/{n}-0001\r\nSeq: {n}".encode()
    shell.history.add(frame, when + n)
    shell.view.push(parse_frame(frame))


def run(shell: Shell, line: str) -> str:
    result = shell.start(parse(line)[0])
    assert isinstance(result, Info | Output | Problem), result
    if isinstance(result, Problem):
        return "error: " + result.text
    return to_plain(shell.render(result))


def test_events_last_shows_the_last_n_kept_with_a_filter() -> None:
    shell = make_shell()
    run(shell, ".events off")
    for n in range(10):
        arrive(shell, "Hangup" if n % 2 else "Newexten", n)
    text = run(shell, ".events last 3")
    assert [line.split()[1] for line in text.splitlines()] == ["Hangup", "Newexten", "Hangup"]
    assert "PJSIP/7-0001" in text and "PJSIP/9-0001" in text and "PJSIP/6-0001" not in text
    hangups = run(shell, ".events last 2 Hangup")
    assert "PJSIP/7-0001" in hangups and "PJSIP/9-0001" in hangups
    assert "Newexten" not in hangups
    assert run(shell, ".events last x").startswith("error: .events last N")


def test_events_last_says_where_the_history_starts() -> None:
    shell = make_shell(event_history=4)
    for n in range(10):
        arrive(shell, "Hangup", n)
    text = run(shell, ".events last 50")
    assert "PJSIP/9-0001" in text and "PJSIP/5-0001" not in text
    assert "4 events kept; the event history starts at" in text
    assert "6 earlier events fell out of it" in text
    off = make_shell(event_history=0)
    arrive(off, "Hangup", 1)
    assert "event history is off" in run(off, ".events last 5")


def test_events_last_in_json_carries_the_receive_time() -> None:
    shell = make_shell(format="json")
    arrive(shell, "Hangup", 1, when=1_796_570_000.25)
    import json

    lines = run(shell, ".events last 1").splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["Event"] == "Hangup" and obj["_received"] == "2026-12-06T15:13:21.250Z"


def test_resume_shows_what_the_pause_held_back() -> None:
    shell = make_shell()
    run(shell, ".events pause")
    for n in range(5):
        arrive(shell, "Hangup", n)
    assert shell.view.paused == 5
    text = run(shell, ".events resume")
    assert "the 5 events held back" in text
    assert all(f"PJSIP/{n}-0001" in text for n in range(5))
    later = to_plain(shell.view.render(shell.view.take(), Renderer()))
    assert "not shown while paused" not in later  # shown, not just counted
    assert shell.view.state == "on"


def test_resume_says_how_many_fell_out_of_the_history() -> None:
    shell = make_shell(event_history=3)
    arrive(shell, "Newexten", 0)
    run(shell, ".events pause")
    for n in range(1, 6):
        arrive(shell, "Hangup", n)
    text = run(shell, ".events resume")
    assert "2 events held back fell out of the event history" in text
    assert "PJSIP/5-0001" in text and "PJSIP/2-0001" not in text


def test_per_tick_limit_is_a_setting_and_the_flood_line_says_how_to_see_more(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[defaults]\nevents_per_tick = 7\nevent_history = 50\n")
    target = load_config({}, str(config)).target("pbx")
    assert (target.events_per_tick, target.event_history) == (7, 50)
    shell = make_shell(events_per_tick=7)
    assert shell.view.per_tick == 7
    assert "at most 3 a tick" in run(shell, ".events per_tick 3")
    for n in range(10):
        arrive(shell, "Hangup", n)
    text = to_plain(shell.view.render(shell.view.take(), Renderer()))
    assert "... 7 events not shown (.events last 7 shows them)" in text
    run(shell, ".filter Hangup")
    for n in range(10):
        arrive(shell, "Hangup", n)
    text = to_plain(shell.view.render(shell.view.take(), Renderer()))
    assert "(.events last 7 Hangup shows them)" in text


def test_events_json_is_an_object() -> None:
    import json

    shell = make_shell(format="json")
    run(shell, ".events off")
    arrive(shell, "Hangup", 1)
    obj = json.loads(run(shell, ".events"))
    assert obj["hidden_while_off"] == 1 and obj["filtered"] == 0
    assert obj["history"] == {"kept": 1, "dropped": 0}

