"""AstDB and queue actions: DBPut/DBGet/DBGetTree/DBDel/DBDelTree and
QueueStatus/QueueSummary/QueueAdd/QueueRemove/QueuePause."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import calls
from .config import CLASS_BITS
from .dialplan import CONTEXTS
from .pbx import Member
from .wire import Request, ack, error, lines_bytes, list_complete

if TYPE_CHECKING:
    from .session import Session

__all__: list[str] = []


def a_dbput(s: Session, req: Request) -> bool:
    family, key = req.get("Family"), req.get("Key")
    if not family:
        s.send(error(req, "No family specified"))
    elif not key:
        s.send(error(req, "No key specified"))
    else:
        s.server.pbx.db[f"/{family}/{key}"] = req.get("Val")
        s.send(ack(req, "Updated database successfully"))
    return False


def a_dbget(s: Session, req: Request) -> bool:
    family, key = req.get("Family"), req.get("Key")
    if not family:
        s.send(error(req, "No family specified."))
        return False
    if not key:
        s.send(error(req, "No key specified."))
        return False
    value = s.server.pbx.db.get(f"/{family}/{key}")
    if value is None:
        s.send(error(req, "Database entry not found"))
        return False
    s.send(ack(req, "Result will follow", listflag="start"))
    item = [("Event", "DBGetResponse"), ("Family", family), ("Key", key), ("Val", value)]
    s.send(lines_bytes([*item, *req.id_pairs()]))
    s.send(list_complete(req, "DBGetComplete", 1))
    return False


def _db_prefix(family: str, key: str) -> str:
    if not family:
        return ""
    return f"/{family}/{key}" if key else f"/{family}"


def _db_matches(db: dict[str, str], prefix: str) -> list[str]:
    return sorted(k for k in db if not prefix or k == prefix or k.startswith(prefix + "/"))


def a_dbgettree(s: Session, req: Request) -> bool:
    db = s.server.pbx.db
    keys = _db_matches(db, _db_prefix(req.get("Family"), req.get("Key")))
    s.send(ack(req, "Result will follow", listflag="start"))
    for k in keys:
        s.send(
            lines_bytes(
                [("Event", "DBGetTreeResponse"), ("Key", k), ("Val", db[k]), *req.id_pairs()]
            )
        )
    s.send(list_complete(req, "DBGetTreeComplete", len(keys)))
    return False


def a_dbdel(s: Session, req: Request) -> bool:
    family, key = req.get("Family"), req.get("Key")
    if not family:
        s.send(error(req, "No family specified."))
    elif not key:
        s.send(error(req, "No key specified."))
    elif s.server.pbx.db.pop(f"/{family}/{key}", None) is None:
        s.send(error(req, "Database entry could not be deleted"))
    else:
        s.send(ack(req, "Key deleted successfully"))
    return False


def a_dbdeltree(s: Session, req: Request) -> bool:
    family = req.get("Family")
    if not family:
        s.send(error(req, "No family specified."))
        return False
    db = s.server.pbx.db
    keys = _db_matches(db, _db_prefix(family, req.get("Key")))
    for k in keys:
        del db[k]
    s.send(
        ack(req, "Key tree deleted successfully")
        if keys
        else error(req, "Database entry not found")
    )
    return False


# ---------------------------------------------------------------------------
# Queues


def a_queuestatus(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    qfilter, mfilter = req.get("Queue"), req.get("Member")
    ids = req.id_pairs()
    with pbx.lock:
        s.send(ack(req, "Queue status will follow", listflag="start"))
        count = 0
        for q in pbx.queues.values():
            if qfilter and q.name.lower() != qfilter.lower():
                continue
            perf = "100.0" if q.completed else "0.0"
            s.send(
                lines_bytes(
                    [
                        ("Event", "QueueParams"),
                        ("Queue", q.name),
                        ("Max", 0),
                        ("Strategy", q.strategy),
                        ("Calls", len(q.callers)),
                        ("Holdtime", q.holdtime),
                        ("TalkTime", q.talktime),
                        ("Completed", q.completed),
                        ("Abandoned", q.abandoned),
                        ("ServiceLevel", 0),
                        ("ServicelevelPerf", perf),
                        ("ServicelevelPerf2", perf),
                        ("Weight", 0),
                        *ids,
                    ]
                )
            )
            count += 1
            for m in q.members:
                if mfilter and mfilter not in (m.interface, m.name):
                    continue
                blob = dict(m.blob(q.name, m.reported))
                s.send(
                    lines_bytes(
                        [
                            ("Event", "QueueMember"),
                            ("Queue", q.name),
                            ("Name", m.name),
                            ("Location", m.interface),
                            ("StateInterface", m.interface),
                            ("Membership", blob["Membership"]),
                            ("Penalty", m.penalty),
                            ("CallsTaken", m.calls),
                            ("LastCall", m.last_call),
                            ("LastPause", 0),
                            ("LoginTime", m.login_time),
                            ("InCall", int(m.in_call)),
                            ("Status", m.reported),
                            ("Paused", int(m.paused)),
                            ("PausedReason", m.paused_reason),
                            ("Wrapuptime", m.wrapuptime),
                            *ids,
                        ]
                    )
                )
                count += 1
            for pos, (ch, since) in enumerate(q.callers, 1):
                s.send(
                    lines_bytes(
                        [
                            ("Event", "QueueEntry"),
                            ("Queue", q.name),
                            ("Position", pos),
                            ("Channel", ch.name),
                            ("Uniqueid", ch.uniqueid),
                            ("CallerIDNum", ch.caller[0] or "unknown"),
                            ("CallerIDName", ch.caller[1] or "unknown"),
                            ("ConnectedLineNum", ch.connected[0] or "unknown"),
                            ("ConnectedLineName", ch.connected[1] or "unknown"),
                            ("Wait", int(pbx.elapsed(since))),
                            ("Priority", 0),
                            *ids,
                        ]
                    )
                )
                count += 1
        s.send(list_complete(req, "QueueStatusComplete", count))
    return False


def a_queuesummary(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    qfilter = req.get("Queue")
    with pbx.lock:
        s.send(ack(req, "Queue summary will follow", listflag="start"))
        count = 0
        for q in pbx.queues.values():
            if qfilter and q.name.lower() != qfilter.lower():
                continue
            available = sum(1 for m in q.members if not m.paused and m.reported == 1)
            longest = max((int(pbx.elapsed(t)) for _, t in q.callers), default=0)
            s.send(
                lines_bytes(
                    [
                        ("Event", "QueueSummary"),
                        ("Queue", q.name),
                        ("LoggedIn", len(q.members)),
                        ("Available", available),
                        ("Callers", len(q.callers)),
                        ("HoldTime", q.holdtime),
                        ("TalkTime", q.talktime),
                        ("LongestHoldTime", longest),
                        *req.id_pairs(),
                    ]
                )
            )
            count += 1
        s.send(list_complete(req, "QueueSummaryComplete", count))
    return False


def a_queueadd(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    qname, iface = req.get("Queue"), req.get("Interface")
    if not qname:
        s.send(error(req, "'Queue' not specified."))
        return False
    if not iface:
        s.send(error(req, "'Interface' not specified."))
        return False
    penalty = req.get("Penalty")
    paused = req.get("Paused").lower() in ("yes", "true", "y", "t", "1", "on")
    with pbx.lock:
        q = pbx.queues.get(qname)
        if q is None:
            s.send(error(req, "Unable to add interface to queue: No such queue"))
            return False
        if q.member(iface) is not None:
            s.send(error(req, "Unable to add interface: Already there"))
            return False
        member = Member(
            interface=iface,
            name=req.get("MemberName") or iface,
            dynamic=True,
            penalty=int(penalty) if penalty.isdigit() else 0,
            paused=paused,
            paused_reason=req.get("Reason") if paused else "",
        )
        member.reported = 2 if calls.device_state(pbx, iface) == "INUSE" else 1
        q.members.append(member)
        s.send(ack(req, "Added interface to queue"))
        pbx.emit("QueueMemberAdded", CLASS_BITS["agent"], member.blob(q.name, member.reported))
    return False


def a_queueremove(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    qname, iface = req.get("Queue"), req.get("Interface")
    if not qname or not iface:
        s.send(error(req, "Need 'Queue' and 'Interface' parameters."))
        return False
    with pbx.lock:
        q = pbx.queues.get(qname)
        member = q.member(iface) if q is not None else None
        if q is None:
            s.send(error(req, "Unable to remove interface from queue: No such queue"))
        elif member is None:
            s.send(error(req, "Unable to remove interface: Not there"))
        elif not member.dynamic:
            s.send(error(req, "Member not dynamic"))
        else:
            q.members.remove(member)
            s.send(ack(req, "Removed interface from queue"))
            blob = member.blob(q.name, member.reported)
            pbx.emit("QueueMemberRemoved", CLASS_BITS["agent"], blob)
    return False


def a_queuepause(s: Session, req: Request) -> bool:
    pbx = s.server.pbx
    iface, paused_text, qname = req.get("Interface"), req.get("Paused"), req.get("Queue")
    if not iface or not paused_text:
        s.send(error(req, "Need 'Interface' and 'Paused' parameters."))
        return False
    paused = paused_text.lower() in ("yes", "true", "y", "t", "1", "on")
    with pbx.lock:
        found = []
        for q in pbx.queues.values():
            if qname and q.name != qname:
                continue
            member = q.member(iface)
            if member is not None:
                member.paused = paused
                member.paused_reason = req.get("Reason") if paused else ""
                found.append((q, member))
        if not found:
            s.send(error(req, "Interface not found"))
            return False
        s.send(
            ack(
                req,
                "Interface paused successfully" if paused else "Interface unpaused successfully",
            )
        )
        for q, member in found:
            blob = [*member.blob(q.name, member.reported)]
            pbx.emit("QueueMemberPause", CLASS_BITS["agent"], blob)
    return False


def a_showdialplan(s: Session, req: Request) -> bool:
    """The dialplan as an event list (``ListDialplan`` items), as the real server sends it."""
    want_context, want_exten = req.get("Context"), req.get("Extension")
    contexts = {c: e for c, e in CONTEXTS.items() if not want_context or c == want_context}
    items = [
        (context, exten, priority, step)
        for context, extens in contexts.items()
        for exten, steps in extens.items()
        if not want_exten or exten == want_exten
        for priority, step in enumerate(steps, 1)
    ]
    if not items:
        what = f"Extension {want_exten}@{want_context}" if want_exten else f"Context {want_context}"
        s.send(error(req, f"Did not find {what}"))
        return False
    s.send(ack(req, "DialPlan list will follow", listflag="start"))
    for context, exten, priority, step in items:
        s.send(lines_bytes([
            ("Event", "ListDialplan"), *req.id_pairs(), ("Context", context),
            ("Extension", exten), ("Priority", priority), ("Application", step.app),
            ("AppData", step.data), ("Registrar", "pbx_config"),
        ]))
    extra = [
        ("ListExtensions", len({(c, e) for c, e, _, _ in items})),
        ("ListPriorities", len(items)), ("ListContexts", len(contexts)),
    ]
    s.send(list_complete(req, "ShowDialPlanComplete", len(items), extra))
    return False
