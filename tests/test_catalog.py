"""The offline action catalogue, checked against the real server's answers."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from amishell.catalog import (
    EVENT_CLASSES,
    KINDS,
    ActionSpec,
    Catalog,
    Param,
    list_commands_entry,
    load_offline,
    param_kind,
    parse_manager_doc,
    parse_manager_show,
    render_manager_show,
)
from amishell.message import Message
from amishell.protocol import Parser

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "asterisk"


def server_messages(name: str) -> list[Message]:
    parser = Parser(greeting=True)
    for line in (DATA / name).read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "recv":
            parser.feed(chunk["data"].encode("utf-8"))
    return [e for e in parser.events() if isinstance(e, Message)]


def _syntax_name(output: list[str]) -> str:
    i = output.index("[Syntax]")
    return output[i + 1].removeprefix("Action: ")


@pytest.fixture(scope="module")
def show_all() -> dict[str, list[str]]:
    """`manager show command NAME` output lines by action name."""
    return {
        _syntax_name(m.output): m.output
        for m in server_messages("manager_show_all.jsonl")
        if m.output
    }


@pytest.fixture(scope="module")
def list_commands() -> Message:
    for msg in server_messages("list_commands.jsonl"):
        if msg.value("Ping") is not None:
            return msg
    raise AssertionError("no ListCommands answer in the fixture")


def section(lines: list[str], name: str) -> list[str]:
    """The lines of the first [name] section, without the blank line ending it."""
    start = lines.index(f"[{name}]") + 1
    end = lines.index("", start)
    return lines[start:end]


def headings(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line == "[List Responses]":
            break
        if re.fullmatch(r"\[[A-Z][A-Za-z ]*\]", line):
            out.append(line)
    return out


# -- the catalogue as a whole ---------------------------------------------------


def test_every_action_of_the_server_is_catalogued(
    show_all: dict[str, list[str]], list_commands: Message
) -> None:
    catalog = load_offline()
    listed = {k for k, v in list_commands.headers if "(Priv: " in v}
    assert len(show_all) == len(listed) == 116
    assert len(catalog) == 116
    assert set(catalog.actions) == set(show_all) == listed


def test_load_offline_is_cached() -> None:
    assert load_offline() is load_offline()


def test_names_sorted_case_insensitively() -> None:
    names = load_offline().names()
    assert names == sorted(names, key=str.lower)
    assert names.index("Agents") < names.index("AGI") < names.index("AOCMessage")


def test_lookup_is_case_insensitive() -> None:
    catalog = load_offline()
    for name in ("originate", "ORIGINATE", "Originate", "oRiGiNaTe"):
        spec = catalog.get(name)
        assert spec is not None and spec.name == "Originate"
    assert catalog.canonical("coreshowchannels") == "CoreShowChannels"
    assert catalog.canonical("agi") == "AGI"
    assert "dbget" in catalog
    assert catalog.get("NoSuchAction") is None
    assert catalog.canonical("NoSuchAction") is None
    assert "NoSuchAction" not in catalog


def test_required_flags_of_known_actions() -> None:
    catalog = load_offline()
    originate = catalog.get("Originate")
    assert originate is not None
    assert [p.name for p in originate.required] == ["Channel"]
    assert originate.params[:4] == (
        Param("Channel", True, "dialstring"),
        Param("Exten", False, "exten"),
        Param("Context", False, "context"),
        Param("Priority", False, "priority"),
    )
    assert originate.param("async") == Param("Async", False, "bool")
    assert originate.param("actionid") is None  # every action takes it: not listed
    assert originate.privileges == ("originate", "all")

    hangup = catalog.get("Hangup")
    assert hangup is not None
    assert hangup.params == (Param("Channel", True, "channel"), Param("Cause", False, "number"))

    redirect = catalog.get("Redirect")
    assert redirect is not None
    assert [p.name for p in redirect.required] == ["Channel", "Exten", "Context", "Priority"]

    ping = catalog.get("Ping")
    assert ping is not None and ping.params == () and ping.privileges == ()


def test_value_kinds() -> None:
    catalog = load_offline()

    def kind(action: str, param: str) -> str:
        spec = catalog.get(action)
        assert spec is not None
        p = spec.param(param)
        assert p is not None, (action, param)
        return p.kind

    assert kind("Originate", "Variable") == "variable"
    assert kind("Originate", "EarlyMedia") == "bool"
    assert kind("Redirect", "ExtraChannel") == "channel"
    assert kind("Bridge", "Channel1") == "channel"
    assert kind("Events", "EventMask") == "eventmask"
    assert kind("Login", "Events") == "eventmask"
    assert kind("Login", "Secret") == "secret"
    assert kind("Login", "Key") == "secret"
    assert kind("DBPut", "Key") == "dbkey"  # an AstDB key, not a secret
    assert kind("QueueAdd", "Queue") == "queue"
    assert kind("QueueAdd", "Interface") == "interface"
    assert kind("QueueAdd", "Paused") == "bool"
    assert kind("Getvar", "Variable") == "varname"
    assert kind("Filter", "Filter") == "filter"
    assert kind("Command", "Command") == "cli"
    assert kind("AGI", "Command") == "text"
    assert kind("VoicemailMove", "Context") == "text"
    assert kind("Status", "AllVariables") == "bool"
    assert param_kind("SomeNewAction", "Channel") == "channel"
    assert param_kind("SomeNewAction", "Whatever") == "text"
    kinds = {p.kind for spec in catalog.actions.values() for p in spec.params}
    assert kinds <= set(KINDS)


def test_event_classes_cover_every_privilege() -> None:
    used = {c for spec in load_offline().actions.values() for c in spec.privileges}
    assert used - {"all"} <= set(EVENT_CLASSES)
    assert EVENT_CLASSES[:2] == ("system", "call")
    assert "all" not in EVENT_CLASSES


def test_permits_follows_the_write_classes() -> None:
    catalog = load_offline()
    originate, ping, command, status = (
        catalog.get(n) for n in ("Originate", "Ping", "Command", "Status")
    )
    assert originate and ping and command and status
    monitor = ["system"]  # write= of the read-mostly user in the fixtures
    assert not originate.permits(monitor)
    assert not command.permits(monitor)
    assert ping.permits(monitor)
    assert status.permits(monitor)
    assert originate.permits(["all"])
    assert not originate.permits([])


def test_synopses_are_our_own(list_commands: Message) -> None:
    def words(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()

    theirs = {k: v.rsplit("(Priv: ", 1)[0] for k, v in list_commands.headers}
    for spec in load_offline().actions.values():
        assert spec.synopsis, spec.name
        assert words(spec.synopsis) != words(theirs[spec.name]), spec.name
        assert len(spec.synopsis) <= 60, spec.name


def test_catalog_file_is_up_to_date() -> None:
    tool = _load_tool()
    text = tool.render(tool.build())
    assert (ROOT / "amishell" / "data" / "catalog.json").read_text("utf-8") == text


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_catalog", ROOT / "tools" / "make_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- manager show command -------------------------------------------------------


def test_parse_real_output_matches_catalogue(show_all: dict[str, list[str]]) -> None:
    catalog = load_offline()
    for name, output in show_all.items():
        spec = catalog.get(name)
        assert spec is not None
        assert parse_manager_show(output) == spec.params, name
        doc = parse_manager_doc(output)
        assert doc is not None
        assert doc._replace(synopsis=spec.synopsis) == spec, name


def test_parse_real_output_details(show_all: dict[str, list[str]]) -> None:
    update = parse_manager_show(show_all["UpdateConfig"])
    assert [p.name for p in update][:2] == ["SrcFilename", "DstFilename"]
    assert Param("Action-000000", False) in update
    aoc = parse_manager_doc(show_all["AOCMessage"])
    assert aoc is not None and aoc.param("UnitAmount(0)") is not None
    # The event docs under [List Responses] are not parameters of the action.
    status = parse_manager_show(show_all["Status"])
    assert [p.name for p in status] == ["Channel", "Variables", "AllVariables"]
    # A few actions do not list ActionID in their syntax.
    netstats = parse_manager_doc(show_all["IAXnetstats"])
    assert netstats is not None and not netstats.lists_action_id and netstats.params == ()
    blind = parse_manager_doc(show_all["BlindTransfer"])
    assert blind is not None and not blind.lists_action_id
    destroy = parse_manager_doc(show_all["BridgeDestroy"])
    assert destroy is not None
    assert destroy.privileges == ()
    assert destroy.module == "builtin" and destroy.since == "12.0.0"
    assert destroy.see_also[:2] == ("Bridge", "BridgeInfo")


def test_parse_command_output_fixture() -> None:
    answers = {m.action_id: m for m in server_messages("command_output.jsonl")}
    catalog = load_offline()
    originate, channels, unknown = answers["9"], answers["10"], answers["11"]
    spec = catalog.get("Originate")
    assert spec is not None
    assert parse_manager_show(originate.output) == spec.params
    assert parse_manager_show(channels.output) == ()
    doc = parse_manager_doc(channels.output)
    assert doc is not None and doc.name == "CoreShowChannels"
    # `manager show command NoSuchAction` answers one empty line.
    assert parse_manager_show(unknown.output) == ()
    assert parse_manager_doc(unknown.output) is None


def test_parse_tolerates_line_endings_and_missing_sections() -> None:
    lines = ["[Syntax]\r", "Action: Foo\r", "[ActionID:] <value>\r", "Bar: <value>\r", ""]
    assert parse_manager_show(lines) == (Param("Bar", True),)
    assert parse_manager_show([]) == ()
    assert parse_manager_show(["[Syntax]", "Event: Foo", "Bar: <value>"]) == ()
    assert parse_manager_doc(["something else"]) is None


def test_render_round_trips_for_every_action() -> None:
    for spec in load_offline().actions.values():
        lines = render_manager_show(spec)
        assert parse_manager_show(lines) == spec.params, spec.name
        assert parse_manager_doc(lines) == spec, spec.name


def test_render_lays_out_like_the_server(show_all: dict[str, list[str]]) -> None:
    catalog = load_offline()
    for name, real in show_all.items():
        spec = catalog.get(name)
        assert spec is not None
        ours = render_manager_show(spec)
        assert section(ours, "Syntax") == section(real, "Syntax"), name
        assert headings(ours) == headings(real), name
        assert ours[:2] == real[:2]
        assert section(ours, "Privilege") == section(real, "Privilege"), name
        assert ours[-1] == "[End Final Response]"


def test_render_hangup_exactly() -> None:
    spec = load_offline().get("Hangup")
    assert spec is not None
    lines = render_manager_show(spec)
    assert section(lines, "Syntax") == [
        "Action: Hangup",
        "[ActionID:] <value>",
        "Channel: <value>",
        "[Cause:] <value>",
    ]
    assert section(lines, "Synopsis") == ["Hang up a channel "]


def test_render_prose_is_not_the_servers(show_all: dict[str, list[str]]) -> None:
    catalog = load_offline()
    for name, real in show_all.items():
        spec = catalog.get(name)
        assert spec is not None
        ours = render_manager_show(spec)
        prose = set(section(real, "Description")) | set(section(real, "Synopsis"))
        args_real = real[real.index("[Arguments]") : real.index("[Privilege]")]
        prose |= {line for line in args_real if line.startswith("    ")}
        prose -= {"", "Not available"}
        assert not prose & set(ours), name


def test_render_an_action_without_details() -> None:
    spec = ActionSpec("Foo", (), "", (Param("Bar", False, "bool"),))
    lines = render_manager_show(spec)
    assert section(lines, "Privilege") == ["<none>"]
    assert section(lines, "Syntax") == ["Action: Foo", "[ActionID:] <value>", "[Bar:] <value>"]
    assert parse_manager_show(lines) == (Param("Bar", False, "text"),)  # kind from the name
    bare = ActionSpec("Foo", ("system",), "Do it", (), lists_action_id=False)
    lines = render_manager_show(bare)
    assert section(lines, "Syntax") == ["Action: Foo"]
    assert lines[lines.index("[Arguments]") + 1] == "Not available"
    assert parse_manager_doc(lines) == bare._replace(module="builtin")


# -- live refinements -----------------------------------------------------------


def test_from_list_commands_real_fixture(list_commands: Message) -> None:
    offline = load_offline()
    live = Catalog.from_list_commands(list_commands, offline)
    assert len(live) == 116
    timeout = live.get("absolutetimeout")
    assert timeout is not None
    assert timeout.synopsis == "Set absolute timeout."  # the server's, shown live
    assert timeout.privileges == ("system", "call", "all")
    known = offline.get("AbsoluteTimeout")
    assert known is not None and timeout.params == known.params
    destroy = live.get("BridgeDestroy")
    assert destroy is not None and destroy.privileges == ()
    for spec in live.actions.values():
        off = offline.get(spec.name)
        assert off is not None
        assert spec.privileges == off.privileges
        assert spec.params == off.params
    assert "Response" not in live and "ActionID" not in live


def test_from_list_commands_subset_and_unknown_actions() -> None:
    msg = Message(
        [
            ("Response", "Success"),
            ("ActionID", "7"),
            ("Ping", "Keepalive command.  (Priv: <none>)"),
            ("Hangup", "Hangup channel.  (Priv: system,call,all)"),
            ("BrandNew", "Something new.  (Priv: call,all)"),
            ("NotAnEntry", "no privilege part"),
        ]
    )
    live = Catalog.from_list_commands(msg, load_offline())
    assert live.names() == ["BrandNew", "Hangup", "Ping"]
    hangup = live.get("HANGUP")
    assert hangup is not None and hangup.required == (Param("Channel", True, "channel"),)
    brand = live.get("brandnew")
    assert brand == ActionSpec("BrandNew", ("call", "all"), "Something new.", ())
    bare = Catalog.from_list_commands(msg, None)
    hangup_bare = bare.get("Hangup")
    assert hangup_bare is not None and hangup_bare.params == ()


def test_list_commands_entry_round_trips(list_commands: Message) -> None:
    offline = load_offline()
    names = offline.names()
    msg = Message(
        [("Response", "Success"), ("ActionID", "1")]
        + [(n, list_commands_entry(offline.actions[n])) for n in names]
    )
    live = Catalog.from_list_commands(msg, offline)
    assert live.actions == offline.actions
    hangup = offline.get("Hangup")
    destroy = offline.get("BridgeDestroy")
    assert hangup is not None and destroy is not None
    assert list_commands_entry(hangup) == "Hang up a channel  (Priv: system,call,all)"
    assert list_commands_entry(destroy).endswith("  (Priv: <none>)")
    # Laid out as the server's entries are: same name order and privilege lists.
    real = [(k, v.rsplit("(Priv: ", 1)[1]) for k, v in list_commands.headers[2:]]
    ours = [(k, v.rsplit("(Priv: ", 1)[1]) for k, v in msg.headers[2:]]
    assert ours == real


def test_from_list_commands_error() -> None:
    msg = Message([("Response", "Error"), ("Message", "Permission denied")])
    with pytest.raises(ValueError, match="Permission denied"):
        Catalog.from_list_commands(msg, load_offline())


def test_with_params() -> None:
    offline = load_offline()
    params = (Param("Channel", True, "channel"), Param("Reason", False))
    changed = offline.with_params("hangup", params)
    spec = changed.get("Hangup")
    assert spec is not None and spec.params == params
    assert spec.privileges == ("system", "call", "all")
    original = offline.get("Hangup")
    assert original is not None and original.params != params  # the cached one is untouched
    added = offline.with_params("Custom", (Param("X", True),))
    assert added.get("custom") == ActionSpec("Custom", (), "", (Param("X", True),))
    assert len(added) == len(offline) + 1
    assert offline.get("Custom") is None


def test_catalog_from_mapping_and_specs() -> None:
    spec = ActionSpec("Ping", (), "Check", ())
    assert Catalog({"Ping": spec}).get("ping") == spec
    assert Catalog([spec]).names() == ["Ping"]
    assert Catalog().names() == []
    assert repr(Catalog([spec])) == "Catalog(1 actions)"
