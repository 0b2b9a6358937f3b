"""What the shell writes: script stdout holds only answers, each labelled in the
pretty format; JSON carries ``_received``; event lines fit and say what codes mean."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from amishell.__main__ import main
from amishell.message import Message
from amishell.shell.context import Context, ExitStatus
from amishell.shell.eventline import format_event_line
from amishell.shell.events import EventLog
from amishell.shell.render import Renderer, to_plain
from amishell.simulator import Simulator

SECRET = "s3cret-admin"
RECEIVED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(argv: list[str], tmp_path: Path, stdin: str = "") -> tuple[int, str, str]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d"), "AMI_SECRET": SECRET, "AMI_USER": "admin"}
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(stdin=io.StringIO(stdin), stdout=out, stderr=err, env=env, tty_path=None)
    status = main(argv, ctx)
    return status, out.getvalue(), err.getvalue()


def address(sim: Simulator) -> str:
    host, port = sim.address
    return f"{host}:{port}"


def test_json_script_output_is_json_only(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run(
        [address(sim), "--json", "-x", ".status", "-x", "Ping", "-x", "/core show uptime",
         "-x", ".events"], tmp_path)
    assert status == ExitStatus.OK, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 4
    status_obj, ping, cli, events = objects
    assert status_obj["state"] == "connected" and status_obj["username"] == "admin"
    assert ping["Ping"] == "Pong" and ping["ActionID"] and RECEIVED.match(ping["_received"])
    assert RECEIVED.match(cli["_received"])
    assert "received" in events and "hidden_while_off" in events


def test_hints_go_to_stderr(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run([address(sim), "-x", "Bogus"], tmp_path)
    assert status == ExitStatus.ACTION_ERROR
    assert "Response: Error" in out
    assert ".help" not in out and "type .help" in err


def test_each_answer_of_a_script_is_labelled(sim: Simulator, tmp_path: Path) -> None:
    script = "Ping\n# a comment\nGetvar Variable=X\n/core show uptime\n"
    status, out, err = run([address(sim)], tmp_path, stdin=script)
    assert status == ExitStatus.OK, err
    heads = [line for line in out.splitlines() if line.startswith("--- ")]
    assert len(heads) == 3
    assert heads[0].startswith("--- line 1: Ping (ActionID ")
    assert heads[1].startswith("--- line 3: Getvar (ActionID ")
    assert heads[2].startswith("--- line 4: /core show uptime (ActionID ")
    assert out.index(heads[0]) < out.index("Ping: Pong") < out.index(heads[1])
    _, two, _ = run([address(sim), "-x", "Ping", "-x", "Ping"], tmp_path)
    assert "--- -x 1: Ping" in two and "--- -x 2: Ping" in two
    _, one, _ = run([address(sim), "-x", "Ping"], tmp_path)
    assert "---" not in one  # one answer needs no label


def test_events_json_carry_the_receive_time(sim: Simulator, tmp_path: Path) -> None:
    def burst() -> None:
        time.sleep(0.3)
        sim.burst(20)

    threading.Thread(target=burst, daemon=True).start()
    status, out, err = run(
        [address(sim), "--events", "--json", "--count", "3", "--duration", "10"], tmp_path)
    assert status == ExitStatus.OK, err
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 3 and all(RECEIVED.match(e["_received"]) for e in events)


def test_the_event_log_carries_the_receive_time(tmp_path: Path) -> None:
    log = EventLog(str(tmp_path / "events.jsonl"))
    log.write(Message([("Event", "Hangup"), ("Cause", "16")]), 1_796_570_001.5)
    log.write(Message([("Event", "Newexten")]))
    log.close()
    first, second = (json.loads(line) for line in (tmp_path / "events.jsonl").open())
    assert first["_received"] == "2026-12-06T15:13:21.500Z"
    assert RECEIVED.match(second["_received"])


def test_status_without_a_system_name(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(system_name="")
    status, out, err = run([address(sim), "-x", ".status"], tmp_path)
    assert status == ExitStatus.OK, err
    assert "system" not in out.split("\n", 2)[1]
    assert not re.search(r"system\s*$", out, re.M)


def test_events_mask_that_turns_events_off_is_warned(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run([address(sim), "-x", "Events EventMask=foo"], tmp_path)
    assert "Events: Off" in out
    assert "warning: the server turned events off" in err
    _, _, quiet = run([address(sim), "-x", "Events EventMask=off"], tmp_path)
    assert "warning" not in quiet


def event(name: str, **headers: str) -> Message:
    return Message([("Event", name), ("Privilege", "call,all"), *headers.items()])


def test_an_originate_dial_does_not_dial_itself() -> None:
    dest = "Local/400@demo-00000001;1"
    msg = event("DialBegin", DestChannel=dest, DestChannelStateDesc="Down")
    text = to_plain(format_event_line(0.0, msg, 120))
    assert text.count(dest) == 1 and f"(originate)  -> {dest}" in text
    normal = event("DialEnd", Channel="PJSIP/100-01", DestChannel="PJSIP/200-02",
                   DialStatus="ANSWER")
    assert "PJSIP/100-01  -> PJSIP/200-02 ANSWER" in to_plain(format_event_line(0.0, normal))


def test_narrow_lines_are_cut_visibly_and_keep_the_hangup_cause() -> None:
    msg = event("Hangup", Channel="Local/400@demo-00000012;1", ChannelStateDesc="Up",
                CallerIDNum="1001", CallerIDName="Alice Long Name", Cause="16")
    for width in (60, 70, 80):
        text = to_plain(format_event_line(0.0, msg, width)).rstrip("\n")
        assert len(text) <= width
        assert "cause 16 (Normal Clearing)" in text
        assert "…" in text
    wide = to_plain(format_event_line(0.0, msg, 200))
    assert "…" not in wide and '"Alice Long Name" <1001>' in wide


def test_codes_are_said_in_words() -> None:
    hangup = event("Hangup", Channel="PJSIP/1-01", Cause="17")
    assert "cause 17 (User busy)" in to_plain(format_event_line(0.0, hangup))
    member = event("QueueMemberStatus", Queue="support", Interface="PJSIP/100", Status="6")
    assert "6 (Ringing)" in to_plain(format_event_line(0.0, member))
    state = event("Newstate", Channel="PJSIP/1-01", ChannelState="6")
    assert "6 (Up)" in to_plain(format_event_line(0.0, state))
    items = [
        Message([("Event", "QueueMember"), ("Name", f"m{n}"), ("Status", str(n))])
        for n in (1, 2)
    ]
    table = to_plain(Renderer(width=100).table(items))
    assert "1 (Not in use)" in table and "2 (In use)" in table
    channels = [
        Message([("Event", "CoreShowChannel"), ("Channel", f"PJSIP/{n}"),
                 ("ChannelState", str(n))]) for n in (4, 6)
    ]
    renderer = Renderer(width=100)
    renderer.columns["coreshowchannel"] = ["Channel", "ChannelState"]
    assert "6 (Up)" in to_plain(renderer.table(channels))


def test_the_demo_starts_calm(tmp_path: Path) -> None:
    status, out, err = run(["--demo", "--json", "-x", ".events"], tmp_path)
    assert status == ExitStatus.OK, err
    assert json.loads(out)["display"] == "off"
    assert ".events last 50" in err and ".events on" in err


_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(
    name=st.sampled_from(["Hangup", "Newchannel", "DialBegin", "QueueMemberStatus", "X" * 25]),
    channel=_TEXT, state=_TEXT, num=_TEXT, cname=_TEXT, cause=_TEXT, extra=_TEXT,
    width=st.integers(min_value=20, max_value=200),
)
def test_an_event_line_never_exceeds_the_width(
    name: str, channel: str, state: str, num: str, cname: str, cause: str, extra: str,
    width: int,
) -> None:
    msg = event(name, Channel=channel, ChannelStateDesc=state, CallerIDNum=num,
                CallerIDName=cname, Cause=cause, Extra=extra, DestChannel=extra)
    text = to_plain(format_event_line(1_796_570_000.0, msg, width))
    assert text.endswith("\n") and text.count("\n") == 1
    assert len(text) - 1 <= width
