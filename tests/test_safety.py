"""The library's read-only check (amishell.safety) and the text-safety helpers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amishell.catalog import load_offline
from amishell.safety import (
    READ_ONLY_ACTIONS,
    SESSION_ACTIONS,
    changes_nothing,
    describe,
    is_show_command,
    refusal,
)
from amishell.textsafe import UNSAFE, clean, fit, json_dumps, shown_len

HOSTILE = "Eve\x1b]0;title\x07 \x1b[2J \x9b31m \u202eevil\x7f"


@pytest.mark.parametrize("name", [
    "Ping", "CoreSettings", "CoreStatus", "CoreShowChannels", "Status", "QueueStatus",
    "QueueSummary", "ListCommands", "DBGet", "DBGetTree", "Getvar", "ShowDialPlan",
    "BridgeList", "PJSIPShowEndpoints", "coreshowchannels",
])
def test_actions_that_change_nothing_are_allowed(name: str) -> None:
    assert refusal({"Action": name}) is None
    assert changes_nothing([("Action", name)])


@pytest.mark.parametrize("name", ["Events", "Filter", "Challenge", "Login", "Logoff"])
def test_actions_that_change_only_the_session_are_allowed(name: str) -> None:
    assert refusal({"Action": name, "EventMask": "off"}) is None


@pytest.mark.parametrize("name", [
    "Hangup", "Originate", "Redirect", "Atxfer", "BlindTransfer", "QueueRemove",
    "QueuePause", "DBDel", "DBDelTree", "DBPut", "ModuleLoad", "Reload", "Setvar",
    "LoggerRotate", "MixMonitor", "UpdateConfig", "NoSuchActionAnywhere",
])
def test_everything_else_is_refused_with_a_reason(name: str) -> None:
    reason = refusal({"Action": name, "Channel": "PJSIP/100-00000001"})
    assert reason is not None and "\n" not in reason


def test_userevent_is_refused_because_it_reaches_every_session() -> None:
    reason = refusal({"Action": "UserEvent", "UserEvent": "Hello"})
    assert reason is not None and "every manager session" in reason


def test_getvar_of_a_dialplan_function_is_refused() -> None:
    assert refusal({"Action": "Getvar", "Variable": "CHANNEL(name)"}) is not None
    assert refusal({"Action": "Getvar", "Variable": "DIALSTATUS"}) is None


def test_every_catalogue_action_is_reviewed_one_way_or_the_other() -> None:
    """Names on the read-only lists are real actions (no typo hides a refusal), and
    the catalogue's actions that change things are not on them."""
    names = {name.lower() for name in load_offline().names()}
    changing = {"hangup", "originate", "redirect", "userevent", "reload", "moduleload",
                "dbput", "dbdel", "dbdeltree", "queueadd", "queueremove", "queuepause",
                "setvar", "command", "updateconfig", "loggerrotate", "absolutetimeout"}
    assert changing <= names
    assert not changing & READ_ONLY_ACTIONS
    assert not changing & SESSION_ACTIONS
    offered = names & READ_ONLY_ACTIONS
    assert {"ping", "coresettings", "corestatus", "coreshowchannels"} <= offered


@pytest.mark.parametrize("command", [
    "core show channels", "core show version", "pjsip show endpoints", "sip show peers",
    "queue show", "database show", "dialplan show demo", "manager show commands",
    "module show like pjsip", "bridge show all", "channel show x", "  Core   Show  uptime ",
    "_command matchesarray \"core sh\" \"sh\"",
])
def test_show_only_cli_commands_are_allowed(command: str) -> None:
    assert is_show_command(command)
    assert refusal({"Action": "Command", "Command": command}) is None


@pytest.mark.parametrize("command", [
    "reload", "core reload", "core restart now", "core stop gracefully", "hangup request all",
    "channel request hangup all", "channel originate Local/1@demo extension 2@demo",
    "database put a b c", "database del a b", "database deltree a", "database query x",
    "module load x.so", "module unload x.so", "core set verbose 5", "", "core",
    "!rm -rf /",
])
def test_other_cli_commands_are_refused(command: str) -> None:
    reason = refusal({"Action": "Command", "Command": command})
    assert reason is not None


def test_refusal_of_nothing_at_all() -> None:
    assert refusal({}) == "no Action given"


@pytest.mark.parametrize(("fields", "text"), [
    ({"Action": "Hangup", "Channel": "PJSIP/100-1"}, "hang up PJSIP/100-1"),
    ({"Action": "Originate", "Channel": "Local/1@demo", "Exten": "2", "Context": "demo"},
     "place a call from Local/1@demo to 2@demo"),
    ({"Action": "Redirect", "Channel": "A", "Exten": "3", "Context": "c", "Priority": "1"},
     "move A to 3@c priority 1"),
    ({"Action": "QueuePause", "Interface": "PJSIP/1", "Paused": "false"},
     "unpause PJSIP/1 in every queue"),
    ({"Action": "DBDelTree", "Family": "cf"}, "delete the AstDB tree cf"),
    ({"Action": "Reload"}, "reload every module"),
    ({"Action": "Command", "Command": "core  restart now"},
     "run the CLI command 'core restart now'"),
    ({"Action": "SomethingNew"}, "send SomethingNew, which may change the PBX"),
])
def test_describe_says_what_an_action_will_do(fields: dict[str, str], text: str) -> None:
    assert describe(fields) == text


# -- textsafe ---------------------------------------------------------------------


def test_clean_shows_every_unsafe_character_visibly() -> None:
    shown = clean(HOSTILE)
    assert UNSAFE.search(shown) is None
    assert "^[]0;title^G" in shown and "<U+009B>" in shown and "<U+202E>" in shown
    assert shown_len(HOSTILE) == len(shown)


def test_fit_cuts_by_the_shown_width_and_never_inside_a_visible_escape() -> None:
    text = "ab\x1bcd"
    assert fit(text, 10) == text
    assert fit(text, 4) == "ab…"  # ^[ does not fit in the 1 column left
    assert shown_len(fit("x" * 50 + "\u202e", 20)) <= 20


@given(st.text())
def test_fit_never_exceeds_the_width(text: str) -> None:
    for width in (1, 5, 12):
        assert shown_len(fit(text, width)) <= max(width, 1)


@given(st.dictionaries(st.text(), st.text()))
def test_json_dumps_round_trips_and_holds_no_unsafe_character(obj: dict[str, str]) -> None:
    text = json_dumps(obj)
    assert json.loads(text) == obj
    assert UNSAFE.search(text) is None
