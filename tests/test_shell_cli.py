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


def test_a_bug_is_one_line_and_its_own_status(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import amishell.shell.config

    def broken(*args: object) -> None:
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(amishell.shell.config, "load_config", broken)
    status, out, err = run([address(sim), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.INTERNAL == 70
    assert err == "amishell: internal error: RuntimeError: something unforeseen\n"


class ClosingPipe(io.StringIO):
    """A stdout whose reader goes away after ``lines`` lines (``amishell ... | head``)."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= text.count("\n")
        return super().write(text)


def run_piped(argv: list[str], tmp_path: Path, lines: int) -> tuple[int, str, str]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "AMI_SECRET": SECRET, "AMI_USER": "admin"}
    out, err = ClosingPipe(lines), io.StringIO()
    ctx = Context(stdin=io.StringIO(), stdout=out, stderr=err, env=env, tty_path=None)
    return main(argv, ctx), out.getvalue(), err.getvalue()


def test_a_closed_pipe_ends_events_quietly(sim: Simulator, tmp_path: Path) -> None:
    def burst() -> None:
        time.sleep(0.3)
        sim.burst(50)

    threading.Thread(target=burst, daemon=True).start()
    started = time.monotonic()
    status, out, err = run_piped([address(sim), "--events", "--duration", "20"], tmp_path, 3)
    assert time.monotonic() - started < 10, "kept tailing into a closed pipe"
    assert status == ExitStatus.OK, err
    assert len(out.splitlines()) == 3
    assert err == ""


def test_a_closed_pipe_stops_the_script(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run_piped(
        [address(sim), "-x", "Ping", "-x", "Setvar Variable=AFTER_PIPE Value=1"], tmp_path, 0
    )
    assert status == ExitStatus.OK and err == ""
    host, port = sim.address
    from amishell.client import AMIClient

    with AMIClient("admin", SECRET, host, port, events="off") as other:
        assert not other.action({"Action": "Getvar", "Variable": "AFTER_PIPE"}).value("Value")


def test_stdout_holds_only_answers_meta_notes_go_to_stderr(
    sim: Simulator, tmp_path: Path
) -> None:
    status, out, err = run(
        [address(sim), "-x", ".format json", "-x", "Ping", "-x", ".events off", "-x",
         "CoreSettings"],
        tmp_path,
    )
    assert status == ExitStatus.OK, err
    assert [json.loads(line)["Response"] for line in out.splitlines()] == ["Success"] * 2
    assert "format: json" in err and "events: off" in err


def test_script_errors_name_their_line_and_say_what_is_wrong(
    sim: Simulator, tmp_path: Path
) -> None:
    script = "Ping\n\n.nosuch\nbad line here\nOriginate Chan\n"
    status, out, err = run([address(sim)], tmp_path, stdin=script)
    assert status == ExitStatus.USAGE
    lines = err.splitlines()
    assert lines[0].startswith("amishell: line 3: unknown shell command .nosuch")
    assert lines[1].startswith("amishell: line 4: 'bad' is not an action:")
    assert "/bad line here" in lines[1]
    assert lines[2].startswith("amishell: line 5: 'Chan' is not Key=Value")  # an action
    assert "Ping: Pong" in out


def test_events_are_logged_while_tailing(sim: Simulator, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    stop = threading.Event()

    def user_events() -> None:
        host, port = sim.address
        from amishell.client import AMIClient

        with AMIClient("admin", SECRET, host, port, events="off") as other:
            while not stop.wait(0.05):
                other.action({"Action": "UserEvent", "UserEvent": "Logged"})

    threading.Thread(target=user_events, daemon=True).start()
    try:
        status, out, err = run(
            [address(sim), "--events", "UserEvent", "--count", "2", "--duration", "10",
             "-x", f".log {log}"],
            tmp_path,
        )
    finally:
        stop.set()
    assert status == ExitStatus.OK, err
    assert '"UserEvent": "Logged"' in log.read_text()


def test_events_before_the_host_still_connects_to_the_host(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.burst(2)
    status, out, err = run(["--events", address(sim), "--duration", "0.3"], tmp_path)
    assert status == ExitStatus.OK, err  # not a filter named 127.0.0.1:PORT on localhost
    assert "FullyBooted" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_connect_failures_are_one_line(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interactive shell connects while prompt_toolkit loads: a refused login,
    or a bug on the way, still ends in one line and exit status 3."""
    from amishell.shell.core import Shell

    def run_terminal(**env: str) -> tuple[int, str]:
        environment = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                       "AMI_SECRET": SECRET, "AMI_USER": "admin", **env}
        err = io.StringIO()
        ctx = Context(stdin=_Terminal(), stdout=io.StringIO(), stderr=err, env=environment,
                      tty_path=None)
        return main([address(sim), "--no-history"], ctx), err.getvalue()

    status, err = run_terminal(AMI_SECRET="wrong")
    assert status == ExitStatus.CONNECTION
    assert "Authentication failed" in err and len(err.strip().splitlines()) == 1

    def broken(self: Shell) -> str | None:
        raise RuntimeError("a bug")

    hooked: list[object] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    monkeypatch.setattr(Shell, "connect", broken)
    status, err = run_terminal()
    assert status == ExitStatus.CONNECTION
    assert err.strip() == "amishell: internal error: RuntimeError: a bug"
    assert hooked == []  # nothing escaped the connecting thread


def test_exit_alone_ends_a_script_without_reaching_asterisk(
    sim: Simulator, tmp_path: Path
) -> None:
    status, out, err = run([address(sim)], tmp_path, stdin="Ping\nexit\nCoreSettings\n")
    assert status == ExitStatus.OK, err
    assert "Ping: Pong" in out
    assert "AMIversion" not in out  # nothing ran after exit
    assert "Invalid" not in out + err and "Error" not in out + err  # exit was not an action


def test_a_range_in_a_script_runs_one_action_per_number(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run(
        [address(sim), "--json", "-x", "Setvar Variable=GLOBAL_{1..3} Value=x",
         "-x", ".repeat 2 Ping"],
        tmp_path,
    )
    assert status == ExitStatus.OK, err
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [a.get("Response") for a in answers] == ["Success"] * 5
    assert sum(1 for a in answers if a.get("Ping") == "Pong") == 2
