"""Completion: actions, parameters, values, CLI words, meta commands; live and offline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from amishell.catalog import Catalog, Param, load_offline
from amishell.client import AMIClient
from amishell.shell.completer import AMICompleter
from amishell.shell.sources import LiveSources
from amishell.simulator import Simulator


class FakeSources:
    def __init__(self) -> None:
        self.cli_calls: list[tuple[str, str]] = []

    def catalog(self) -> Catalog:
        return load_offline()

    def params(self, action: str) -> tuple[Param, ...]:
        spec = load_offline().get(action)
        return spec.params if spec is not None else ()

    def values(self, kind: str) -> list[str]:
        return {"channel": ["PJSIP/100-0001", "Local/200@demo-0002;1"], "queue": ["support"]}.get(
            kind, []
        )

    def cli(self, line: str, word: str) -> list[str]:
        self.cli_calls.append((line, word))
        return ["channel", "channel", "channels", "channeltypes"]

    def meta(self) -> dict[str, str]:
        return {"help": "help", "events": "events", "filter": "filter", "format": "format"}

    def event_names(self) -> list[str]:
        return ["Hangup", "Newchannel", "Newexten"]

    def event_headers(self, name: str) -> list[str]:
        return ["Channel", "Cause", "Uniqueid"] if name.lower() == "hangup" else []

    def profiles(self) -> list[str]:
        return ["office"]


def complete(text: str, sources: object | None = None, tab: bool = True) -> list[str]:
    completer = AMICompleter(sources or FakeSources())  # type: ignore[arg-type]
    doc = Document(text, len(text))
    return [c.text for c in completer.get_completions(doc, CompleteEvent(completion_requested=tab))]


def test_action_names_case_insensitive_canonical() -> None:
    got = complete("orig")
    assert got[0] == "Originate"
    assert "Originate" in complete("ORIG")
    assert complete("coreshowchannels") == ["CoreShowChannels"]
    assert "QueueStatus" in complete("Queue")


def test_action_menu_shows_the_synopsis() -> None:
    completer = AMICompleter(FakeSources())  # type: ignore[arg-type]
    (c,) = [c for c in completer.get_completions(Document("Originat"), CompleteEvent())]
    assert c.display_meta_text == "Place a new call"


def test_parameters_required_first_typed_ones_left_out() -> None:
    got = complete("Originate ")
    assert got[0] == "Channel="
    assert "Exten=" in got and "Async=" in got
    got = complete("Originate Channel=Local/1@demo Ex")
    assert got == ["Exten="]
    assert "Channel=" not in complete("Originate Channel=x ")
    # Variable repeats
    assert "Variable=" in complete("Originate Variable=A=1 Var")


def test_required_parameters_are_marked() -> None:
    completer = AMICompleter(FakeSources())  # type: ignore[arg-type]
    items = list(completer.get_completions(Document("Originate C"), CompleteEvent()))
    channel = next(c for c in items if c.text == "Channel=")
    assert channel.display_text == "Channel*"
    assert "required" in channel.display_meta_text


def test_values_by_kind() -> None:
    assert complete("Originate Async=") == ["true", "false"]
    assert complete("Hangup Channel=PJ") == ["PJSIP/100-0001"]
    assert complete("Hangup Channel=200") == ["Local/200@demo-0002;1"]  # substring match
    assert complete("QueueStatus Queue=") == ["support"]
    assert "call" in complete("Events EventMask=")
    assert complete("Events EventMask=call,sys") == ["system"]
    assert complete("Login Secret=") == []


def test_block_completion() -> None:
    assert complete("Action: Orig") == ["Originate"]
    got = complete("Action: Originate\nChannel: x\n")
    assert got[0] == "Exten: "
    assert "Channel: " not in got
    assert complete("Action: Originate\nAsync: ") == ["true", "false"]


def test_cli_completion_from_the_server() -> None:
    sources = FakeSources()
    assert complete("/core show ch", sources) == ["channel", "channels", "channeltypes"]
    assert sources.cli_calls == [("core show ch", "ch")]
    complete("/", sources)
    assert sources.cli_calls[-1] == ("", "")


def test_meta_completion() -> None:
    assert complete(".he") == ["help"]
    assert complete(".format ") == ["pretty", "raw", "json"]
    assert complete(".events p") == ["pause"]
    assert complete(".events mask ca") == ["call"]
    assert complete(".help Origi") == ["Originate"]
    assert complete(".filter New") == ["Newchannel", "Newexten"]
    assert complete(".filter Hangup,!New") == ["Newchannel", "Newexten"]
    assert complete(".connect of") == ["office"]
    assert complete(".debug ") == ["off"]  # a file name or off: "on" would be a file


# Live sources against the simulator


@pytest.fixture
def live(sim: Simulator) -> object:
    host, port = sim.address
    client = AMIClient("admin", "s3cret-admin", host, port, events="off")
    assert client.connect()
    listed = client.action({"Action": "ListCommands"})
    catalog = Catalog.from_list_commands(listed, load_offline())
    yield client, LiveSources(lambda: client, lambda: catalog, server_key=lambda: "sim")
    client.disconnect()


def test_live_cli_completion(live: tuple[AMIClient, LiveSources]) -> None:
    _, sources = live
    got = complete("/core show ch", sources)
    assert got == ["channel", "channels", "channeltype", "channeltypes"]  # as the real server
    first_words = complete("/", sources)
    assert "core" in first_words and "pjsip" in first_words and "!" in first_words


def test_live_channels_parameters_and_cache(
    live: tuple[AMIClient, LiveSources], sim: Simulator
) -> None:
    client, sources = live
    reply = client.action(
        {"Action": "Originate", "Channel": "Local/400@demo", "Application": "Wait",
         "Data": "5", "Async": "true"}
    )
    assert not reply.is_error
    channels: list[str] = []
    for _ in range(50):
        sources._lists["channel"].at = -1e9  # the cache lasts a few seconds: expire it
        channels = complete("Hangup Channel=Local/400", sources)
        if channels:
            break
        client.ping()
    assert channels and channels[0].startswith("Local/400@demo")
    # parameters from the live `manager show command`, cached per server
    assert complete("Originate ", sources)[0] == "Channel="
    assert ("sim", "originate") in sources._params


def test_live_sources_without_a_connection() -> None:
    sources = LiveSources(lambda: None, load_offline)
    assert complete("/core sh", sources) == []
    assert complete("Hangup Channel=", sources) == []
    assert complete("Originate ", sources)[0] == "Channel="  # the catalogue stands in


def test_cli_denied_user_stops_asking(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory()
    host, port = sim.address
    client = AMIClient("monitor", "m0nitor", host, port, events="off")
    assert client.connect()
    try:
        sources = LiveSources(lambda: client, load_offline)
        assert complete("/core sh", sources) == []
        assert sources.cli_denied
    finally:
        client.disconnect()
