"""Build amishell/data/events.json from the recorded server answers.

Reads every transcript in tests/data/asterisk/: the events themselves (their
name, header names and the classes of their ``Privilege``), the server's
``manager show events`` list (names) and ``manager show event NAME`` answers
(header names of the syntax section). Names only: no synopsis or description
of the server's is kept (the shell shows those live from the server).

    python tools/make_event_catalog.py           # write the catalogue
    python tools/make_event_catalog.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from amishell.eventdocs import (
    EventCatalog,
    EventInfo,
    parse_event_doc,
    parse_event_list,
    privilege_classes,
)
from amishell.message import Message
from amishell.protocol import Parser

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "asterisk"
OUTPUT = ROOT / "amishell" / "data" / "events.json"
#: Headers every event carries or that belong to a response, not to the event.
_SKIP = frozenset({"event", "privilege", "actionid", "timestamp", "systemname"})


def read_messages(path: Path) -> list[Message]:
    parser = Parser(greeting=True)
    for line in path.read_text("utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "recv":
            parser.feed(chunk["data"].encode("utf-8"))
    found: list[Message] = []
    for item in parser.events():
        if isinstance(item, Message):
            found.append(item)
            found += item.events
    return found


def build() -> EventCatalog:
    """The catalogue; names spelled as the server lists them (``NewExten``), else
    as the wire says."""
    messages = [m for p in sorted(FIXTURES.glob("*.jsonl")) for m in read_messages(p)]
    catalog = EventCatalog()
    for msg in messages:
        output = msg.output
        if output and output[0].startswith("Events:"):
            for name in parse_event_list(output[2:]):
                catalog.add(EventInfo(name))
    for msg in messages:
        name = msg.value("Event")
        if name:
            headers = tuple(k for k, _ in msg.headers if k.lower() not in _SKIP)
            classes = privilege_classes(msg.value("Privilege") or "")
            catalog.add(EventInfo(name, headers, classes))
            continue
        doc = parse_event_doc(msg.output) if msg.output else None
        if doc is not None and doc.name:
            catalog.add(EventInfo(doc.name, doc.headers))
    return catalog


def render(catalog: EventCatalog) -> str:
    lines = [json.dumps({k: v}, ensure_ascii=False)[1:-1] for k, v in catalog.to_json().items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="fail if events.json is stale")
    args = ap.parse_args(argv)
    text = render(build())
    if args.check:
        current = OUTPUT.read_text("utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run tools/make_event_catalog.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, "utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {text.count(chr(10)) - 2} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
