"""The real PromptSession, driven through a pipe, against the simulator."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from amishell.client import AMIClient
from amishell.shell.app import STYLE, InputColours, InteractiveShell
from amishell.shell.config import Target
from amishell.shell.context import Context
from amishell.shell.core import Shell
from amishell.shell.history import MaskedFileHistory, MaskedMemoryHistory
from amishell.shell.keys import split_typed
from amishell.simulator import Faults, Simulator

SECRET = "s3cret-admin"


class Harness:
    """A shell on a pipe: type into it, read what it printed."""

    def __init__(
        self,
        sim: Simulator,
        history: Any = None,
        env: dict[str, str] | None = None,
        **target: Any,
    ) -> None:
        host, port = sim.address
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.ctx = Context(
            stdin=io.StringIO(), stdout=self.out, stderr=self.err, env=env or {}, tty_path=None
        )
        options: dict[str, Any] = {"keepalive": 0, "reconnect_max": 0.5, "timeout": 5.0}
        options.update(target)
        self.target = Target(host=host, port=port, username="admin", **options)
        self.shell = Shell(self.ctx, self.target, username="admin", secret=SECRET,
                           width=lambda: 120)
        assert self.shell.connect() is None
        self._pipe = create_pipe_input()
        self.input = self._pipe.__enter__()
        self.app = InteractiveShell(
            self.shell, self.ctx, history or MaskedMemoryHistory(), pt_input=self.input,
            pt_output=DummyOutput(), tick=0.02, color=False,
        )
        self.shell.width = lambda: 120
        self.loop: asyncio.AbstractEventLoop | None = None
        self.status: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        async def main() -> Any:
            self.loop = asyncio.get_running_loop()
            return await self.app.run(["ready"])

        self.status = asyncio.run(main())

    def type(self, text: str) -> None:
        self.input.send_text(text)

    def wait_for(self, fragment: str, timeout: float = 5.0, after: int = 0) -> int:
        """Wait until ``fragment`` was printed (after offset ``after``); its offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = self.out.getvalue().find(fragment, after)
            if at >= 0:
                return at
            time.sleep(0.01)
        raise AssertionError(f"{fragment!r} not printed; got:\n{self.out.getvalue()[-3000:]}")

    def interrupt(self) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.app.interrupt)

    def close(self) -> None:
        if self.thread.is_alive():
            self.type("\x04")
            self.thread.join(5)
        self._pipe.__exit__(None, None, None)
        self.shell.close()
        assert not self.thread.is_alive()

    @property
    def text(self) -> str:
        return self.out.getvalue()


@pytest.fixture
def harness(sim_factory: Callable[..., Simulator]) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(sim: Simulator | None = None, **options: Any) -> Harness:
        h = Harness(sim or sim_factory(), **options)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def user_event(sim: Simulator, name: str, **headers: str) -> None:
    host, port = sim.address
    with AMIClient("admin", SECRET, host, port, events="off") as other:
        assert not other.action({"Action": "UserEvent", "UserEvent": name, **headers}).is_error


def slow_down(sim: Simulator, delay: float) -> None:
    """Answer every later action of the sessions now open ``delay`` seconds late."""
    for session in sim.sessions():
        session.faults = Faults(delay=delay)


def test_one_line_action(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.wait_for("ready")
    h.type("ping\r")
    h.wait_for("Ping: Pong")
    assert "Response: Success" in h.text


def test_block_action_then_one_line(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.type("Action: Setvar\rVariable: AMISHELL\rValue: 42\r\r")
    at = h.wait_for("Response: Success")
    h.type("Getvar Variable=AMISHELL\r")
    h.wait_for("Value: 42", after=at)


def test_cli_command_output_plain(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.type("/core show version\r")
    h.wait_for("Asterisk GIT-master")
    h.type("/no such command here\r")
    h.wait_for("No such command")


def test_event_list_table(harness: Callable[..., Harness], sim: Simulator) -> None:
    sim.start_call("400")
    h = harness(sim)
    h.type(".events off\rCoreShowChannels\r")
    h.wait_for("2 items")
    assert "Channel " in h.text and "Local/400@demo" in h.text


def test_events_appear_while_a_response_is_awaited(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator]
) -> None:
    slow = sim_factory()
    h = harness(slow, timeout=10.0)
    slow_down(slow, 0.6)  # from now on each action is answered late
    start = len(h.text)
    h.type("Ping\r")
    time.sleep(0.1)
    slow.burst(1, b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: WhileWaiting\r\n\r\n")
    event_at = h.wait_for("WhileWaiting", after=start)
    response_at = h.wait_for("Ping: Pong", after=start)
    assert event_at < response_at
    slow_down(slow, 0.0)


def test_local_filter(harness: Callable[..., Harness], sim: Simulator) -> None:
    h = harness(sim)
    h.type(".filter UserEvent=Wanted*\r")
    h.wait_for("showing events matching")
    user_event(sim, "Other")
    user_event(sim, "WantedOne")
    h.wait_for("UserEvent=WantedOne")
    assert "UserEvent=Other" not in h.text


def test_flood_is_summarised(harness: Callable[..., Harness], sim: Simulator) -> None:
    h = harness(sim)
    h.app.shell.view.per_tick = 5
    start = len(h.text)
    sim.burst(3000)
    assert sim.wait_bursts(10)
    h.wait_for("events not shown", after=start)
    deadline = time.monotonic() + 5
    while h.shell.view.received < 3000 and time.monotonic() < deadline:
        time.sleep(0.01)
    view = h.shell.view
    assert view.received >= 3000
    time.sleep(0.1)
    assert view.shown + view.not_shown + view.filtered >= 3000


def test_flood_of_unshown_events_is_counted_and_names_learned(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    h = harness(sim)
    h.app.shell.view.per_tick = 2
    before = h.shell.view.received
    sim.burst(2000, [b"Event: FloodOnly\r\nPrivilege: user,all\r\nN: 1\r\n\r\n"])
    assert sim.wait_bursts(10)
    deadline = time.monotonic() + 5
    while h.shell.view.received < before + 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert h.shell.view.received == before + 2000  # each one counted, none lost
    assert "FloodOnly" in h.shell.event_names  # learned for completion even unparsed
    h.wait_for("events not shown")


def test_drop_reconnect_reapplies_mask_and_filters(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    h = harness(sim)
    h.type(".events mask call,user\r")
    h.wait_for("server event mask: call,user")
    h.type(".serverfilter UserEvent\r")
    h.wait_for("server filter added")
    (session,) = sim.sessions()
    session.stop()
    h.wait_for("connection lost")
    h.wait_for("reconnected to")
    assert "event mask call,user and 1 filter(s)" in h.text
    fresh = [s for s in sim.sessions() if s is not session and not s.closing]
    assert len(fresh) == 1 and len(fresh[0].includes) == 1
    mark = len(h.text)
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=mark)


def test_action_while_disconnected_is_refused(harness: Callable[..., Harness]) -> None:
    h = harness(reconnect=False)
    h.type(".disconnect\r")
    h.wait_for("logged off")
    h.type("Ping\r")
    h.wait_for("not connected: Ping was not sent")


def test_ctrl_c_stops_waiting_and_the_late_response_is_shown(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator]
) -> None:
    slow = sim_factory()
    h = harness(slow, timeout=10.0)
    slow_down(slow, 0.8)
    h.type("Ping\r")
    time.sleep(0.3)
    h.interrupt()
    stopped = h.wait_for("stopped waiting for Ping")
    late = h.wait_for("late response", after=stopped)
    h.wait_for("Ping: Pong", after=late)
    slow_down(slow, 0.0)


BAD_LINES = [
    'Originate CallerID="Alice',
    "Originate Channel",
    "=x",
    ".nosuchcommand",
    ".",
    "/",
    "Action: Ping\rnot a header\r\r",
    "Channel: x\r\r",
    "core show channels",
    ".format sideways",
    ".events sideways",
    ".filter Channel=",
    ".history many",
    ".help NoSuchAction",
    ".help .nosuch",
    ".log /nonexistent-dir/x.jsonl",
    "Login Username=x Secret=y",
    "Ping Data=" + "x" * 1100,
]


def test_bad_input_gives_one_line_errors_never_a_traceback(
    harness: Callable[..., Harness],
) -> None:
    h = harness()
    for line in BAD_LINES:
        text = line if line.endswith("\r") else line + "\r"
        mark = len(h.text)
        h.type(text)
        h.wait_for("error: ", after=mark)
    h.type("Ping\r")
    h.wait_for("Ping: Pong")
    errors = [line for line in h.text.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(BAD_LINES)
    assert "Traceback" not in h.text + h.err.getvalue()
    assert h.thread.is_alive()


def test_help_and_quit(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.type(".help\r")
    h.wait_for(".events")
    assert "/core show channels" in h.text
    h.type(".help Originate\r")
    h.wait_for("Channel*")
    h.type(".quit\r")
    h.thread.join(5)
    assert not h.thread.is_alive()
    assert int(h.status) == 0


def test_secret_never_in_any_artefact(
    harness: Callable[..., Harness], sim: Simulator, tmp_path: Path
) -> None:
    history_path = tmp_path / "history"
    h = harness(sim, history=MaskedFileHistory(str(history_path)))
    transcript, log = tmp_path / "debug.txt", tmp_path / "events.jsonl"
    h.type(f".debug {transcript}\r.log {log}\r")
    h.wait_for("logging every event")
    h.type(f".reconnect\rUserEvent UserEvent=x Secret={SECRET}\r")
    h.wait_for("Event Sent")
    h.type(f"Action: UserEvent\rUserEvent: y\rSecret: {SECRET}\r\r.history\r.status\r")
    h.wait_for("actions (live)")
    h.type(".quit\r")
    h.thread.join(5)
    artefacts = {
        "stdout": h.text,
        "stderr": h.err.getvalue(),
        "history": history_path.read_text(),
        "transcript": transcript.read_text(),
        "log": log.read_text(),
        "repr": repr(h.shell) + repr(h.shell.client) + repr(h.target),
    }
    assert "Secret: ********" in artefacts["transcript"]
    assert "Secret=********" in artefacts["history"]
    for name, text in artefacts.items():
        assert SECRET not in text, name


def test_typed_actionid_events_filter_and_logoff(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    h = harness(sim)
    h.type("Ping ActionID=mine\r")
    h.wait_for("ActionID is set by the shell")
    mark = len(h.text)
    h.type("events eventmask=call\r")
    mark = h.wait_for("Response: Success", after=mark) + 1
    h.type("Filter Operation=Add Filter=Event:\\s*Hangup\r")
    mark = h.wait_for("Response: Success", after=mark) + 1
    assert h.shell.mask == "call"
    assert h.shell.server_filters == [[("Filter", r"Event:\s*Hangup")]]
    h.type("Logoff\r")
    h.wait_for("logged off", after=mark)
    time.sleep(0.3)
    assert h.shell.state == "disconnected"  # no reconnect after a deliberate Logoff
    assert "reconnect" not in h.text[mark:]


def test_connect_to_another_server(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    first, second = sim_factory(), sim_factory()
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "AMI_SECRET": SECRET}
    h = harness(first, env=env)
    host, port = second.address
    h.type(f".connect {host}:{port} -u admin\r")
    h.wait_for(f"Connected to {host}:{port}")
    assert h.shell.target.port == port
    assert not [s for s in first.sessions() if not s.closing]


def test_toolbar_shows_state_latency_counts_filter_format(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    from amishell.shell.toolbar import toolbar_fragments

    h = harness(sim, keepalive=0.2)
    h.type(".filter Hangup\r.format json\r")
    h.wait_for("format: json")
    deadline = time.monotonic() + 5
    while h.shell.client is not None and h.shell.client.last_latency is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    text = "".join(t for _, t in toolbar_fragments(h.shell))
    assert "connected" in text and f"admin@{h.target.address}" in text
    assert "ping " in text and " ms" in text
    assert "filter Hangup" in text and "json" in text
    assert "ev/s" in text and "shown" in text
    assert SECRET not in text
    assert "dropped" not in text
    assert h.shell.client is not None
    h.shell.client.dropped_events = 1234  # what the client counts past its memory bound
    text = "".join(t for _, t in toolbar_fragments(h.shell))
    assert "1,234 dropped" in text


def test_keys_typed_while_waiting_are_kept_and_ctrl_c_stops_the_wait(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator]
) -> None:
    """While a response is awaited the keyboard is read, not left to the terminal:
    Ctrl-C (a key, the terminal being raw) stops the wait; what else was typed runs
    next, in order; the late response comes before the next answer. A Getvar does
    not hold the session, so nothing says the Ping waits behind it."""
    slow = sim_factory()
    h = harness(slow, timeout=10.0)
    h.type(".events off\r")
    h.wait_for("events: off")
    slow_down(slow, 0.4)
    mark = len(h.text)
    h.type("Getvar Variable=FIRST\r")
    time.sleep(0.1)
    h.type("\x03")  # Ctrl-C
    stopped = h.wait_for("stopped waiting for Getvar", after=mark)
    h.type("Ping\rGetvar Variable=THIRD\r")  # typed ahead while Ping waits
    late = h.wait_for("late response to Getvar (ActionID", after=stopped)
    pong = h.wait_for("Ping: Pong", after=late)
    h.wait_for("Variable: THIRD", after=pong)
    assert "waits behind" not in h.text
    slow_down(slow, 0.0)


def test_an_action_waits_behind_a_synchronous_originate_only(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator]
) -> None:
    slow = sim_factory()
    h = harness(slow, timeout=10.0)
    h.type(".events off\r")
    h.wait_for("events: off")
    slow_down(slow, 0.4)
    mark = len(h.text)
    h.type("Originate Channel=Local/100@demo Application=Wait Data=1\r")
    time.sleep(0.1)
    h.type("\x03")
    stopped = h.wait_for("stopped waiting for Originate", after=mark)
    h.type("Ping\r")
    note = h.wait_for("(Ping waits behind Originate, ActionID", after=stopped)
    h.wait_for("Ping: Pong", after=note)
    slow_down(slow, 0.0)


def test_a_lost_connection_is_no_late_response(
    harness: Callable[..., Harness], sim_factory: Callable[..., Simulator]
) -> None:
    """An action the user stopped waiting for, then the connection drops: the
    client's made-up error is said to be no answer, never a late response."""
    slow = sim_factory()
    h = harness(slow, timeout=10.0, reconnect=False)
    h.type(".events off\r")
    h.wait_for("events: off")
    slow_down(slow, 5.0)
    mark = len(h.text)
    h.type("Getvar Variable=FIRST\r")
    time.sleep(0.1)
    h.type("\x03")
    stopped = h.wait_for("stopped waiting for Getvar", after=mark)
    slow.stop()
    h.wait_for("no answer to Getvar (ActionID", after=stopped)
    assert "late response" not in h.text[stopped:]


def test_a_wrapped_long_line_is_not_drawn_as_a_block_line(
    harness: Callable[..., Harness],
) -> None:
    app = harness().app
    assert app._continuation(17, 1, 0) == "... ".rjust(17)  # the next line of a block
    assert app._continuation(17, 0, 1) == ""  # the same line, wrapped by the terminal


def test_toolbar_fits_the_terminal_and_says_seconds(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    from amishell.shell.events import EventFilter
    from amishell.shell.toolbar import toolbar_fragments

    h = harness(sim)
    view = h.shell.view
    view.filter = EventFilter("Hangup,Newchannel,QueueMemberStatus,DeviceStateChange")
    view.shown, view.filtered, view.not_shown = 1234, 56_789, 1_234_567
    view.state = "pause"
    assert h.shell.client is not None
    h.shell.client.last_latency = 7.36  # a Ping queued behind a synchronous Originate
    wide = "".join(t for _, t in toolbar_fragments(h.shell))
    assert "ping 7.4 s" in wide and "events paused: 1,234 shown, 56.8k filtered, 1.2M" in wide
    for width in (120, 100, 80):
        text = "".join(t for _, t in toolbar_fragments(h.shell, width))
        assert len(text) <= width, (width, text)
        assert text.rstrip().endswith("pretty") and "events paused" in text


def test_connect_to_a_wrong_address_keeps_the_working_session(
    harness: Callable[..., Harness], sim: Simulator, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "AMI_SECRET": SECRET}
    h = harness(sim, env=env)
    h.type(f".connect 127.0.0.1:{port} -u admin\r")
    h.wait_for(f"still connected to {h.target.address}")
    assert h.shell.state == "connected" and h.shell.target.port == sim.address[1]
    mark = len(h.text)
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=mark)


def test_errors_point_to_the_fix(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.type("Originate\r")
    h.wait_for("type .help Originate for its parameters")
    h.type("bad line here\r")
    h.wait_for("error: 'bad' is not an action: Tab after a few letters lists them;"
               " for a CLI command type /bad line here")
    h.type(".help .nosuch\r")
    h.wait_for("error: no shell command .nosuch; .help lists them")


def test_enter_never_waits_for_a_slow_completion(harness: Callable[..., Harness]) -> None:
    """A completion that hangs (a server slow to say an action's parameters) neither
    blocks typing nor delays Enter."""
    h = harness()
    h.type(".events off\r")
    h.wait_for("events: off")
    live = h.app.completer.completer.sources  # type: ignore[attr-defined]
    gate, asked = threading.Event(), threading.Event()

    class Hanging:
        def __getattr__(self, name: str) -> Any:
            return getattr(live, name)

        def params(self, action: str) -> Any:
            asked.set()
            gate.wait(10)
            return live.params(action)

    h.app.completer.completer.sources = Hanging()  # type: ignore[attr-defined]
    try:
        mark = len(h.text)
        h.type("Getvar Variable=SLOWCOMPLETION")
        assert asked.wait(5)
        h.type("\r")
        h.wait_for("Variable: SLOWCOMPLETION", after=mark)
        assert not gate.is_set()  # answered while the completion still hung
    finally:
        gate.set()


def test_input_colours_load_with_the_first_character() -> None:
    """An empty prompt is drawn without the lexer (pygments loads for the first
    character typed); then the line is coloured as the lexer says."""
    colours = InputColours()
    assert colours.lex_document(Document(""))(0) == []
    assert colours.style is STYLE
    line = colours.lex_document(Document(".help events /core show channels"))(0)
    assert ("class:pygments.keyword", ".help") in line
    attrs = colours.style.get_attrs_for_style_str("class:pygments.keyword")
    assert attrs.bold  # the input palette is in use now


def test_columns_choose_what_a_list_table_shows(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    sim.start_call("400")
    h = harness(sim)
    h.type(".events off\r.columns CoreShowChannel Channel Duration\r")
    h.wait_for("CoreShowChannel: Channel Duration")
    start = len(h.text)
    h.type("CoreShowChannels\r")
    h.wait_for("2 items", after=start)
    header = next(line for line in h.text[start:].splitlines() if line.startswith("Channel"))
    assert header.split() == ["Channel", "Duration"]
    h.type(".columns CoreShowChannel default\r")
    h.wait_for("CoreShowChannel: Channel Context", after=start)


def test_a_paste_of_lines_runs_each_line_as_if_typed(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    history = MaskedMemoryHistory()
    h = harness(sim, history=history)
    h.type(".events off\r")
    h.wait_for("events: off")
    start = len(h.text)
    h.type("\x1b[200~Ping\nAction: CoreSettings\n\n/core show uptime\nCoreSta\x1b[201~")
    pong = h.wait_for("Ping: Pong", after=start)
    settings = h.wait_for("AMIversion", after=start)
    uptime = h.wait_for("System uptime", after=start)
    assert pong < settings < uptime  # in order, with no Enter typed
    assert "CoreStatus" not in h.text[start:]  # the unfinished line waits in the input ...
    h.type("tus\r")
    h.wait_for("CoreCurrentCalls", after=start)  # ... and is sent by its Enter
    assert list(history.get_strings())[-4:] == [
        "Ping", "Action: CoreSettings", "/core show uptime", "CoreStatus"
    ]


def test_split_typed_is_what_enter_at_each_line_end_would_send() -> None:
    assert split_typed("Ping\nAction: Ping\nX: 1\n\nCoreSt") == (
        ["Ping", "Action: Ping\nX: 1"], "CoreSt"
    )
    assert split_typed("Action: Ping\nX: 1\n") == ([], "Action: Ping\nX: 1\n")
    assert split_typed("\n\nPing\r\n") == (["Ping"], "")


def test_completion_drops_a_channel_once_its_hangup_is_seen(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    name = sim.start_call("400")
    assert name is not None
    h = harness(sim)
    sources = h.shell.sources
    deadline = time.monotonic() + 5
    while name not in sources.values("channel") and time.monotonic() < deadline:
        sources.reset()
    assert name in sources.values("channel")
    start = len(h.text)
    h.type(f"Hangup Channel={name}\r")
    h.wait_for("Hangup", after=start)
    deadline = time.monotonic() + 1.5  # the list is cached for 3 s: not a refresh
    while name in sources.values("channel") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert name not in sources.values("channel")
def test_history_lists_what_up_recalls_without_a_history_file(
    harness: Callable[..., Harness],
) -> None:
    """With --no-history the prompt keeps the session's lines in memory (Up
    recalls them): .history lists those same lines."""
    h = harness(history=MaskedMemoryHistory())
    h.type("Ping\r")
    pong = h.wait_for("Ping: Pong")
    h.type("Getvar Variable=X\r")
    h.wait_for("Variable: X", after=pong)
    mark = len(h.text)
    h.type(".history\r")
    listed = h.wait_for("Getvar Variable=X", after=mark)
    assert "no history yet" not in h.text[mark:]
    assert h.text.index("Ping", mark) < listed


def test_resume_shows_the_events_a_pause_held_back(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    h = harness(sim)
    h.type(".events pause\r")
    h.wait_for("events: paused")
    user_event(sim, "HeldBack", Note="one")
    user_event(sim, "HeldBack", Note="two")
    deadline = time.monotonic() + 5
    while h.shell.view.paused < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    mark = len(h.text)
    assert "HeldBack" not in h.text
    h.type(".events resume\r")
    held = h.wait_for("events held back:", after=mark)
    one = h.wait_for("Note=one", after=held)
    h.wait_for("Note=two", after=one)
    mark = len(h.text)
    h.type(".events last 1 UserEvent\r")
    h.wait_for("Note=two", after=mark)


def test_ctrl_c_at_the_prompt_stops_following_a_live_trace(
    harness: Callable[..., Harness], sim: Simulator
) -> None:
    h = harness(sim)
    h.type(".events off\r")
    h.wait_for("events: off")
    name = sim.start_call("400")
    assert name is not None
    time.sleep(0.3)  # its first events reach the history
    start = len(h.text)
    h.type(f".trace {name}\r")
    h.wait_for("Ctrl-C or .trace stop ends that", after=start)
    h.type("\x03")
    h.wait_for("trace: stopped following the call", after=start)
    h.type("\x03")  # nothing followed any more: nothing said
    h.type("Ping\r")
    h.wait_for("Ping: Pong", after=start)
    assert h.text.count("stopped following") == 1
