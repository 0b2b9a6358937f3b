"""Which actions change nothing on the PBX: the read-only check and what an action does.

A production PBX deserves care: :func:`refusal` says why an action may not be
sent by a read-only session (None when it may), :func:`describe` says in a few
words what an action will do, for a question before it is sent. Both take the
action as its fields, the way :meth:`amishell.AMIClient.action` does::

    from amishell.safety import refusal

    reason = refusal({"Action": "Hangup", "Channel": "PJSIP/100-00000001"})
    if reason is not None:
        raise SystemExit(f"not sent: {reason}")

The lists below are reviewed by hand, name by name. An action missing from them
(a module's, a newer Asterisk's) is refused: a live server may know actions
that change things and that nobody reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

__all__ = [
    "READ_ONLY_ACTIONS",
    "SESSION_ACTIONS",
    "SHOW_COMMANDS",
    "changes_nothing",
    "describe",
    "is_show_command",
    "refusal",
]

#: Actions that only read (lower case). Reviewed from the offline catalogue
#: (``amishell/data/catalog.json``) and the common modules' documentation.
#: Left out on purpose: LoggerRotate (rotates the logs), VoicemailRefresh (sends
#: notifications), SIPqualifypeer / PJSIPQualify (send requests), every Set*,
#: Add*, Remove*, Kick*, Mute*, Start*/Stop*, Reload and Load action.
READ_ONLY_ACTIONS: Final = frozenset(name.lower() for name in (
    # core
    "Ping", "CoreSettings", "CoreStatus", "CoreShowChannels", "CoreShowChannelMap",
    "Status", "Getvar", "ListCommands", "ListCategories", "GetConfig", "GetConfigJSON",
    "ShowDialPlan", "ModuleCheck", "ExtensionState", "ExtensionStateList",
    "DeviceStateList", "PresenceState", "PresenceStateList", "DBGet", "DBGetTree",
    "MailboxCount", "MailboxStatus", "MWIGet",
    # bridges, parking, queues, conferences, agents
    "BridgeInfo", "BridgeList", "BridgeTechnologyList", "ParkedCalls", "Parkinglots",
    "QueueStatus", "QueueSummary", "QueueRule", "ConfbridgeList", "ConfbridgeListRooms",
    "MeetmeList", "MeetmeListRooms", "Agents",
    # channel drivers
    "IAXnetstats", "IAXpeerlist", "IAXpeers", "IAXregistry", "SIPpeers", "SIPshowpeer",
    "SIPshowregistry", "SIPpeerstatus", "PJSIPShowEndpoints", "PJSIPShowEndpoint",
    "PJSIPShowContacts", "PJSIPShowAors", "PJSIPShowAuths",
    "PJSIPShowRegistrationsInbound", "PJSIPShowRegistrationsOutbound",
    "PJSIPShowRegistrationInboundContactStatuses", "PJSIPShowResourceLists",
    "PJSIPShowSubscriptionsInbound", "PJSIPShowSubscriptionsOutbound", "DAHDIShowChannels",
    "DAHDIShowStatus", "PRIShowSpans", "SKINNYdevices", "SKINNYshowdevice", "SKINNYlines",
    "SKINNYshowline",
    # fax, voicemail
    "FAXSession", "FAXSessions", "FAXStats", "VoicemailUsersList", "VoicemailUserStatus",
    "VoicemailBoxSummary",
))

#: Actions that change only this session, never the PBX (lower case).
SESSION_ACTIONS: Final = frozenset(
    {"events", "filter", "challenge", "login", "logoff", "waitevent"}
)

#: CLI commands that only show, by their first words (lower case). Reviewed by
#: hand; ``database query`` (SQL), ``core waitfullybooted`` (blocks) and every
#: command that sets, reloads, loads, stops, restarts or hangs up are not here.
SHOW_COMMANDS: Final = (
    ("core", "show"), ("pjsip", "show"), ("pjsip", "list"), ("sip", "show"),
    ("iax2", "show"), ("queue", "show"), ("database", "show"), ("database", "showkey"),
    ("dialplan", "show"), ("manager", "show"), ("module", "show"), ("bridge", "show"),
    ("channel", "show"), ("agent", "show"), ("confbridge", "list"), ("confbridge", "show"),
    ("meetme", "list"), ("features", "show"), ("moh", "show"), ("voicemail", "show"),
    ("parking", "show"), ("cdr", "show"), ("cel", "show"), ("http", "show"),
    ("logger", "show"), ("ari", "show"), ("stasis", "show"), ("xmpp", "show"),
    ("dahdi", "show"), ("pri", "show"), ("acl", "show"), ("devicestate", "list"),
    ("presencestate", "list"), ("group", "show"), ("rtp", "show"), ("udptl", "show"),
    ("sorcery", "memory", "cache", "show"), ("help",),
    # What the shell asks for completion: the server's CLI completion lists.
    ("_command", "matchesarray"), ("_command", "nummatches"),
)

Fields = Mapping[str, object] | Iterable[tuple[str, object]]


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    items = fields.items() if isinstance(fields, Mapping) else fields
    return [(str(k), str(v)) for k, v in items]


def _value(pairs: list[tuple[str, str]], key: str) -> str | None:
    low = key.lower()
    return next((v for k, v in pairs if k.lower() == low), None)


def is_show_command(command: str) -> bool:
    """Whether the CLI ``command`` is one of :data:`SHOW_COMMANDS`."""
    words = tuple(command.lower().split())
    return any(words[: len(show)] == show for show in SHOW_COMMANDS)


def refusal(fields: Fields) -> str | None:
    """Why a read-only session must not send this action, or None when it may.

    Allowed: :data:`READ_ONLY_ACTIONS` (Getvar of a variable, not of a dialplan
    function, which may have effects), :data:`SESSION_ACTIONS`, and ``Command``
    with a CLI command of :data:`SHOW_COMMANDS`. Everything else is refused,
    unknown actions and UserEvent (it reaches every session) included.
    """
    pairs = _pairs(fields)
    name = (_value(pairs, "Action") or "").strip()
    low = name.lower()
    if not low:
        return "no Action given"
    if low in SESSION_ACTIONS:
        return None
    if low == "command":
        command = " ".join((_value(pairs, "Command") or "").split())
        if not command:
            return "Command without a CLI command"
        if is_show_command(command):
            return None
        return f"{command!r} is not a CLI command that only shows"
    if low == "getvar" and "(" in (_value(pairs, "Variable") or ""):
        return "Getvar of a dialplan function, which may have effects"
    if low in READ_ONLY_ACTIONS:
        return None
    if low == "userevent":
        return "a UserEvent reaches every manager session"
    return "not on the list of actions that change nothing"


def changes_nothing(fields: Fields) -> bool:
    """Whether the action may be sent without a question (see :func:`refusal`)."""
    return refusal(fields) is None


def describe(fields: Fields) -> str:
    """What the action will do, in a few words: ``hang up PJSIP/100-00000001``."""
    pairs = _pairs(fields)

    def get(key: str, default: str = "?") -> str:
        return _value(pairs, key) or default

    name = get("Action", "")
    low = name.lower()
    where = f"{get('Exten')}@{get('Context')}"
    if low == "hangup":
        cause = _value(pairs, "Cause")
        return f"hang up {get('Channel')}" + (f" (cause {cause})" if cause else "")
    if low == "originate":
        app = _value(pairs, "Application")
        dest = f"{app}({get('Data', '')})" if app else where
        return f"place a call from {get('Channel')} to {dest}"
    if low == "redirect":
        extra = _value(pairs, "ExtraChannel")
        both = get("Channel") + (f" and {extra}" if extra else "")
        return f"move {both} to {where} priority {get('Priority', '1')}"
    if low in ("atxfer", "blindtransfer"):
        return f"transfer {get('Channel')} to {where}"
    if low == "queueremove":
        return f"remove {get('Interface')} from queue {get('Queue')}"
    if low == "queuepause":
        paused = get("Paused", "true").lower() in ("1", "true", "yes", "on")
        queue = _value(pairs, "Queue")
        where_q = f"queue {queue}" if queue else "every queue"
        return f"{'pause' if paused else 'unpause'} {get('Interface')} in {where_q}"
    if low in ("dbdel", "dbdeltree"):
        key = _value(pairs, "Key")
        what = "key" if low == "dbdel" else "tree"
        return f"delete the AstDB {what} {get('Family')}" + (f"/{key}" if key else "")
    if low == "dbput":
        return f"write the AstDB key {get('Family')}/{get('Key')}"
    if low == "moduleload":
        return f"{get('LoadType', 'load').lower()} the module {get('Module', '(every module)')}"
    if low == "reload":
        return f"reload {get('Module', 'every module')}"
    if low == "userevent":
        return f"send the event {get('UserEvent')} to every manager session"
    if low == "setvar":
        on = _value(pairs, "Channel")
        return f"set {get('Variable')}" + (f" on {on}" if on else " (a global variable)")
    if low == "command":
        return f"run the CLI command {' '.join(get('Command', '').split())!r}"
    return f"send {name}, which may change the PBX"
