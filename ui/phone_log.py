"""Streamlit glue for phone and text logs (SMS Backup & Restore XML, Google Voice Takeout)
on the Import page.

The page calls ``phone_log_settings`` once, inside its import settings, and
``phone_log_upload`` for each uploaded file that ``is_phone_log`` recognises: the report,
an editor that maps unmatched numbers to clients (known or new), and the import button.
The work is done by ``analytics.importing.phone_log`` (and ``google_voice``).
"""

import hashlib
from dataclasses import replace

import pandas as pd
import streamlit as st

from analytics.access.scope import Scope
from analytics.domain import CATEGORIES, CATEGORY_LABELS
from analytics.errors import ContactLoadError
from analytics.importing.google_voice import import_phone_export
from analytics.importing.phone_log import (
    PhoneLogOptions,
    PhoneLogReport,
    map_number,
)
from analytics.importing.phone_numbers import (
    default_region,
    region_choices,
    region_label,
    set_default_region,
)
from analytics.importing.pipeline import TherapistNeededError
from analytics.storage.database import Database
from analytics.storage.settings import SETTINGS, get_setting, set_setting
from ui.components import csv_download
from ui.format import MINUTES_DECIMAL_COLUMN
from ui.importing import (
    ask_therapist,
    keep_therapist_box,
    practice_client_labels,
    therapist_named,
)
from ui.state import database
from ui.viewer import current_viewer_scope

NEW_CLIENT = "New client…"


def phone_log_settings(
    therapist: str | None, practice: str | None, time_zone: str
) -> PhoneLogOptions:
    """The phone-log part of the import settings (minutes per text, call category,
    default region), saved or returned as the options of every phone log uploaded."""
    st.markdown("**Phone and text logs** (SMS Backup & Restore XML, Google Voice Takeout)")
    left, middle, right = st.columns(3)
    setting = SETTINGS["minutes_per_text"]
    stored = get_setting(database(), "minutes_per_text")
    per_text = left.number_input(
        f"{setting.label} ({setting.unit})",
        min_value=float(setting.minimum),
        max_value=float(setting.maximum),
        value=float(stored),
        step=0.5,
        key="phone_minutes_per_text",
        help="Texts have no duration: their minutes are estimated from their words (speeds, "
        "ceiling and the gap that joins texts into one contact are on the Data care page), "
        "and a contact counts at least this many minutes. Texts already imported keep the "
        "minutes they were counted at.",
    )
    if per_text is not None and float(per_text) != stored:
        try:
            # the viewer's scope, so the audit entry names who changed it
            set_setting(
                database(), "minutes_per_text", float(per_text), scope=current_viewer_scope()
            )
        except ContactLoadError as error:
            st.error(str(error))
    call_category = middle.selectbox(
        "Category of calls",
        list(CATEGORIES),
        index=CATEGORIES.index("other"),
        format_func=lambda key: CATEGORY_LABELS[key],
        key="phone_call_category",
        help="A call has no text to classify; 'Other' keeps them for review.",
    )
    stored_region = default_region(database())
    regions = ["", *region_choices()]
    region = right.selectbox(
        "Region of national numbers",
        regions,
        index=regions.index(stored_region) if stored_region in regions else 0,
        format_func=lambda code: region_label(code) if code else "None chosen",
        key="phone_region",
        help="Numbers written without a country code (06 1234 5678, 8 495 ...) are read "
        "as numbers of this region by libphonenumber, which knows each country's trunk "
        "prefix. Saved for later imports.",
    )
    if (region or None) != stored_region:
        try:
            set_default_region(database(), region or None, scope=current_viewer_scope())
        except ContactLoadError as error:
            st.error(str(error))
    return PhoneLogOptions(
        therapist=therapist,
        practice=practice,
        time_zone=time_zone,
        call_category=call_category or "other",
        region=region or None,
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _dry_run(
    _db: Database,
    digest: str,
    version: int,
    data: bytes,
    name: str,
    options: PhoneLogOptions,
    scope: Scope,
) -> PhoneLogReport:
    return import_phone_export(
        _db, data, file_name=name, options=options, dry_run=True, scope=scope
    )


def _report(data: bytes, name: str, options: PhoneLogOptions) -> PhoneLogReport:
    """What importing the log would do, cached per file, options and stored data (the
    minutes-per-text setting and the mappings are stored data too)."""
    db = database()
    digest = hashlib.sha256(data).hexdigest()
    return _dry_run(db, digest, db.data_version(), data, name, options, current_viewer_scope())


def phone_log_upload(data: bytes, name: str, file_id: str, options: PhoneLogOptions) -> None:
    """One uploaded phone log: its report, the number-to-client editor and its import."""
    saved = st.session_state.pop(f"phone_saved_{file_id}", 0)
    if saved:
        st.success(
            f"{saved:,} number{'s' if saved > 1 else ''} mapped; import the log to add "
            "their contacts."
        )
    # A phone log never says whose phone it is: without a therapist in the settings, the
    # name is asked for in the same box as a contact log's.
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
    st.caption(f"Detected: {report.describe()}. Numbers and message texts are never stored.")
    columns = st.columns(5)
    columns[0].metric("Calls and texts", f"{report.rows:,}")
    columns[1].metric("Will import", f"{report.imported:,}")
    columns[2].metric("Minutes", f"{report.call_minutes + report.text_minutes:,.1f} min")
    columns[3].metric("Already stored", f"{report.duplicates:,}")
    columns[4].metric("Unmatched numbers", f"{len(report.unmatched):,}")
    st.caption(
        f"{report.describe_import()} for {options.therapist_name} ({options.practice_name})."
    )
    if report.preview is not None and not report.preview.empty:
        st.dataframe(report.preview, hide_index=True, key=f"phone_preview_{file_id}")
    if report.left_out:
        st.caption(
            "Left out: "
            + "; ".join(f"{reason}: {count:,}" for reason, count in report.left_out.items())
            + "."
        )
    if report.errors:
        st.warning(f"{report.rejected:,} entries cannot be read; the others can.")
        frame = pd.DataFrame(
            [(e.row, e.column, e.message) for e in report.errors],
            columns=["entry", "attribute", "message"],
        )
        st.dataframe(frame.head(200), hide_index=True)
        csv_download(frame, f"{name}-problems.csv", key=f"phone_errors_{file_id}")
    if report.invalid:
        st.warning(
            f"{len(report.invalid):,} number{'s are' if len(report.invalid) > 1 else ' is'} "
            "not a valid phone number; their calls and texts are left out. Choose the region "
            "of national numbers in the import settings where that is the reason.",
            icon=":material/phone_disabled:",
        )
        invalid = pd.DataFrame(
            [(i.number, i.reason, i.calls, i.texts) for i in report.invalid],
            columns=["number", "reason", "calls", "texts"],
        )
        st.dataframe(invalid, hide_index=True, key=f"phone_invalid_{file_id}")
    if report.repeated:
        st.caption(
            f"{report.repeated:,} entries repeat an earlier one of this file (same number, "
            "time and text, as merged backups hold): stored once, counted as already stored."
        )
    if report.unmatched:
        _mapping_editor(report, file_id, options)
    if st.button("Import this log", type="primary", key=f"phone_import_{file_id}"):
        try:
            result = import_phone_export(
                database(), data, file_name=name, options=options, scope=current_viewer_scope()
            )
        except ContactLoadError as error:
            st.error(f"{name}: {error}", icon=":material/error:")
            return
        if result.batch_id is None:
            st.info(
                f"{name}: nothing new to store ({result.duplicates:,} already stored); map "
                "the numbers above first.",
                icon=":material/info:",
            )
        else:
            st.success(
                f"{name}: {result.imported:,} contacts imported ({result.describe_import()}), "
                f"{result.duplicates:,} already stored (batch {result.batch_id})."
            )


def _mapping_editor(report: PhoneLogReport, file_id: str, options: PhoneLogOptions) -> None:
    """Unmatched numbers, each to a known client or a new label; saved as mappings."""
    st.warning(
        ("1 number is" if len(report.unmatched) == 1 else f"{len(report.unmatched):,} numbers are")
        + " mapped to no client: their calls and texts are not imported. Choose a client "
        "(or type a new one) and save, then import.",
        icon=":material/contact_phone:",
    )
    labels = practice_client_labels(options.practice_name)
    table = report.unmatched_frame()
    table["client"] = pd.Series([None] * len(table), dtype="object")
    table["new client"] = pd.Series([None] * len(table), dtype="object")
    # The key changes with the numbers listed, so edits never carry over to other rows.
    listed = hashlib.sha256("|".join(table["number"]).encode()).hexdigest()[:12]
    edited = st.data_editor(
        table,
        key=f"phone_mapping_{file_id}_{listed}",
        hide_index=True,
        disabled=["number", "calls", "texts", "minutes"],
        column_config={
            "minutes": st.column_config.NumberColumn("minutes", format=MINUTES_DECIMAL_COLUMN),
            "client": st.column_config.SelectboxColumn("client", options=labels),
            "new client": st.column_config.TextColumn("or a new client"),
        },
    )
    csv_download(
        report.unmatched_frame(),
        f"unmatched-numbers-{report.file}.csv",
        key=f"phone_unmatched_{file_id}",
        label="Download unmatched numbers",
    )
    if not st.button("Save mappings", key=f"phone_save_mapping_{file_id}"):
        return
    saved = 0
    for number, known, new in zip(
        edited["number"], edited["client"], edited["new client"], strict=True
    ):
        label = str(new).strip() if isinstance(new, str) and new.strip() else known
        if not isinstance(label, str) or not label.strip():
            continue
        try:
            map_number(
                database(),
                current_viewer_scope(),
                options.therapist_name,
                str(number),
                label,
                practice=options.practice_name,
                time_zone=options.time_zone,
                country_code=options.country_code,
                region=options.region,
            )
        except ContactLoadError as error:
            st.error(f"{number}: {error}")
            continue
        saved += 1
    if saved:
        # Show the report anew: the mapped numbers' contacts now count as "will import".
        st.session_state[f"phone_saved_{file_id}"] = saved
        st.rerun()
