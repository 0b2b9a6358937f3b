"""What shell commands return, and the part of the shell they may use.

The meta commands (:mod:`~amishell.shell.commands`) see the shell only through
:class:`ShellAPI`; :class:`~amishell.shell.core.Shell` implements it. So the
commands never import the shell's core, and the core imports the commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, NamedTuple, Protocol

from .render import ClearScreen, Info, Output, Problem, TableResult

if TYPE_CHECKING:
    from ..capture import Capture
    from ..catalog import Catalog
    from ..client import ActionFuture, AMIClient
    from ..message import Message
    from .config import Target
    from .context import Context
    from .eventhistory import EventHistory
    from .events import EventView
    from .render import Renderer
    from .serverdocs import ServerDocs
    from .sources import LiveSources

__all__ = ["Connecting", "Pending", "Quit", "Result", "ShellAPI", "TypedLines"]


class Quit:
    """Leave the shell."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quit)

    def __repr__(self) -> str:
        return "Quit()"


class Connecting:
    """A ``.connect`` ready to go: :meth:`run` opens the session (it blocks; its
    outcome is an Info or a Problem), :meth:`cancel` abandons it from another
    thread, keeping the current session."""

    def __init__(
        self, run: Callable[[], Result], cancel: Callable[[], None], address: str
    ) -> None:
        self.run = run
        self.cancel = cancel
        self.address = address

    def __repr__(self) -> str:
        return f"<Connecting to {self.address}>"


Result = Info | Problem | TableResult | ClearScreen | Output | Quit | Connecting


class Pending(NamedTuple):
    """An action on its way: wait for ``future``, then ``Shell.finish``."""

    future: ActionFuture
    kind: str  # "action" or "cli"
    name: str
    note: str = ""
    #: It keeps the session busy until it ends (a synchronous Originate): Asterisk
    #: runs a session's actions one at a time, so later ones wait behind it.
    holds: bool = False
    #: The headers sent (without ActionID).
    fields: tuple[tuple[str, str], ...] = ()


class TypedLines(Protocol):
    """The lines typed at the prompt, newest first (a prompt_toolkit ``History``)."""

    def load_history_strings(self) -> Iterable[str]: ...


class ShellAPI(Protocol):
    """The shell as the meta commands see it."""

    ctx: Context
    view: EventView
    renderer: Renderer
    offline: Catalog
    catalog: Catalog
    catalog_live: bool
    sources: LiveSources
    info: dict[str, str]
    pager: str
    mask: str | None
    debug_file: IO[str] | None
    debug_path: str | None
    typed: TypedLines | None
    history: EventHistory
    width: Callable[[], int]

    @property
    def client(self) -> AMIClient | None: ...

    @property
    def state(self) -> str: ...

    @property
    def username(self) -> str: ...

    @property
    def target(self) -> Target: ...

    @property
    def connected(self) -> bool: ...

    server_filters: list[list[tuple[str, str]]]
    docs: ServerDocs
    capture: Capture | None
    event_sink: Callable[[Message], None] | None

    def redact(self, text: str) -> str: ...

    def banner(self) -> list[str]: ...

    def connect(self) -> str | None: ...

    def connect_to(self, args: list[str]) -> Result: ...

    def reconnect(self) -> Result: ...

    def disconnect(self) -> Message | None: ...
