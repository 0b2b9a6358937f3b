"""``amishell --stat``: a line (or a JSON object) a second, through the command line."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from pathlib import Path

from amishell.__main__ import main
from amishell.shell.context import Context, ExitStatus
from amishell.shell.stat import HEADER
from amishell.simulator import Simulator

SECRET = "s3cret-admin"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "AMI_SECRET": SECRET,
        "AMI_USER": "admin",
    }
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(stdin=io.StringIO(), stdout=out, stderr=err, env=env, tty_path=None)
    status = main(argv, ctx)
    return status, out.getvalue(), err.getvalue()


def address(sim: Simulator) -> str:
    host, port = sim.address
    return f"{host}:{port}"


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_json_objects_count_the_simulators_channels(sim: Simulator, tmp_path: Path) -> None:
    for _ in range(3):
        sim.start_call("400")
    wait_until(lambda: len(sim.channels()) == 6)

    status, out, err = run([address(sim), "--stat", "--count", "3", "--json"], tmp_path)

    assert status == ExitStatus.OK, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 3
    for obj in objects:
        assert {"time", "channels", "calls", "events_per_s", "rtt_ms", "events_by_class",
                "actions_per_s"} <= set(obj)
        assert TIME.match(obj["time"])
    assert objects[-1]["channels"] == len(sim.channels()) == 6
    assert objects[-1]["calls"] == 3  # a Local call's two halves share one Linkedid
    assert all(isinstance(o["rtt_ms"], float) for o in objects[1:])  # the Pings came back
    assert all(o["actions_per_s"] >= 1 for o in objects)  # a Ping a second at least


def test_events_by_class_and_calls_ending_while_it_runs(sim: Simulator, tmp_path: Path) -> None:
    sim.start_call("400")
    wait_until(lambda: len(sim.channels()) == 2)
    result: list[tuple[int, str, str]] = []
    worker = threading.Thread(
        target=lambda: result.append(run([address(sim), "--stat", "--count", "3", "--json"],
                                         tmp_path)))
    worker.start()
    wait_until(lambda: any(s.authenticated for s in sim.sessions()))
    time.sleep(0.2)  # logged in and resynced
    sim.originate("Local/901@demo", application="Wait", data="10")  # over in a second
    wait_until(lambda: len(sim.channels()) == 4)
    worker.join(10)
    status, out, err = result[0]
    assert status == ExitStatus.OK, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert sum(o["events_by_class"].get("call", 0) for o in objects) > 0
    assert sum(o["events_per_s"] for o in objects) >= sum(
        sum(o["events_by_class"].values()) for o in objects) - 0.5
    assert objects[-1]["channels"] == len(sim.channels())


def test_text_lines_under_a_header(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run([address(sim), "--stat", "--count", "2"], tmp_path)
    assert status == ExitStatus.OK, err
    lines = out.splitlines()
    assert lines[0] == HEADER and len(lines) == 3
    assert re.match(r"^\d\d:\d\d:\d\d\s+0\s+0\s", lines[1])


def test_a_dropped_connection_ends_it_with_status_3(sim: Simulator, tmp_path: Path) -> None:
    result: list[tuple[int, str, str]] = []
    worker = threading.Thread(
        target=lambda: result.append(run([address(sim), "--stat", "--duration", "30"],
                                         tmp_path)))
    worker.start()
    wait_until(lambda: any(s.authenticated for s in sim.sessions()))
    time.sleep(1.3)  # at least one line
    sim.stop()
    worker.join(10)
    assert not worker.is_alive()
    status, out, err = result[0]
    assert status == ExitStatus.CONNECTION
    assert out.startswith(HEADER)
    assert err.count("\n") == 1 and "connection lost" in err


def test_other_event_options_are_refused(sim: Simulator, tmp_path: Path) -> None:
    for extra in (["--events"], ["--events", "Hangup"], ["-x", "Ping"]):
        status, out, err = run([address(sim), "--stat", *extra], tmp_path)
        assert status == ExitStatus.USAGE
        assert out == "" and err.count("\n") == 1 and "--stat" in err
    assert sim.sessions() == []  # refused before connecting


def test_login_failure_exits_3(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run([address(sim), "-u", "nobody", "--stat", "--count", "1"], tmp_path)
    assert status == ExitStatus.CONNECTION
    assert out == "" and err.count("\n") == 1
