"""Simulated channels and bridges, and the events their changes raise.

A channel publishes its state the way Asterisk's channel snapshots do:
:meth:`Channel.publish` compares the channel with what was last published and
raises, in the server's order, ``Newchannel`` (first time) or ``Newstate``,
then ``Newexten`` (a new context/extension/priority with an application),
``NewCallerid`` and ``NewConnectedLine``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .config import CLASS_BITS

if TYPE_CHECKING:
    from .pbx import PBX, Runner

__all__ = ["Bridge", "Channel", "STATE_DESC", "UP"]

STATE_DESC: Final = (
    "Down",
    "Rsrvd",
    "OffHook",
    "Dialing",
    "Ring",
    "Ringing",
    "Up",
    "Busy",
    "Dialing Offhook",
    "Pre-ring",
    "Unknown",
)
DOWN: Final = 0
RING: Final = 4
RINGING: Final = 5
UP: Final = 6
BUSY: Final = 7

CALL: Final = CLASS_BITS["call"]
DIALPLAN: Final = CLASS_BITS["dialplan"]

CAUSE_TEXT: Final = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
_UNKNOWN: Final = "<unknown>"


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge."""

    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    channels: list[Channel] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def pairs(self) -> list[tuple[str, object]]:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", _UNKNOWN),
            ("BridgeName", _UNKNOWN),
            ("BridgeNumChannels", len(self.channels)),
            ("BridgeVideoSourceMode", "none"),
        ]


class Channel:
    """One simulated channel (always of the Local technology here)."""

    def __init__(
        self,
        pbx: PBX,
        name: str,
        uniqueid: str,
        linkedid: str,
        *,
        state: int,
        context: str,
        exten: str,
        device: str,
    ) -> None:
        self.pbx = pbx
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.state = state
        self.context = context
        self.exten = exten
        self.priority = 1
        self.appl = ""
        self.data = ""
        self.caller: tuple[str, str] = ("", "")
        self.connected: tuple[str, str] = ("", "")
        self.language = "en"
        self.accountcode = ""
        self.device = device
        self.tech = "Local"
        self.variables: dict[str, str] = {}
        self.bridge: Bridge | None = None
        self.partner: Channel | None = None
        self.runner: Runner | None = None
        #: Asked to hang up (cause, soft): set by whoever drives the channel.
        self.hangup_handler: Callable[[int, bool], None] | None = None
        #: Told when the other half of a Local pair changes state (;1 only).
        self.on_partner_state: Callable[[int], None] | None = None
        #: Called after this channel's state changed (;2 halves of a pair).
        self.state_hook: Callable[[Channel, int], None] | None = None
        #: "originate" or "dial": how the Local pair was created.
        self.pair_kind = ""
        self.dead = False
        self.dying = False
        #: Whether the channel runs the dialplan (counted in "active calls").
        self.in_pbx = False
        self.created = time.monotonic()
        self._published: tuple[object, ...] | None = None

    def __repr__(self) -> str:
        return f"Channel({self.name!r})"

    # -- snapshot ------------------------------------------------------------
    def snapshot(self, prefix: str = "") -> list[tuple[str, object]]:
        """The channel's state headers, optionally prefixed (``Dest``, ``LocalOne``)."""
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", self.state),
            (f"{p}ChannelStateDesc", STATE_DESC[self.state]),
            (f"{p}CallerIDNum", self.caller[0] or _UNKNOWN),
            (f"{p}CallerIDName", self.caller[1] or _UNKNOWN),
            (f"{p}ConnectedLineNum", self.connected[0] or _UNKNOWN),
            (f"{p}ConnectedLineName", self.connected[1] or _UNKNOWN),
            (f"{p}Language", self.language),
            (f"{p}AccountCode", self.accountcode),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", self.priority),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]

    def emit(
        self, name: str, extra: Sequence[tuple[str, object]] = (), category: int = CALL
    ) -> None:
        self.pbx.emit(name, category, [*self.snapshot(), *extra])

    def publish(self) -> None:
        """Raise the events for what changed since the last publish."""
        old = self._published
        cep = (self.context, self.exten, self.priority)
        self._published = (self.state, cep, self.appl, self.caller, self.connected)
        if old is None:
            self.emit("Newchannel")
            if self.appl:
                self._newexten()
            return
        old_state, old_cep, old_appl, old_caller, old_connected = old
        if old_state != self.state:
            self.emit("Newstate")
        if self.appl and (not old_appl or old_cep != cep):
            self._newexten()
        if old_caller != self.caller:
            self.emit(
                "NewCallerid", [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
            )
        if old_connected != self.connected:
            self.emit("NewConnectedLine")

    def _newexten(self) -> None:
        extra = [("Extension", self.exten), ("Application", self.appl), ("AppData", self.data)]
        self.emit("Newexten", extra, DIALPLAN)

    # -- changes -------------------------------------------------------------
    def set_state(self, state: int) -> None:
        if state != self.state:
            self.state = state
            self.publish()
            if self.state_hook is not None:
                self.state_hook(self, state)

    def set_var(self, name: str, value: str) -> None:
        """Set a channel variable, raising ``VarSet``."""
        self.variables[name] = value
        self.emit("VarSet", [("Variable", name), ("Value", value)], DIALPLAN)

    def exec_app(self, appl: str, data: str) -> None:
        """Start an application at the current dialplan location."""
        self.appl = appl
        self.data = data
        self.publish()

    @property
    def uptime(self) -> int:
        return int(time.monotonic() - self.created)

    def duration_text(self) -> str:
        d = self.uptime
        return f"{d // 3600:02d}:{d % 3600 // 60:02d}:{d % 60:02d}"
