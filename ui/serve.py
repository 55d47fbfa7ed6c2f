"""Start the dashboard: ``python -m ui.serve [streamlit options] [-- --db PATH]``.

This is ``streamlit run app.py`` with one difference. Streamlit switches to its older
folder-based multipage mode whenever a ``pages/`` folder sits beside the entry script,
until the first run of app.py calls ``st.navigation``; a server whose very first request
is a deep link (``/clients``) would run that page without app.py (no sidebar filters,
no page config). Declaring up front that this app navigates with ``st.navigation``
removes that window.
"""

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> None:
    """Run the Streamlit server on app.py with the given options."""
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
