"""The shell's input parser: one-line actions, blocks, meta and CLI lines, secrets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amishell.shell.lineparse import (
    ActionLine,
    CliLine,
    InputError,
    MetaLine,
    expand_ranges,
    is_block_start,
    mask_secrets,
    parse,
    parse_chunk,
    secret_spans,
    split_script,
    tokenize,
)


def test_one_line_action_keeps_order_repeats_and_quotes() -> None:
    line = (
        "Originate Channel=Local/100@demo Exten=200 Context=demo Priority=1"
        ' Variable=A=1 Variable=B=2 CallerID="Alice <1001>"'
    )
    (item,) = parse(line)
    assert item == ActionLine(
        "Originate",
        [
            ("Channel", "Local/100@demo"),
            ("Exten", "200"),
            ("Context", "demo"),
            ("Priority", "1"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
            ("CallerID", "Alice <1001>"),
        ],
    )
    assert item.pairs()[0] == ("Action", "Originate")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('CallerID="Alice <1001>"', ["CallerID=Alice <1001>"]),
        ("CallerID='\"Alice\" <1001>'", ['CallerID="Alice" <1001>']),
        (r'Data="say \"hi\""', ['Data=say "hi"']),
        (r"Filter=Event:\s*Hangup", [r"Filter=Event:\s*Hangup"]),
        (r"Value=a\ b", ["Value=a b"]),
        ('Empty=""', ["Empty="]),
        ("", []),
    ],
)
def test_tokenize(line: str, words: list[str]) -> None:
    assert tokenize(line) == words


def test_block_action() -> None:
    (item,) = parse("Action: Originate\nChannel: Local/100@demo\nVariable: A=1\nVariable: B=2\n")
    assert item == ActionLine(
        "Originate",
        [("Channel", "Local/100@demo"), ("Variable", "A=1"), ("Variable", "B=2")],
        block=True,
    )


def test_pasted_raw_blocks_and_lines() -> None:
    text = "Action: Ping\r\nActionID: 7\r\n\r\nAction: CoreSettings\r\n\r\nStatus\n"
    items = parse(text)
    names = [i.name for i in items if isinstance(i, ActionLine)]
    assert names == ["Ping", "CoreSettings", "Status"]
    assert items[0].fields == [("ActionID", "7")]  # type: ignore[union-attr]


def test_meta_and_cli_prefixes() -> None:
    assert parse_chunk(".help Originate") == MetaLine("help", ["Originate"], "Originate")
    assert parse_chunk(".LOG /tmp/x y") == MetaLine("log", ["/tmp/x", "y"], "/tmp/x y")
    assert parse_chunk("/core show channels") == CliLine("core show channels")
    # "!" is an Asterisk CLI word, so it reaches the server as a CLI command
    assert parse_chunk("/!echo hi") == CliLine("!echo hi")


def test_is_block_start() -> None:
    assert is_block_start("Action: Ping")
    assert is_block_start("ActionID: 3\nAction: Ping")
    assert not is_block_start("Ping")
    assert not is_block_start("Originate Channel=Local/1@x")
    assert not is_block_start(".help")
    assert not is_block_start("/core show channels")


BAD_INPUT = [
    ('Originate CallerID="Alice', "unterminated"),
    ("Originate Channel", "is not Key=Value"),
    ("Channel=Local/1@x", "action name comes first"),
    ("123 A=1", "not an action name"),
    ("Ping =x", "missing key"),
    ("Ping Action=Pong", "first word"),
    ("Ping Ke:y=1", "not a header name"),
    (".", "not a shell command"),
    (".1x", "not a shell command"),
    ("/", "type a CLI command"),
    ("Channel: x", "needs an 'Action: Name'"),
    ("Action: Ping\nno colon here", "is not Key: Value"),
    ("Action: Ping\nChannel=x", "write Key: Value"),
    ("Action: Ping\nAction: Pong", "one Action: per block"),
    ("Action: 9x", "not an action name"),
    ("Ping Data=" + "x" * 1100, "at most 1022"),
    ("core show channels", "/core show channels"),
    ("pjsip show endpoints", "looks like a CLI command"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_INPUT)
def test_bad_input_says_how_to_fix(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_error_in_a_paste_names_the_line() -> None:
    with pytest.raises(InputError, match="line 3"):
        parse("Ping\nPing\nPing bad\n")


def test_split_script_groups_blocks_and_skips_comments() -> None:
    lines = [
        "# a comment",
        "Ping",
        "",
        "Action: Getvar",
        "Variable: FOO",
        "",
        "/core show uptime",
        "Action: Ping",
    ]
    assert list(split_script(lines)) == [
        (2, "Ping"),
        (4, "Action: Getvar\nVariable: FOO"),
        (7, "/core show uptime"),
        (8, "Action: Ping"),
    ]


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("Login Username=admin Secret=hunter2", "hunter2", "admin"),
        ('Login Username=admin Secret="two words"', "two words", "admin"),
        ("Action: Login\nUsername: admin\nSecret: hunter2\n", "hunter2", "admin"),
        ("Action: Login\nAuthType: MD5\nKey: 0123abcd\n", "0123abcd", "MD5"),
        ("login username=a key=0123abcd", "0123abcd", "username=a"),
        ("SomeAction secret=hunter2", "hunter2", "SomeAction"),
    ],
)
def test_mask_secrets(text: str, hidden: str, kept: str) -> None:
    masked = mask_secrets(text)
    assert hidden not in masked
    assert kept in masked
    assert "********" in masked
    shown = list(text)
    for start, end in secret_spans(text):
        shown[start:end] = "*" * (end - start)
    assert hidden not in "".join(shown)
    assert kept in "".join(shown)


def test_db_key_is_not_a_secret() -> None:
    assert mask_secrets("DBGet Family=cidname Key=1001") == "DBGet Family=cidname Key=1001"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_input_error(text: str) -> None:
    try:
        items = parse(text)
    except InputError as e:
        assert str(e)
    else:
        for item in items:
            assert isinstance(item, ActionLine | MetaLine | CliLine)
            if isinstance(item, ActionLine):
                for key, value in item.fields:
                    assert "\n" not in value and "\r" not in value
                    assert key and ":" not in key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_masking_never_crashes_and_hides_secret_values(text: str) -> None:
    masked = mask_secrets(text + " Secret=zz-secret-zz")
    assert "zz-secret-zz" not in masked


# Shell words, ranges and .repeat


@pytest.mark.parametrize("typed", ["exit", "quit", "EXIT", "  quit  "])
def test_exit_and_quit_alone_are_the_shells_own(typed: str) -> None:
    assert parse(typed) == [MetaLine("quit", [], "")]


def test_clear_alone_clears_the_screen_and_is_never_sent() -> None:
    assert parse("clear") == [MetaLine("clear", [], "")]


def test_exit_with_arguments_is_still_an_action_line() -> None:
    (item,) = parse("Exit Foo=1")
    assert isinstance(item, ActionLine) and item.name == "Exit"


def test_a_range_makes_one_line_per_number() -> None:
    items = parse("Originate Channel=Local/{900..902}@demo Async=true")
    assert [i.fields[0] for i in items if isinstance(i, ActionLine)] == [
        ("Channel", "Local/900@demo"), ("Channel", "Local/901@demo"),
        ("Channel", "Local/902@demo"),
    ]


def test_ranges_keep_zeros_count_down_and_combine() -> None:
    assert expand_ranges("x{08..10}") == ["x08", "x09", "x10"]
    assert expand_ranges("x{3..1}") == ["x3", "x2", "x1"]
    assert expand_ranges("{1..2}-{1..2}") == ["1-1", "1-2", "2-1", "2-2"]


def test_an_escaped_brace_and_dialplan_variables_are_left_alone() -> None:
    assert expand_ranges(r"Set \{1..3} ${VAR} ${1..2}") == ["Set {1..3} ${VAR} ${1..2}"]
    assert expand_ranges(r"Filter=\d{2,3}") == [r"Filter=\d{2,3}"]


def test_ranges_work_in_cli_lines_but_not_in_shell_commands() -> None:
    assert parse("/core show channel Local/{1..2}") == [
        CliLine("core show channel Local/1"), CliLine("core show channel Local/2")
    ]
    (item,) = parse(".serverfilter Exten: {1..2}")
    assert isinstance(item, MetaLine) and item.rest == "Exten: {1..2}"


def test_repeat_runs_a_line_n_times() -> None:
    assert parse(".repeat 3 Ping") == [ActionLine("Ping", [])] * 3


@pytest.mark.parametrize("typed", [".repeat", ".repeat x Ping", ".repeat 0 Ping", ".repeat 5"])
def test_repeat_without_a_count_and_a_line_says_how(typed: str) -> None:
    with pytest.raises(InputError, match="count and a line"):
        parse(typed)


def test_too_many_lines_from_one_line_is_refused() -> None:
    with pytest.raises(InputError, match="at most 10,000"):
        parse("Ping Foo={1..100000}")
    with pytest.raises(InputError, match="at most 10,000"):
        parse(".repeat 20000 Ping")
