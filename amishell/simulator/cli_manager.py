"""The simulated server's ``manager show`` commands about events, users and settings.

``manager show events`` lists every event name the packaged event catalogue
knows, ``manager show event NAME`` documents one (its headers; the synopsis is
the simulator's own line), ``manager show user NAME`` / ``users`` the manager
users, ``manager show settings`` the server's settings (``Disabled events``
among them). The layout follows the real server's; the words are the simulator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..eventdocs import load_offline_events
from .config import ALL_CLASSES, CLASS_BITS

if TYPE_CHECKING:
    from .session import Session

__all__ = ["c_event", "c_events", "c_settings", "c_user", "c_users", "event_names", "user_names"]

Result = tuple[bool, list[str]]
_WIDTH = 26


def event_names() -> list[str]:
    return sorted(i.name for i in load_offline_events())


def user_names(s: Session) -> list[str]:
    return sorted(s.server.users)


def c_events(s: Session, args: list[str]) -> Result:
    names = event_names()
    out = ["Events:", "  " + "  ".join(["-" * _WIDTH] * 3) + "  "]
    for i in range(0, len(names), 3):
        out.append("".join(f"  {n:<{_WIDTH}}" for n in names[i : i + 3]))
    return True, out


def c_event(s: Session, args: list[str]) -> Result:
    if not args:
        return False, ["Usage: manager show event <eventname>"]
    out: list[str] = []
    for name in args:
        info = load_offline_events().get(name)
        if info is None:
            out.append(f"Could not find event '{name}'")
            continue
        out += [
            f"Event: {info.name}",
            "",
            f"  -= Info about Manager Event '{info.name}' =- ",
            "",
            "[Synopsis]",
            f"The {info.name} event, as the simulated server sends it.",
            "",
            "[Provided By]",
            "amishell-sim",
            "",
            "[Since]",
            s.server.asterisk_version,
            "",
            "[Syntax]",
            f"Event: {info.name}",
            *(f"{h}: <value>" for h in info.headers),
            "",
        ]
    return True, out


def _classes(mask: int) -> str:
    names = [name for name, bit in CLASS_BITS.items() if mask & bit]
    if mask & ALL_CLASSES == ALL_CLASSES:
        names.append("all")
    return ",".join(names)


def c_user(s: Session, args: list[str]) -> Result:
    if not args:
        return False, ["Usage: manager show user <user>"]
    user = s.server.users.get(args[0])
    if user is None:
        return True, [f"The simulated server has no manager user {args[0]!r}."]
    return True, [
        "",
        f"          username: {args[0]}",
        "            secret: <Set>",
        f"               ACL: {'yes' if user.permit else 'no'}",
        f"         read perm: {_classes(user.read_mask)}",
        f"        write perm: {_classes(user.write_mask)}",
        "   displayconnects: yes",
        "allowmultiplelogin: yes",
        "         Variables: ",
    ]


def c_users(s: Session, args: list[str]) -> Result:
    names = user_names(s)
    return True, [
        "",
        "username",
        "--------",
        *names,
        "-------------------",
        f"{len(names)} manager users configured.",
    ]


def c_settings(s: Session, args: list[str]) -> Result:
    host, port = s.server.address
    disabled = ",".join(sorted(s.server.pbx.disabled_events))

    def row(key: str, value: str) -> str:
        return f"  {key + ':':<27}{value:<15}"

    return True, [
        "",
        "Global Settings:",
        "----------------",
        row("Manager (AMI)", "Yes"),
        row("Web Manager (AMI/HTTP)", "No"),
        row("TCP Bindaddress", f"{host}:{port}"),
        row("TLS Enable", "Yes" if s.server.ssl_context is not None else "No"),
        row("Allow multiple login", "Yes"),
        row("Display connects", "Yes"),
        row("Timestamp events", "No"),
        row("Channel vars", ""),
        row("Disabled events", disabled),
        row("Debug", "No"),
    ]
