"""Config file, profiles, secret sources, permission checks, history files."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from amishell.shell.asking import resolve_secret, resolve_username
from amishell.shell.config import (
    ConfigError,
    Target,
    config_path,
    load_config,
    parse_hostport,
)
from amishell.shell.context import Context
from amishell.shell.history import MaskedFileHistory


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> dict[str, str]:
    path = tmp_path / "cfg" / "amishell" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path)}


def ctx_with(env: dict[str, str], stdin: str = "") -> Context:
    return Context(
        stdin=io.StringIO(stdin), stdout=io.StringIO(), stderr=io.StringIO(), env=env,
        tty_path=None,
    )


CONFIG = """
[defaults]
format = "json"
keepalive = 5

[profiles.office]
host = "pbx.example.com"
port = 5039
username = "admin"
tls = true
secret_command = "echo from-command"
event_filter = "Hangup"
"""


def test_profile_merged_over_defaults(tmp_path: Path) -> None:
    env = write_config(tmp_path, CONFIG, 0o644)  # no secret in it: readable is fine
    cfg = load_config(env)
    t = cfg.target("office")
    assert (t.host, t.port, t.username, t.tls, t.profile) == ("pbx.example.com", 5039, "admin",
                                                               True, "office")
    assert t.format == "json" and t.keepalive == 5 and t.event_filter == "Hangup"
    assert resolve_secret(t, ctx_with(env)) == "from-command"


def test_a_bare_word_is_a_host_unless_a_profile(tmp_path: Path) -> None:
    env = write_config(tmp_path, CONFIG)
    cfg = load_config(env)
    t = cfg.target("10.0.0.5:6000")
    assert (t.host, t.port, t.profile) == ("10.0.0.5", 6000, None)
    assert cfg.target(None).host == "localhost"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("pbx", ("pbx", None)), ("pbx:5038", ("pbx", 5038)), ("[::1]:5039", ("::1", 5039)),
     ("::1", ("::1", None)), ("[fe80::1]", ("fe80::1", None))],
)
def test_hostport(word: str, expected: tuple[str, int | None]) -> None:
    assert parse_hostport(word) == expected


@pytest.mark.parametrize("word", ["pbx:x", "pbx:0", "pbx:70000", "[::1]x"])
def test_bad_hostport(word: str) -> None:
    with pytest.raises(ConfigError):
        parse_hostport(word)


def test_config_with_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    env = write_config(tmp_path, '[profiles.p]\nsecret = "s3cret"\n', 0o644)
    with pytest.raises(ConfigError) as info:
        load_config(env)
    text = str(info.value)
    assert "chmod 600" in text and config_path(env) in text
    assert "s3cret" not in text


def test_private_config_with_a_secret_is_used_and_never_shown(tmp_path: Path) -> None:
    env = write_config(tmp_path, '[profiles.p]\nusername = "u"\nsecret = "s3cret"\n')
    cfg = load_config(env)
    t = cfg.target("p")
    assert resolve_secret(t, ctx_with(env)) == "s3cret"
    assert "s3cret" not in repr(t) and "s3cret" not in repr(cfg)


def test_secret_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("filesecret\n")
    secret.chmod(0o640)
    t = Target(username="u", secret_file=str(secret))
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve_secret(t, ctx_with({}))
    secret.chmod(0o600)
    assert resolve_secret(t, ctx_with({})) == "filesecret"


def test_secret_from_env_then_prompt() -> None:
    t = Target(username="u")
    assert resolve_secret(t, ctx_with({"AMI_SECRET": "envsecret"})) == "envsecret"
    ctx = ctx_with({}, stdin="typed\n")
    assert resolve_secret(t, ctx) == "typed"
    assert "Secret for u@localhost:5038" in ctx.stderr.getvalue()  # type: ignore[attr-defined]


def test_failing_secret_command_is_a_clear_error() -> None:
    t = Target(username="u", secret_command="exit 3")
    with pytest.raises(ConfigError, match="status 3"):
        resolve_secret(t, ctx_with({}))


def test_username_sources() -> None:
    assert resolve_username(Target(username="a"), ctx_with({"AMI_USER": "b"})) == "a"
    assert resolve_username(Target(), ctx_with({"AMI_USER": "b"})) == "b"
    assert resolve_username(Target(), ctx_with({}, stdin="c\n")) == "c"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[profiles.p]\nhots = 'x'\n", "unknown setting 'hots'"),
        ("[profiles.p]\nport = 'x'\n", "wrong type"),
        ("not toml [", "config.toml"),
        ("profiles = 3\n", "must be tables"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    env = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(env)


def test_history_file_is_private_and_masked(tmp_path: Path) -> None:
    path = tmp_path / "data" / "amishell" / "history"
    history = MaskedFileHistory(str(path))
    history.append_string("Login Username=admin Secret=hunter2")
    history.append_string("Action: Login\nUsername: admin\nSecret: hunter2")
    text = path.read_text()
    assert "hunter2" not in text
    assert "Username=admin" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert all("hunter2" not in s for s in history.get_strings())


def test_existing_loose_history_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("")
    path.chmod(0o644)
    MaskedFileHistory(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_asking_on_a_real_terminal(tmp_path: Path) -> None:
    """The questions go to the terminal, even when stdin is a script; the secret is
    typed without echo. (A buffered file on a terminal cannot even be opened r+.)"""
    import pty
    import select
    import termios
    import threading
    import time

    master, slave = pty.openpty()
    ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                  tty_path=os.ttyname(slave))
    answers: list[object] = []

    def ask_both() -> None:
        try:
            answers.append(resolve_username(Target(), ctx))
            answers.append(resolve_secret(Target(username="bob"), ctx))
        except Exception as e:  # the assertion below shows it
            answers.append(e)

    asker = threading.Thread(target=ask_both, daemon=True)
    asker.start()
    seen = b""
    deadline = time.monotonic() + 5
    try:
        for prompt, answer in ((b"Username for", b"bob\n"), (b"Secret for bob@", b"pw\n")):
            while prompt not in seen:
                assert time.monotonic() < deadline, (seen, answers)
                if select.select([master], [], [], 0.05)[0]:
                    seen += os.read(master, 1024)
            if b"Secret" in prompt:
                while termios.tcgetattr(slave)[3] & termios.ECHO:  # wait for echo off
                    assert time.monotonic() < deadline
                    time.sleep(0.005)
            os.write(master, answer)
        asker.join(5)
    finally:
        os.close(master)
        os.close(slave)
    assert answers == ["bob", "pw"]
