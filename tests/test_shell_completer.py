"""Completion: actions, parameters, values, CLI words, meta commands; live and offline."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

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

    def values(self, kind: str, given: Mapping[str, str] | None = None) -> list[str]:
        self.given = dict(given or {})
        return {"channel": ["PJSIP/100-0001", "Local/200@demo-0002;1"], "queue": ["support"],
                "exten": ["100", "200"]}.get(kind, [])

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


class Clock:
    """A clock the test moves on, to age the sources' caches."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(sim: Simulator, clock: Clock) -> Iterator[tuple[AMIClient, LiveSources]]:
    host, port = sim.address
    client = AMIClient("admin", "s3cret-admin", host, port, events="off")
    assert client.connect()
    listed = client.action({"Action": "ListCommands"})
    catalog = Catalog.from_list_commands(listed, load_offline())
    yield client, LiveSources(lambda: client, lambda: catalog, server_key=lambda: "sim",
                              variables=lambda: ["MY_SEEN_VAR"], clock=clock)
    client.disconnect()


def test_live_cli_completion(live: tuple[AMIClient, LiveSources]) -> None:
    _, sources = live
    got = complete("/core show ch", sources)
    assert got == ["channel", "channels", "channeltype", "channeltypes"]  # as the real server
    first_words = complete("/", sources)
    assert "core" in first_words and "pjsip" in first_words and "!" in first_words


def test_live_channels_parameters_and_cache(
    live: tuple[AMIClient, LiveSources], sim: Simulator, clock: Clock
) -> None:
    client, sources = live
    reply = client.action(
        {"Action": "Originate", "Channel": "Local/400@demo", "Application": "Wait",
         "Data": "5", "Async": "true"}
    )
    assert not reply.is_error
    channels: list[str] = []
    for _ in range(50):
        clock.now += 60  # the cache lasts a few seconds: let it age
        channels = complete("Hangup Channel=Local/400", sources)
        if channels:
            break
        client.ping()
    assert channels and channels[0].startswith("Local/400@demo")
    # parameters from the live `manager show command`, cached per server
    assert complete("Originate ", sources)[0] == "Channel="


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


def test_exten_completes_from_the_context_given(live: tuple[AMIClient, LiveSources]) -> None:
    _, sources = live
    got = complete("Originate Channel=Local/1@demo Context=demo Exten=", sources)
    assert {"100", "200", "300", "400", "500"} <= set(got)
    assert complete("Originate Context=nosuch Exten=", sources) == []
    block = complete("Action: Originate\nContext: demo\nExten: 3", sources)
    assert block == ["300", "301"]


def test_a_queue_members_interface_completes_from_its_queue(
    live: tuple[AMIClient, LiveSources]
) -> None:
    _, sources = live
    assert complete("QueuePause Queue=support Interface=", sources) == ["Local/100@demo"]


def test_astdb_families_and_keys_complete(live: tuple[AMIClient, LiveSources]) -> None:
    client, sources = live
    for family, key in (("cidname", "100"), ("cidname", "200"), ("blacklist", "555")):
        assert not client.action({"Action": "DBPut", "Family": family, "Key": key,
                                  "Val": "x"}).is_error
    assert {"cidname", "blacklist"} <= set(complete("DBGet Family=", sources))
    assert complete("DBGet Family=cidname Key=", sources) == ["100", "200"]


def test_variable_names_complete_from_common_ones_and_those_seen(
    live: tuple[AMIClient, LiveSources]
) -> None:
    _, sources = live
    got = complete("Getvar Channel=x Variable=", sources)
    assert "DIALSTATUS" in got and "MY_SEEN_VAR" in got


def test_a_hung_up_channel_is_no_longer_offered(
    live: tuple[AMIClient, LiveSources], sim: Simulator
) -> None:
    _, sources = live
    name = sim.start_call("400")
    assert name is not None
    for _ in range(50):
        if name in complete("Hangup Channel=Local/400", sources):
            break
        sources.reset()
    assert name in complete("Hangup Channel=Local/400", sources)
    sources.forget_channel(name)
    assert name not in complete("Hangup Channel=Local/400", sources)
