"""The ``amishell`` command: parse the command line, then hand over to the shell.

    amishell [HOST[:PORT] | PROFILE] [-p PORT] [-u USER] [--tls] [--tls-insecure]
             [--tls-ca FILE] [--md5]
             [--demo] [-x LINE]... [--events [FILTER]] [--json] [--count N] [--duration S]
             [--read-only] [--confirm] [--yes]
             [--record FILE] [--replay FILE [--speed N]]
    amishell [TARGET] --stat [--json] [--count N] [--duration S]

The secret never comes from the command line: a profile (``secret_command``,
``secret``, ``secret_file``), ``AMI_SECRET``, or a prompt on the terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .shell.context import Context, ExitStatus
from .shell.options import add_connection_options

if TYPE_CHECKING:
    from .shell.config import Config, Target
    from .shell.connection import Login
    from .shell.core import Shell

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(ExitStatus.USAGE, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="amishell",
        description="An interactive shell for the Asterisk Manager Interface (AMI).",
        epilog="The secret comes from the profile, AMI_SECRET, or a prompt (never an argument)."
        " Exit status: 0 all well, 1 an action answered Error, 2 usage error or refused,"
        " 3 connection or login failed.",
    )
    p.add_argument("target", nargs="?", metavar="HOST[:PORT]|PROFILE",
                   help="a profile from the config file, else a host (default localhost)")
    add_connection_options(p)
    p.add_argument("--demo", action="store_true",
                   help="start a simulated PBX with call traffic and connect to it")
    p.add_argument("-x", dest="lines", action="append", metavar="LINE",
                   help="run LINE (an action, /CLI command or .command) and exit; repeatable")
    p.add_argument("--events", nargs="?", const="", metavar="FILTER",
                   help="print events (optionally only those matching FILTER) and exit")
    p.add_argument("--stat", action="store_true",
                   help="one line a second: channels, calls, events/s, actions/s, Ping round trip")
    p.add_argument("--json", action="store_true", help="JSON output (JSON Lines for events)")
    p.add_argument("--count", type=int, metavar="N",
                   help="with --events: stop after N events (--stat: N lines)")
    p.add_argument("--duration", type=float, metavar="S",
                   help="with --events or --stat: stop after S seconds")
    p.add_argument("--read-only", action="store_true",
                   help="send only what changes nothing on the PBX (wins over --yes)")
    p.add_argument("--confirm", action="store_true",
                   help="a production server: ask y/N before what changes the PBX")
    p.add_argument("--yes", action="store_true",
                   help="with confirmation on: send without asking (scripts refuse otherwise)")
    p.add_argument("--record", metavar="FILE",
                   help="capture the session's traffic to FILE (JSON Lines, secrets starred)")
    p.add_argument("--replay", metavar="FILE",
                   help="open the shell on a capture (or a .log event file), no server needed")
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="with --replay: N times the recorded pace (0: as fast as possible)")
    p.add_argument("--config", metavar="PATH", help="config file (default: XDG location)")
    p.add_argument("--no-history", action="store_true", help="do not read or write history")
    p.add_argument("--version", action="version", version=f"amishell {__version__}")
    return p


def main(argv: Sequence[str] | None = None, ctx: Context | None = None) -> int:
    ctx = ctx or Context()
    args = build_parser().parse_args(argv)
    # The socket reader thread must get the interpreter back quickly while the
    # screen side works through a flood of events (Asterisk drops a session that
    # reads more than 100 ms behind): switch threads every 1 ms, not 5 ms.
    sys.setswitchinterval(0.001)
    try:
        return int(_run(args, ctx))
    except KeyboardInterrupt:
        ctx.error("interrupted")
        return int(ExitStatus.CONNECTION)
    except BrokenPipeError:  # the reader of our output went away (| head): not an error
        ctx.silence_stdout()
        return int(ExitStatus.OK)
    except Exception as e:  # a bug: one line, never a traceback
        ctx.error(f"internal error: {type(e).__name__}: {e}")
        return int(ExitStatus.INTERNAL)


def _run(args: argparse.Namespace, ctx: Context) -> ExitStatus:
    from .errors import AMIError
    from .shell.config import ConfigError, load_config
    from .shell.logins import gather
    from .shell.options import choose_target

    if args.count is not None and args.count < 1:
        ctx.error("--count must be at least 1")
        return ExitStatus.USAGE
    if args.stat and (args.events is not None or args.lines):
        ctx.error("--stat runs alone: not with --events or -x")
        return ExitStatus.USAGE
    if (args.count is not None or args.duration is not None) and args.events is None and (
        not args.stat
    ):
        ctx.error("--count and --duration go with --events or --stat")
        return ExitStatus.USAGE
    try:
        config = load_config(ctx.env, args.config)
        _events_or_target(args, config.profiles)
        target = choose_target(config, args)
    except ConfigError as e:
        ctx.error(str(e))
        return ExitStatus.USAGE
    if args.json:
        target.format = "json"
    if args.read_only:
        target.read_only = True
    if args.confirm:
        target.confirm = True
    batch = bool(args.lines) or args.events is not None or not ctx.stdin_isatty
    demo: Any = None
    if args.replay:
        from .replay import RecordingError
        from .replay.shell import start_replay

        if args.speed < 0:
            ctx.error("--speed must be 0 (as fast as possible) or more")
            return ExitStatus.USAGE
        try:
            demo, secret = start_replay(args.replay, 0.0 if batch else args.speed, target, ctx)
            args.replay_server = demo
            assert target.username is not None
            login, asked = _login(target, target.username, secret), False
        except RecordingError as e:
            ctx.error(str(e))
            return ExitStatus.USAGE
        except OSError as e:
            ctx.error(f"cannot replay {args.replay}: {e.strerror or e}")
            return ExitStatus.USAGE
    elif args.demo:
        demo, secret = _start_demo(target, ctx)
        assert target.username is not None
        login, asked = _login(target, target.username, secret), False
    else:
        try:
            login, asked = gather(target, ctx, user=ctx.env.get("AMI_USER") or None)
        except ConfigError as e:
            ctx.error(str(e))
            return ExitStatus.USAGE
        except AMIError as e:
            ctx.error(str(e))
            return ExitStatus.CONNECTION
    try:
        if args.stat:
            from .shell.stat import run_stat

            login.target.username = login.username
            return run_stat(ctx, login.target, login.secret, json_out=args.json,
                            count=args.count, duration=args.duration)
        if batch:
            return _batch(args, ctx, login, config)
        return _interactive(args, ctx, login, config, asked)
    finally:
        if demo is not None:
            demo.stop()


def _login(target: Target, username: str, secret: str) -> Login:
    from .shell.connection import Login

    return Login(target, username, secret)


def _events_or_target(args: argparse.Namespace, profiles: dict[str, Any]) -> None:
    """``amishell --events pbx.example.com``: argparse takes the host for the optional
    FILTER. A word that names a profile or looks like an address (no event name has a
    dot or a colon, and no filter lacks ``=``, ``*`` or ``,`` then) is the target."""
    word = args.events
    if args.target is not None or not word:
        return
    looks_like_address = any(c in word for c in ".:") and not any(c in word for c in "=*?,![")
    if word in profiles or looks_like_address:
        args.target, args.events = word, ""


def _start_demo(target: Target, ctx: Context) -> tuple[Any, str]:
    import secrets

    from .simulator import Simulator, User
    secret = secrets.token_hex(8)
    sim = Simulator("127.0.0.1", 0, {"demo": User(secret)}, call_rate=0.5, time_scale=1.0)
    host, port = sim.start()
    target.host, target.port, target.username = host, port, "demo"
    target.tls = target.md5 = False
    target.secret_command = target.secret_file = None
    # A calm start: the calls' events are kept and counted, not scrolled past.
    target.event_display = "off"
    ctx.stderr.write(
        f"demo: a simulated PBX on {host}:{port} with background calls;"
        " try CoreShowChannels, /core show channels, .help\n"
        "demo: events are off for a calm start: .events last 50 shows the latest,"
        " .events on shows them as they come\n"
    )
    return sim, secret


def _interactive(
    args: argparse.Namespace,
    ctx: Context,
    login: Login,
    config: Config,
    asked: bool,
) -> ExitStatus:
    import threading

    from .shell.core import Shell  # no terminal library: quick

    names = sorted(config.profiles)
    shell = Shell(ctx, login.target, username=login.username, secret=login.secret,
                  profiles=lambda: names, config=config)
    shell.guard.yes = args.yes
    if not _start_record(args, ctx, shell):
        return ExitStatus.USAGE
    # Connect and log in while prompt_toolkit loads: the waits for the server
    # overlap the imports, and the prompt is ready that much sooner.
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            outcome.append(shell.connect())
        except Exception as e:  # a bug: reported as one line by the caller
            outcome.append(f"internal error: {type(e).__name__}: {e}")

    connecting = threading.Thread(target=connect, name="amishell-connect", daemon=True)
    connecting.start()
    from .shell.app import run_interactive
    from .shell.config import data_dir
    from .shell.history import open_history

    connecting.join()
    error = outcome[0] if outcome else "connection failed"
    if error is not None and asked:
        error = _ask_again(shell, ctx, login, error)
    if error is not None:
        ctx.error(error)
        shell.close()
        return ExitStatus.CONNECTION
    directory = None if args.no_history or not login.target.history else data_dir(ctx.env)
    history = open_history(directory)
    return run_interactive(shell, ctx, history, shell.banner())


def _ask_again(shell: Shell, ctx: Context, login: Login, error: str | None) -> str | None:
    """A secret typed at the prompt and refused: ask again, up to three tries in all
    (as ssh does); the last error, or None once a login worked."""
    from .shell.config import ConfigError
    from .shell.logins import TRIES, ask_secret

    for _ in range(TRIES - 1):
        if error is None or not shell.refused:
            return error
        ctx.error(error)
        try:
            secret = ask_secret(ctx, login.target, login.username)
        except ConfigError as e:
            return str(e)
        login = login._replace(secret=secret)
        error = shell.connect(login)
        if error is None:
            return None
    return error


def _batch(args: argparse.Namespace, ctx: Context, login: Login, config: Config) -> ExitStatus:
    from .shell.batch import EventTail, run_batch
    from .shell.core import Shell
    from .shell.events import EventFilter

    target = login.target
    target.reconnect = False
    target.keepalive = 0 if args.events is None else target.keepalive
    tail = None
    if args.events is not None:
        try:
            flt = EventFilter(args.events) if args.events.strip() else None
        except ValueError as e:
            ctx.error(str(e))
            return ExitStatus.USAGE
        tail = EventTail(flt, args.count, args.duration)
    elif not args.replay:
        target.events = "off"
    shell: Shell
    if args.replay:
        from .replay.shell import ReplayedShell

        shell = ReplayedShell(ctx, target, username=login.username, secret=login.secret,
                              server=args.replay_server, config=config)
    else:
        shell = Shell(ctx, target, username=login.username, secret=login.secret, config=config)
    shell.guard.yes = args.yes
    if not _start_record(args, ctx, shell):
        return ExitStatus.USAGE
    script = None if args.lines or tail is not None else ctx.stdin
    return run_batch(shell, ctx, lines=args.lines, script=script, tail=tail)


def _start_record(args: argparse.Namespace, ctx: Context, shell: Any) -> bool:
    """``--record FILE``: the capture, before the connection opens."""
    if not args.record:
        return True
    import os

    from .shell.tracecmd import open_capture

    path = os.path.expanduser(args.record)
    try:
        shell.capture = open_capture(shell, path)
    except OSError as e:
        ctx.error(f"cannot record to {path}: {e.strerror}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
