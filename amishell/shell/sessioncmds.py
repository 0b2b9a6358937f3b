"""Shell commands of the session: .debug, .connect, .reconnect, .disconnect, .status, .history."""

from __future__ import annotations

import os

from .base import Result
from .base import ShellAPI as Shell
from .commands import command
from .context import private_file
from .lineparse import MetaLine
from .options import CONNECT_USAGE
from .render import Info, Problem


@command(
    "debug",
    ".debug [FILE|off]",
    "protocol transcript to FILE (secrets masked)",
    "  Every line sent (>>) and received (<<) from now on, appended to FILE (mode 0600);",
    "  Secret and Key values are starred out.",
)
def _debug(shell: Shell, line: MetaLine) -> Result:
    if not line.rest:
        return Info([f"transcript: {shell.debug_path or 'off'}"])
    old = shell.debug_file
    word = line.rest.strip()
    if word == "off":
        shell.debug_file, shell.debug_path = None, None
        if shell.client is not None:
            shell.client.debug_file = None
        if old is not None:
            old.close()
        return Info(["transcript off"], style="dim")
    if word == "on":
        return Problem("give the transcript a file: .debug FILE (e.g. .debug ~/ami.txt)")
    path = os.path.expanduser(word)
    try:
        shell.debug_file = private_file(path, shell.redact)
    except OSError as e:
        return Problem(f"cannot open {path}: {e.strerror}")
    shell.debug_path = path
    if shell.client is not None:
        shell.client.debug_file = shell.debug_file
    if old is not None:
        old.close()
    return Info([f"transcript to {path} (secrets masked)"], style="dim")


# Connection


@command(
    "connect",
    CONNECT_USAGE,
    "connect to a server (the session is replaced once the new one works)",
    "  -u USER          the manager user (default: this session's, or the profile's)",
    "  -p PORT          the port, when HOST has none (default 5038, 5039 with TLS)",
    "  --tls            TLS; --tls-ca FILE verifies the server against that CA,",
    "                   --tls-insecure verifies nothing",
    "  --md5            MD5 challenge login",
    "  PROFILE is read from the config file the shell started with. A secret is",
    "  reused only for the same user on the same host; otherwise it is asked for.",
    "  Without words: log in again to the same server.",
)
def _connect(shell: Shell, line: MetaLine) -> Result:
    return shell.connect_to(list(line.args))


@command("reconnect", ".reconnect", "log in again to the same server")
def _reconnect(shell: Shell, line: MetaLine) -> Result:
    return shell.reconnect()


@command("disconnect", ".disconnect", "log off (the shell stays)")
def _disconnect(shell: Shell, line: MetaLine) -> Result:
    reply = shell.disconnect()
    if reply is None:
        return Info(["not connected"], style="dim")
    return Info([f"logged off: {reply.value('Message') or reply.name}"], style="dim")


@command("status", ".status", "connection, server and counters")
def _status(shell: Shell, line: MetaLine) -> Result:
    client = shell.client
    lines = [f"{shell.state}: {shell.username}@{shell.target.address}"
             + (" (TLS)" if shell.target.tls else "")]
    if shell.info:
        system = shell.info.get("SystemName")
        lines.append(
            f"Asterisk {shell.info.get('AsteriskVersion', '?')}, AMI"
            f" {shell.info.get('AMIversion', '?')}" + (f", system {system}" if system else "")
        )
    if client is not None:
        latency = client.last_latency
        lines.append(
            "keep-alive: " + (f"every {shell.target.keepalive:g}s" if shell.target.keepalive
                              else "off")
            + (f", last ping {latency * 1000:.1f} ms" if latency is not None else "")
        )
        if client.dropped_events:
            lines.append(f"events dropped by the client (memory bound): {client.dropped_events:,}")
    actions = "live" if shell.catalog_live else "offline catalogue"
    lines.append(f"{len(shell.catalog)} actions ({actions})")
    latency = client.last_latency if client is not None else None
    data = {"state": shell.state, "username": shell.username, "address": shell.target.address,
            "tls": shell.target.tls, "server": dict(shell.info), "latency_s": latency,
            "actions": len(shell.catalog), "catalogue": actions, "events": shell.view.counters()}
    return Info(lines + shell.view.describe(), data=data)


@command("history", ".history [N]", "the last N lines typed (secrets masked)")
def _history(shell: Shell, line: MetaLine) -> Result:
    count = 20
    if line.args:
        if not line.args[0].isdigit():
            return Problem(".history takes a number")
        count = int(line.args[0])
    # The lines Up recalls: the prompt's own history (in memory with --no-history).
    typed = shell.typed
    entries = list(typed.load_history_strings())[:count] if typed is not None else []
    if not entries:
        return Info(["no history yet"], style="dim")
    lines = []
    for n, entry in enumerate(reversed(entries), 1):
        first, *more = entry.split("\n")
        lines.append(f"{n:>4}  {first}")
        lines += [f"      {m}" for m in more]
    return Info(lines)
