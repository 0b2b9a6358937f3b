"""The shell's guard before it sends: read-only refusals and questions before harm.

:class:`Guard` looks at every action and CLI command the user typed, just
before it would be sent. In a read-only session it refuses what
:func:`amishell.safety.refusal` refuses (:class:`Refused`, nothing sent). In a
session with confirmation on it turns what would change the PBX into a
:class:`Confirm`: the interactive shell asks y/N, a script refuses it unless
``--yes`` was given. Read-only wins over ``--yes``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, NamedTuple

from ..safety import describe, refusal
from .render import Problem

if TYPE_CHECKING:
    from ..client import AMIClient

__all__ = ["Confirm", "Guard", "Refused", "channel_regex", "matching_channels"]

#: Python's ``re`` stands in for the server's POSIX regex: said whenever it is used.
APPROXIMATION: Final = "matched here with Python's re, an approximation of the server's regex"


class Refused(Problem):
    """An action or command the shell will not send; a script's exit status is 2."""

    __slots__ = ()


class Confirm(NamedTuple):
    """An action that changes the PBX, waiting for the user's yes."""

    kind: str  # "action" or "cli"
    name: str
    #: The fields to send, without Action.
    fields: list[tuple[str, str]]
    #: What it will do (``hang up PJSIP/100-00000001``).
    what: str
    note: str = ""

    @property
    def regex(self) -> str | None:
        """A Hangup's ``Channel: /regex/``, without the slashes."""
        if self.name.lower() != "hangup":
            return None
        channel = next((v for k, v in self.fields if k.lower() == "channel"), "")
        return channel_regex(channel)


def channel_regex(channel: str) -> str | None:
    channel = channel.strip()
    if len(channel) > 2 and channel.startswith("/") and channel.endswith("/"):
        return channel[1:-1]
    return None


class Guard:
    """The session's safety settings and the check made before each send."""

    def __init__(self, *, read_only: bool = False, confirm: bool = False,
                 yes: bool = False) -> None:
        #: Refuse whatever may change the PBX.
        self.read_only = read_only
        #: A production session: ask before what changes the PBX.
        self.confirm = confirm
        #: Take yes for an answer without asking (``--yes``); never beats read-only.
        self.yes = yes

    def __repr__(self) -> str:
        return f"Guard(read_only={self.read_only}, confirm={self.confirm}, yes={self.yes})"

    def check(
        self, kind: str, name: str, fields: list[tuple[str, str]], note: str = ""
    ) -> Refused | Confirm | None:
        """None when it may be sent now; else why not, or the question to ask."""
        if not (self.read_only or self.confirm):
            return None
        reason = refusal([("Action", name), *fields])
        if reason is None:
            return None
        if self.read_only:
            return Refused(f"read-only session, {name} not sent: {reason}")
        if self.yes:
            return None
        return Confirm(kind, name, fields, describe([("Action", name), *fields]), note)

    def adopt(self, read_only: bool, confirm: bool) -> None:
        """Take on a new server's settings (``.connect PROFILE``), never dropping
        the ones already on: a session started read-only stays so."""
        self.read_only = self.read_only or read_only
        self.confirm = self.confirm or confirm


def script_refusal(confirm: Confirm) -> Refused:
    """What a script says for an action that needs a yes: it never waits for one."""
    return Refused(
        f"{confirm.name} not sent ({confirm.what}): confirmation is on and a script"
        " cannot ask; --yes sends without asking"
    )


def matching_channels(client: AMIClient, regex: str, timeout: float = 10.0) -> list[str]:
    """The live channels (CoreShowChannels) whose name ``regex`` finds, with Python's
    ``re`` (see :data:`APPROXIMATION`). Raises ``re.error`` for a bad regex and
    ``RuntimeError`` when the server does not list its channels."""
    pattern = re.compile(regex)
    reply = client.submit({"Action": "CoreShowChannels"}).result(timeout)
    if reply.is_error:
        raise RuntimeError(reply.value("Message") or "CoreShowChannels failed")
    names = [item.value("Channel") or "" for item in reply.events]
    return [name for name in names if name and pattern.search(name)]
