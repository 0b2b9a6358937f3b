"""The wire format, tested the h11 way: a table of cases fed whole, one byte at a
time and with trailing data; every recorded transcript in every chunking; and
Hypothesis properties against a line-by-line reference written here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amishell.message import Message
from amishell.protocol import (
    MAX_LINE_LENGTH,
    NEED_DATA,
    Framer,
    Greeting,
    LocalProtocolError,
    Parser,
    ProtocolError,
    format_pairs,
    parse_frame,
    serialize,
    split_greeting,
)

DATA = Path(__file__).parent / "data" / "asterisk"
FIXTURES = sorted(p.stem for p in DATA.glob("*.jsonl"))
GREETING = b"Asterisk Call Manager/13.0.0\r\n"

Event = Greeting | Message | ProtocolError


def recv_chunks(name: str) -> list[bytes]:
    """The bytes the recording client received, chunked as its reads returned them."""
    chunks = []
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["dir"] == "recv":
                chunks.append(entry["data"].encode("utf-8"))
    return chunks


def drain(parser: Parser) -> list[Event]:
    out: list[Event] = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            return out
        assert isinstance(event, Greeting | Message | ProtocolError)
        out.append(event)


def feed(chunks: Iterable[bytes], *, greeting: bool = True, **kw: Any) -> list[Event]:
    parser = Parser(greeting=greeting, **kw)
    out: list[Event] = []
    for chunk in chunks:
        parser.feed(chunk)
        out.extend(drain(parser))
    return out


def one_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(data: bytes, rng: random.Random, largest: int = 200) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, largest)
        out.append(data[pos : pos + size])
        pos += size
    return out


def key(event: Event) -> tuple[Any, ...]:
    """What must be identical between two parses of the same bytes."""
    if isinstance(event, Message):
        return ("message", event.headers, dict(event), event.raw)
    if isinstance(event, Greeting):
        return ("greeting", str(event))
    return ("error", type(event))


def keys(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    return [key(e) for e in events]


END_COMMAND = b"--END COMMAND--"


def reference_frames(data: bytes, greeting: bool) -> tuple[str | None, list[bytes]]:
    """The greeting and the complete frames in ``data``, the slow obvious way:
    line by line, as PROTOCOL.md describes the wire."""
    lines = data.split(b"\n")
    lines.pop()  # an unfinished last line (or b"" after the last LF)
    first = None
    if greeting:
        if not lines:
            return None, []
        first = text(lines.pop(0).rstrip(b"\r")[:4096])
    frames: list[bytes] = []
    current: list[bytes] = []  # a message's lines so far, with their CR
    legacy = False
    for line in lines:
        content = line.removesuffix(b"\r")
        if not current and not content:
            continue  # an empty line between messages
        if not legacy and not content:  # the empty line that ends a message
            frames.append(b"\n".join(current).removesuffix(b"\r"))
            current = []
            continue
        if not current:
            legacy = content.rstrip() == b"Response: Follows"
        current.append(line)
        if legacy and content.rstrip().endswith(END_COMMAND):
            frames.append(b"\n".join(current).removesuffix(b"\r"))
            current, legacy = [], False
    return first, frames


def text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def reference_parse(frame: bytes) -> list[tuple[str, str]]:
    """The headers of one frame, the slow obvious way."""
    lines = text(frame).split("\n")
    pairs = []
    if frame.split(b"\n")[0].rstrip() == b"Response: Follows":
        pairs.append(("Response", "Follows"))
        lines.pop(0)
        while lines and lines[0].endswith("\r") and ":" in lines[0]:
            name, _, value = lines.pop(0)[:-1].partition(":")
            pairs.append((name, value.lstrip(" \t")))
        if lines and lines[-1].rstrip().endswith(END_COMMAND.decode()):
            last = lines.pop().rstrip().removesuffix(END_COMMAND.decode())
            lines += [last] if last else []
        return pairs + [("Output", line.rstrip("\r")) for line in lines]
    for line in lines:
        name, colon, value = line.split("\r")[0].partition(":")  # a CR ends a line's value
        if not colon or not name:
            continue  # not a header line
        if name == "Output":
            pairs.append((name, value.removeprefix(" ")))
        else:
            pairs.append((name, value.lstrip(" \t")))
    return pairs


# ---------------------------------------------------------------------------
# Every recorded transcript, in every chunking


@pytest.mark.parametrize("name", FIXTURES)
def test_transcript_same_events_whatever_the_chunking(name: str) -> None:
    chunks = recv_chunks(name)
    data = b"".join(chunks)
    whole = feed([data])
    assert isinstance(whole[0], Greeting) and whole[0].is_ami
    assert all(isinstance(e, Message) for e in whole[1:])
    expected = keys(whole)

    assert keys(feed(chunks)) == expected  # as the recording client's reads returned them
    small = len(data) < 100_000
    for seed in range(3):
        rng = random.Random(f"{name}-{seed}")
        assert keys(feed(random_chunks(data, rng, 200 if small else 4096))) == expected
    if small:
        assert keys(feed(random_chunks(data, random.Random(name), largest=5))) == expected
        assert keys(feed(one_byte(data))) == expected
    else:
        # Tiny reads on a prefix (kept short for speed), against the whole prefix.
        prefix = data[:50_000]
        expected = keys(feed([prefix]))
        assert keys(feed(random_chunks(prefix, random.Random(name), largest=5))) == expected
        assert keys(feed(one_byte(prefix))) == expected


@pytest.mark.parametrize("name", FIXTURES)
def test_transcript_messages_match_an_independent_parse(name: str) -> None:
    data = b"".join(recv_chunks(name))
    greeting, rest = split_greeting(data)
    assert greeting == "Asterisk Call Manager/13.0.0"
    assert rest.endswith(b"\r\n\r\n"), "a transcript ends on a message boundary"
    first, frames = reference_frames(data, greeting=True)
    assert first == greeting
    messages = [e for e in feed([data]) if isinstance(e, Message)]
    assert [m.raw for m in messages] == frames
    for message, frame in zip(messages, frames, strict=True):
        assert message.headers == reference_parse(frame)


def test_transcript_facts() -> None:
    events = feed(recv_chunks("login_ping_logoff"))
    assert events[0] == "Asterisk Call Manager/13.0.0"
    assert isinstance(events[0], Greeting) and events[0].version == "13.0.0"
    names = [(e.name, e.action_id) for e in events[1:] if isinstance(e, Message)]
    assert names == [
        ("Success", "1"),
        ("FullyBooted", None),
        ("SuccessfulAuth", None),
        ("Success", "2"),
        ("Goodbye", "3"),
    ]
    ping = events[4]
    assert ping == {
        "Response": "Success",
        "ActionID": "2",
        "Ping": "Pong",
        "Timestamp": "1795686309.685829",
    }

    storm = [e for e in feed(recv_chunks("call_storm")) if isinstance(e, Message)]
    assert len(storm) > 4000
    assert all(m.is_event or m.is_response for m in storm)

    # The CLI's output, new style: repeated Output headers, indentation kept.
    command = [e for e in feed(recv_chunks("command_output")) if isinstance(e, Message)]
    dialplan = next(m for m in command if any("UserEvent(Custom" in line for line in m.output))
    assert any(line.startswith("  ") for line in dialplan.output)
    assert any("ä-unicode" in line for line in dialplan.output)


# ---------------------------------------------------------------------------
# Legacy Command output (Response: Follows), byte for byte as PROTOCOL.md shows

LEGACY = (
    b"Response: Follows\r\n"
    b"Privilege: Command\r\n"
    b"ActionID: 7\r\n"
    b"Channel              Location             State   Application(Data)\n"
    b"\n"
    b"0 active channels\n"
    b"1 call processed at 09:40:17\n"
    b"--END COMMAND--\r\n"
    b"\r\n"
)
LEGACY_OUTPUT = [
    "Channel              Location             State   Application(Data)",
    "",
    "0 active channels",
    "1 call processed at 09:40:17",
]
NEW_STYLE = (
    b"Response: Success\r\n"
    b"Privilege: Command\r\n"
    b"ActionID: 7\r\n"
    b"Output: Channel              Location             State   Application(Data)\r\n"
    b"Output: \r\n"
    b"Output: 0 active channels\r\n"
    b"Output: 1 call processed at 09:40:17\r\n"
    b"\r\n"
)
EVENT = b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1-0001\r\n\r\n"


def every_chunking(data: bytes, seed: str) -> Iterable[list[bytes]]:
    yield [data]
    yield one_byte(data)
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]
    rng = random.Random(seed)
    for _ in range(20):
        yield random_chunks(data, rng, largest=rng.choice([3, 17, 64]))


def test_legacy_command_output_in_every_chunking() -> None:
    data = GREETING + EVENT + LEGACY + EVENT
    for chunks in every_chunking(data, "legacy"):
        events = feed(chunks)
        assert len(events) == 4, chunks
        legacy = events[2]
        assert isinstance(legacy, Message)
        assert legacy.output == LEGACY_OUTPUT
        assert legacy.name == "Follows" and legacy.is_response
        assert legacy.action_id == "7"
        assert legacy["Privilege"] == "Command"
        assert events[1] == events[3] == parse_frame(EVENT[:-4])


def test_legacy_and_new_style_give_the_same_output() -> None:
    legacy, new = feed([LEGACY, NEW_STYLE], greeting=False)
    assert isinstance(legacy, Message) and isinstance(new, Message)
    assert legacy.output == new.output == LEGACY_OUTPUT
    assert legacy.action_id == new.action_id == "7"
    assert dict(legacy, Response="Success") == dict(new)


def test_legacy_marker_on_the_last_output_line() -> None:
    # Old servers ended the output without a newline before the marker.
    data = b"Response: Follows\r\nPrivilege: Command\r\nNo such command 'x'\n" + (
        b"see help--END COMMAND--\r\n\r\n"
    )
    for chunks in every_chunking(data, "marker"):
        (m,) = feed(chunks, greeting=False)
        assert isinstance(m, Message)
        assert m.output == ["No such command 'x'", "see help"]


def test_legacy_empty_output_and_colons() -> None:
    empty = b"Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n"
    (m,) = feed([empty], greeting=False)
    assert isinstance(m, Message) and m.output == [] and m["Privilege"] == "Command"
    # Output lines with colons, ending in a bare \n, are output, not headers.
    colons = b"Response: Follows\r\nActionID: 9\r\nKey: value\nTime: 09:40\n--END COMMAND--\r\n\r\n"
    (m,) = feed([colons], greeting=False)
    assert isinstance(m, Message)
    assert m.output == ["Key: value", "Time: 09:40"]
    assert "Key" not in m and m.action_id == "9"


def test_only_an_exact_follows_line_starts_legacy_output() -> None:
    data = b"Response: FollowsUp\r\nActionID: 1\r\n\r\n" + EVENT
    for chunks in every_chunking(data, "follows"):
        first, second = feed(chunks, greeting=False)
        assert first == {"Response": "FollowsUp", "ActionID": "1"}
        assert isinstance(second, Message) and second.name == "Newchannel"
    (m,) = feed([LEGACY.replace(b"Follows\r\n", b"Follows \r\n", 1)], greeting=False)
    assert isinstance(m, Message) and m.output == LEGACY_OUTPUT


def test_legacy_output_rebuilt_from_recorded_command_responses() -> None:
    """Each recorded new-style Command response, sent the legacy way, gives the same output."""
    events = feed(recv_chunks("command_output")) + feed(recv_chunks("live_calls"))
    commands = [e for e in events if isinstance(e, Message) and "Output" in e]
    assert len(commands) >= 10
    stream = GREETING
    for m in commands:
        lines = "".join(f"{line}\n" for line in m.output)
        stream += (
            f"Response: Follows\r\nPrivilege: Command\r\nActionID: {m.action_id}\r\n{lines}"
            "--END COMMAND--\r\n\r\n"
        ).encode()
    for chunks in ([stream], random_chunks(stream, random.Random(1), 50)):
        legacy = [e for e in feed(chunks) if isinstance(e, Message)]
        assert [m.output for m in legacy] == [m.output for m in commands]
        assert [m.action_id for m in legacy] == [m.action_id for m in commands]


# ---------------------------------------------------------------------------
# Header syntax


Pairs = list[tuple[str, str]]
E = [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "PJSIP/1-0001")]

#: (bytes on the wire, the headers of each message they hold)
CASES: dict[str, tuple[bytes, list[Pairs]]] = {
    "crlf": (EVENT, [E]),
    "bare_lf": (
        b"Response: Success\nActionID: 10\nPing: Pong\n\n",
        [[("Response", "Success"), ("ActionID", "10"), ("Ping", "Pong")]],
    ),
    "mixed_line_ends": (
        b"Response: Success\r\nActionID: 10\nPing: Pong\r\n\n",
        [[("Response", "Success"), ("ActionID", "10"), ("Ping", "Pong")]],
    ),
    "no_space_after_colon_and_blanks": (
        b"Event: X\r\nKey:Value\r\nLead:  \t padded\r\nTrail: kept  \r\nEmpty:\r\n\r\n",
        [[("Event", "X"), ("Key", "Value"), ("Lead", "padded"), ("Trail", "kept  "),
          ("Empty", "")]],
    ),
    "colons_in_values": (
        b"Event: UserEvent\r\nBody: x: y\r\nTime:09:40:17\r\nA:B: c\r\n\r\n",
        [[("Event", "UserEvent"), ("Body", "x: y"), ("Time", "09:40:17"), ("A", "B: c")]],
    ),
    "lines_without_a_colon_or_name_are_ignored": (
        b"Response: Success\r\nThis line has no colon\r\n: no name\r\nActionID: 7\r\n\r\n",
        [[("Response", "Success"), ("ActionID", "7")]],
    ),
    "repeated_keys_in_order": (
        b"Event: VarSet\r\nVariable: A=1\r\nChannel: X\r\nVariable: B=2\r\nVariable: C=3\r\n\r\n",
        [[("Event", "VarSet"), ("Variable", "A=1"), ("Channel", "X"), ("Variable", "B=2"),
          ("Variable", "C=3")]],
    ),
    "empty_lines_between_messages": (
        b"\r\n\n" + EVENT + b"\r\n\r\n\n" + EVENT + b"\n\r\n", [E, E],
    ),
    "an_empty_line_of_one_lf": (
        b"Event: A\r\n\r\n\nEvent: B\r\n\r\n", [[("Event", "A")], [("Event", "B")]],
    ),
    "bare_lfs_end_a_message": (
        b"Event: A\r\n\r\nEvent: B\r\nX: y\n\nEvent: C\r\nX: z\n\r\n",
        [[("Event", "A")], [("Event", "B"), ("X", "y")], [("Event", "C"), ("X", "z")]],
    ),
    "a_bare_lf_inside_a_value_ends_the_line": (
        b"Event: A\r\nX: a\nb\r\n\r\nEvent: B\r\n\r\n",
        [[("Event", "A"), ("X", "a")], [("Event", "B")]],
    ),
    "a_bare_cr_ends_a_value": (
        b"Event: X\r\nBare: cr\rinside\r\nA\rB: no header\r\n\r\n",
        [[("Event", "X"), ("Bare", "cr")]],
    ),
    "a_line_of_one_nul_is_a_message_without_headers": (b"\n\x00\r\n\r\n\r\n", [[]]),
    "timestamps": (
        b"Response: Success\r\nPing: Pong\r\nTimestamp: 1764168272.123456\r\n\r\n",
        [[("Response", "Success"), ("Ping", "Pong"), ("Timestamp", "1764168272.123456")]],
    ),
    "latin1_fallback_per_message": (
        b"Event: N\r\nName: Jos\xe9 M\xfcller\r\n\r\nEvent: N\r\nName: Jos\xc3\xa9\r\n\r\n",
        [[("Event", "N"), ("Name", "José Müller")], [("Event", "N"), ("Name", "José")]],
    ),
    "utf8": (
        "Event: UserEvent\r\nHeader1: ä ö ü 日本 😀\r\n\r\n".encode(),
        [[("Event", "UserEvent"), ("Header1", "ä ö ü 日本 😀")]],
    ),
    "output_keeps_its_indentation": (
        b"Response: Success\r\nOutput:   indented\r\nOutput: two\r\nOutput:\r\nKey:  x\r\n\r\n",
        [[("Response", "Success"), ("Output", "  indented"), ("Output", "two"), ("Output", ""),
          ("Key", "x")]],
    ),
    "legacy_follows": (
        LEGACY,
        [[("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "7")]
         + [("Output", line) for line in LEGACY_OUTPUT]],
    ),
    "legacy_marker_on_the_last_output_line": (
        b"Response: Follows\r\nPrivilege: Command\r\nNo such command\n"
        b"see help--END COMMAND--\r\n\r\n",
        [[("Response", "Follows"), ("Privilege", "Command"), ("Output", "No such command"),
          ("Output", "see help")]],
    ),
    "legacy_output_with_colons_and_crlf_lines": (
        b"Response: Follows\r\nActionID: 9\r\nKey: value\nfirst\r\n\r\nlast\r\n"
        b"--END COMMAND--\r\n\r\n" + EVENT,
        [[("Response", "Follows"), ("ActionID", "9"), ("Output", "Key: value"),
          ("Output", "first"), ("Output", ""), ("Output", "last")], E],
    ),
    "legacy_with_a_blank_after_follows": (
        b"Response: Follows \r\nActionID: 9\r\n\n--END COMMAND--\r\n\r\n",
        [[("Response", "Follows"), ("ActionID", "9"), ("Output", "")]],
    ),
    "only_an_exact_follows_line_starts_legacy_output": (
        b"Response: FollowsUp\r\nActionID: 1\r\n\r\n" + EVENT,
        [[("Response", "FollowsUp"), ("ActionID", "1")], E],
    ),
}
TRAILING = b"Event: Unfinished\r\nX: 1\r\n"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("how", ["whole", "one_byte", "with_trailing_data"])
def test_case_table(case: str, how: str) -> None:
    data, expected = CASES[case]
    chunks = {
        "whole": [data],
        "one_byte": one_byte(data),
        "with_trailing_data": [data + TRAILING],
    }[how]
    parser = Parser(greeting=False)
    events: list[Event] = []
    for chunk in chunks:
        parser.feed(chunk)
        events.extend(drain(parser))
    assert [e.headers for e in events if isinstance(e, Message)] == expected
    assert all(isinstance(e, Message) for e in events)
    assert parser.buffered == (len(TRAILING) if how == "with_trailing_data" else 0)
    assert [e.raw for e in events if isinstance(e, Message)] == reference_frames(data, False)[1]


def test_stray_blank_lines_are_skipped() -> None:
    data = GREETING + b"\r\n\n" + EVENT + b"\r\n\r\n\n" + EVENT + b"\n\r\n"
    for chunks in every_chunking(data, "blank"):
        events = feed(chunks)
        assert len(events) == 3, chunks
        assert (
            events[1]
            == events[2]
            == {
                "Event": "Newchannel",
                "Privilege": "call,all",
                "Channel": "PJSIP/1-0001",
            }
        )


def test_latin1_fallback_per_message() -> None:
    data = (
        b"Event: Newchannel\r\nCallerIDName: Jos\xe9 M\xfcller\r\n\r\n"
        b"Event: Newchannel\r\nCallerIDName: Jos\xc3\xa9\r\n\r\n"
    )
    for chunks in every_chunking(data, "latin1"):
        first, second = feed(chunks, greeting=False)
        assert isinstance(first, Message) and isinstance(second, Message)
        assert first["CallerIDName"] == "José Müller"
        assert second["CallerIDName"] == "José"


def test_multibyte_character_split_across_feeds() -> None:
    data = "Event: UserEvent\r\nHeader1: ä ö ü 日本 😀\r\n\r\n".encode()
    start = data.index("日".encode())
    for cut in range(start, start + 8):
        (m,) = feed([data[:cut], data[cut:]], greeting=False)
        assert isinstance(m, Message) and m["Header1"] == "ä ö ü 日本 😀"
    (m,) = feed(one_byte(data), greeting=False)
    assert isinstance(m, Message) and m["Header1"] == "ä ö ü 日本 😀"


def test_greeting() -> None:
    for chunks in every_chunking(GREETING + EVENT, "greeting"):
        events = feed(chunks)
        assert events[0] == "Asterisk Call Manager/13.0.0"
        assert isinstance(events[0], Greeting) and events[0].version == "13.0.0"
        assert isinstance(events[1], Message) and events[1].name == "Newchannel"
    (g,) = feed([b"SSH-2.0-OpenSSH_9.6\n"])
    assert isinstance(g, Greeting) and not g.is_ami and g.version == ""
    old, event = feed([b"Asterisk Call Manager/1.1\n" + EVENT])
    assert isinstance(old, Greeting) and old.is_ami and old.version == "1.1"
    assert feed([b"Asterisk Call Man"]) == []  # not a whole line yet


def test_greeting_without_newline_is_bounded() -> None:
    parser = Parser(max_message_size=10_000)
    for _ in range(100):
        parser.feed(b"x" * 1000)
        assert parser.buffered <= 10_000
    greeting, error = drain(parser)
    assert isinstance(greeting, Greeting) and not greeting.is_ami
    assert isinstance(error, ProtocolError)


def test_trailing_partial_message_waits() -> None:
    parser = Parser(greeting=False)
    parser.feed(EVENT + b"Event: Hangup\r\nChannel: X\r\n")
    assert len(drain(parser)) == 1
    assert parser.next_event() is NEED_DATA
    assert parser.buffered == len(b"Event: Hangup\r\nChannel: X\r\n")
    parser.feed(b"\r\n")
    (m,) = drain(parser)
    assert m == {"Event": "Hangup", "Channel": "X"}
    assert parser.buffered == 0


def test_events_helper_and_need_data() -> None:
    parser = Parser()
    assert parser.next_event() is NEED_DATA
    parser.feed(GREETING + EVENT + EVENT)
    assert len(parser.events()) == 3
    assert parser.events() == [] and parser.next_event() is NEED_DATA


# ---------------------------------------------------------------------------
# The size cap


def test_oversized_message_is_reported_and_the_parser_resyncs() -> None:
    cap = 1000
    big = b"Event: Big\r\nData: " + b"y" * 5000 + b"\r\nMore: z\r\n\r\n"
    data = EVENT + big + EVENT
    rng = random.Random("cap")
    for chunks in (one_byte(data), *(random_chunks(data, rng, 300) for _ in range(20))):
        parser = Parser(greeting=False, max_message_size=cap)
        events: list[Event] = []
        for chunk in chunks:
            parser.feed(chunk)
            assert parser.buffered <= cap
            events.extend(drain(parser))
        assert [type(e) for e in events] == [Message, ProtocolError, Message], chunks
        assert events[0] == events[2]
        assert "too large" in str(events[1])


def test_oversized_error_comes_after_the_messages_before_it() -> None:
    parser = Parser(greeting=False, max_message_size=100)
    parser.feed(EVENT + b"Event: Big\r\n" + b"x" * 500)
    events = drain(parser)
    assert [type(e) for e in events] == [Message, ProtocolError]


def test_resync_on_blank_line_split_across_feeds() -> None:
    cap = 100
    for blank in (b"\r\n\r\n", b"\n\n", b"\r\n\n", b"\n\r\n"):
        data = b"Event: Big\r\nData: " + b"y" * 300 + blank + EVENT
        for cut in range(290, len(data) - len(EVENT)):
            parser = Parser(greeting=False, max_message_size=cap)
            parser.feed(data[:cut])
            parser.feed(data[cut:])
            events = drain(parser)
            assert [type(e) for e in events] == [ProtocolError, Message], (blank, cut)
            assert events[1] == parse_frame(EVENT[:-4])


def test_ten_megabyte_line_keeps_memory_bounded() -> None:
    cap = 1 << 20
    parser = Parser(max_message_size=cap)
    parser.feed(GREETING)
    chunk = b"z" * 65536
    errors = 0
    for _ in range(160):  # 10 MiB without a newline
        parser.feed(chunk)
        assert parser.buffered <= cap
        errors += sum(isinstance(e, ProtocolError) for e in drain(parser))
    assert errors == 1  # one report per oversized message, not one per read
    parser.feed(b"\r\n\r\n" + EVENT)
    events = drain(parser)
    (m,) = events
    assert isinstance(m, Message) and m["Event"] == "Newchannel"


def test_hundred_thousand_headers_parse_within_the_cap() -> None:
    data = b"Event: Flood\r\n" + b"H: v\r\n" * 100_000 + b"\r\n"
    events = feed(random_chunks(data, random.Random(3), 65536), greeting=False)
    (m,) = events
    assert isinstance(m, Message)
    assert len(m["H"]) == 100_000


def test_framer_directly() -> None:
    framer = Framer(greeting=True, max_message_size=64)
    assert framer.feed(GREETING[:10]) == [] and framer.greeting is None
    assert framer.feed(GREETING[10:] + EVENT) == [EVENT[:-4]]
    assert framer.greeting == "Asterisk Call Manager/13.0.0"
    assert framer.feed(b"Event: X\r\n" + b"a" * 100) == []
    assert len(framer.errors) == 1 and isinstance(framer.errors[0], ProtocolError)
    assert framer.buffered == 0
    assert framer.feed(b"b" * 100 + b"\r\n\r\n" + EVENT) == [EVENT[:-4]]
    plain = Framer()
    assert plain.greeting == "" and plain.feed(EVENT) == [EVENT[:-4]]


# ---------------------------------------------------------------------------
# Serializing


def test_serialize_mapping_and_pairs() -> None:
    wire = serialize({"Action": "Originate", "Variable": ["A=1", "B=2"], "Async": True})
    assert wire == (b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n")
    pairs = [("Action", "Setvar"), ("Variable", "X"), ("Value", 5), ("Skip", None)]
    assert serialize(pairs) == b"Action: Setvar\r\nVariable: X\r\nValue: 5\r\n\r\n"
    assert serialize({"Action": "Ping", "Flag": False}) == b"Action: Ping\r\nFlag: false\r\n\r\n"
    assert serialize({"Action": "UserEvent", "Header1": "ä 日本"}) == (
        "Action: UserEvent\r\nHeader1: ä 日本\r\n\r\n".encode()
    )
    # What it writes, the parser reads back.
    (m,) = feed([serialize({"Action": "Originate", "Variable": ("A=1", "B=2")})], greeting=False)
    assert m == {"Action": "Originate", "Variable": ["A=1", "B=2"]}


@pytest.mark.parametrize(
    "fields",
    [
        {"Action": "Ping\r\nAction: Originate"},
        {"Action": "Ping", "Data": "a\nb"},
        {"Action": "Ping", "Data": "a\rb"},
        {"Action": "Ping", "Variable": ["ok", "bad\n"]},
        {"Action": "Ping", "Bad:Key": "x"},
        {"Action": "Ping", "Bad Key": "x"},
        {"Action": "Ping", "Bad\tKey": "x"},
        {"Action": "Ping", "Bad\r\nKey": "x"},
        {"Action": "Ping", "": "x"},
        {"Action": "Ping", "Data": b"bytes"},
        {"Action": "Ping", "Data": "x" * (MAX_LINE_LENGTH - 5)},
        {"Action": "Ping", "Data": "é" * 600},  # 1,206 bytes on the wire
        {"Action": "Ping", "Variable": [str(i) for i in range(128)]},
    ],
    ids=lambda fields: repr(fields)[:40],
)
def test_serialize_refuses(fields: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError) as info:
        serialize(fields)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_serialize_checks_every_header_every_time() -> None:
    serialize({"Action": "Ping", "Data": "ok", "Variable": ["a", "b"]})
    for bad in ("a\r\nAction: Hangup", "a\nb", "a\rb", "x" * MAX_LINE_LENGTH):
        with pytest.raises(LocalProtocolError):
            serialize({"Action": "Ping", "Data": bad})
    for _ in range(2):  # a refused name is never remembered
        with pytest.raises(LocalProtocolError):
            serialize({"Action": "Ping", "Bad Key": "x"})
    with pytest.raises(LocalProtocolError):
        serialize([("Action", "Ping"), (["unhashable"], "x")])  # type: ignore[list-item]


def test_serialize_limits_are_inclusive() -> None:
    line = {"Action": "Ping", "Data": "x" * (MAX_LINE_LENGTH - 6)}  # "Data: " + value
    assert max(len(x) for x in serialize(line).split(b"\r\n")) == MAX_LINE_LENGTH
    many = {"Action": "Ping", "Variable": [str(i) for i in range(126)]}
    assert serialize(many).count(b"\r\n") == 128  # 127 headers + the empty line
    with pytest.raises(LocalProtocolError):
        serialize({"Action": "Ping", "Variable": [str(i) for i in range(130)]})


def test_format_pairs_does_no_checks() -> None:
    assert format_pairs([("Response", "Success"), ("Odd Key", "a")]) == (
        b"Response: Success\r\nOdd Key: a\r\n\r\n"
    )


# ---------------------------------------------------------------------------
# Properties

KEYS = st.one_of(
    st.sampled_from(["Action", "Event", "ActionID", "Variable", "Output", "Channel", "Response"]),
    st.text(
        st.characters(codec="utf-8", exclude_characters=":"),
        min_size=1,
        max_size=12,
    ).filter(lambda k: not any(c.isspace() for c in k)),
)
VALUES = st.one_of(
    st.sampled_from(["", "Success", "Follows", "x: y", "trailing  ", "09:40:17", "ä 日本"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40),
).filter(lambda v: not v.startswith((" ", "\t")))
PAIRS = st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=30).filter(
    lambda pairs: pairs[0] != ("Response", "Follows")
)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        if pos >= len(data):
            break
        out.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        out.append(data[pos:])
    return out


@given(messages=st.lists(PAIRS, min_size=1, max_size=5), sizes=st.lists(st.integers(1, 64)))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_property_serialize_then_parse_is_identity(
    messages: list[list[tuple[str, str]]], sizes: list[int]
) -> None:
    wire = b"".join(serialize(pairs) for pairs in messages)
    events = feed(chunked(wire, sizes), greeting=False)
    assert [e.headers for e in events if isinstance(e, Message)] == messages
    assert all(isinstance(e, Message) for e in events)


TOKENS = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b"\r",
        b": ",
        b":",
        b" ",
        b"\t",
        b"Event",
        b"Output",
        b"Response: Follows",
        b"Response: Follows ",
        b"Response: FollowsX",
        b"--END COMMAND--",
        b"Asterisk Call Manager/13.0.0",
        b"A",
        b"\xc3",
        b"\xa9",
        b"\xe6\x97\xa5",
        b"\xff",
    ]
)
NOISE = st.one_of(st.binary(max_size=300), st.lists(TOKENS, max_size=80).map(b"".join))


@given(data=NOISE, sizes=st.lists(st.integers(1, 100)), cap=st.integers(1, 120))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_property_never_raises_and_memory_is_bounded(
    data: bytes, sizes: list[int], cap: int
) -> None:
    parser = Parser(greeting=False, max_message_size=cap)
    chunks = chunked(data * 3, sizes)
    largest = max(map(len, chunks), default=0)
    for chunk in chunks:
        parser.feed(chunk)
        assert parser.buffered <= cap
        for event in drain(parser):
            assert isinstance(event, Message | ProtocolError)
            if isinstance(event, Message):
                assert event.raw is not None and len(event.raw) <= cap + largest


def framer_then_parse_frame(chunks: Iterable[bytes], greeting: bool) -> list[Any]:
    """What the client does: frame on one side, parse each frame on the other.
    ("fed" after each chunk: a message must come out as soon as it is complete.)"""
    framer = Framer(greeting=greeting)
    out: list[Any] = []
    for chunk in chunks:
        for frame in framer.feed(chunk):
            msg = parse_frame(frame)
            out.append((msg.headers, dict(msg), msg.raw))
        out.extend(("error", str(e)) for e in framer.errors)
        framer.errors.clear()
        out.append("fed")
    return out


def parser_messages(chunks: Iterable[bytes], greeting: bool) -> list[Any]:
    parser = Parser(greeting=greeting)
    out: list[Any] = []
    for chunk in chunks:
        parser.feed(chunk)
        for e in drain(parser):
            if isinstance(e, Message):
                out.append((e.headers, dict(e), e.raw))
            elif isinstance(e, ProtocolError):
                out.append(("error", str(e)))
        out.append("fed")
    return out


@given(data=NOISE, sizes=st.lists(st.integers(1, 80)), greeting=st.booleans())
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
def test_property_framer_parser_and_reference_agree_on_any_bytes(
    data: bytes, sizes: list[int], greeting: bool
) -> None:
    """On any bytes in any chunks (bare LF, CR, empty lines, legacy output,
    broken UTF-8), the Framer, the Parser and the line-by-line reference give
    the same greeting, frames and headers, each message as soon as it is whole."""
    data += b"\r\n\r\n" + data.replace(b"\n", b"\r\n") + b"\n\n" + data
    chunks = chunked(data, sizes)
    framer = Framer(greeting=greeting)
    parser = Parser(greeting=greeting)
    frames: list[bytes] = []
    events: list[Event] = []
    seen = b""
    for chunk in chunks:
        seen += chunk
        frames += framer.feed(chunk)
        parser.feed(chunk)
        events += drain(parser)
        # As soon as it is whole: after each chunk, all the reference finds so far.
        first, want = reference_frames(seen, greeting)
        assert frames == want
        assert framer.greeting == (first if greeting else "")
    assert not framer.errors  # far below the cap
    messages = [e for e in events if isinstance(e, Message)]
    assert [m.raw for m in messages] == frames
    assert [m.headers for m in messages] == [reference_parse(f) for f in frames]
    assert [dict(m) for m in messages] == [dict(parse_frame(f)) for f in frames]
    greetings = [e for e in events if isinstance(e, Greeting)]
    assert greetings == ([first] if greeting and first is not None else [])
    assert len(events) == len(messages) + len(greetings)


@pytest.mark.parametrize("name", FIXTURES)
def test_parser_agrees_with_framer_and_parse_frame_on_every_recording(name: str) -> None:
    chunks = recv_chunks(name)
    whole = [b"".join(chunks)]
    assert parser_messages(chunks, greeting=True) == framer_then_parse_frame(chunks, True)
    assert parser_messages(whole, greeting=True) == framer_then_parse_frame(whole, True)


LEGACY_CRLF = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: 9\r\n"
    b"first\r\n\r\nafter an empty line\r\n--END COMMAND--\r\n\r\n"
)


@pytest.mark.parametrize("before", [b"", b"Event: A\r\n\r\n", b"Event: A\r\n\r\n\r\n", b"\r\n"])
@pytest.mark.parametrize("whole", [True, False])
def test_legacy_output_with_crlf_lines_and_empty_lines_is_one_message(
    before: bytes, whole: bool
) -> None:
    data = before + LEGACY_CRLF + b"Event: B\r\n\r\n"
    chunks = [data] if whole else chunked(data, [len(before) + 20, 30])
    for messages in (
        [e for e in feed(chunks, greeting=False) if isinstance(e, Message)],
        [parse_frame(f) for c in [Framer()] for chunk in chunks for f in c.feed(chunk)],
    ):
        legacy = next(m for m in messages if m.get("Response") == "Follows")
        assert legacy.output == ["first", "", "after an empty line"]
        assert legacy["ActionID"] == "9"
        assert [m.get("Event") for m in messages if "Event" in m] == (
            ["A", "B"] if b"Event: A" in before else ["B"]
        )
