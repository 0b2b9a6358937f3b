"""The legacy ``Response: Follows`` answer to a ``Command`` action, in one place.

Old servers answer ``Command`` with headers, then the command's raw output
(lines that may be empty), then a line ending in ``--END COMMAND--``::

    Response: Follows\\r\\n
    Privilege: Command\\r\\n
    ActionID: 7\\r\\n
    0 active channels\\n
    \\n
    --END COMMAND--\\r\\n
    \\r\\n

The framer uses :func:`starts` and :func:`ends` to frame it by its end line
(its empty output lines do not end it); :func:`pairs` parses one frame.
"""

from __future__ import annotations

from typing import Final

#: The first line of a legacy message (trailing blanks allowed).
FOLLOWS: Final = b"Response: Follows"
#: The end of its last line.
END: Final = b"--END COMMAND--"


def starts(first_line: bytes) -> bool:
    """Is ``first_line`` (without its line end) the start of a legacy message?"""
    return first_line.rstrip() == FOLLOWS


def ends(line: bytes) -> bool:
    """Is ``line`` (without its line end) the last line of a legacy message?"""
    return line.rstrip().endswith(END)


def pairs(text: str) -> list[tuple[str, str]]:
    """A decoded legacy frame as pairs: its headers (CRLF lines with a colon
    after the first), then one ``Output`` pair per output line, the end
    marker removed (old servers put it at the end of the last output line)."""
    lines = text.split("\n")
    out: list[tuple[str, str]] = [("Response", "Follows")]
    i = 1
    while i < len(lines):
        line = lines[i]
        if not line.endswith("\r") or ":" not in line:
            break
        key, _, value = line[:-1].partition(":")
        out.append((key, value.lstrip(" \t")))
        i += 1
    output = lines[i:]
    end = END.decode()
    if output and output[-1].rstrip().endswith(end):
        last = output.pop().rstrip()[: -len(end)]
        if last:
            output.append(last)
    out.extend(("Output", line.rstrip("\r")) for line in output)
    return out
