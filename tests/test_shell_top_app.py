"""TopApp: new events reach the model while the view is open, in slices."""

from __future__ import annotations

import asyncio

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from amishell.shell.eventhistory import EventHistory
from amishell.shell.top import TAKE_MAX, TopApp
from amishell.shell.topview import TopModel


def newchannel(n: int) -> bytes:
    return (f"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/{n}-0001\r\n"
            f"ChannelStateDesc: Ring\r\nUniqueid: 1700000000.{n}\r\n"
            f"Linkedid: 1700000000.{n}").encode()


def test_events_arriving_while_open_are_taken_in_slices() -> None:
    history = EventHistory()
    model = TopModel(history, lambda: None)
    seen: list[int] = []
    total = 2 * TAKE_MAX + 50

    async def scenario() -> None:
        with create_pipe_input() as pipe:
            top = TopApp(model, lambda: None, pt_input=pipe, pt_output=DummyOutput())
            running = asyncio.ensure_future(top.run())
            await asyncio.sleep(0.1)
            for n in range(1, total + 1):
                history.add(newchannel(n), 0.0)
            for _ in range(500):  # no key pressed: the view takes them by itself
                seen.append(len(model.state.channels))
                if seen[-1] == total:
                    break
                await asyncio.sleep(0.01)
            pipe.send_text("q")
            assert await asyncio.wait_for(running, 5) is None

    asyncio.run(scenario())
    assert seen[-1] == total
    assert all(n % TAKE_MAX == 0 for n in seen[:-1])  # a slice at a time ...
    assert TAKE_MAX in seen and 2 * TAKE_MAX in seen  # ... and the loop ran in between
