"""Event list tables: stable columns per item type, one table per type, sorted rows."""

from __future__ import annotations

from amishell.message import Message
from amishell.shell.render import Renderer, to_plain
from amishell.shell.tables import kind_name, layout_for, tables


def item(event: str, **headers: str) -> Message:
    return Message([("Event", event), ("ActionID", "5"), *headers.items()])


def channel(name: str, state: str, app: str = "Wait", duration: str = "00:00:05") -> Message:
    return item(
        "CoreShowChannel", Channel=name, ChannelState="6", ChannelStateDesc=state,
        CallerIDNum="100", CallerIDName="<unknown>", Context="demo", Exten="400",
        Priority="2", Uniqueid="1.1", Linkedid="1.1", Application=app, ApplicationData="30",
        Duration=duration, BridgeId="",
    )


def test_channels_show_what_core_show_channels_shows_whatever_the_values() -> None:
    # The same columns whether the values differ between rows or not.
    for states in (["Up", "Up"], ["Up", "Ring"]):
        (table,) = tables([channel("Local/1", states[0]), channel("Local/2", states[1])], 200)
        assert table.headers == [
            "Channel", "Context", "Exten", "Prio", "State", "Application", "Data", "Caller",
            "Duration",
        ]
        assert "BridgeId" not in table.hidden  # empty: nothing to hide


def test_rows_are_sorted_naturally() -> None:
    found = tables([channel(f"Local/{n}@demo", "Up") for n in (10, 9, 100)], 200)
    assert [row[0] for row in found[0].rows] == ["Local/9@demo", "Local/10@demo",
                                                   "Local/100@demo"]


def test_queue_status_gives_one_table_per_item_type() -> None:
    items = [
        item("QueueParams", Queue="support", Max="0", Strategy="ringall", Calls="1"),
        item("QueueMember", Queue="support", Name="Bob", Location="Local/101@demo",
             Status="1", Paused="0", InCall="0", CallsTaken="3"),
        item("QueueMember", Queue="support", Name="Alice", Location="Local/100@demo",
             Status="2", Paused="1", InCall="1", CallsTaken="7"),
        item("QueueEntry", Queue="support", Position="1", Channel="Local/300@demo-1;2",
             Wait="12"),
    ]
    params, members, entries = tables(items, 200)
    assert (params.kind, members.kind, entries.kind) == (
        "QueueParams", "QueueMember", "QueueEntry"
    )
    assert members.headers[:7] == [
        "Queue", "Name", "Location", "Status", "Paused", "InCall", "CallsTaken"
    ]
    assert [row[1] for row in members.rows] == ["Alice", "Bob"]
    assert entries.headers == ["Queue", "Position", "Channel", "Wait"]
    text = to_plain(Renderer("pretty", width=120).table(items))
    assert "QueueMember (2)" in text and "QueueParams (1)" in text


def test_dialplan_is_sorted_by_context_extension_then_priority_as_numbers() -> None:
    rows = [
        item("ListDialplan", Context="demo", Extension="100", Priority=p, Application=a)
        for p, a in (("10", "Hangup"), ("2", "Set"), ("1", "Answer"))
    ]
    (table,) = tables(rows, 100)
    assert table.headers[:4] == ["Context", "Extension", "Priority", "Application"]
    assert [r[2] for r in table.rows] == ["1", "2", "10"]


def test_an_unknown_item_type_shows_its_headers_in_the_servers_order() -> None:
    rows = [item("SomethingNew", Zeta="1", Alpha="a", Empty=""),
            item("SomethingNew", Zeta="2", Alpha="b", Empty="")]
    (table,) = tables(rows, 100)
    assert table.headers == ["Zeta", "Alpha"]


def test_the_user_chooses_columns_per_item_type_in_any_case() -> None:
    overrides = {"coreshowchannel": ["Channel", "Duration"]}
    (table,) = tables([channel("Local/1", "Up")], 100, overrides)
    assert table.headers == ["Channel", "Duration"]
    assert "Application" in table.hidden
    layout = layout_for("CORESHOWCHANNEL", overrides)
    assert layout is not None and layout.columns == ("Channel", "Duration")
    assert kind_name("queuemember") == "QueueMember"


def test_long_values_end_in_an_ellipsis() -> None:
    (table,) = tables([channel("Local/" + "x" * 80, "Up")], 300)
    assert table.rows[0][0].endswith("…") and len(table.rows[0][0]) == 40


def test_headers_no_column_shows_are_counted_not_listed() -> None:
    text = to_plain(Renderer("pretty", width=200).table([channel("Local/1", "Up")]))
    # ChannelState, Uniqueid and Linkedid
    assert "not shown: 3 other headers; .columns CoreShowChannel chooses" in text
