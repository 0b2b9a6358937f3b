"""`.help ACTION` examples are runnable lines, with units where a number has one."""

from __future__ import annotations

from amishell.catalog import load_offline
from amishell.shell.examples import example_line, unit
from amishell.shell.lineparse import ActionLine, parse


def params(action: str):  # type: ignore[no-untyped-def]
    spec = load_offline().get(action)
    assert spec is not None
    return spec.params


def test_examples_hold_values_not_placeholders() -> None:
    for name in load_offline().names():
        line = example_line(name, params(name))
        assert "..." not in line and "VALUE" not in line, line
        (item,) = parse(line)  # every example is a line the shell accepts
        assert isinstance(item, ActionLine) and item.name == name


def test_an_originate_example_calls_something_and_goes_somewhere() -> None:
    line = example_line("Originate", params("Originate"))
    assert line == "Originate Channel=PJSIP/100 Context=default Exten=100 Priority=1 Async=true"


def test_live_values_are_preferred_where_the_server_has_them() -> None:
    live = {"channel": ["Local/400@demo-00000001;1"], "context": ["demo"]}
    line = example_line("Redirect", params("Redirect"), lambda kind: live.get(kind, []))
    assert line == (
        "Redirect Channel=Local/400@demo-00000001;1 Context=demo Exten=100 Priority=1"
    )


def test_units_say_what_a_number_counts() -> None:
    assert unit("Originate", "Timeout") == "milliseconds"
    assert unit("AbsoluteTimeout", "timeout") == "seconds"
    assert unit("Ping", "Timeout") == ""
