"""Start the dashboard: ``python -m ui.serve [streamlit options] [-- --db PATH --roles PATH
--inbox DIR | --no-inbox]``.

This is ``streamlit run app.py`` with one difference. Streamlit switches to its older
folder-based multipage mode whenever a ``pages/`` folder sits beside the entry script,
until the first run of app.py calls ``st.navigation``; a server whose very first request
is a deep link (``/clients``) would run that page without app.py (no sidebar filters,
no page config). Declaring up front that this app navigates with ``st.navigation``
removes that window.

It also keeps local mode local: without a roles file there is no sign-in, so the server
must listen on 127.0.0.1 only, whatever a config file or the command line asks for.
Team mode (``--roles`` or $CONTACTLOAD_ROLES) may listen elsewhere, because everyone
signs in; its roles file is checked before the server starts.

The server watches the inbox folder (``ui.inbox_watcher``): ``--inbox DIR`` chooses it for this
run, ``--no-inbox`` turns the watcher off.
"""

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from analytics.access.roles import load_roles, roles_path
from analytics.errors import ContactLoadError
from ui.inbox_watcher import start_server_watcher

APP = Path(__file__).resolve().parent.parent / "app.py"
LOOPBACK = "127.0.0.1"


def requested_address(streamlit_args: Sequence[str]) -> str | None:
    """The ``--server.address`` asked for on the command line or in the environment."""
    address: str | None = os.environ.get("STREAMLIT_SERVER_ADDRESS") or None
    for index, argument in enumerate(streamlit_args):
        if argument == "--server.address" and index + 1 < len(streamlit_args):
            address = streamlit_args[index + 1]
        elif argument.startswith("--server.address="):
            address = argument.split("=", 1)[1]
    return address


def server_arguments(argv: Sequence[str]) -> list[str]:
    """The arguments for ``streamlit run app.py``, checked for the mode they start.

    Raises ``ContactLoadError`` with one sentence for a local-mode server on another
    address, or a team-mode roles file that does not load.
    """
    split = list(argv).index("--") if "--" in argv else len(argv)
    streamlit_args, app_args = list(argv[:split]), list(argv[split + 1 :])
    roles = roles_path(app_args)
    if roles is not None:
        load_roles(roles)
        return [*streamlit_args, "--", *app_args] if app_args else streamlit_args
    address = requested_address(streamlit_args)
    if address not in (None, LOOPBACK):
        raise ContactLoadError(
            f"Local mode serves on {LOOPBACK} only, not {address}; give a roles file "
            "(-- --roles PATH) for team mode with sign-in to serve on another address."
        )
    pinned = [*streamlit_args, "--server.address", LOOPBACK]
    return [*pinned, "--", *app_args] if app_args else pinned


def main() -> None:
    """Run the Streamlit server on app.py with the given options."""
    try:
        arguments = server_arguments(sys.argv[1:])
        split = arguments.index("--") if "--" in arguments else len(arguments)
        start_server_watcher(arguments[split + 1 :])  # the inbox, from the start (ui.inbox_watcher)
    except ContactLoadError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *arguments]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
