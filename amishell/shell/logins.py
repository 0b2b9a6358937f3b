"""Who logs in where: the first login and ``.connect``.

A secret belongs to one user on one server: the one the shell started with (a
profile's, ``AMI_SECRET`` or typed) is reused only for that user on that host,
a profile's only for the profile's user; any other is asked for. Before asking
anything the host must resolve and accept a connection, so a mistyped host
fails at once (and Asterisk's 30 s for an unauthenticated connection are not
spent at a prompt).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ..errors import AMIError
from .asking import ask
from .base import Connecting, Result
from .config import Config, ConfigError, Target, stored_secret
from .connection import Connection, Login, describe, probe
from .context import Context
from .options import choose_target, has_options, parse_connect
from .render import Info, Problem

__all__ = ["TRIES", "Connector", "ask_secret", "gather"]

#: How often a secret typed at the prompt may be wrong before the shell gives up.
TRIES = 3


def gather(
    target: Target,
    ctx: Context,
    *,
    user: str | None,
    known: Callable[[str, str], str | None] = lambda user, host: None,
    env: bool = True,
    stop: threading.Event | None = None,
) -> tuple[Login, bool]:
    """The login for ``target``, and whether its secret was typed at the prompt.

    ``user`` is the default user (``target.username`` wins); ``known(user, host)``
    a secret already known; ``env`` whether ``AMI_SECRET`` may be used. Raises
    :class:`ConfigError` (no answer, a bad secret source) or the connection error
    of a host that does not answer (before anything is asked)."""
    username = target.username or user
    secret = _stored(target, ctx, username, known, env) if username else None
    if username is None or secret is None:
        failure = probe(target)
        if failure is not None:
            raise failure
    if not username:
        username = ask(ctx, f"Username for {target.address}: ", echo=True, stop=stop).strip()
        if not username:
            raise ConfigError("no username: give -u USER, AMI_USER or a profile's username")
        secret = _stored(target, ctx, username, known, env)
    target.username = username
    if secret is not None:
        return Login(target, username, secret), False
    return Login(target, username, ask_secret(ctx, target, username, stop)), True


def ask_secret(
    ctx: Context, target: Target, username: str, stop: threading.Event | None = None
) -> str:
    return ask(ctx, f"Secret for {username}@{target.address}: ", echo=False, stop=stop)


def _stored(
    target: Target,
    ctx: Context,
    username: str,
    known: Callable[[str, str], str | None],
    env: bool,
) -> str | None:
    return known(username, target.host) or stored_secret(target, ctx, env=env)


class Connector:
    """``.connect``: from its words to a :class:`Connecting` (or a Problem)."""

    def __init__(self, conn: Connection, config: Config, ctx: Context) -> None:
        self.conn = conn
        self.config = config
        self.ctx = ctx
        self._secrets: dict[tuple[str, str], str] = {}
        self._stop = threading.Event()
        self.remember(conn.login)

    def remember(self, login: Login) -> None:
        self._secrets[(login.username, login.target.host)] = login.secret

    def known(self, user: str, host: str) -> str | None:
        return self._secrets.get((user, host))

    def cancel(self) -> None:
        """Abandon the ``.connect`` under way (the current session stays)."""
        self._stop.set()
        if self.conn.state == "connecting" and not self.conn.connected:
            self.conn.state = "disconnected"

    def plan(self, args: Sequence[str], banner: Callable[[], list[str]]) -> Result:
        """Check the words, ask what is needed; the :class:`Connecting` to run."""
        self._stop = stop = threading.Event()
        current = self.conn.login
        try:
            opts = parse_connect(args)
            if not has_options(opts):
                login = current
            else:
                target = choose_target(self.config, opts, current.target)
                login, _ = gather(
                    target, self.ctx, user=current.username, known=self.known, env=False,
                    stop=stop,
                )
        except ConfigError as e:
            return Problem(str(e))
        except AMIError as e:  # the host does not answer: a failed connection
            failed = Problem(describe(e, current) + self._still())
            return Connecting(lambda: failed, self.cancel, "")

        def run() -> Result:
            error = self.conn.connect(login, stop)
            if stop.is_set():
                return self.stopped(login.target)
            if error is not None:
                return Problem(describe(error, login) + self._still())
            self.remember(login)
            return Info(banner())

        return Connecting(run, self.cancel, login.target.address)

    def stopped(self, target: Target) -> Problem:
        return Problem(f"stopped connecting to {target.address}{self._still()}")

    def _still(self) -> str:
        connected = self.conn.connected
        return f"; still connected to {self.conn.login.target.address}" if connected else ""
