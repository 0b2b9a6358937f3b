"""Session capture: the file, its secrets, non-UTF-8 chunks, a disk falling behind."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from amishell.capture import Capture
from amishell.client import AMIClient
from amishell.replay import load
from amishell.simulator import Simulator


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_capture_file_is_private_and_stars_secrets_split_mid_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    cap = Capture(str(path))
    cap.opened("127.0.0.1:5038")
    cap.received(b"Asterisk Call Manager/13.0.0\r\n")
    cap.sent(b"Action: Login\r\nUsername: admin\r\nSec")
    cap.sent(b"ret: hunter22\r\n\r\nAction: Challenge\r\nKEY :  abc\r\n\r\n")
    cap.received(b"\xff\xfe binary")
    cap.closed()
    cap.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "hunter22" not in text and "abc" not in text
    recs = records(path)
    assert [r["dir"] for r in recs] == ["open", "recv", "send", "send", "recv", "close"]
    assert recs[0]["data"] == "127.0.0.1:5038"
    sent = str(recs[2]["data"]) + str(recs[3]["data"])
    assert sent.startswith("Action: Login\r\nUsername: admin\r\nSecret: ********\r\n")
    assert "KEY :  ********" in sent
    assert "b64" in recs[4] and "data" not in recs[4]
    assert all(isinstance(r["t"], float | int) for r in recs)


def test_a_disk_too_far_behind_leaves_a_gap_record(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    told: list[int] = []
    cap = Capture(str(path), max_behind=100, on_gap=told.append)
    cap.opened("h:1")
    cap.received(b"x" * 500)  # more than may wait: counted, not kept
    cap.received(b"Event: A\r\n\r\n")
    cap.close()
    assert cap.lost_bytes == 500 and told == [500]
    recs = records(path)
    assert {"dir": "gap", "lost_bytes": 500}.items() <= recs[1].items()
    assert recs[2]["data"] == "Event: A\r\n\r\n"


def test_a_client_session_is_captured_whole_with_no_secret(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "flood.jsonl"
    cap = Capture(str(path))
    client = AMIClient("admin", "s3cret-admin", *sim.address, timeout=5, wire_observer=cap,
                       event_callback=lambda m: None)
    assert client.connect()
    assert sim.burst(20_000) == 1 and sim.wait_bursts()
    assert client.ping(5) is not None
    client.disconnect()
    cap.close()
    assert cap.lost_bytes == 0
    assert "s3cret-admin" not in path.read_text()
    dirs = [r["dir"] for r in records(path)]
    assert dirs[0] == "open" and dirs[-1] == "close"
    assert len(load(str(path)).events) >= 20_000  # every event of the flood
