"""``.why``, ``.serverfilter`` and ``.help event`` against the simulator, which
answers as the recorded server does (manager show events/event/user/settings)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import pytest

from amishell.shell.config import Target
from amishell.shell.context import Context
from amishell.shell.core import Result, Shell
from amishell.shell.lineparse import parse_chunk
from amishell.shell.render import Info, Problem
from amishell.simulator import Simulator

SECRETS = {"admin": "s3cret-admin", "monitor": "m0nitor"}


@pytest.fixture
def shell_for() -> Iterator[Callable[..., Shell]]:
    made: list[Shell] = []

    def make(sim: Simulator, user: str = "admin", **options: object) -> Shell:
        host, port = sim.address
        ctx = Context(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), env={},
                      tty_path=None)
        target = Target(host=host, port=port, username=user, keepalive=0, timeout=5.0,
                        **options)  # type: ignore[arg-type]
        shell = Shell(ctx, target, username=user, secret=SECRETS[user])
        made.append(shell)
        assert shell.connect() is None
        return shell

    yield make
    for shell in made:
        shell.close()


def run(shell: Shell, text: str) -> Result:
    result = shell.start(parse_chunk(text))
    assert isinstance(result, Info | Problem), result
    return result


def text_of(result: Result) -> str:
    if isinstance(result, Problem):
        return "error: " + result.text
    assert isinstance(result, Info)
    return "\n".join(result.lines)


def line_of(result: Result | str, what: str) -> str:
    text = result if isinstance(result, str) else text_of(result)
    return next(x for x in text.splitlines() if what in x)


# -- .why ------------------------------------------------------------------------


def test_why_all_passed_and_the_end_line(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    shell = shell_for(sim)
    out = run(shell, ".why Hangup")
    text = text_of(out)
    for what in ("read permission", "event mask", "disabled events", "server filters",
                 "shell display"):
        assert line_of(out, what).split()[0] == "passed", text
    assert line_of(out, "eventfilter").split()[0] == "unknown"
    assert "cannot be seen over AMI" in text
    assert "nothing found that blocks it; none has happened in the history since" in text


def test_why_says_when_it_last_arrived(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    shell.history.add(b"Event: Hangup\r\nPrivilege: call,all\r\nChannel: Local/1@demo-1;1",
                      time.time())
    out = text_of(run(shell, ".why hangup"))
    assert "1 Hangup event(s) in the history" in out and "the last arrived at" in out


def test_why_event_mask_blocks(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    shell = shell_for(sim, events="system")
    out = run(shell, ".why Hangup")
    line = line_of(out, "event mask")
    assert line.split()[0] == "blocking" and ".events mask system,call" in line
    shell2 = shell_for(sim, events="off")
    assert ".events mask on" in line_of(run(shell2, ".why Hangup"), "event mask")
    assert "nothing found that blocks it" not in text_of(out)


def test_why_read_permission_blocks(
    sim_factory: Callable[..., Simulator], shell_for: Callable[..., Shell]
) -> None:
    from amishell.simulator import User

    sim = sim_factory(users={"admin": User("s3cret-admin", read="system,command",
                                           write="all")})
    out = run(shell_for(sim), ".why Hangup")
    line = line_of(out, "read permission")
    assert line.split()[0] == "blocking"
    assert "admin may not read call" in line and "manager.conf" in line


def test_why_unknown_without_the_command_privilege(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    out = run(shell_for(sim, "monitor"), ".why Hangup")
    for what in ("read permission", "disabled events"):
        line = line_of(out, what)
        assert line.split()[0] == "unknown" and "Permission denied" in line


def test_why_unknown_class(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    out = run(shell_for(sim, events="call"), ".why MyOwnEvent")
    assert line_of(out, "read permission").split()[0] == "unknown"
    assert "class of MyOwnEvent is not known" in line_of(out, "read permission")
    assert line_of(out, "event mask").split()[0] == "unknown"
    assert "the server lists no event" in line_of(out, "event name")


def test_why_disabled_event_blocks(
    sim_factory: Callable[..., Simulator], shell_for: Callable[..., Shell]
) -> None:
    sim = sim_factory(disabled_events=["VarSet"])
    line = line_of(run(shell_for(sim), ".why VarSet"), "disabled events")
    assert line.split()[0] == "blocking" and "disabledevents" in line


def test_why_server_filters_block(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    shell = shell_for(sim)
    assert "added" in text_of(run(shell, ".serverfilter match action(exclude),name(Hangup)"))
    line = line_of(run(shell, ".why Hangup"), "server filters")
    assert line.split()[0] == "blocking" and ".serverfilter remove 1" in line
    run(shell, ".serverfilter clear")
    run(shell, ".serverfilter match action(include),name(Newchannel)")
    line = line_of(run(shell, ".why Hangup"), "server filters")
    assert line.split()[0] == "blocking"
    assert ".serverfilter match action(include),name(Hangup)" in line
    assert line_of(run(shell, ".why Newchannel"), "server filters").split()[0] == "passed"


def test_why_shell_display_blocks(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    shell = shell_for(sim)
    run(shell, ".filter Newchannel")
    assert ".filter off" in line_of(run(shell, ".why Hangup"), "shell display")
    run(shell, ".filter off")
    run(shell, ".events pause")
    assert ".events resume" in line_of(run(shell, ".why Hangup"), "shell display")
    run(shell, ".events off")
    assert ".events on" in line_of(run(shell, ".why Hangup"), "shell display")


# -- .serverfilter ---------------------------------------------------------------------


def test_serverfilter_refuses_mistakes_before_sending(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    out = text_of(run(shell, ".serverfilter match method(startsWith) x"))
    assert out.startswith("error:") and "starts_with" in out
    assert "Python's re" in text_of(run(shell, ".serverfilter Event: (Unclosed"))
    assert shell.server_filters == []
    (session,) = sim.sessions()
    assert not session.includes and not session.excludes  # nothing reached the server


def test_serverfilter_list_remove_clear_log_in_again(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    run(shell, ".serverfilter match action(include),name(Hangup),header(Channel),"
               "method(starts_with) Local/9")
    run(shell, ".serverfilter -- list")
    listed = text_of(run(shell, ".serverfilter list"))
    assert "1  MatchCriteria: action(include),name(Hangup),header(Channel)," in listed
    assert "Filter: Local/9" in listed and "2  Filter: list" in listed
    first = shell.client
    out = text_of(run(shell, ".serverfilter remove 1"))
    assert "logged in again with 1 filter(s)" in out and "missed" in out
    assert shell.client is not first and shell.server_filters == [[("Filter", "list")]]
    fresh = [s for s in sim.sessions() if not s.closing and s.authenticated]
    assert len(fresh) == 1 and len(fresh[0].includes) == 1
    assert "error:" in text_of(run(shell, ".serverfilter remove 5"))
    run(shell, ".serverfilter clear")
    assert shell.server_filters == []
    assert "no server filters" in text_of(run(shell, ".serverfilter"))


def test_serverfilter_test_previews_on_the_history(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    now = time.time()
    for name, chan in (("Hangup", "Local/901@demo-1;1"), ("Hangup", "PJSIP/1-2"),
                       ("Newchannel", "Local/901@demo-3;1")):
        shell.history.add(f"Event: {name}\r\nPrivilege: call,all\r\nChannel: {chan}".encode(),
                          now)
    out = text_of(run(shell, ".serverfilter test match name(Hangup),header(Channel),"
                             "method(starts_with) Local/"))
    assert f"of {len(shell.history)} events since" in out and ", 1 would pass" in out
    assert line_of(out, "  Hangup").split()[1:] == ["1", "pass", "1", "blocked"]
    assert shell.server_filters == []  # a test adds nothing
    out = text_of(run(shell, ".serverfilter test !Event: Hangup"))
    assert ", 3 would pass" in out  # FullyBooted, SuccessfulAuth (login), Newchannel
    assert line_of(out, "  Hangup").split()[1:] == ["0", "pass", "2", "blocked"]


# -- .help event ---------------------------------------------------------------------


def test_help_event_from_the_server_and_offline(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    out = text_of(run(shell_for(sim), ".help event hangup"))
    assert "[Synopsis]" in out and "Cause-txt: <value>" in out
    offline = text_of(run(shell_for(sim, "monitor"), ".help event Hangup"))
    assert "offline catalogue" in offline and "Permission denied" in offline
    assert "headers: Channel, ChannelState" in offline and "class: call" in offline
    assert "error:" in text_of(run(shell_for(sim), ".help event NoSuchEvent"))


def test_help_list_action_names_its_item_events(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    run_action = shell.start(parse_chunk("CoreShowChannels"))
    assert not isinstance(run_action, Info | Problem)
    msg = run_action.future.result(5)
    shell.finish(run_action, msg)
    out = text_of(run(shell, ".help CoreShowChannels"))
    assert "returns events: CoreShowChannelsComplete (seen in this session)" in out


def test_toolbar_synopsis_from_what_is_cached(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    from amishell.shell.eventhelp import about, synopsis, word_at

    shell = shell_for(sim)
    assert word_at(".why Hang", 7) == "Hang" and word_at("Originate Channel=x", 3) == "Originate"
    assert synopsis(shell, "Originate").startswith("Originate: ")
    assert about(shell, ".why Hangup", 6) == ""  # not asked yet: the toolbar never waits
    run(shell, ".help event Hangup")
    assert about(shell, ".why hangup", 6).startswith("Hangup: The Hangup event")
    assert about(shell, "Hangup Channel=x", 2).startswith("Hangup: ")  # the action
    assert about(shell, "Originate Chan", 14).startswith("Originate: ")
    assert not about(shell, "Hangup Channel=x", 2).startswith("Hangup: The Hangup event")


def test_wire_text_is_made_safe(sim: Simulator, shell_for: Callable[..., Shell]) -> None:
    shell = shell_for(sim)
    shell.history.add(b"Event: Odd\r\nPrivilege: call\x1b]0;title\x07,all\r\nChannel: x",
                      time.time())
    shell.event_names["Odd\x1b[2J"] = None
    out = text_of(run(shell, ".why Odd"))
    assert "\x1b" not in out and "\x07" not in out
    assert not any("\x1b" in n for n in shell.docs.names())


def test_typed_filter_action_is_checked_and_remembered(
    sim: Simulator, shell_for: Callable[..., Shell]
) -> None:
    shell = shell_for(sim)
    bad = shell.start(parse_chunk("Filter Operation=Add MatchCriteria=method(startsWith) Filter=x"))
    assert isinstance(bad, Problem) and "starts_with" in bad.text
    gone = shell.start(parse_chunk("Filter Operation=Remove Filter=x"))
    assert isinstance(gone, Problem) and "only adds" in gone.text
    sent = shell.start(parse_chunk(
        "Filter Operation=Add MatchCriteria=action(include),name(Hangup) Filter="))
    assert not isinstance(sent, Info | Problem)
    assert not sent.future.result(5).is_error
    assert shell.server_filters == [[("MatchCriteria", "action(include),name(Hangup)"),
                                     ("Filter", "")]]
    (session,) = [s for s in sim.sessions() if s.authenticated]
    assert len(session.includes) == 1
