"""The connection options: one parser for the command line and for ``.connect``.

Both take ``HOST[:PORT]|PROFILE`` and ``-p PORT``, ``-u USER``, ``--tls``,
``--tls-insecure``, ``--tls-ca FILE`` and ``--md5``, and turn them into a
:class:`~amishell.shell.config.Target` the same way (:func:`choose_target`).
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from .config import DEFAULT_PORT, DEFAULT_TLS_PORT, Config, ConfigError, Target, parse_hostport

if TYPE_CHECKING:
    import ssl

__all__ = [
    "CONNECT_USAGE",
    "OptionError",
    "add_connection_options",
    "choose_target",
    "parse_connect",
    "tls_context",
]

CONNECT_USAGE = (
    ".connect [HOST[:PORT]|PROFILE] [-p PORT] [-u USER] [--tls] [--tls-insecure]"
    " [--tls-ca FILE] [--md5]"
)


class OptionError(ConfigError):
    """A connection option is unknown, lacks its value, or contradicts another."""


def add_connection_options(p: argparse.ArgumentParser) -> None:
    """The options that say where to connect and how (none for the secret)."""
    p.add_argument("-p", "--port", type=int, help="port (default 5038, 5039 with --tls)")
    p.add_argument("-u", "--user", help="manager user (default: profile, AMI_USER, or asked)")
    p.add_argument("--tls", action="store_true", default=None, help="connect over TLS")
    p.add_argument("--tls-insecure", action="store_true", default=None,
                   help="TLS without verifying the server certificate")
    p.add_argument("--tls-ca", metavar="FILE",
                   help="TLS, the server certificate verified against this CA (PEM)")
    p.add_argument("--md5", action="store_true", default=None,
                   help="MD5 challenge login (the secret never crosses the wire)")


class _ConnectParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise OptionError(f".connect: {message}; .help .connect lists its options")


def parse_connect(args: Sequence[str]) -> argparse.Namespace:
    """``.connect``'s words; :class:`OptionError` for an unknown or incomplete option."""
    p = _ConnectParser(prog=".connect", add_help=False, allow_abbrev=False)
    p.add_argument("target", nargs="?")
    add_connection_options(p)
    return p.parse_args(list(args))


def has_options(opts: argparse.Namespace) -> bool:
    return any(
        getattr(opts, name) is not None
        for name in ("target", "port", "user", "tls", "tls_insecure", "tls_ca", "md5")
    )


def choose_target(
    config: Config, opts: argparse.Namespace, base: Target | None = None
) -> Target:
    """The target that ``opts`` (``target`` word and connection options) name.

    Without a word: ``base`` (the current session's) with the options applied. A
    port written in the word and a different ``-p`` are refused, as is a ``-u`` that
    would reuse a profile's secret for another user (the secret is then asked for).
    """
    word = opts.target
    if word:
        _check_not_a_misspelt_profile(config, word)
    if word is None and base is not None:
        target = copy.copy(base)
        typed_port = False
    else:
        target = config.target(word)
        typed_port = bool(word) and target.profile is None and parse_hostport(word)[1] is not None
        if typed_port and opts.port is not None and opts.port != target.port:
            raise OptionError(
                f"two ports given: {word} and -p {opts.port}; give one"
            )
    was_tls = target.tls
    if opts.tls or opts.tls_insecure or opts.tls_ca:
        target.tls = True
    if opts.tls_insecure:
        target.tls_insecure = True
    if opts.tls_ca:
        target.tls_ca = opts.tls_ca
    if (target.tls and not was_tls and opts.port is None and not typed_port
            and target.port == DEFAULT_PORT and target.profile is None):
        target.port = DEFAULT_TLS_PORT
    if opts.md5:
        target.md5 = True
    if opts.port is not None:
        if not 0 < opts.port < 65536:
            raise OptionError(f"bad port {opts.port}: give a number from 1 to 65535")
        target.port = opts.port
    if opts.user and opts.user != target.username:
        # A secret belongs to one user: a profile's is not tried for another.
        target.secret = target.secret_command = target.secret_file = None
        target.username = opts.user
    if target.tls:
        tls_context(target)  # a CA file that cannot be read is an error now
    return target


def _check_not_a_misspelt_profile(config: Config, word: str) -> None:
    """A bare word that is no profile but within two letters of one is taken for a
    misspelt profile, not for a host."""
    if word in config.profiles or any(c in word for c in ".:[]"):
        return
    close = sorted(n for n in config.profiles if _distance(word.lower(), n.lower()) <= 2)
    if close:
        where = f" in {config.path}" if config.path else ""
        raise ConfigError(
            f"no profile {word!r}{where} (did you mean {close[0]!r}?);"
            f" for a host of that name write {word}:{DEFAULT_PORT}"
        )


def _distance(a: str, b: str) -> int:
    """The edit distance (Levenshtein) between two short words."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def tls_context(target: Target) -> ssl.SSLContext:
    """The TLS settings for ``target``: the system's CAs, or ``tls_ca``'s; none with
    ``tls_insecure``. :class:`ConfigError` naming a CA file that cannot be used."""
    import os
    import ssl

    cafile = os.path.expanduser(target.tls_ca) if target.tls_ca else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except FileNotFoundError:
        raise ConfigError(f"TLS CA file {cafile} does not exist") from None
    except ssl.SSLError as e:
        raise ConfigError(f"TLS CA file {cafile} holds no usable certificate: {e.reason}") from None
    except OSError as e:
        raise ConfigError(f"cannot read the TLS CA file {cafile}: {e.strerror}") from None
    if target.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
