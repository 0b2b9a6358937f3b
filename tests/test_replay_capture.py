"""Replaying captures: the replay server, ``amishell --replay`` and traces from both."""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from amishell.__main__ import main
from amishell.capture import Capture
from amishell.client import AMIClient
from amishell.replay import ReplayServer, load
from amishell.shell.commands import run_meta
from amishell.shell.config import Target
from amishell.shell.context import Context, ExitStatus
from amishell.shell.core import Shell
from amishell.shell.lineparse import MetaLine
from amishell.shell.render import Info
from amishell.simulator import Simulator
from amishell.simulator.__main__ import main as sim_main

DATA = Path(__file__).parent / "data" / "asterisk"
CALL_TRACE = str(DATA / "call_trace.jsonl")


def run(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d"), "AMI_SECRET": "s3cret-admin",
           "AMI_USER": "admin"}
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(stdin=io.StringIO(""), stdout=out, stderr=err, env=env, tty_path=None)
    return main(argv, ctx), out.getvalue(), err.getvalue()


def test_replay_server_plays_events_and_answers_from_the_capture() -> None:
    recording = load(str(DATA / "live_calls.jsonl"))
    got: list[str] = []
    done = threading.Event()

    def on_event(msg: object) -> None:
        got.append(str(msg))
        if len(got) == len(recording.events):
            done.set()

    with ReplayServer(recording, speed=0) as server:
        client = AMIClient("anyone", "anything", *server.address, timeout=5,
                           event_callback=on_event)
        assert client.connect()
        assert done.wait(5)
        reply = client.action({"Action": "CoreShowChannels"})
        assert not reply.is_error and reply.action_id != "" and len(reply.events) >= 1
        assert reply.events[0].action_id == reply.action_id  # rewritten to ours
        again = client.action({"Action": "coreshowchannels"})  # the name in any case
        assert not again.is_error
        missing = client.action({"Action": "Originate", "Channel": "Local/1@x"})
        assert missing.is_error and "replay" in (missing.value("Message") or "")
        assert client.disconnect()


def test_amishell_replay_traces_a_call_from_a_capture(tmp_path: Path) -> None:
    status, out, err = run(
        ["--replay", CALL_TRACE, "--json", "-x", ".trace Local/100@demo-00000533;2"], tmp_path
    )
    assert status == ExitStatus.OK, err
    data = json.loads(out)
    assert data["linkedid"] == "1796571795.2660"
    assert data["channels"][0] == "Local/300@demo-00000532;1"
    names = [e["Event"] for e in data["events"]]
    assert "QueueCallerJoin" in names and names.count("Hangup") == 4
    first, last = (datetime.datetime.fromisoformat(data["events"][i]["_received"][:-1])
                   for i in (0, -1))
    assert 2.9 < (last - first).total_seconds() < 3.1  # the recorded timing, not the replay's
    assert "DeviceStateChange" not in names


def test_replay_of_a_missing_or_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    for path in (str(bad), str(tmp_path / "none.jsonl")):
        status, _, err = run(["--replay", path, "-x", ".trace"], tmp_path)
        assert status == ExitStatus.USAGE and len(err.strip().splitlines()) == 1, err


def without_times(trace: dict[str, object]) -> dict[str, object]:
    events = trace["events"]
    assert isinstance(events, list)
    return {**trace, "events": [{k: v for k, v in e.items() if k != "_received"}
                                for e in events]}


def test_a_recorded_simulator_session_replays_to_the_same_traces(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(time_scale=0.05)
    capture = tmp_path / "session.jsonl"
    host, port = sim.address
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)
    target = Target(host=host, port=port, username="admin", keepalive=0, timeout=5.0)
    target.format = "json"
    shell = Shell(ctx, target, username="admin", secret="s3cret-admin")
    shell.capture = Capture(str(capture), redact=shell.redact)
    assert shell.connect() is None
    sim.originate("Local/200@demo", context="demo", exten="100")
    sim.originate("Local/300@demo", application="Wait", data="1")
    calls: list[dict[str, object]] = []
    for _ in range(200):
        calls = json.loads(trace_line(shell, []))
        if len(calls) == 2 and all(c["ended"] for c in calls):
            break
        time.sleep(0.05)
    assert len(calls) == 2 and all(c["ended"] for c in calls)
    live = {str(c["linkedid"]): json.loads(trace_line(shell, [str(c["linkedid"])]))
            for c in calls}
    shell.close()
    assert "s3cret-admin" not in capture.read_text()
    for linkedid, trace in live.items():
        assert len(trace["channels"]) >= 2 and trace["events"]
        status, out, err = run(["--replay", str(capture), "--json", "-x", f".trace {linkedid}"],
                               tmp_path)
        assert status == ExitStatus.OK, err
        assert without_times(json.loads(out)) == without_times(trace)


def trace_line(shell: Shell, args: list[str]) -> str:
    result = run_meta(shell, MetaLine("trace", args, " ".join(args)))
    assert isinstance(result, Info), result
    return result.lines[0]


def test_amishell_sim_replay_serves_a_capture(tmp_path: Path) -> None:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=sim_main, args=(["--replay", CALL_TRACE, "--port", "0", "--speed", "0"],),
        kwargs={"stdout": out, "stop": stop}, daemon=True,
    )
    thread.start()
    for _ in range(100):
        if "replaying" in out.getvalue():
            break
        threading.Event().wait(0.02)
    port = int(out.getvalue().split(" on ")[1].split(":")[1])
    client = AMIClient("who", "ever", "127.0.0.1", port, timeout=5)
    assert client.connect()
    assert client.ping() is not None
    client.close()
    stop.set()
    thread.join(5)
    assert "stopped" in out.getvalue()


def test_trace_exports_and_a_call_not_in_the_history(tmp_path: Path) -> None:
    svg, js, txt = tmp_path / "c.svg", tmp_path / "c.json", tmp_path / "c.txt"
    status, out, err = run(
        ["--replay", CALL_TRACE, "-x",
         f".trace 1796571794.2656 --svg {svg} --json {js} --text {txt}",
         "-x", ".trace Local/200@demo-00000530;2", "-x", ".trace 123.456"], tmp_path)
    assert status == ExitStatus.USAGE  # the last line named no call
    assert svg.read_text().startswith("<svg") and "</svg>" in svg.read_text()
    assert json.loads(js.read_text())["linkedid"] == "1796571794.2656"
    assert "Hangup: hangup: Normal Clearing (16)" in txt.read_text()
    assert "A1  Local/200@demo-00000530;1" in out  # the ladder of the second line
    assert "no call '123.456' in the event history" in err


def test_a_call_in_progress_keeps_growing_until_it_ends(
    sim_factory: Callable[..., Simulator],
) -> None:
    sim = sim_factory(time_scale=0.2)
    host, port = sim.address
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)
    shell = Shell(ctx, Target(host=host, port=port, username="admin", keepalive=0, timeout=5.0),
                  username="admin", secret="s3cret-admin")
    assert shell.connect() is None
    channel = sim.originate("Local/100@demo", application="Wait", data="1")
    assert channel is not None
    first = None
    for _ in range(100):
        first = run_meta(shell, MetaLine("trace", [channel], channel))
        if isinstance(first, Info):
            break
        time.sleep(0.02)
    assert isinstance(first, Info) and "in progress" in first.lines[0]
    shown: list[str] = []
    for _ in range(200):
        batch = shell.view.take()
        shown += ["".join(text for _, text in frags) for frags in batch.notices or []]
        if any("ended" in text for text in shown):
            break
        time.sleep(0.05)
    shell.close()
    text = "".join(shown)
    hangups = [line for line in text.splitlines() if "Hangup  hangup:" in line]
    assert len(hangups) == 2 and all("✕" in line for line in hangups)  # each Local half
    assert f"trace: call {first.lines[0].split()[1].rstrip(':')} ended" in text


def test_trace_completes_channel_names_seen() -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from amishell.shell.completer import AMICompleter

    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)
    shell = Shell(ctx, Target(host="127.0.0.1", port=1, username="admin"), username="admin",
                  secret="s3cret-admin")
    for t, frame in load(CALL_TRACE).events:
        shell.history.add(frame, 1_800_000_000 + t)
    words = [c.text for c in AMICompleter(shell.sources).get_completions(
        Document(".trace 00000531"), CompleteEvent())]
    assert sorted(words) == ["Local/100@demo-00000531;1", "Local/100@demo-00000531;2"]


def test_an_event_log_replays_with_its_own_times(tmp_path: Path) -> None:
    from amishell.protocol import parse_frame
    from amishell.trace.text import iso_time

    log = tmp_path / "events.log"
    with log.open("w") as f:
        for t, frame in load(CALL_TRACE).events:
            item = parse_frame(frame).to_json()
            item["_received"] = iso_time(1_800_000_000 + t)
            f.write(json.dumps(item) + "\n")
    status, out, err = run(["--replay", str(log), "--json", "-x", ".trace 1796571794.2656"],
                           tmp_path)
    assert status == ExitStatus.OK, err
    data = json.loads(out)
    originals = {json.dumps({k: v for k, v in e.items() if k != "_received"}): e["_received"]
                 for e in map(json.loads, log.read_text().splitlines())}
    assert len(data["events"]) == 75
    for event in data["events"]:
        received = event.pop("_received")
        assert originals[json.dumps(event)] == received
