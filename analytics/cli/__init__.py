"""The ``contactload`` command: a thin second face of the library, in the style of
sqlite-utils.

Each command is one handler with its options declared beside it (``@command`` and
``@option``, analytics/cli/command.py), grouped by what it works on:

- ``data``: demo, batches, undo, export;
- ``importing``: import, inbox;
- ``measures``: summary, compliance, compare, sessions, report;
- ``billing``: billing, billing rules show|load|export;
- ``boundaries``: boundaries show|load|export;
- ``phones``: phones list|map|unmap|region;
- ``care``: backup, restore, erase-client, settings show|set, audit.

Shared options (``--db``, ``--from/--to``, ``--json/--csv``, ``--keys``) are declared once
(``command``); ``main`` (``app``) builds one ``Context`` per run (``context``: the database,
the scope, the identity the audit log records) and passes it to the handler; rows print one
way as a table, JSON or CSV (``output``). A new command goes into the module of its group.

Errors the user can act on (``ContactLoadError``) print one sentence on stderr and exit 1;
argument mistakes exit 2 (argparse's convention).
"""

from analytics.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
