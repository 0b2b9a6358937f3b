"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from replay import ReplayServer
from scripted import Pool


@pytest.fixture
def replay() -> Iterator[Callable[..., ReplayServer]]:
    """``replay(name, **options)``: a started :class:`replay.ReplayServer` playing
    ``tests/data/asterisk/<name>.jsonl``. At teardown every server is stopped and
    checked: a mismatch (or, unless ``partial=True``, a transcript not played to
    its end) fails the test."""
    servers: list[ReplayServer] = []

    def start(name: str | Path, **options: Any) -> ReplayServer:
        server = ReplayServer(name, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        server.check()


# ---------------------------------------------------------------------------
# Simulator fixtures (amishell.simulator)

from amishell.simulator import Simulator, User  # noqa: E402

#: The users of the recorded server: admin with everything, monitor read-mostly.
SIM_USERS = {
    "admin": User("s3cret-admin"),
    "monitor": User("m0nitor", read="system,call,agent,user,reporting", write="system"),
}


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Simulator]]:
    """``sim_factory(**options)``: a started Simulator on 127.0.0.1, port 0, with
    :data:`SIM_USERS` and a short auth failure delay (options override). Every
    simulator it made is stopped at teardown."""
    made: list[Simulator] = []

    def make(**options: Any) -> Simulator:
        options.setdefault("users", SIM_USERS)
        options.setdefault("auth_fail_delay", 0.05)
        sim = Simulator(options.pop("host", "127.0.0.1"), options.pop("port", 0), **options)
        made.append(sim)
        sim.start()
        return sim

    yield make
    for sim in made:
        sim.stop()
    for sim in made:
        assert sim.pbx.failures == [], "a simulated call raised"


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    """A started Simulator on 127.0.0.1, port 0: users admin/s3cret-admin (all
    privileges) and monitor/m0nitor (read-mostly), auth failure delay 0.05 s."""
    return sim_factory()


@pytest.fixture
def pool() -> Iterator[Pool]:
    """Fake AMI servers and clients for the client tests, all closed at teardown."""
    with Pool() as p:
        yield p
