"""The ``amishell`` command: parse the command line, then hand over to the shell.

    amishell [HOST[:PORT] | PROFILE] [-p PORT] [-u USER] [--tls] [--tls-insecure] [--md5]
             [--demo] [-x LINE]... [--events [FILTER]] [--json] [--count N] [--duration S]
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

if TYPE_CHECKING:
    from .shell.config import Target

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
        " Exit status: 0 all well, 1 an action answered Error, 2 usage error,"
        " 3 connection or login failed.",
    )
    p.add_argument("target", nargs="?", metavar="HOST[:PORT]|PROFILE",
                   help="a profile from the config file, else a host (default localhost)")
    p.add_argument("-p", "--port", type=int, help="port (default 5038, 5039 with --tls)")
    p.add_argument("-u", "--user", help="manager user (default: profile, AMI_USER, or asked)")
    p.add_argument("--tls", action="store_true", default=None, help="connect over TLS")
    p.add_argument("--tls-insecure", action="store_true", default=None,
                   help="TLS without verifying the server certificate")
    p.add_argument("--md5", action="store_true", default=None,
                   help="MD5 challenge login (the secret never crosses the wire)")
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
    from .shell.config import ConfigError, load_config, resolve_secret, resolve_username

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
        target = config.target(args.target)
    except ConfigError as e:
        ctx.error(str(e))
        return ExitStatus.USAGE
    _apply_flags(target, args)
    batch = bool(args.lines) or args.events is not None or not ctx.stdin_isatty
    demo = None
    if args.demo:
        demo, secret = _start_demo(target, ctx)
    else:
        try:
            target.username = resolve_username(target, ctx)
            secret = resolve_secret(target, ctx)
        except ConfigError as e:
            ctx.error(str(e))
            return ExitStatus.USAGE
    try:
        if args.stat:
            from .shell.stat import run_stat

            return run_stat(ctx, target, secret, json_out=args.json, count=args.count,
                            duration=args.duration)
        if batch:
            return _batch(args, ctx, target, secret)
        return _interactive(args, ctx, target, secret, config.profiles)
    finally:
        if demo is not None:
            demo.stop()


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


def _apply_flags(target: Target, args: argparse.Namespace) -> None:
    from .shell.config import DEFAULT_TLS_PORT, parse_hostport

    if args.tls or args.tls_insecure:
        target.tls = True
        typed_port = args.target is not None and target.profile is None and (
            parse_hostport(args.target)[1] is not None
        )
        if args.port is None and target.profile is None and not typed_port:
            target.port = DEFAULT_TLS_PORT
    if args.tls_insecure:
        target.tls_insecure = True
    if args.md5:
        target.md5 = True
    if args.port is not None:
        target.port = args.port
    if args.user:
        target.username = args.user
    if args.json:
        target.format = "json"


def _start_demo(target: Target, ctx: Context) -> tuple[Any, str]:
    import secrets

    from .simulator import Simulator, User
    secret = secrets.token_hex(8)
    sim = Simulator("127.0.0.1", 0, {"demo": User(secret)}, call_rate=0.5, time_scale=1.0)
    host, port = sim.start()
    target.host, target.port, target.username = host, port, "demo"
    target.tls = target.md5 = False
    target.secret_command = target.secret_file = None
    ctx.stderr.write(
        f"demo: a simulated PBX on {host}:{port} with background calls;"
        " try CoreShowChannels, /core show channels, .help\n"
    )
    return sim, secret


def _interactive(
    args: argparse.Namespace,
    ctx: Context,
    target: Target,
    secret: str,
    profiles: dict[str, Any],
) -> ExitStatus:
    import threading

    from .shell.core import Shell  # no terminal library: quick

    assert target.username is not None
    names = sorted(profiles)
    shell = Shell(ctx, target, username=target.username, secret=secret, profiles=lambda: names)
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
    if error is not None:
        ctx.error(error)
        shell.close()
        return ExitStatus.CONNECTION
    directory = None if args.no_history or not target.history else data_dir(ctx.env)
    history = open_history(directory)
    shell.history_path = getattr(history, "filename", None)
    return run_interactive(shell, ctx, history, shell.banner())


def _batch(args: argparse.Namespace, ctx: Context, target: Target, secret: str) -> ExitStatus:
    from .shell.batch import EventTail, run_batch
    from .shell.core import Shell
    from .shell.events import EventFilter

    assert target.username is not None
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
    else:
        target.events = "off"
    shell = Shell(ctx, target, username=target.username, secret=secret)
    script = None if args.lines or tail is not None else ctx.stdin
    return run_batch(shell, ctx, lines=args.lines, script=script, tail=tail)


if __name__ == "__main__":
    sys.exit(main())
