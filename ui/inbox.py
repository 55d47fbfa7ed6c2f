"""The dashboard's inbox folder: the watcher thread of the server process, and the Import
page's inbox section (where files are dropped, what came through).

``ui.serve`` (``make run``) starts the watcher as the server starts, before any browser
connects, so files dropped at night are imported with no page open; it opens the database
on its first pass through ``open_database``, which hands it the very ``Database`` the
pages use. ``-- --inbox DIR`` chooses the folder for this run, ``-- --no-inbox`` turns the
watcher off. Other ways of running app.py (an ``AppTest``, a bare ``streamlit run``) start
no watcher, and the page says the folder is not watched.
"""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.access.scope import Scope
from analytics.importing import inbox
from ui.inbox_watcher import app_arguments, server_watcher
from ui.state import database


def inbox_path() -> Path:
    """The inbox this dashboard uses: ``--inbox``, else the stored folder, else the default."""
    watcher = server_watcher()
    if watcher is not None and watcher.inbox is not None:
        return watcher.inbox
    return inbox.inbox_folder(database(), app_arguments(sys.argv[1:]).inbox)


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """``importing.inbox.history`` with the page's headers, outcomes and times in words."""
    shown = pd.DataFrame(
        {
            "when (UTC)": history["taken_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M"),
            "file": history["file_name"],
            "read as": history["kind"],
            "outcome": history["outcome"].map({"done": "imported", "failed": "failed"}),
            "rows stored": history["stored"].astype("Int64"),
            "already stored": history["already_stored"].astype("Int64"),
            "with problems": history["problems"].astype("Int64"),
            "batch": history["batch_id"].astype("Int64"),
            "why it failed": history["reason"].fillna(""),
            "moved to": history["moved_to"],
        }
    )
    return shown


def show_inbox(scope: Scope) -> None:
    """The Import page's inbox section: the folder, whether it is watched, its history."""
    st.subheader("Inbox folder")
    db = database()
    folder = inbox_path()
    watcher = server_watcher()
    st.markdown(
        f"Files dropped in `{folder}` are imported like uploads (kind and format recognised, "
        "new therapists in this machine's time zone), then moved to `done/` or `failed/` "
        "there beside a report (`NAME.report.json`). A file is taken once it has stopped "
        "changing for a few seconds; names of downloads and saves in progress (`.part`, "
        "`.crdownload`, `.tmp`, `~$…`, hidden files) are left alone."
    )
    if watcher is not None and watcher.running:
        st.caption(f"This dashboard is watching the folder (a look every {watcher.interval:g} s).")
    else:
        st.caption(
            "This dashboard is not watching the folder (it watches when started with "
            "`make run`); `contactload inbox` imports what is there now."
        )
    history = inbox.history(db, scope)
    if history.empty:
        # A caption, not a notice: the Import page's notices are about the files uploaded.
        st.caption(
            f":material/inbox: No file has come through the inbox yet. Drop a CSV export, a "
            f"calendar or a phone log into {folder} to import it."
        )
    else:
        st.dataframe(history_table(history), hide_index=True, key="inbox_history")
