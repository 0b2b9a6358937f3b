"""Connecting: the command line's and ``.connect``'s options, profiles, secrets, TLS."""

from __future__ import annotations

import io
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from amishell.__main__ import main
from amishell.shell.context import Context, ExitStatus
from amishell.simulator import Simulator

SECRET = "s3cret-admin"


def run(argv: list[str], tmp_path: Path, stdin: str = "", terminal: bool = False,
        **env: str) -> tuple[int, str, str]:
    environment = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "AMI_SECRET": SECRET,
        "AMI_USER": "admin",
    }
    environment.update(env)
    environment = {k: v for k, v in environment.items() if v != "-"}
    out, err = io.StringIO(), io.StringIO()
    source = _Terminal(stdin) if terminal else io.StringIO(stdin)
    ctx = Context(stdin=source, stdout=out, stderr=err, env=environment, tty_path=None)
    status = main(argv, ctx)
    return status, out.getvalue(), err.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def address(sim: Simulator) -> str:
    host, port = sim.address
    return f"{host}:{port}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "other.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def tls_sim(sim_factory: Callable[..., Simulator], tmp_path: Path) -> tuple[Simulator, Path]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return sim_factory(ssl_context=server), pem


# -- .connect takes the command line's options (bug 2) --------------------------------


def test_connect_refuses_an_unknown_option_in_one_line_exit_2(
    sim: Simulator, tmp_path: Path
) -> None:
    status, out, err = run(
        [address(sim), "-x", f".connect {address(sim)} --bogus-flag", "-x", "Ping"], tmp_path
    )
    assert status == ExitStatus.USAGE
    assert "--bogus-flag" in err and len(err.strip().splitlines()) == 1, err
    assert "Ping: Pong" in out  # the session it had goes on


def test_connect_takes_tls_options(
    sim: Simulator, sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    secure, pem = tls_sim(sim_factory, tmp_path)
    status, out, err = run(
        [address(sim), "-x", f".connect {address(secure)} -u admin --tls-ca {pem}",
         "-x", ".status"],
        tmp_path,
    )
    assert status == ExitStatus.OK, err
    assert f"connected: admin@{address(secure)} (TLS)" in out


def test_connect_profile_comes_from_the_config_the_shell_started_with(
    sim: Simulator, sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    second = sim_factory()
    host, port = second.address
    config = write_config(
        tmp_path,
        f'[profiles.second]\nhost = "{host}"\nport = {port}\nusername = "monitor"\n'
        'secret = "m0nitor"\n',
    )
    status, out, err = run(
        [address(sim), "--config", str(config), "-x", ".connect second", "-x", ".status"],
        tmp_path,
    )
    assert status == ExitStatus.OK, err
    assert f"connected: monitor@{address(second)}" in out


def test_port_in_the_address_and_a_different_dash_p_are_refused(
    sim: Simulator, tmp_path: Path
) -> None:
    status, _, err = run([address(sim), "-p", "5039", "-x", "Ping"], tmp_path)
    assert status == ExitStatus.USAGE
    assert "two ports" in err
    status, _, err = run([address(sim), "-x", f".connect {address(sim)} -p 5039"], tmp_path)
    assert status == ExitStatus.USAGE and "two ports" in err


# -- a secret belongs to one user on one server (bug 3) --------------------------------


def test_ami_secret_is_not_reused_for_another_user(sim: Simulator, tmp_path: Path) -> None:
    status, out, err = run(
        [address(sim), "-x", f".connect {address(sim)} -u monitor", "-x", ".status"],
        tmp_path, stdin="m0nitor\n",
    )
    assert status == ExitStatus.OK, err
    assert "Secret for monitor@" in err
    assert f"connected: monitor@{address(sim)}" in out


def test_a_profiles_secret_is_not_reused_for_another_user(
    sim: Simulator, tmp_path: Path
) -> None:
    host, port = sim.address
    config = write_config(
        tmp_path,
        f'[profiles.office]\nhost = "{host}"\nport = {port}\nusername = "admin"\n'
        f'secret = "{SECRET}"\n',
    )
    status, out, err = run(
        ["office", "--config", str(config), "-u", "monitor", "-x", ".status"],
        tmp_path, stdin="m0nitor\n", AMI_SECRET="-",
    )
    assert status == ExitStatus.OK, err
    assert "Secret for monitor@" in err and "monitor@" in out


# -- .connect: the session's user, the host checked first (bug 4) ---------------------


def test_connect_without_u_is_the_sessions_user(
    sim: Simulator, sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    second = sim_factory()
    status, out, err = run(
        [address(sim), "-u", "admin", "-x", f".connect {address(second)}", "-x", ".status"],
        tmp_path, AMI_USER="-",
    )
    assert status == ExitStatus.OK, err
    assert "Username" not in err and "Secret" not in err  # nothing asked
    assert f"connected: admin@{address(second)}" in out


def test_a_host_that_does_not_answer_fails_before_anything_is_asked(
    sim: Simulator, tmp_path: Path
) -> None:
    where = f"127.0.0.1:{closed_port()}"
    status, out, err = run(
        [address(sim), "-x", f".connect {where} -u monitor", "-x", "Ping"], tmp_path,
        stdin="m0nitor\n",
    )
    assert status == ExitStatus.CONNECTION
    assert "Secret for" not in err and where in err, err
    assert "Ping: Pong" in out
    status, _, err = run([where], tmp_path, stdin="admin\n", AMI_USER="-", terminal=True)
    assert status == ExitStatus.CONNECTION
    assert "Username for" not in err and where in err, err


# -- --config and profile names (bug 11) -----------------------------------------------


def test_a_missing_config_file_is_an_error_naming_it(sim: Simulator, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    status, _, err = run([address(sim), "--config", str(missing), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.USAGE
    assert str(missing) in err and "does not exist" in err


def test_a_misspelt_profile_is_offered_not_taken_for_a_host(
    sim: Simulator, tmp_path: Path
) -> None:
    host, port = sim.address
    config = write_config(
        tmp_path, f'[profiles.office]\nhost = "{host}"\nport = {port}\n'
    )
    status, _, err = run(["ofice", "--config", str(config), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.USAGE
    assert "did you mean 'office'" in err
    status, _, err = run(
        [address(sim), "--config", str(config), "-x", ".connect offce"], tmp_path
    )
    assert status == ExitStatus.USAGE and "did you mean 'office'" in err
    status, out, err = run(["office", "--config", str(config), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.OK and "Ping: Pong" in out, err


# -- TLS with a CA of one's own (friction 3) -------------------------------------------


def test_tls_ca_option_and_profile_key_verify_the_server(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    secure, pem = tls_sim(sim_factory, tmp_path)
    status, out, err = run([address(secure), "--tls-ca", str(pem), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.OK, err
    assert "Ping: Pong" in out
    other = trustme.CA()
    wrong = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(wrong))
    status, _, err = run([address(secure), "--tls-ca", str(wrong), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.CONNECTION and "did not verify" in err
    host, port = secure.address
    config = write_config(
        tmp_path, f'[profiles.pbx]\nhost = "{host}"\nport = {port}\ntls_ca = "{pem}"\n'
    )
    status, out, err = run(["pbx", "--config", str(config), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.OK and "Ping: Pong" in out, err
    missing = tmp_path / "missing-ca.pem"
    status, _, err = run([address(secure), "--tls-ca", str(missing), "-x", "Ping"], tmp_path)
    assert status == ExitStatus.USAGE and str(missing) in err


# -- a wrong secret (frictions 5 and 9) ------------------------------------------------


def test_a_refused_login_names_both_causes(sim: Simulator, tmp_path: Path) -> None:
    status, _, err = run([address(sim), "-x", "Ping"], tmp_path, AMI_SECRET="wrong")
    assert status == ExitStatus.CONNECTION
    assert "Authentication failed" in err
    assert "wrong secret" in err and "permit/deny" in err


def test_a_secret_typed_wrong_is_asked_again_three_tries(
    sim: Simulator, tmp_path: Path
) -> None:
    status, _, err = run(
        [address(sim), "--no-history"], tmp_path, stdin="w1\nw2\nw3\nw4\n", terminal=True,
        AMI_SECRET="-",
    )
    assert status == ExitStatus.CONNECTION
    assert err.count("Secret for admin@") == 3, err
    assert err.count("Authentication failed") == 3


def test_a_script_with_a_wrong_secret_fails_at_once(sim: Simulator, tmp_path: Path) -> None:
    status, _, err = run(
        [address(sim), "-x", "Ping"], tmp_path, stdin="w1\nw2\n", AMI_SECRET="-"
    )
    assert status == ExitStatus.CONNECTION
    assert err.count("Secret for admin@") == 1, err


# -- the one option parser, without a server ------------------------------------------


def test_connect_options_parse_as_the_command_lines() -> None:
    from amishell.shell.config import Config, Target
    from amishell.shell.options import OptionError, choose_target, parse_connect

    base = Target(host="pbx", port=5038, username="admin", secret="s")
    opts = parse_connect(["--tls", "-u", "monitor"])
    t = choose_target(Config(), opts, base)
    assert (t.host, t.port, t.tls, t.username, t.secret) == ("pbx", 5039, True, "monitor", None)
    assert (base.port, base.tls, base.username) == (5038, False, "admin")  # left alone
    t = choose_target(Config(), parse_connect(["other:6000", "--md5"]), base)
    assert (t.host, t.port, t.md5, t.username) == ("other", 6000, True, None)
    for words in (["--tls-ca"], ["-p"], ["a", "b"], ["--secret", "x"], ["-p", "x"]):
        with pytest.raises(OptionError):
            parse_connect(words)
