"""What kind of value an action parameter takes: it drives value completion.

:func:`param_kind` names the kind of a parameter from its name and action
(``Channel`` is a live channel, except an Originate's, which is a dial string);
:data:`KINDS` says in words what each kind is.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KINDS", "param_kind"]

#: Every value of :attr:`Param.kind`, with what a value of that kind is.
KINDS: Final = {
    "text": "any text",
    "bool": "true or false",
    "number": "a number",
    "channel": "the name of a live channel",
    "dialstring": "what to call: Tech/resource, such as Local/100@demo",
    "context": "a dialplan context",
    "exten": "a dialplan extension",
    "priority": "a dialplan priority, a number or a label",
    "application": "a dialplan application",
    "queue": "a queue name",
    "interface": "a queue member's device, such as PJSIP/100",
    "variable": "NAME=value; repeat the header to set several",
    "varname": "a variable name",
    "eventmask": "on, off, or a comma-separated list of event classes",
    "filter": "a regular expression over the event; a leading ! excludes",
    "cli": "a CLI command line, as typed at the Asterisk console",
    "secret": "a secret: never shown or stored",
    "bridge": "a bridge's unique id",
    "conference": "a conference name",
    "mailbox": "a mailbox, box@context",
    "module": "a module name, such as res_pjsip.so",
    "parkinglot": "a parking lot name",
    "filename": "a configuration file name, such as extensions.conf",
    "dbfamily": "an AstDB family, such as cidname",
    "dbkey": "a key of the AstDB family given",
}


_NAME_KINDS: Final = {
    **dict.fromkeys(
        (
            "async",
            "earlymedia",
            "soft",
            "paused",
            "immediate",
            "recursive",
            "receive",
            "replace",
            "ringinuse",
            "allvariables",
            "preserveeffectivecontext",
            "members",
            "rules",
            "parameters",
        ),
        "bool",
    ),
    **dict.fromkeys(
        (
            "channel",
            "extrachannel",
            "channel1",
            "channel2",
            "timeoutchannel",
            "announcechannel",
            "channelprefix",
            "caller",
        ),
        "channel",
    ),
    **dict.fromkeys(("context", "extracontext", "tocontext"), "context"),
    **dict.fromkeys(("exten", "extraexten", "extension"), "exten"),
    **dict.fromkeys(("priority", "extrapriority"), "priority"),
    **dict.fromkeys(("interface", "stateinterface", "member"), "interface"),
    **dict.fromkeys(("timeout", "cause", "penalty", "duration", "sessionnumber"), "number"),
    **dict.fromkeys(("filename", "srcfilename", "dstfilename"), "filename"),
    **dict.fromkeys(("parkinglot",), "parkinglot"),
    "queue": "queue",
    "variable": "variable",
    "variables": "varname",
    "eventmask": "eventmask",
    "application": "application",
    "bridgeuniqueid": "bridge",
    "conference": "conference",
    "mailbox": "mailbox",
    "module": "module",
}

# (action, parameter) pairs whose kind differs from the name's usual one.
_ACTION_KINDS: Final = {
    ("originate", "channel"): "dialstring",
    ("getvar", "variable"): "varname",
    ("setvar", "variable"): "varname",
    ("login", "secret"): "secret",
    ("login", "key"): "secret",
    ("login", "events"): "eventmask",
    ("command", "command"): "cli",
    ("filter", "filter"): "filter",
    ("queuechangeprioritycaller", "priority"): "number",
    ("waitevent", "timeout"): "number",
    **{(db, "family"): "dbfamily" for db in ("dbget", "dbput", "dbdel", "dbdeltree", "dbgettree")},
    **{(db, "key"): "dbkey" for db in ("dbget", "dbput", "dbdel", "dbdeltree", "dbgettree")},
}


def param_kind(action: str, name: str) -> str:
    """The value kind of parameter ``name`` of ``action`` (see :data:`KINDS`)."""
    action_l = action.lower()
    name_l = name.lower()
    kind = _ACTION_KINDS.get((action_l, name_l))
    if kind is not None:
        return kind
    if action_l.startswith("voicemail") and name_l in ("context", "tocontext"):
        return "text"  # a voicemail context, not a dialplan one
    return _NAME_KINDS.get(name_l, "text")
