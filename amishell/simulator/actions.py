"""Action handlers: the answers of the simulated server, worded as the real one's.

:func:`dispatch` runs one action for a session the way the server does: a
missing ``Action`` first, then ``Permission denied`` before login (except
Login, Logoff and Challenge), then the action's privilege, then the handler.
Handlers return True when the session must close after the answer.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..catalog import list_commands_entry
from . import actions_channels as ch
from . import actions_data as data
from . import cli
from .config import CLASS_BITS, mask_from_text
from .wire import Request, ack, error, lines_bytes, response

if TYPE_CHECKING:
    from .session import Session

__all__ = ["dispatch", "IMPLEMENTED"]

Handler = Callable[["Session", Request], bool]

_UNAUTH_OK: Final = frozenset({"login", "logoff", "challenge"})

#: Privileges of the implemented actions when the catalogue lacks them.
_DEFAULT_PRIVS: Final = {
    "bridgelist": "",
    "command": "command",
    "coresettings": "system,reporting",
    "coreshowchannels": "system,reporting",
    "corestatus": "system,reporting",
    "dbdel": "system",
    "dbdeltree": "system",
    "dbget": "system,reporting",
    "dbgettree": "system,reporting",
    "dbput": "system",
    "filter": "system",
    "getvar": "call,reporting",
    "hangup": "system,call",
    "originate": "originate",
    "queueadd": "agent",
    "queuepause": "agent",
    "queueremove": "agent",
    "redirect": "call",
    "setvar": "call",
    "showdialplan": "config,reporting",
    "status": "system,call,reporting",
    "userevent": "user",
}


def dispatch(s: Session, req: Request) -> bool:
    """Run one action; True when the session must close afterwards."""
    action = req.action
    if not action:
        s.send(error(req, "Missing action in request"))
        return False
    lower = action.lower()
    if not s.authenticated and lower not in _UNAUTH_OK:
        s.send(error(req, "Permission denied"))
        return False
    handler = IMPLEMENTED.get(lower)
    spec = s.server.catalog.get(action)
    if handler is None and spec is None:
        s.send(
            error(
                req,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
        )
        return False
    if spec is not None:
        authority = mask_from_text(",".join(p for p in spec.privileges if p != "all") or "0")
    else:
        authority = max(mask_from_text(_DEFAULT_PRIVS.get(lower, "") or "0"), 0)
    if authority and not s.write_mask & authority:
        s.send(error(req, "Permission denied"))
        return False
    if handler is None:
        s.send(error(req, f"{action} is not available in the simulated PBX"))
        return False
    return handler(s, req)


# ---------------------------------------------------------------------------
# Session and login


def a_ping(s: Session, req: Request) -> bool:
    now = time.time()
    extra = [("Ping", "Pong"), ("Timestamp", f"{now:.6f}")]
    s.send(response(req, "Success", extra=extra))
    return False


def a_login(s: Session, req: Request) -> bool:
    if s.authenticated:
        s.send(ack(req, "Already authenticated"))
        return False
    user_name = req.get("Username")
    user = s.server.users.get(user_name) if user_name else None
    ok = False
    if user is not None and user.permitted(s.remote[0]):
        if req.get("AuthType").lower() == "md5":
            key = req.get("Key")
            if key and s.challenge:
                digest = hashlib.md5((s.challenge + user.secret).encode("utf-8")).hexdigest()
                ok = key == digest
        else:
            ok = req.get("Secret") == user.secret
    if not ok:
        s.fail_login(req)
        return True
    assert user is not None
    s.login(req, user_name, user)
    return False


def a_logoff(s: Session, req: Request) -> bool:
    s.send(response(req, "Goodbye", "Thanks for all the fish."))
    return True


def a_challenge(s: Session, req: Request) -> bool:
    if req.get("AuthType").lower() != "md5":
        s.send(error(req, "Must specify AuthType"))
        return False
    if not s.challenge:
        s.challenge = str(random.randint(0, 2**31 - 1))
    s.send(response(req, "Success", extra=[("Challenge", s.challenge)]))
    return False


def a_events(s: Session, req: Request) -> bool:
    mask = mask_from_text(req.get("EventMask"))
    if mask < 0:
        s.send(error(req, "Invalid event mask"))
        return False
    s.send_events = s.read_mask & mask
    state = "On" if mask > 0 else "Off"
    s.send(lines_bytes([("Response", "Success"), *req.id_pairs(), ("Events", state)]))
    return False


def a_filter(s: Session, req: Request) -> bool:
    if req.get("Operation").lower() != "add":
        s.send(error(req, "Unknown operation"))
        return False
    result = s.add_filter(req.get("MatchCriteria"), req.get("Filter"))
    if result:
        s.send(error(req, result))
    else:
        s.send(ack(req, "Success"))
    return False


def a_listcommands(s: Session, req: Request) -> bool:
    pairs: list[tuple[str, object]] = [("Response", "Success"), *req.id_pairs()]
    catalog = s.server.catalog
    for name in catalog.names():
        spec = catalog.actions[name]
        privs = [p for p in spec.privileges if p != "all"]
        authority = mask_from_text(",".join(privs)) if privs else 0
        if not authority or s.write_mask & authority:
            pairs.append((name, list_commands_entry(spec)))
    s.send(lines_bytes(pairs))
    return False


def a_userevent(s: Session, req: Request) -> bool:
    name = req.get("UserEvent")
    body: list[tuple[str, object]] = [("UserEvent", name)]
    for line in req.lines:
        low = line.lower()
        if low.startswith("userevent:") or low.startswith("action:"):
            continue
        key, _, value = line.partition(":")
        body.append((key, value[1:] if value.startswith(" ") else value))
    s.send(ack(req, "Event Sent"))
    s.server.pbx.emit("UserEvent", CLASS_BITS["user"], body)
    return False


# ---------------------------------------------------------------------------
# Core


def a_coresettings(s: Session, req: Request) -> bool:
    sim = s.server
    extra = [
        ("AMIversion", sim.version),
        ("AsteriskVersion", sim.asterisk_version),
        ("SystemName", sim.system_name),
        ("CoreMaxCalls", 0),
        ("CoreMaxLoadAvg", "0.000000"),
        ("CoreRunUser", "asterisk"),
        ("CoreRunGroup", "asterisk"),
        ("CoreMaxFilehandles", 0),
        ("CoreRealTimeEnabled", "No"),
        ("CoreCDRenabled", "No"),
        ("CoreHTTPenabled", "No"),
        ("SoundsSearchCustomDir", "No"),
    ]
    s.send(response(req, "Success", extra=extra))
    return False


def a_corestatus(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    start = time.localtime(pbx.started)
    reload = time.localtime(pbx.last_reload)
    extra = [
        ("CoreStartupDate", time.strftime("%Y-%m-%d", start)),
        ("CoreStartupTime", time.strftime("%H:%M:%S", start)),
        ("CoreReloadDate", time.strftime("%Y-%m-%d", reload)),
        ("CoreReloadTime", time.strftime("%H:%M:%S", reload)),
        ("CoreCurrentCalls", len(pbx.channels)),
        ("CoreProcessedCalls", pbx.processed_calls),
    ]
    s.send(response(req, "Success", extra=extra))
    return False


def a_command(s: Session, req: Request) -> bool:
    line = req.get("Command")
    if not line:
        s.send(error(req, "No command provided"))
        return False
    ok, out = cli.run(s, line)
    if s.server.legacy_command:
        head = lines_bytes(
            [("Response", "Follows"), ("Privilege", "Command"), *req.id_pairs()], end=False
        )
        text = "".join(f"{x}\n" for x in out)
        s.send(head + text.encode("utf-8") + b"--END COMMAND--\r\n\r\n")
        return False
    pairs: list[tuple[str, object]] = [("Response", "Success" if ok else "Error")]
    pairs += [*req.id_pairs(), ("Message", "Command output follows")]
    pairs += [("Output", x) for x in (out or [""])]
    s.send(lines_bytes(pairs))
    return False


IMPLEMENTED: Final[dict[str, Handler]] = {
    "bridgelist": ch.a_bridgelist,
    "challenge": a_challenge,
    "command": a_command,
    "coresettings": a_coresettings,
    "coreshowchannels": ch.a_coreshowchannels,
    "corestatus": a_corestatus,
    "dbdel": data.a_dbdel,
    "dbdeltree": data.a_dbdeltree,
    "dbget": data.a_dbget,
    "dbgettree": data.a_dbgettree,
    "dbput": data.a_dbput,
    "events": a_events,
    "filter": a_filter,
    "getvar": ch.a_getvar,
    "hangup": ch.a_hangup,
    "listcommands": a_listcommands,
    "login": a_login,
    "logoff": a_logoff,
    "originate": ch.a_originate,
    "ping": a_ping,
    "queueadd": data.a_queueadd,
    "queuepause": data.a_queuepause,
    "queueremove": data.a_queueremove,
    "queuestatus": data.a_queuestatus,
    "queuesummary": data.a_queuesummary,
    "redirect": ch.a_redirect,
    "setvar": ch.a_setvar,
    "showdialplan": data.a_showdialplan,
    "status": ch.a_status,
    "userevent": a_userevent,
}
