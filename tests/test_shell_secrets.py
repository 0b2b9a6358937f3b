"""The manager secret never leaves the shell (issue 5, shell side).

Scripted sessions write every artefact they can (debug transcript, event log,
JSON output, stdout, stderr, history) and each is grepped for the secret; the
echo of a block being typed stars it out; files are created private; weak
secrets are starred without garbling the rest of the output.
"""

from __future__ import annotations

import io
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from scripted import wait_until
from test_shell_app import SECRET, Harness, harness  # noqa: F401
from test_shell_cli import address, run

from amishell.client import AMIClient
from amishell.shell.app import InteractiveShell
from amishell.shell.config import Target
from amishell.shell.context import Context, ExitStatus
from amishell.shell.core import Shell
from amishell.shell.history import MaskedMemoryHistory
from amishell.simulator import Simulator

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def every_file(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_text(encoding="utf-8", errors="replace")


def send_user_events(sim: Simulator, stop: threading.Event) -> None:
    """Another manager raises UserEvents that carry the secret, until ``stop``."""
    host, port = sim.address
    with AMIClient("admin", SECRET, host, port, events="off") as other:
        while not stop.wait(0.05):
            other.action({"Action": "UserEvent", "UserEvent": "Echo", "Secret": SECRET,
                          "Note": f"the secret is {SECRET}"})


def test_scripted_session_leaves_the_secret_in_no_artefact(
    sim: Simulator, tmp_path: Path
) -> None:
    transcript, log = tmp_path / "debug.txt", tmp_path / "events.jsonl"
    script = f"""\
.debug {transcript}
.log {log}
.format json
UserEvent UserEvent=Typed Secret={SECRET}
Action: UserEvent
UserEvent: Block
Secret: {SECRET}

Setvar Variable=LEAK Value={SECRET}
Getvar Variable=LEAK
Login Username=admin Secret={SECRET}
Originate Channel={SECRET}
/core show version
.status
"""
    status, out, err = run([address(sim)], tmp_path, stdin=script)
    assert status == ExitStatus.USAGE, err  # the Login was refused; all else ran
    assert '"Value": "********"' in out  # the server echoed it: starred in the JSON
    assert ">> Secret: ********" in transcript.read_text()

    stop = threading.Event()
    sender = threading.Thread(target=send_user_events, args=(sim, stop), daemon=True)
    sender.start()
    try:
        status, events, err2 = run(
            [address(sim), "--events", "UserEvent=Echo", "--json", "--count", "3",
             "--duration", "10", "-x", f".log {log}", "-x", f".debug {transcript}"],
            tmp_path,
        )
    finally:
        stop.set()
        sender.join(5)
    assert status == ExitStatus.OK, err2
    assert events.count('"UserEvent": "Echo"') == 3
    assert '"Secret": "********"' in events
    assert "Echo" in log.read_text()

    artefacts = {"stdout": out + events, "stderr": err + err2}
    artefacts.update({str(p): text for p, text in every_file(tmp_path)})
    assert str(transcript) in artefacts and str(log) in artefacts
    for name, text in artefacts.items():
        assert SECRET not in text, name


def test_json_output_in_the_shell_hides_the_secret(
    harness: Callable[..., Harness], sim: Simulator  # noqa: F811
) -> None:
    h = harness(sim)
    h.type(f".format json\rSetvar Variable=LEAK Value={SECRET}\r")
    mark = h.wait_for('"Message": "Variable Set"')
    h.type("Getvar Variable=LEAK\r")
    h.wait_for('"Value": "********"', after=mark)
    assert SECRET not in h.text + h.err.getvalue()


def test_secret_and_key_typed_in_a_block_are_starred_in_the_echo_and_history(
    sim: Simulator,
) -> None:
    host, port = sim.address
    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=30, columns=100), term="xterm")
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)
    target = Target(host=host, port=port, username="admin", keepalive=0, timeout=5.0)
    shell = Shell(ctx, target, username="admin", secret=SECRET)
    assert shell.connect() is None
    history = MaskedMemoryHistory()
    with create_pipe_input() as pipe:
        app = InteractiveShell(shell, ctx, history, pt_input=pipe, pt_output=output,
                               tick=0.02, color=False)
        result: list[object] = []
        thread = threading.Thread(target=lambda: result.append(_run(app)), daemon=True)
        thread.start()
        try:
            pipe.send_text("Action: UserEvent\rUserEvent: x\rSecret: hunter22")
            _wait(lambda: "Secret: ********" in ANSI.sub("", screen.getvalue()))
            pipe.send_text("\r\r")
            _wait(lambda: "Event Sent" in ctx.stdout.getvalue())
            pipe.send_text("Action: Login\rUsername: admin\rKey: 0123abcd")
            _wait(lambda: "Key: ********" in ANSI.sub("", screen.getvalue()))
            pipe.send_text("\r\r")
            _wait(lambda: "already logging in" in ctx.stdout.getvalue())
            pipe.send_text("\x04")
            thread.join(5)
        finally:
            shell.close()
    assert not thread.is_alive()
    shown = ANSI.sub("", screen.getvalue()) + ctx.stdout.getvalue()
    assert "hunter22" not in shown and "0123abcd" not in shown
    typed = list(history.get_strings())
    assert any("Secret: ********" in entry for entry in typed), typed
    assert any("Key: ********" in entry for entry in typed), typed
    assert not any("hunter22" in e or "0123abcd" in e for e in typed)


def _run(app: InteractiveShell) -> object:
    import asyncio

    return asyncio.run(app.run())


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    assert wait_until(condition, timeout, 0.01), "timed out"


def test_debug_transcript_and_event_log_are_private_even_if_they_existed(
    harness: Callable[..., Harness], tmp_path: Path  # noqa: F811
) -> None:
    transcript, log = tmp_path / "debug.txt", tmp_path / "events.jsonl"
    fresh = tmp_path / "fresh.txt"
    for path in (transcript, log):
        path.write_text("")
        path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        h = harness()
        h.type(f".debug {transcript}\r.log {log}\r")
        h.wait_for("logging every event")
        h.type(f".debug {fresh}\r")
        h.wait_for(f"transcript to {fresh}")
    finally:
        os.umask(old_umask)
    for path in (transcript, log, fresh):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_debug_on_asks_for_a_file_instead_of_writing_one_called_on(
    harness: Callable[..., Harness], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    monkeypatch.chdir(tmp_path)
    h = harness()
    h.type(".debug on\r")
    h.wait_for("error: give the transcript a file: .debug FILE")
    assert not (tmp_path / "on").exists()
    assert h.shell.debug_file is None


def test_weak_secrets_are_starred_as_tokens_without_garbling_the_output() -> None:
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=None)

    def shell(secret: str, user: str = "admin") -> Shell:
        return Shell(ctx, Target(username=user), username=user, secret=secret)

    weak = shell("secret")
    assert weak.redact(".history  the last lines typed (secrets masked)") == (
        ".history  the last lines typed (secrets masked)"
    )
    assert weak.redact("Secret: secret\n") == "Secret: ********\n"
    assert weak.redact('{"Value": "secret"}') == '{"Value": "********"}'
    assert weak.redact("Note=the secret is secret.") == "Note=the ******** is ********."
    digits = shell("1234")
    assert digits.redact("Uniqueid: 1795693258.1234") == "Uniqueid: 1795693258.1234"
    assert digits.redact("Channel: Local/1234@demo-00000001;1") == (
        "Channel: Local/1234@demo-00000001;1"
    )
    assert digits.redact("Value: 1234") == "Value: ********"
    same = shell("admin", user="admin")  # the user name is shown everywhere anyway
    assert same.redact("logged in as admin") == "logged in as admin"
