"""Streamlit glue for mailboxes (mbox, .eml, zips of them) and WhatsApp chat exports on the
Import page.

The page calls ``message_settings`` once, inside its import settings, and
``message_upload`` for each uploaded file ``dispatch.file_kind`` takes for a mailbox or a
chat: what it holds, how its minutes are estimated, an editor that maps unmatched
addresses or chat names to clients, and the import button. The work is done by
``analytics.importing.conversations`` (with ``mail`` and ``whatsapp``).
"""

import hashlib
from dataclasses import replace

import pandas as pd
import streamlit as st

from analytics.access.scope import Scope
from analytics.errors import ContactLoadError
from analytics.importing.addresses import map_address
from analytics.importing.conversations import MessageOptions, MessageReport
from analytics.importing.dispatch import import_detected
from analytics.importing.pipeline import TherapistNeededError
from analytics.storage.database import Database
from analytics.storage.settings import SETTINGS, get_setting, set_setting
from ui.importing import (
    ask_therapist,
    keep_therapist_box,
    practice_client_labels,
    therapist_named,
)
from ui.state import database
from ui.viewer import current_viewer_scope


def message_settings(therapist: str | None, practice: str | None, time_zone: str) -> MessageOptions:
    """The e-mail and chat part of the import settings (minutes per e-mail, the gap that
    splits a conversation into contacts), saved; the options of every mailbox or chat."""
    st.markdown("**E-mail and WhatsApp chats** (mbox, .eml, chat exports)")
    left, right = st.columns(2)
    for column, key in ((left, "minutes_per_email"), (right, "conversation_gap_minutes")):
        setting = SETTINGS[key]
        stored = get_setting(database(), key)
        value = column.number_input(
            f"{setting.label} ({setting.unit})",
            min_value=float(setting.minimum),
            max_value=float(setting.maximum),
            value=float(stored),
            step=1.0,
            key=f"messages_{key}",
            help="Messages have no duration: each counts as estimated here (chat messages "
            "at the minutes per text above); contacts already imported keep their minutes.",
        )
        if value is not None and float(value) != stored:
            try:
                set_setting(database(), key, float(value), scope=current_viewer_scope())
            except ContactLoadError as error:
                st.error(str(error))
    return MessageOptions(therapist=therapist, practice=practice, time_zone=time_zone)


@st.cache_data(show_spinner=False, max_entries=16)
def _dry_run(
    _db: Database,
    digest: str,
    version: int,
    data: bytes,
    name: str,
    options: MessageOptions,
    scope: Scope,
) -> MessageReport:
    report = import_detected(
        _db, data, file_name=name, message_options=options, dry_run=True, scope=scope
    )
    assert isinstance(report, MessageReport)
    return report


def _report(data: bytes, name: str, options: MessageOptions) -> MessageReport:
    """What importing the file would do, cached per file, options and stored data (the
    settings and mappings are stored data too)."""
    db = database()
    digest = hashlib.sha256(data).hexdigest()
    return _dry_run(db, digest, db.data_version(), data, name, options, current_viewer_scope())


def message_upload(data: bytes, name: str, file_id: str, options: MessageOptions) -> None:
    """One uploaded mailbox or chat export: its report, the mapping editor and its import."""
    saved = st.session_state.pop(f"messages_saved_{file_id}", 0)
    if saved:
        st.success(f"{saved:,} mapped; import the file to add their messages.")
    named_key = f"therapist_{file_id}"
    if therapist_named(named_key):
        options = replace(options, therapist=therapist_named(named_key))
    try:
        report = _report(data, name, options)
    except TherapistNeededError as error:
        ask_therapist(error, named_key)
        return
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        return
    keep_therapist_box(named_key)
    st.caption(
        f"Detected: {report.describe()}. Addresses, names and message texts are never stored."
    )
    columns = st.columns(5)
    columns[0].metric("Messages", f"{report.rows:,}")
    columns[1].metric("Will import", f"{report.imported:,}")
    columns[2].metric("Minutes", f"{report.minutes:,.1f} min")
    columns[3].metric("Already stored", f"{report.duplicates:,}")
    columns[4].metric("Unmatched", f"{len(report.unmatched):,}")
    st.caption(
        f"{report.describe_import()} for {options.therapist_name} ({options.practice_name})."
    )
    for note in report.notes:
        st.info(note, icon=":material/calendar_month:")
    if report.preview is not None and not report.preview.empty:
        st.dataframe(report.preview, hide_index=True, key=f"messages_preview_{file_id}")
    if report.left_out:
        st.caption(
            "Left out: "
            + "; ".join(f"{reason}: {count:,}" for reason, count in report.left_out.items())
            + "."
        )
    if report.errors:
        st.warning(f"{report.rejected:,} messages cannot be read; the others can.")
        frame = pd.DataFrame(
            [(e.row, e.message) for e in report.errors], columns=["message", "reason"]
        )
        st.dataframe(frame.head(200), hide_index=True)
    if report.unmatched:
        _mapping_editor(report, file_id, options)
    if st.button("Import this file", type="primary", key=f"messages_import_{file_id}"):
        try:
            result = import_detected(
                database(),
                data,
                file_name=name,
                message_options=options,
                scope=current_viewer_scope(),
            )
        except ContactLoadError as error:
            st.error(f"{name}: {error}", icon=":material/error:")
            return
        assert isinstance(result, MessageReport)
        if result.batch_id is None:
            st.info(
                f"{name}: nothing new to store ({result.duplicates:,} already stored); map "
                "the addresses above first.",
                icon=":material/info:",
            )
        else:
            st.success(
                f"{name}: {result.imported:,} contacts imported ({result.describe_import()}), "
                f"{result.duplicates:,} already stored (batch {result.batch_id})."
            )


def _mapping_editor(report: MessageReport, file_id: str, options: MessageOptions) -> None:
    """Unmatched addresses or chat names, each to a known client or a new label."""
    count = len(report.unmatched)
    st.warning(
        ("1 address or name is" if count == 1 else f"{count:,} addresses or names are")
        + " mapped to no client: their messages are not imported. Choose a client (or type a "
        "new one) and save, then import.",
        icon=":material/contact_mail:",
    )
    table = report.unmatched_frame()
    table["client"] = pd.Series([None] * len(table), dtype="object")
    table["new client"] = pd.Series([None] * len(table), dtype="object")
    listed = hashlib.sha256("|".join(table["address"]).encode()).hexdigest()[:12]
    edited = st.data_editor(
        table,
        key=f"messages_mapping_{file_id}_{listed}",
        hide_index=True,
        disabled=["address", "messages"],
        column_config={
            "client": st.column_config.SelectboxColumn(
                "client", options=practice_client_labels(options.practice_name)
            ),
            "new client": st.column_config.TextColumn("or a new client"),
        },
    )
    if not st.button("Save mappings", key=f"messages_save_mapping_{file_id}"):
        return
    saved = 0
    for address, known, new in zip(
        edited["address"], edited["client"], edited["new client"], strict=True
    ):
        label = str(new).strip() if isinstance(new, str) and new.strip() else known
        if not isinstance(label, str) or not label.strip():
            continue
        try:
            map_address(
                database(), current_viewer_scope(), options.therapist_name, str(address), label,
                practice=options.practice_name, time_zone=options.time_zone,
            )  # fmt: skip
        except ContactLoadError as error:
            st.error(f"{address}: {error}")
            continue
        saved += 1
    if saved:
        st.session_state[f"messages_saved_{file_id}"] = saved
        st.rerun()
