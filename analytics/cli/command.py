"""How a command is declared: its handler with its options beside it, in the style of
sqlite-utils (click) written over argparse.

    @command("summary", help="...", shared=(DB, KEYS, PERIOD, OUTPUT))
    @option("--by", choices=BREAKDOWNS, required=True)
    def summary(ctx: Context) -> int: ...

``shared`` names options declared once here (the database, the period, the output format,
``--keys``); ``@option`` adds the command's own, in the order written. ``group`` declares a
command that only holds others (``boundaries show``). analytics/cli/app.py builds one
parser from every declaration; nothing else lists the commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.cli.context import Context

# --- argument types ------------------------------------------------------------------------


def iso_date(text: str) -> date:
    """An ISO date option (``--from 2026-03-31``); argparse reports a bad one."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-31") from None


def positive(text: str) -> int:
    """A whole number of 1 or more; argparse reports anything else."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# --- options --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One ``add_argument`` call; ``exclusive`` names a mutually exclusive group."""

    flags: tuple[str, ...]
    settings: dict[str, Any]
    exclusive: str | None = None

    def add_to(self, parser: argparse.ArgumentParser, groups: dict[str, Any] | None = None) -> None:
        """Add this option to ``parser`` (into its exclusive group, made on first use)."""
        target: Any = parser
        if self.exclusive is not None and groups is not None:
            if self.exclusive not in groups:
                groups[self.exclusive] = parser.add_mutually_exclusive_group()
            target = groups[self.exclusive]
        target.add_argument(*self.flags, **self.settings)


@dataclass(frozen=True)
class Shared:
    """Options several commands share, declared once (``--db``, ``--from/--to``...)."""

    name: str
    options: tuple[Option, ...]
    exclusive: bool = False

    def parent(self, *, under_command: bool = False) -> argparse.ArgumentParser:
        """A parent parser holding these options. ``under_command``: the command sits under
        another that takes the same options (``billing --db X rules show``), so leaving one
        out keeps the outer value instead of resetting it."""
        parser = argparse.ArgumentParser(add_help=False)
        target: Any = parser.add_mutually_exclusive_group() if self.exclusive else parser
        for shared in self.options:
            settings = dict(shared.settings)
            if under_command:
                settings["default"] = argparse.SUPPRESS
            target.add_argument(*shared.flags, **settings)
        return parser


DB = Shared(
    "db",
    (
        Option(
            ("--db",),
            {
                "type": Path,
                "default": None,
                "help": "database file (default: $CONTACTLOAD_DB or data/contactload.duckdb)",
            },
        ),
    ),
)
PERIOD = Shared(
    "period",
    (
        Option(("--from",), {"dest": "start", "type": iso_date, "default": None}),
        Option(("--to",), {"dest": "end", "type": iso_date, "default": None}),
    ),
)
KEYS = Shared(
    "keys",
    (
        Option(
            ("--keys",),
            {
                "action": "store_true",
                "help": "name clients by their pseudonymous key instead of their label",
            },
        ),
    ),
)
OUTPUT = Shared(
    "output",
    (
        Option(("--json",), {"action": "store_true", "help": "print JSON instead of a table"}),
        Option(("--csv",), {"action": "store_true", "help": "print CSV instead of a table"}),
    ),
    exclusive=True,
)
"""``--json`` or ``--csv`` instead of a table, for commands whose rows are flat."""
JSON = Shared("json", (Option(("--json",), {"action": "store_true", "help": "print JSON"}),))
"""``--json`` instead of text, for commands whose output is a nested document."""


def option(*flags: str, exclusive: str | None = None, **settings: Any) -> Callable[[Any], Any]:
    """Declare one of the command's own options (as ``add_argument`` takes them)."""

    def declare(handler: Any) -> Any:
        declared = getattr(handler, "__cli_options__", [])
        # decorators apply bottom-up: put each one first so they read top to bottom
        handler.__cli_options__ = [Option(flags, settings, exclusive), *declared]
        return handler

    return declare


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A command (``path`` = its words, e.g. ``("boundaries", "show")``) and its handler;
    ``creates``: whether it makes a new database file (a rule over the arguments, or a
    fixed answer), since a command that only reads never creates one."""

    path: tuple[str, ...]
    handler: Callable[[Context], int]
    help: str
    shared: tuple[Shared, ...] = ()
    options: tuple[Option, ...] = ()
    creates: bool | Callable[[argparse.Namespace], bool] = False

    @property
    def name(self) -> str:
        """The command as typed, e.g. ``boundaries show``."""
        return " ".join(self.path)


@dataclass(frozen=True)
class Group:
    """A command that holds others (``boundaries``: show, load, export)."""

    path: tuple[str, ...]
    help: str
    metavar: str = "ACTION"


@dataclass
class Registry:
    """Every command and group declared, in declaration order."""

    commands: list[Command] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


REGISTRY = Registry()


def command(
    *path: str,
    help: str,
    shared: tuple[Shared, ...] = (),
    creates: bool | Callable[[argparse.Namespace], bool] = False,
) -> Callable[[Any], Any]:
    """Declare ``handler`` as the command ``path`` with its shared and own options."""

    def declare(handler: Any) -> Any:
        REGISTRY.commands.append(
            Command(
                path=path,
                handler=handler,
                help=help,
                shared=shared,
                options=tuple(getattr(handler, "__cli_options__", ())),
                creates=creates,
            )
        )
        return handler

    return declare


def group(*path: str, help: str, metavar: str = "ACTION") -> None:
    """Declare a command that only holds others."""
    REGISTRY.groups.append(Group(path, help, metavar))
