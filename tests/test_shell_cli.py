"""The command line: -x, stdin scripts, --events --json, exit statuses, secrets."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from amishell.__main__ import main
from amishell.shell.context import Context, ExitStatus
from amishell.simulator import Simulator

SECRET = "s3cret-admin"


def run(
    argv: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> tuple[int, str, str]:
    environment = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "AMI_SECRET": SECRET,
        "AMI_USER": "admin",
    }
    environment.update(env)
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(stdin=io.StringIO(stdin), stdout=out, stderr=err, env=environment,
                  tty_path=None)
    status = main(argv, ctx)
    return status, out.getvalue(), err.getvalue()


def address(sim: Simulator) -> str:
    host, port = sim.address
    return f"{host}:{port}"


def test_x_lines_run_in_order(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run(
        [address(sim), "-x", "Ping", "-x", "/core show uptime", "-x", ".format json", "-x",
         "CoreSettings"],
        tmp_path,
    )
    assert status == ExitStatus.OK, err
    assert out.index("Ping: Pong") < out.index("System uptime")
    assert json.loads(out.strip().splitlines()[-1])["AMIversion"] == "13.0.0"
    assert "ms)" not in out  # no timings when stdout is not a terminal


def test_action_error_exits_1(sim: Simulator, tmp_path: Path) -> None:
    status, out, _ = run([address(sim), "-x", "Originate", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.ACTION_ERROR
    assert "Response: Error" in out and "Ping: Pong" in out  # it went on after the error


def test_usage_errors_exit_2(sim: Simulator, tmp_path: Path) -> None:
    assert run([address(sim), "--count", "0", "--events"], tmp_path)[0] == ExitStatus.USAGE
    assert run([address(sim), "--duration", "1"], tmp_path)[0] == ExitStatus.USAGE
    status, _, err = run([address(sim), "-x", 'Originate CallerID="x'], tmp_path)
    assert status == ExitStatus.USAGE and "unterminated" in err
    with pytest.raises(SystemExit) as info:
        run([address(sim), "--secret", "x"], tmp_path)  # no such option, on purpose
    assert info.value.code == ExitStatus.USAGE


def test_login_failure_and_refused_connection_exit_3(sim: Simulator, tmp_path: Path) -> None:
    status, _, err = run([address(sim), "-x", "Ping"], tmp_path, AMI_SECRET="wrong")
    assert status == ExitStatus.CONNECTION
    assert "Authentication failed" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, _, err = run([f"127.0.0.1:{port}", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.CONNECTION
    assert "refused" in err and "Traceback" not in err


def test_stdin_script_blocks_and_lines_continue_after_errors(
    sim: Simulator, tmp_path: Path
) -> None:
    script = "\n".join([
        "# set and read a global variable",
        "Action: Setvar",
        "Variable: SCRIPTED",
        "Value: yes",
        "",
        "this is not valid",
        "Getvar Variable=SCRIPTED",
        "/core show uptime",
        "",
    ])
    status, out, err = run([address(sim)], tmp_path, stdin=script)
    assert status == ExitStatus.USAGE  # one bad line; the rest still ran
    assert "line 6:" in err
    assert "Value: yes" in out and "System uptime" in out


def test_events_json_count(sim: Simulator, tmp_path: Path) -> None:
    def burst() -> None:
        time.sleep(0.3)
        sim.burst(400)  # the events of several calls

    threading.Thread(target=burst, daemon=True).start()
    argv = [address(sim), "--events", "Newchannel,Hangup", "--json", "--count", "4"]
    status, out, err = run([*argv, "--duration", "10"], tmp_path)
    assert status == ExitStatus.OK, err
    lines = out.splitlines()
    assert len(lines) == 4
    events = [json.loads(line) for line in lines]
    assert {e["Event"] for e in events} <= {"Newchannel", "Hangup"}


def test_events_duration_one_line_format(sim: Simulator, tmp_path: Path) -> None:
    sim.burst(3)
    status, out, _ = run([address(sim), "--events", "--duration", "0.5"], tmp_path)
    assert status == ExitStatus.OK
    assert "FullyBooted" in out or "Newchannel" in out


def test_config_refused_when_it_leaks_a_secret(sim: Simulator, tmp_path: Path) -> None:
    cfg = tmp_path / "config" / "amishell" / "config.toml"
    cfg.parent.mkdir(parents=True)
    host, port = sim.address
    cfg.write_text(f'[profiles.lab]\nhost = "{host}"\nport = {port}\nusername = "admin"\n'
                   f'secret = "{SECRET}"\n')
    cfg.chmod(0o644)
    status, out, err = run(["lab", "-x", "Ping"], tmp_path, AMI_SECRET="")
    assert status == ExitStatus.USAGE and "chmod 600" in err
    assert SECRET not in out + err
    cfg.chmod(0o600)
    status, out, err = run(["lab", "-x", "Ping"], tmp_path, AMI_SECRET="")
    assert status == ExitStatus.OK, err
    assert "Ping: Pong" in out


def test_demo_starts_a_simulator(tmp_path: Path) -> None:
    status, out, err = run(["--demo", "-x", "CoreSettings"], tmp_path, AMI_SECRET="")
    assert status == ExitStatus.OK, err
    assert "simulated PBX" in err
    assert "AsteriskVersion:" in out


def test_tls_verifies_by_default_insecure_is_explicit(
    sim_factory: object, tmp_path: Path
) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    sim = sim_factory(ssl_context=server_context)  # type: ignore[operator]
    where = address(sim)
    status, _, err = run([where, "--tls", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.CONNECTION
    assert "did not verify" in err
    status, out, err = run([where, "--tls-insecure", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.OK, err
    assert "Ping: Pong" in out


def test_md5_login(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run([address(sim), "--md5", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.OK, err
    assert "Ping: Pong" in out
