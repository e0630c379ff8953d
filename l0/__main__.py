"""`python -m l0 ...`: developer commands.

python -m l0 diagram runtime          print a machine as mermaid
python -m l0 diagram --write DIR      write every machine's page to DIR/<name>.md
python -m l0 diagram --check DIR      fail when a page in DIR is stale
python -m l0 replay RECORDING         replay a recorded run: its events and its path
python -m l0 --version                print l0's version

A user's mistake (an unknown machine, a missing file, a bad argument) prints one line,
`python -m l0: error: ...`, on stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from l0._version import __version__
from l0.errors import Error
from l0.machine.diagram import diagram_markdown, render_mermaid
from l0.machine.spec import machine_names

PROG = "python -m l0"


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (the usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _fail(message: object) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


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
    # Every name is rendered before anything is printed: an unknown one prints nothing else.
    for text in [render_mermaid(name) for name in names]:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG)
    parser.add_argument("--version", action="version", version=f"l0 {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    diagram = commands.add_parser("diagram", help="render the declared state machines")
    diagram.add_argument("names", nargs="*", help="machines to print (default: all)")
    diagram.add_argument("--write", metavar="DIR", help="write <name>.md pages into DIR")
    diagram.add_argument("--check", metavar="DIR", help="fail if the pages in DIR are stale")
    diagram.set_defaults(handler=_diagram)
    from l0.eventsourcing.cli import add_parser as add_replay

    add_replay(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (Error, OSError) as exc:  # the user's input (a name, a path): one line, status 2
        return _fail(exc)


if __name__ == "__main__":
    raise SystemExit(main())
