"""One parser built from every command's declaration, and ``main``: parse, build the run's
one ``Context``, call the handler, turn a ``ContactLoadError`` into one sentence.

Each command imports what it needs when it runs: an import of a large file should not wait
for pandas and the measures to load (start-up is part of what ``make bench`` times), so the
command modules import only light names at their top.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from analytics.cli import (
    billing,
    boundaries,
    care,
    data,
    importing,
    measures,
    messages,
    phones,
)
from analytics.cli.command import REGISTRY, Command, Group, Shared
from analytics.cli.context import Context
from analytics.errors import ContactLoadError

MODULES = (data, measures, importing, billing, boundaries, phones, messages, care)
"""The modules whose ``@command`` declarations make the command line."""

ORDER = (
    "demo",
    "summary",
    "import",
    "inbox",
    "compliance",
    "compare",
    "billing",
    "sessions",
    "report",
    "batches",
    "undo",
    "boundaries",
    "phones",
    "addresses",
    "export",
    "backup",
    "restore",
    "erase-client",
    "settings",
    "audit",
)
"""The order ``contactload --help`` lists the commands in."""


def _declared() -> list[Command | Group]:
    """Every declaration, parents before their children, top-level commands in ``ORDER``."""
    entries: list[Command | Group] = [*REGISTRY.groups, *REGISTRY.commands]
    unlisted = {entry.path[0] for entry in entries} - set(ORDER)
    assert not unlisted, f"commands missing from ORDER: {sorted(unlisted)}"
    return sorted(entries, key=lambda entry: (ORDER.index(entry.path[0]), len(entry.path)))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command (also used to check the README)."""
    parser = argparse.ArgumentParser(
        prog="contactload",
        description="Measure between-session contact time per client, channel and category.",
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    nested: dict[tuple[str, ...], Any] = {(): top}
    declared = _declared()
    commands = {entry.path: entry for entry in declared if isinstance(entry, Command)}
    for entry in declared:
        parent = entry.path[:-1]
        if parent not in nested:
            # a command with actions under it (billing rules ...) still runs on its own
            optional = parent in commands
            nested[parent] = parsers[parent].add_subparsers(
                dest="topic" if optional else "action",
                required=not optional,
                metavar=entry.path[-1] if optional else _metavar(declared, parent),
            )
        if isinstance(entry, Group):
            parsers[entry.path] = nested[parent].add_parser(entry.path[-1], help=entry.help)
            continue

        def inherited(shared: Shared, path: tuple[str, ...] = entry.path) -> bool:
            return any(
                shared in commands[path[:length]].shared
                for length in range(1, len(path))
                if path[:length] in commands
            )

        child = nested[parent].add_parser(
            entry.path[-1],
            parents=[shared.parent(under_command=inherited(shared)) for shared in entry.shared],
            help=entry.help,
        )
        groups: dict[str, Any] = {}
        for option in entry.options:
            option.add_to(child, groups)
        child.set_defaults(cli_command=entry)
        parsers[entry.path] = child
    return parser


def _metavar(declared: list[Command | Group], path: tuple[str, ...]) -> str:
    return next(
        (entry.metavar for entry in declared if isinstance(entry, Group) and entry.path == path),
        "ACTION",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contactload`` console script."""
    args = build_parser().parse_args(argv)
    declared: Command = args.cli_command
    creates = declared.creates(args) if callable(declared.creates) else declared.creates
    ctx = Context(args=args, creates=creates)
    try:
        return declared.handler(ctx)
    except ContactLoadError as error:
        print(f"contactload: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``contactload summary ... | head``): nothing left to say.
        sys.stderr.close()
        return 0
