"""Shell commands that take over the terminal for a while: ``.top`` and ``.watch``.

They run in the interactive shell only (a script has no screen to keep):
``.top`` opens the full-screen live view; ``.watch SECONDS LINE`` runs an
action or CLI command again and again, as pgcli's ``\\watch`` does, marking
the lines that changed since the previous run, until Ctrl-C or ``--count``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from .lineparse import ActionLine, CliLine, InputError, MetaLine, parse
from .render import Fragments, to_plain

if TYPE_CHECKING:
    from .app import InteractiveShell
    from .core import Shell

__all__ = ["VIEW_COMMANDS", "mark_changes", "parse_watch"]

#: The longest a ``.watch`` may wait between runs, and the shortest.
_WATCH_RANGE: Final = (0.5, 86400.0)


async def run_top(app: InteractiveShell, item: MetaLine) -> bool:
    """``.top [VIEW]``: the full-screen live view, then one line about the events
    that arrived meanwhile (read, counted and logged all along)."""
    from .top import TopApp
    from .topview import VIEWS, TopModel

    view = item.args[0].lower() if item.args else "channels"
    if view not in VIEWS:
        await app.write([("error", f"error: .top shows {', '.join(VIEWS)}\n")])
        return True
    shell = app.shell
    model = TopModel(shell.history, lambda: shell.client, resync=shell.target.top_resync)
    model.view = view
    top = TopApp(model, lambda: shell.client, read_only=shell.target.read_only,
                 targets=lambda: _redirect_targets(shell),
                 pt_input=app.session.input, pt_output=app.session.output)
    mark = shell.history.total
    app.fullscreen = True
    try:
        outcome = await top.run()
    finally:
        app.fullscreen = False
        batch = shell.view.take()  # events the prompt would have shown: the view had them
        batch.events, batch.not_shown = [], 0
        await app.write(shell.view.render(batch, shell.renderer))
    arrived = shell.history.total - mark
    if arrived:
        await app.write([("dim", f"{arrived:,} events arrived while .top was open;"
                                 f" .events last {min(arrived, 50)} shows the last ones\n")])
    if outcome is not None and outcome[0] == "trace":
        return await app.handle(f".trace {outcome[1]}")
    return True


def parse_watch(args: list[str], rest: str) -> tuple[float, int, ActionLine | CliLine]:
    """``[--count N] SECONDS LINE`` -> (seconds, count or 0, the item to run)."""
    count = 0
    words = rest.split()
    if words[:1] == ["--count"]:
        if len(words) < 2 or not words[1].isdigit() or int(words[1]) < 1:
            raise InputError("--count takes a number of runs: .watch --count 5 2 Ping")
        count = int(words[1])
        rest = rest.split(None, 2)[2] if len(words) > 2 else ""
    seconds_text, _, line = rest.strip().partition(" ")
    try:
        seconds = float(seconds_text)
    except ValueError:
        raise InputError(".watch takes seconds and a line: .watch 2 QueueStatus") from None
    if not _WATCH_RANGE[0] <= seconds <= _WATCH_RANGE[1]:
        raise InputError(f".watch runs every {_WATCH_RANGE[0]:g} s at the most often")
    items = parse(line) if line.strip() else []
    if len(items) != 1 or not isinstance(items[0], ActionLine | CliLine):
        raise InputError(".watch runs one action or /CLI command: .watch 5 /core show channels")
    return seconds, count, items[0]


def mark_changes(previous: list[str] | None, lines: list[str]) -> Fragments:
    """``lines`` as fragments, those that differ from ``previous`` (the same line of
    the previous run) marked; nothing is marked on the first run."""
    frags: Fragments = []
    for i, line in enumerate(lines):
        changed = previous is not None and (i >= len(previous) or previous[i] != line)
        frags.append(("late" if changed else "", line + "\n"))
    return frags


async def run_watch(app: InteractiveShell, item: MetaLine) -> bool:
    """``.watch [--count N] SECONDS LINE``."""
    try:
        seconds, count, line = parse_watch(item.args, item.rest)
    except InputError as e:
        await app.write([("error", "error: "), ("", f"{e}\n")])
        return True
    shell = app.shell
    previous: list[str] | None = None
    runs = 0
    shown = line.command if isinstance(line, CliLine) else line.name
    await app.write([("dim", f"every {seconds:g} s: {shown}; Ctrl-C stops\n")])
    while True:
        runs += 1
        frags = await _run_once(app, shell, line)
        if frags is None:
            return True
        lines = to_plain(frags).rstrip("\n").split("\n")
        changed = 0 if previous is None else sum(
            1 for i, text in enumerate(lines) if i >= len(previous) or previous[i] != text
        )
        stamp = time.strftime("%H:%M:%S")
        head = f"-- {shown}  run {runs}{f'/{count}' if count else ''}  {stamp}"
        if runs > 1:
            head += f"  {changed} line{'s' if changed != 1 else ''} changed"
        head += " --\n"
        await app.write([("heading", head), *mark_changes(previous, lines)])
        previous = lines
        if count and runs >= count:
            return True
        if not await app.pause(seconds):
            await app.write([("dim", "watch stopped\n")])
            return True


async def _run_once(
    app: InteractiveShell, shell: Shell, line: ActionLine | CliLine
) -> Fragments | None:
    """One run's output, or None when it could not run (said) or was stopped."""
    from .core import Connecting, Pending, Quit
    from .guard import Confirm

    started = shell.start(line)
    if isinstance(started, Confirm):
        await app.write([("error", "error: "), ("", (
            f".watch does not repeat what needs a yes ({started.what}); run it once instead\n"
        ))])
        return None
    if not isinstance(started, Pending):
        if not isinstance(started, Quit | Connecting):
            await app.write(shell.render(started))
        return None
    finished, msg = await app.in_thread(started.future.result)
    if not finished or msg is None:
        started.future.cancel()
        await app.write([("dim", "watch stopped\n")])
        return None
    renderer = shell.renderer
    timing, renderer.show_elapsed = renderer.show_elapsed, False
    try:
        return shell.finish(started, msg)
    finally:
        renderer.show_elapsed = timing


def _redirect_targets(shell: Shell) -> list[str]:
    """``EXTEN@CONTEXT`` targets for a redirect, from the dialplan."""
    found = []
    for context in shell.sources.values("context"):
        found += [f"{exten}@{context}"
                  for exten in shell.sources.values("exten", {"context": context})]
    return found


VIEW_COMMANDS: Final[dict[str, Callable[[InteractiveShell, MetaLine], Awaitable[bool]]]] = {
    "top": run_top,
    "watch": run_watch,
}
