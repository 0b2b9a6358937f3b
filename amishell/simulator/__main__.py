"""``amishell-sim``: run the simulated PBX until Ctrl-C.

amishell-sim --port 5038 --user admin:secret --user monitor:pw:read=system,call
"""

from __future__ import annotations

import argparse
import signal
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TextIO

from .config import ALL_CLASSES, CLASS_BITS, User
from .server import Simulator

__all__ = ["main", "parse_user"]


def parse_user(text: str) -> tuple[str, User]:
    """``name:secret[:read=a,b][:write=c]`` -> ``(name, User)``."""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError(
            f"{text.split(':')[0]!r}: expected NAME:SECRET[:read=CLASSES][:write=CLASSES]"
        )
    name, secret, options = parts[0], parts[1], parts[2:]
    read = write = "all"
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in ("read", "write"):
            raise argparse.ArgumentTypeError(
                f"user {name!r}: unknown option {key!r} (use read=CLASSES or write=CLASSES)"
            )
        unknown = [c for c in value.split(",") if c and c not in CLASS_BITS and c != "all"]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"user {name!r}: unknown class {unknown[0]!r}; classes: {', '.join(CLASS_BITS)}"
            )
        if key == "read":
            read = value
        else:
            write = value
    return name, User(secret, read=read, write=write)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="amishell-sim",
        description="A simulated Asterisk PBX speaking AMI.",
        epilog="Its dialplan (context demo): 100 answers for 2 s, 200 dials 100, 300 and 301 "
        "wait in queues, 400 stays up 30 s, 500 raises a UserEvent, 600 plays an "
        "announcement, 700 is busy, 800 never answers, 9XX answers for 1 s. "
        "The whole reference: docs/simulator.md in amishell's source.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5038, help="port (default 5038; 0 picks one)")
    p.add_argument(
        "--user",
        action="append",
        type=parse_user,
        metavar="NAME:SECRET[:read=..][:write=..]",
        help="a manager user (repeatable); classes are comma-separated, default all. "
        "Without --user: admin with secret admin",
    )
    p.add_argument(
        "--call-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="background calls per second (default 0: none)",
    )
    p.add_argument(
        "--legacy",
        action="store_true",
        help="answer Command as Asterisk 13 and older did (Response: Follows)",
    )
    p.add_argument(
        "--ami-version",
        default="13.0.0",
        metavar="X.Y.Z",
        help="version in the greeting (default 13.0.0)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every dialplan delay by F (0.1 = ten times faster)",
    )
    p.add_argument(
        "--caller-name",
        action="append",
        type=_escaped,
        metavar="TEXT",
        help="a caller name for background calls (repeatable); backslash escapes such as"
        " \\x1b or \\u202e are decoded, to see what a client does with hostile names",
    )
    p.add_argument("--system-name", type=_escaped, default="amishell-sim", metavar="TEXT",
                   help="the SystemName of CoreSettings (backslash escapes decoded)")
    p.add_argument("--asterisk-version", type=_escaped, metavar="TEXT",
                   help="the AsteriskVersion of CoreSettings (backslash escapes decoded)")
    p.add_argument(
        "--disabled-events",
        default="",
        metavar="NAMES",
        help="comma-separated events never sent (manager.conf disabledevents)",
    )
    p.add_argument("--replay", metavar="FILE",
                   help="serve a capture (amishell --record) or a .log event file instead")
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="with --replay: N times the recorded pace (0: as fast as possible)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the simulator; returns the exit status. ``stop`` ends it (for tests)."""
    out = stdout or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.replay:
        from ..replay.cli import serve

        return serve(args.replay, args.host, args.port, args.speed, out, stop)
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print(f"amishell-sim: cannot load the TLS certificate: {exc}", file=sys.stderr)
            return 1
    users = dict(args.user) if args.user else {"admin": User("admin")}
    sim = Simulator(
        args.host,
        args.port,
        users,
        version=args.ami_version,
        legacy_command=args.legacy,
        call_rate=args.call_rate,
        ssl_context=context,
        time_scale=args.time_scale,
        caller_names=args.caller_name or (),
        system_name=args.system_name,
        asterisk_version=args.asterisk_version,
        disabled_events=[n.strip() for n in args.disabled_events.split(",") if n.strip()],
    )
    try:
        host, port = sim.start()
    except OSError as exc:
        print(
            f"amishell-sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    names = ", ".join(f"{n} ({_describe(u)})" for n, u in users.items())
    shown = f"[{host}]" if ":" in host else host
    print(
        f"amishell-sim: listening on {shown}:{port}{' (TLS)' if context else ''}, "
        f"AMI {sim.version}",
        file=out,
    )
    print(f"users: {names}", file=out)
    serve_until_stopped(sim.stop, stop, out)
    print("amishell-sim: stopped", file=out, flush=True)
    return 0


def serve_until_stopped(
    close: Callable[[], None], stop: threading.Event | None, out: TextIO
) -> None:
    """Serve until Ctrl-C, SIGTERM or ``stop``; then ``close()``."""
    print("Ctrl-C stops it.", file=out, flush=True)
    done = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum: int, frame: FrameType | None) -> None:
            done.set()

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _escaped(text: str) -> str:
    """``text`` with Python backslash escapes decoded (``\\x1b`` is ESC)."""
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as exc:
        raise argparse.ArgumentTypeError(f"bad escape in {text!r}: {exc.reason}") from None


def _describe(user: User) -> str:
    def text(mask: int) -> str:
        return (
            "all"
            if mask == ALL_CLASSES
            else ",".join(n for n, b in CLASS_BITS.items() if mask & b) or "none"
        )

    return f"read={text(user.read_mask)} write={text(user.write_mask)}"


if __name__ == "__main__":
    sys.exit(main())
