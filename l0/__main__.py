"""`python -m l0 ...`: developer commands.

python -m l0 diagram runtime          print a machine as mermaid
python -m l0 diagram --write DIR      write every machine's page to DIR/<name>.md
python -m l0 diagram --check DIR      fail when a page in DIR is stale
python -m l0 replay RECORDING         replay a recorded run: its events and its path
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from l0.machine.diagram import diagram_markdown, render_mermaid
from l0.machine.spec import machine_names


def _diagram(args: argparse.Namespace) -> int:
    if args.write or args.check:
        folder = Path(args.write or args.check)
        stale = []
        for name in machine_names():
            page = folder / f"{name}.md"
            text = diagram_markdown(name)
            if args.write:
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(text, encoding="utf-8")
                print(f"wrote {page}")
            elif not page.is_file() or page.read_text(encoding="utf-8") != text:
                stale.append(str(page))
        if stale:
            print("stale diagrams (run `make diagrams`): " + ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    names = args.names or machine_names()
    for name in names:
        sys.stdout.write(render_mermaid(name))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m l0")
    commands = parser.add_subparsers(dest="command", required=True)
    diagram = commands.add_parser("diagram", help="render the declared state machines")
    diagram.add_argument("names", nargs="*", help="machines to print (default: all)")
    diagram.add_argument("--write", metavar="DIR", help="write <name>.md pages into DIR")
    diagram.add_argument("--check", metavar="DIR", help="fail if the pages in DIR are stale")
    diagram.set_defaults(handler=_diagram)
    from l0.eventsourcing.cli import add_parser as add_replay

    add_replay(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
