"""A simulated Asterisk PBX that speaks AMI: for ``amishell --demo``, tests and demos.

It answers the way the recorded real server does (same responses, messages,
header names and order, event lists) over live simulated state: Local channel
calls driven by a small dialplan (see :mod:`.dialplan` and ``docs/simulator.md``), a
queue, bridges, the AstDB and global variables.

    from amishell.simulator import Simulator, User

    with Simulator(users={"admin": User("secret")}) as sim:
        host, port = sim.address
        ...

Modules: :mod:`.server` (listening socket, bursts, background calls),
:mod:`.session` (one client: reader and writer threads, login, faults),
:mod:`.netio` (sockets and the server's line limits), :mod:`.filters` (the
Filter action), :mod:`.actions` with :mod:`.actions_channels` and
:mod:`.actions_data` (action handlers), :mod:`.cli` and :mod:`.cli_words`
(the Command action's CLI), :mod:`.calls` (Originate, Redirect),
:mod:`.local` (Local channel pairs, hang-ups, the dialplan runner),
:mod:`.apps` and :mod:`.dial` (dialplan applications), :mod:`.channels`,
:mod:`.pbx` (state and the engine thread), :mod:`.dialplan`, :mod:`.wire`
(requests, responses, events), :mod:`.config` (users, classes, fault knobs).
"""

from __future__ import annotations

from .config import Faults, User
from .server import Simulator, asterisk_version_for
from .session import SessionStats

__all__ = ["Faults", "SessionStats", "Simulator", "User", "asterisk_version_for", "main"]


def main(argv: list[str] | None = None) -> int:
    """The ``amishell-sim`` command."""
    from .__main__ import main as run

    return run(argv)
