"""The config file, profiles, and where the secret comes from.

``$XDG_CONFIG_HOME/amishell/config.toml`` (default ``~/.config``)::

    [defaults]              # merged over the built-in defaults
    format = "pretty"       # pretty | raw | json
    pager = "auto"          # auto (when output does not fit) | never
    keepalive = 20          # seconds between keep-alive Pings; 0 = off
    reconnect = true
    reconnect_max = 30      # longest wait between reconnect attempts (seconds)

    [profiles.office]
    host = "pbx.example.com"
    port = 5038
    username = "admin"
    secret_command = "pass show pbx/ami"   # or secret = "..." / secret_file = "~/.ami"
    tls = false
    tls_ca = "~/pbx-ca.pem"  # verify the server's certificate against this CA (implies tls)
    md5 = false
    events = "call,system"  # the server's event mask at login
    event_filter = "Hangup,Newchannel"
    read_only = true        # send only what changes nothing on the PBX
    confirm = true          # a production server: ask before what changes it
    events_per_tick = 100   # most events shown per tick (ten a second); the rest: .events last N
    event_history = 200000  # events kept for .events last N and a pause (0 = none)

A file that holds a secret must be readable by its owner only, as ssh demands
of private keys; otherwise it is refused with the ``chmod 600`` advice.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Mapping
from typing import Any, Final

from .context import Context

__all__ = [
    "Config",
    "ConfigError",
    "Target",
    "config_path",
    "data_dir",
    "load_config",
    "parse_hostport",
    "stored_secret",
]

DEFAULTS: Final[dict[str, Any]] = {
    "format": "pretty",
    "pager": "auto",
    "pager_command": "less -R -F -X",
    "keepalive": 20.0,
    "reconnect": True,
    "reconnect_max": 30.0,
    "timeout": 30.0,
    "events": None,
    "event_filter": "",
    "event_display": "on",
    "events_per_tick": 100,
    "event_history": 200_000,
    "history": True,
    "read_only": False,
    "confirm": False,
    "top_resync": 5.0,
}
_PROFILE_KEYS: Final = frozenset(
    {"host", "port", "username", "secret", "secret_command", "secret_file", "tls",
     "tls_insecure", "tls_ca", "md5"} | set(DEFAULTS)
)
DEFAULT_PORT: Final = 5038
DEFAULT_TLS_PORT: Final = 5039


class ConfigError(Exception):
    """The config file or a secret source cannot be used; the text says why."""


class Target:
    """Where to connect and how; built from the command line, a profile and defaults.

    Every setting is a keyword: ``Target(host="pbx", username="admin")``.
    """

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = DEFAULT_PORT,
        username: str | None = None,
        tls: bool = False,
        tls_insecure: bool = False,
        tls_ca: str | None = None,
        md5: bool = False,
        profile: str | None = None,
        format: str = "pretty",
        pager: str = "auto",
        pager_command: str = "less -R -F -X",
        keepalive: float = 20.0,
        reconnect: bool = True,
        reconnect_max: float = 30.0,
        timeout: float = 30.0,
        events: str | None = None,
        event_filter: str = "",
        event_display: str = "on",
        events_per_tick: int = 100,
        event_history: int = 200_000,
        history: bool = True,
        read_only: bool = False,
        confirm: bool = False,
        top_resync: float = 5.0,
        secret_command: str | None = None,
        secret_file: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.tls = tls
        self.tls_insecure = tls_insecure
        #: A CA certificate file (PEM) the server's certificate is verified against.
        self.tls_ca = tls_ca
        self.md5 = md5
        self.profile = profile
        self.format = format
        self.pager = pager
        self.pager_command = pager_command
        self.keepalive = keepalive
        self.reconnect = reconnect
        self.reconnect_max = reconnect_max
        self.timeout = timeout
        self.events = events
        self.event_filter = event_filter
        self.event_display = event_display
        #: Most events shown per display tick (a tenth of a second).
        self.events_per_tick = events_per_tick
        #: Events the session's history keeps (0: none).
        self.event_history = event_history
        self.history = history
        self.read_only = read_only
        self.confirm = confirm
        #: Seconds between the live views' resyncs from the list actions.
        self.top_resync = top_resync
        #: Where the secret comes from (never the secret itself, except ``secret``).
        self.secret_command = secret_command
        self.secret_file = secret_file
        self.secret = secret

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Target):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in TARGET_FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in TARGET_FIELDS if name != "secret"
        )
        return f"Target({shown})"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


#: The settings of a :class:`Target`, in order: the keyword parameters of its
#: ``__init__``, read from its code so that the two never differ.
TARGET_FIELDS: Final = Target.__init__.__code__.co_varnames[
    1 : 1 + Target.__init__.__code__.co_kwonlyargcount
]


class Config:
    """The config file: its defaults and profiles."""

    def __init__(
        self,
        path: str | None = None,
        defaults: dict[str, Any] | None = None,
        profiles: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.defaults: dict[str, Any] = dict(DEFAULTS) if defaults is None else defaults
        self.profiles: dict[str, dict[str, Any]] = {} if profiles is None else profiles

    def __repr__(self) -> str:
        return f"Config(path={self.path!r}, profiles={sorted(self.profiles)})"

    def target(self, word: str | None) -> Target:
        """A profile's target when ``word`` names one, else ``word`` as HOST[:PORT]."""
        values = dict(self.defaults)
        t = Target()
        if word is not None and word in self.profiles:
            values.update(self.profiles[word])
            t.profile = word
        elif word:
            host, port = parse_hostport(word)
            values["host"] = host
            if port is not None:
                values["port"] = port
        for name in TARGET_FIELDS:
            if name in values and name != "profile":
                setattr(t, name, values[name])
        if t.tls_ca:
            t.tls = True
        if "port" not in values and t.tls:
            t.port = DEFAULT_TLS_PORT
        return t


def config_path(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(_home(env), ".config")
    return os.path.join(base, "amishell", "config.toml")


def data_dir(env: Mapping[str, str]) -> str:
    base = env.get("XDG_DATA_HOME") or os.path.join(_home(env), ".local", "share")
    return os.path.join(base, "amishell")


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def load_config(env: Mapping[str, str], path: str | None = None) -> Config:
    """The user's config merged over the defaults. No file at the default place is
    no error; a ``path`` given that does not exist is one."""
    given = path is not None
    path = os.path.expanduser(path) if path is not None else config_path(env)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        if given:
            raise ConfigError(f"config file {path} does not exist") from None
        return Config()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    import tomllib  # only when there is a file: a bare start-up skips it

    with f:
        try:
            st = os.fstat(f.fileno())
            data = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from None
    cfg = Config(path=path)
    defaults = data.get("defaults", {})
    profiles = data.get("profiles", {})
    if not isinstance(defaults, dict) or not isinstance(profiles, dict):
        raise ConfigError(f"{path}: [defaults] and [profiles.NAME] must be tables")
    _check_keys(path, "defaults", defaults)
    cfg.defaults.update(defaults)
    for name, profile in profiles.items():
        if not isinstance(profile, dict):
            raise ConfigError(f"{path}: [profiles.{name}] must be a table")
        _check_keys(path, f"profiles.{name}", profile)
        cfg.profiles[name] = dict(profile)
    holds_secret = "secret" in defaults or any("secret" in p for p in profiles.values())
    if holds_secret:
        check_private(path, st)
    return cfg


def _check_keys(path: str, table: str, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if key not in _PROFILE_KEYS:
            known = ", ".join(sorted(_PROFILE_KEYS))
            raise ConfigError(f"{path}: unknown setting {key!r} in [{table}] (known: {known})")
        expect = _TYPES.get(key)
        if expect is not None and not isinstance(value, expect):
            raise ConfigError(f"{path}: [{table}] {key} has the wrong type")


_TYPES: Final[dict[str, type | tuple[type, ...]]] = {
    "host": str, "port": int, "username": str, "secret": str, "secret_command": str,
    "secret_file": str, "tls": bool, "tls_insecure": bool, "tls_ca": str, "md5": bool,
    "format": str,
    "pager": str, "pager_command": str, "keepalive": (int, float), "reconnect": bool,
    "reconnect_max": (int, float), "timeout": (int, float), "events": str,
    "event_filter": str, "event_display": str, "history": bool, "read_only": bool,
    "confirm": bool, "top_resync": (int, float), "events_per_tick": int,
    "event_history": int,
}


def check_private(path: str, st: os.stat_result | None = None) -> None:
    """Refuse a file holding a secret that group or others can read."""
    if st is None:
        st = os.stat(path)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(st.st_mode)
        raise ConfigError(
            f"{path} holds a secret but its permissions are {mode:04o}, so other users"
            f" can read it: run  chmod 600 {shlex.quote(path)}"
        )


def parse_hostport(word: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    if word.startswith("["):
        host, _, rest = word[1:].partition("]")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ConfigError(f"bad address {word!r}: write [ADDRESS]:PORT")
        return host, _port(rest[1:])
    if word.count(":") == 1:
        host, _, port = word.partition(":")
        return host or "localhost", _port(port)
    return word, None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"bad port {text!r}: give a number from 1 to 65535")
    return int(text)


# Secrets


def stored_secret(target: Target, ctx: Context, *, env: bool = True) -> str | None:
    """The secret from the profile or (with ``env``) ``AMI_SECRET``; None if neither
    has one."""
    if target.secret_command:
        return _run_secret_command(target.secret_command)
    if target.secret:
        return target.secret
    if target.secret_file:
        path = os.path.expanduser(target.secret_file)
        try:
            check_private(path)
            with open(path, encoding="utf-8") as f:
                return f.readline().rstrip("\r\n")
        except OSError as e:
            raise ConfigError(f"cannot read the secret file {path}: {e.strerror}") from None
    return (ctx.env.get("AMI_SECRET") or None) if env else None


def _run_secret_command(command: str) -> str:
    try:
        done = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"secret_command failed: {type(e).__name__}") from None
    if done.returncode != 0:
        raise ConfigError(f"secret_command exited with status {done.returncode}")
    secret = done.stdout.splitlines()[0] if done.stdout else ""
    if not secret:
        raise ConfigError("secret_command printed nothing")
    return secret
