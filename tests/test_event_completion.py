"""Event names, headers and documentation from the server (replayed from the
real server's transcripts, and from the simulator), with the offline fallback;
completion of event names, header names and MatchCriteria parts."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from replay import ReplayServer

from amishell.catalog import load_offline
from amishell.client import AMIClient
from amishell.shell.completer import AMICompleter
from amishell.shell.serverdocs import DENIED, ServerDocs
from amishell.shell.sources import LiveSources
from amishell.simulator import Simulator


def _completer(client: AMIClient, docs: ServerDocs) -> AMICompleter:
    sources = LiveSources(lambda: client, load_offline, event_names=docs.names,
                          event_headers=docs.headers, server_key=lambda: "test")
    return AMICompleter(sources)


def complete(completer: AMICompleter, text: str) -> list[str]:
    doc = Document(text, len(text))
    event = CompleteEvent(completion_requested=True)
    return [c.text for c in completer.get_completions(doc, event)]


def test_replayed_server_docs(replay: Callable[..., ReplayServer]) -> None:
    server = replay("server_docs", partial=True)
    client = AMIClient("admin", "s3cret-admin", server.host, server.port, timeout=2,
                       events="off")
    assert client.connect()
    docs = ServerDocs(lambda: client, lambda: "13.0.0")
    try:
        live = docs.live_names()
        assert live is not None and "NewExten" in live and "AOC-D" in live
        for name in ("Hangup", "Newchannel", "DialBegin", "QueueCallerJoin"):
            doc, why = docs.doc(name)
            assert doc is not None and doc.name == name and why == ""
        assert docs.headers("dialbegin")[-2:] == ["DestLinkedid", "DialString"]  # cached
        doc, why = docs.doc("NoSuchEvent")
        assert doc is None and "does not document" in why
        assert docs.read_classes("admin")[0] is not None
        classes, _ = docs.read_classes("monitor")
        assert classes == ("system", "call", "agent", "user", "reporting")
        assert docs.ask("manager show users").lines is not None
        settings, _ = docs.settings()
        assert settings is not None and settings["disabled events"] == ""
        # case is ignored, and the server's spelling is kept
        assert "NewExten" in docs.names() and "Newexten" not in docs.names()
    finally:
        client.close()


def test_replayed_permission_denied(replay: Callable[..., ReplayServer]) -> None:
    server = replay("filter_monitor")
    client = AMIClient("monitor", "m0nitor", server.host, server.port, timeout=2)
    assert client.connect()
    docs = ServerDocs(lambda: client, lambda: "13.0.0")
    assert not client.action({"Action": "Filter", "Operation": "Add",
                              "Filter": "Event: Hangup"}).is_error
    assert docs.live_names() is None
    assert docs.ask("manager show events").reason == DENIED
    assert "Hangup" in docs.names()  # the offline catalogue
    assert client.disconnect()


def test_completion_online(sim: Simulator) -> None:
    client = AMIClient("admin", "s3cret-admin", *sim.address, timeout=2)
    assert client.connect()
    docs = ServerDocs(lambda: client, lambda: "sim")
    completer = _completer(client, docs)
    try:
        assert "QueueCallerJoin" in complete(completer, ".why QueueCa")
        assert docs.cached("manager show events") is not None  # asked the server
        assert "Hangup" in complete(completer, ".help event hang")
        assert "event" in complete(completer, ".help ev")
        assert "Newchannel" in complete(completer, ".filter Hangup,Newch")
        assert "Cause=" in complete(completer, ".filter Hangup,Cau")
        assert "Channel)" in complete(completer, ".serverfilter match name(Hangup),header(Chan")
        assert complete(completer, ".serverfilter match action(ex") == ["exclude)"]
        assert complete(completer, ".serverfilter match name(Hangup),method(sta") == [
            "starts_with)"]
        assert "header(" in complete(completer, ".serverfilter match name(Hangup),")
        assert "name(" not in complete(completer, ".serverfilter match name(Hangup),")
        assert "Hangup)" in complete(completer, ".serverfilter match name(Hang")
        assert "match" in complete(completer, ".serverfilter ma")
        assert "QueueCallerJoin" in complete(completer, "UserEvent UserEvent=QueueCa")
        assert complete(completer, "Filter MatchCriteria=name(Hangup),method(ex") == ["exact)"]
        block = "Action: Filter\nMatchCriteria: action(in"
        assert complete(completer, block) == ["include)"]
    finally:
        client.close()


def test_completion_offline_without_the_command_privilege(sim: Simulator) -> None:
    client = AMIClient("monitor", "m0nitor", *sim.address, timeout=2)
    assert client.connect()
    docs = ServerDocs(lambda: client, lambda: "sim")
    completer = _completer(client, docs)
    try:
        assert "QueueCallerJoin" in complete(completer, ".why QueueCa")
        got = docs.cached("manager show events")
        assert got is not None and got.reason == DENIED
        assert "Cause=" in complete(completer, ".filter Hangup,Cau")  # offline headers
    finally:
        client.close()


def test_completion_offline_when_not_connected() -> None:
    docs = ServerDocs(lambda: None, lambda: "none")
    names = docs.names()
    assert "Hangup" in names and "NewExten" in names or "Newexten" in names
    assert "Cause" in docs.headers("Hangup")


def test_item_events_of_a_list_action_from_the_server(
    replay: Callable[..., ReplayServer]
) -> None:
    server = replay("manager_show_all", skip=range(1, 33), partial=True)
    client = AMIClient("admin", "s3cret-admin", server.host, server.port, timeout=2,
                       events="off")
    assert client.connect()
    try:
        docs = ServerDocs(lambda: client, lambda: "13.0.0")
        names, source = docs.item_events("CoreShowChannels")
        assert names == ["CoreShowChannel", "CoreShowChannelsComplete"] and source == "the server"
    finally:
        client.close()
