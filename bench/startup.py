"""Start-up to a prompt ready for input (benchmark 5), in a pseudo-terminal.

``startup.py amishell --port P``: ``python -m amishell 127.0.0.1:P -u bench``
(the secret from ``AMI_SECRET``), timed from process start until the prompt
is drawn after the banner, i.e. connected and logged in.
``startup.py baseline``: a process that only imports prompt_toolkit, builds a
``PromptSession`` and shows a prompt; timed the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import common

BASELINE = (
    "from prompt_toolkit import PromptSession\n"
    "PromptSession().prompt('ready> ')\n"
)
#: The shell's prompt ends in "> " once it is connected (for example
#: "bench@127.0.0.1> "); the banner is printed before it.
SHELL_PROMPT = re.compile(r"[\w.-]+@[\w.:\[\]-]+> ?")
BASE_PROMPT = re.compile(r"ready>")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("which", choices=["amishell", "baseline"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ)
        env.update(
            TERM="xterm-256color",
            HOME=home,
            XDG_CONFIG_HOME=str(Path(home) / "config"),
            XDG_DATA_HOME=str(Path(home) / "data"),
            XDG_CACHE_HOME=str(Path(home) / "cache"),
            AMI_SECRET=common.SECRET,
            AMI_USER=common.USER,
        )
        if args.which == "baseline":
            argv = [sys.executable, "-c", BASELINE]
            pattern = BASE_PROMPT
        else:
            try:
                import amishell.__main__  # noqa: F401
            except ImportError as exc:
                common.emit({"ok": False, "skip": True, "error": f"no shell yet ({exc})"})
                return
            argv = [sys.executable, "-m", "amishell", f"127.0.0.1:{args.port}", "-u", common.USER]
            pattern = SHELL_PROMPT
        term = common.Pty(argv, env)
        try:
            seconds = term.wait_for(pattern, args.timeout)
            tail = term.text()[-300:]
        finally:
            term.close()
    if seconds is None:
        common.emit({"ok": False, "error": f"no prompt within {args.timeout:g}s: {tail!r}"})
        return
    common.emit({"ok": True, "metrics": {"seconds": round(seconds, 4)}})


if __name__ == "__main__":
    main()
