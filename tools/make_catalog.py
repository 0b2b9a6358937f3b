"""Build amishell/data/catalog.json from the recorded server answers.

Reads tests/data/asterisk/manager_show_all.jsonl (``manager show command NAME``
for every action of a real server) and list_commands.jsonl (its ListCommands
answer). Takes names, privilege classes, modules, versions, related names and
parameters (with their required flags) from them; the synopses are this
project's own, from SYNOPSES below, never the server's sentences.

    python tools/make_catalog.py           # write the catalogue
    python tools/make_catalog.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from amishell.catalog import (
    ActionSpec,
    Catalog,
    parse_manager_doc,
    spec_to_json,
)
from amishell.message import Message
from amishell.protocol import Parser

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "asterisk"
OUTPUT = ROOT / "amishell" / "data" / "catalog.json"

SYNOPSES = {
    "AbsoluteTimeout": "Hang up a channel after a set time",
    "AgentLogoff": "Log an agent out",
    "Agents": "Show every agent and its state",
    "AGI": "Queue a command for Async AGI",
    "AOCMessage": "Send Advice of Charge on a channel",
    "Atxfer": "Start an attended transfer",
    "BlindTransfer": "Transfer a channel without consulting",
    "Bridge": "Join two channels in a bridge",
    "BridgeDestroy": "Tear down a bridge",
    "BridgeInfo": "Show one bridge and its channels",
    "BridgeKick": "Take a channel out of a bridge",
    "BridgeList": "List bridges",
    "BridgeTechnologyList": "List bridging technologies",
    "BridgeTechnologySuspend": "Disable a bridging technology",
    "BridgeTechnologyUnsuspend": "Re-enable a bridging technology",
    "CancelAtxfer": "Abort an attended transfer",
    "Challenge": "Get a challenge for MD5 login",
    "Command": "Run a CLI command, return its output",
    "ConfbridgeKick": "Remove a user from a conference",
    "ConfbridgeList": "List the users in a conference",
    "ConfbridgeListRooms": "List conferences in progress",
    "ConfbridgeLock": "Lock a conference",
    "ConfbridgeMute": "Mute a conference user",
    "ConfbridgeSetSingleVideoSrc": "Make one user the conference video source",
    "ConfbridgeStartRecord": "Start recording a conference",
    "ConfbridgeStopRecord": "Stop recording a conference",
    "ConfbridgeUnlock": "Unlock a conference",
    "ConfbridgeUnmute": "Unmute a conference user",
    "ControlPlayback": "Pause, skip or stop a channel's playback",
    "CoreSettings": "Show core settings and versions",
    "CoreShowChannelMap": "Show the channels tied to a channel",
    "CoreShowChannels": "List live channels",
    "CoreStatus": "Show uptime, reload time and call count",
    "CreateConfig": "Create an empty config file",
    "DBDel": "Delete an AstDB key",
    "DBDelTree": "Delete an AstDB family or subtree",
    "DBGet": "Read an AstDB key",
    "DBGetTree": "List the AstDB keys under a family",
    "DBPut": "Write an AstDB key",
    "DeviceStateList": "List device states",
    "DialplanExtensionAdd": "Create a dialplan extension",
    "DialplanExtensionRemove": "Delete a dialplan extension",
    "Events": "Choose which events this session gets",
    "ExtensionState": "Show an extension's hint state",
    "ExtensionStateList": "List the states of all hints",
    "FAXSession": "Show one fax session",
    "FAXSessions": "List fax sessions",
    "FAXStats": "Show fax statistics",
    "Filter": "Add an event filter to this session",
    "GetConfig": "Read a config file",
    "GetConfigJSON": "Read a config file as JSON",
    "Getvar": "Read a global or channel variable",
    "Hangup": "Hang up a channel",
    "IAXnetstats": "Show IAX network statistics",
    "IAXpeerlist": "List IAX peers as events",
    "IAXpeers": "Show IAX peers",
    "IAXregistry": "Show IAX registrations and their state",
    "ListCategories": "List the categories of a config file",
    "ListCommands": "List the actions this user may run",
    "LocalOptimizeAway": "Let a Local channel pair drop out of the call",
    "LoggerRotate": "Rotate the log files",
    "Login": "Log in",
    "Logoff": "Log out and close the session",
    "MailboxCount": "Count a mailbox's messages",
    "MailboxStatus": "Check a mailbox for waiting messages",
    "MessageSend": "Send an out-of-call text message",
    "MixMonitor": "Start recording a channel",
    "MixMonitorMute": "Mute or unmute part of a recording",
    "ModuleCheck": "Check whether a module is loaded",
    "ModuleLoad": "Load, unload or reload a module",
    "MuteAudio": "Mute a channel's audio one or both ways",
    "Originate": "Place a new call",
    "Park": "Put a channel in a parking lot",
    "ParkedCalls": "Show calls waiting in parking lots",
    "Parkinglots": "List parking lots",
    "Ping": "Check that the session answers",
    "PlayDTMF": "Play a DTMF digit on a channel",
    "PlayMF": "Play an MF digit on a channel",
    "PresenceState": "Show a presence provider's state",
    "PresenceStateList": "List presence states",
    "QueueAdd": "Add a member to a queue",
    "QueueChangePriorityCaller": "Change a waiting caller's priority",
    "QueueLog": "Write an entry to the queue log",
    "QueueMemberRingInUse": "Set whether a busy queue member is rung",
    "QueuePause": "Pause or resume a queue member",
    "QueuePenalty": "Set a queue member's penalty",
    "QueueReload": "Reload queue settings",
    "QueueRemove": "Remove a member from a queue",
    "QueueReset": "Zero a queue's statistics",
    "QueueRule": "Show queue rules",
    "QueueStatus": "Show queues, their members and callers",
    "QueueSummary": "Summarise each queue",
    "QueueWithdrawCaller": "Take a waiting caller out of a queue",
    "Redirect": "Send a channel elsewhere in the dialplan",
    "Reload": "Reload one module or everything",
    "SendFlash": "Flash the hook on a channel",
    "SendText": "Send a text to a channel",
    "Setvar": "Set a global or channel variable",
    "ShowDialPlan": "List dialplan extensions",
    "SorceryMemoryCacheExpire": "Expire every object in a sorcery cache",
    "SorceryMemoryCacheExpireObject": "Expire one object in a sorcery cache",
    "SorceryMemoryCachePopulate": "Refill a sorcery cache",
    "SorceryMemoryCacheStale": "Mark every object in a sorcery cache stale",
    "SorceryMemoryCacheStaleObject": "Mark one sorcery cache object stale",
    "Status": "Show the state of channels",
    "StopMixMonitor": "Stop recording a channel",
    "UpdateConfig": "Change a config file",
    "UserEvent": "Send a custom event",
    "VoicemailBoxSummary": "Summarise a voicemail box",
    "VoicemailForward": "Forward a voicemail message",
    "VoicemailMove": "Move a voicemail message to another folder",
    "VoicemailRefresh": "Refresh voicemail state",
    "VoicemailRemove": "Delete a voicemail message",
    "VoicemailUsersList": "List voicemail users",
    "VoicemailUserStatus": "Show one voicemail user",
    "WaitEvent": "Wait for an event",
}


def read_messages(path: Path) -> list[Message]:
    """The server's messages in a transcript, in order."""
    parser = Parser(greeting=True)
    for line in path.read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "recv":
            parser.feed(chunk["data"].encode("utf-8"))
    return [e for e in parser.events() if isinstance(e, Message)]


def list_commands(messages: list[Message]) -> Catalog:
    """The first ListCommands answer among ``messages``."""
    for msg in messages:
        if msg.is_response and any("  (Priv: " in value for _, value in msg.headers):
            return Catalog.from_list_commands(msg, None)
    raise SystemExit("no ListCommands answer found")


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def build() -> list[ActionSpec]:
    """The catalogue's specs, checked against both transcripts."""
    listed = list_commands(read_messages(FIXTURES / "list_commands.jsonl"))
    specs: list[ActionSpec] = []
    for msg in read_messages(FIXTURES / "manager_show_all.jsonl"):
        if not msg.output:
            continue
        spec = parse_manager_doc(msg.output)
        if spec is None:
            raise SystemExit(f"no [Syntax] section in answer {msg.action_id}")
        live = listed.get(spec.name)
        if live is None or live.name != spec.name:
            raise SystemExit(f"{spec.name}: not in the ListCommands answer")
        if live.privileges != spec.privileges:
            raise SystemExit(f"{spec.name}: privileges differ: {live.privileges}")
        ours = SYNOPSES.get(spec.name)
        if ours is None:
            raise SystemExit(f"{spec.name}: write a synopsis for it in SYNOPSES")
        if _words(ours) in (_words(spec.synopsis), _words(live.synopsis)):
            raise SystemExit(f"{spec.name}: the synopsis must be our own words")
        specs.append(spec._replace(synopsis=ours))
    names = {s.name for s in specs}
    if names != set(listed.actions):
        raise SystemExit(f"actions differ: {sorted(names ^ set(listed.actions))}")
    if extra := set(SYNOPSES) - names:
        raise SystemExit(f"synopses for unknown actions: {sorted(extra)}")
    specs.sort(key=lambda s: s.name.lower())
    return specs


def render(specs: list[ActionSpec]) -> str:
    lines = [json.dumps(spec_to_json(s), ensure_ascii=False) for s in specs]
    head = '{"source": "tests/data/asterisk/manager_show_all.jsonl", "actions": [\n'
    return head + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="fail if catalog.json is stale")
    args = ap.parse_args(argv)
    text = render(build())
    if args.check:
        current = OUTPUT.read_text("utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run tools/make_catalog.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, "utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {text.count(chr(10)) - 2} actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
