"""The inbox watcher thread of the dashboard's server process (started by ``ui.serve``).

Kept apart from ``ui.inbox`` (the Import page's section) so the launcher imports no
Streamlit page machinery before the runtime exists (which would print "No runtime found").
"""

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path

from analytics.importing import inbox
from analytics.storage.database import default_db_path, open_database

_server_watcher: inbox.InboxWatcher | None = None
_server_watcher_lock = threading.Lock()


def app_arguments(app_args: Sequence[str]) -> argparse.Namespace:
    """``--db``, ``--inbox DIR`` and ``--no-inbox`` among app.py's arguments."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--inbox", type=Path, default=None)
    parser.add_argument("--no-inbox", action="store_true")
    known, _ = parser.parse_known_args(list(app_args))
    return known


def start_server_watcher(app_args: Sequence[str]) -> inbox.InboxWatcher | None:
    """Start this process's inbox watcher for app.py's arguments (``ui.serve``), unless
    ``--no-inbox``; the one already running when called again."""
    global _server_watcher
    arguments = app_arguments(app_args)
    if arguments.no_inbox:
        return None
    path = Path(arguments.db or default_db_path()).resolve()
    with _server_watcher_lock:
        if _server_watcher is None:
            inbox.log_to_stderr()
            _server_watcher = inbox.InboxWatcher(
                lambda: open_database(path), arguments.inbox
            ).start()
        return _server_watcher


def server_watcher() -> inbox.InboxWatcher | None:
    """The inbox watcher of this process, if it runs one."""
    return _server_watcher
