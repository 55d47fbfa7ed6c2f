"""Import: contact logs, phone logs, session calendars (ICS) and session CSV files."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import ContactLoadError
from analytics.importing.classify import (
    direction_defaults,
    list_rules,
    replace_rules,
    rules_from_frame,
)
from analytics.importing.detect import file_header
from analytics.importing.dispatch import MESSAGE_KINDS, file_kind, import_detected
from analytics.importing.parsing import DateOrder
from analytics.importing.pipeline import (
    FileReport,
    ImportOptions,
    TherapistNeededError,
    import_file,
)
from analytics.importing.presets import (
    PRESET_NAMES,
    MappingError,
    template_csv,
)
from analytics.importing.review import REVIEW_LIMIT, other_contacts, reclassify, review_labels
from analytics.importing.saved_mappings import list_mappings, save_mapping
from analytics.importing.session_csv import session_template_csv
from analytics.importing.session_report import NoSessionsError, SessionOptions, SessionReport
from analytics.importing.text_encodings import ENCODING_CHOICES, encoding_name
from analytics.importing.workbook import is_workbook
from analytics.storage.store import list_batches, undo_batch, undo_choices
from ui.components import csv_download
from ui.format import COUNT_COLUMN, in_words
from ui.importing import (
    ask_therapist,
    calendar_settings,
    default_time_zone,
    dry_run,
    keep_therapist_box,
    mapping_choices,
    new_therapists_note,
    session_dry_run,
    show_session_report,
    show_unmatched,
    therapist_named,
    time_zone_choices,
    upload_table,
    with_mapping,
)
from ui.inbox import show_inbox
from ui.messages import message_settings, message_upload
from ui.phone_log import phone_log_settings, phone_log_upload
from ui.state import database, filter_choices
from ui.viewer import current_viewer_scope

st.title("Import contacts and sessions")
scope = current_viewer_scope()
if not scope.may_import:
    # Imports change everyone's data: the library refuses them too; say so before any upload.
    st.info(
        f"Signed in as {scope.identity} ({scope.role}): importing and undoing imports are for "
        "admins. Ask an admin to bring in new contact logs.",
        icon=":material/lock:",
    )
    st.stop()
st.markdown(
    "Upload CSV or Excel (.xlsx) exports from **Toggl Track**, **Clockify**, **Harvest** or "
    "**Kimai**, a spreadsheet (.xlsx, or CSV in any encoding, comma, semicolon or tab), or "
    "the Contact Load "
    "template, or a phone's call and text log from **SMS Backup & Restore** (XML), a "
    "mailbox (**mbox** from Gmail Takeout, Thunderbird or Apple Mail; **.eml** files or a "
    "zip of them) or a **WhatsApp** chat export (.txt or its zip). "
    "Descriptions, notes, e-mail addresses and message texts are used to classify contacts "
    "and then dropped: only who, when, how long, channel and category are stored; phone "
    "numbers never are. "
    "Scheduled **sessions** come from calendar exports (**.ics** from Google Calendar or "
    "Outlook) or a session CSV with a status column; event titles are read for the client "
    "and status, and never stored. Each file's kind is recognised from its content."
)
template_left, template_right = st.columns(2)
template_left.download_button(
    "Download the template",
    data=template_csv().encode("utf-8"),
    file_name="contactload-template.csv",
    mime="text/csv",
    key="template_download",
    icon=":material/download:",
)
template_right.download_button(
    "Download the session template",
    data=session_template_csv().encode("utf-8"),
    file_name="contactload-sessions-template.csv",
    mime="text/csv",
    key="session_template_download",
    icon=":material/download:",
)

# Asked up front, never silently UTC: a new therapist's times are read in this zone.
zone_default, zone_source = default_time_zone()
time_zone = st.selectbox(
    "Time zone of therapists new to the database",
    time_zone_choices(zone_default),
    key="import_time_zone",
    help="Times in a file are the therapist's local times; therapists already stored keep "
    "their own zone.",
)
st.caption(
    f"Preset to {zone_source} ({zone_default}); change it if a new therapist works elsewhere."
)
choices = filter_choices(scope)
with st.expander("Import settings", expanded=False):
    left, right = st.columns(2)
    preset = left.selectbox("Format", ["auto", *PRESET_NAMES], key="import_preset")
    date_order = left.selectbox(
        "Date order",
        ["auto", "dmy", "mdy", "ymd"],
        key="import_date_order",
        help="Only needed when every date in a file reads both ways, like 03/04/2026.",
    )
    encoding = left.selectbox(
        "Text encoding",
        ["auto", *ENCODING_CHOICES],
        key="import_encoding",
        format_func=lambda name: "Detect" if name == "auto" else encoding_name(name),
        help="Detected from the file (what was found is shown under each file); choose one "
        "when a name looks garbled.",
    )
    therapist = right.text_input(
        "Therapist (when the file names none)",
        key="import_therapist",
        placeholder="e.g. Anna Weber",
        help="Files that name no therapist (or only a placeholder such as 'Me') ask for one.",
    )
    saved = list_mappings(database())
    mapping_name = right.selectbox(
        "Saved column mapping",
        ["", *saved],
        key="import_mapping_name",
        format_func=lambda name: name or "None (recognise the format)",
        disabled=not saved,
    )
    practice = right.selectbox(
        "Practice (when the file names none)",
        ["", *choices.practices["name"].tolist()],
        key="import_practice",
        format_func=lambda name: name or "My practice",
    )
    st.markdown(
        "**Who started a contact** when the file does not say (time trackers never do; "
        "billing counts client-initiated work only). A direction column in the file wins."
    )
    by_client = left.multiselect(
        "Started by the client",
        list(CHANNELS),
        format_func=lambda key: CHANNEL_LABELS[key],
        key="import_direction_client",
        help="e.g. incoming calls and portal messages from clients",
    )
    by_therapist = right.multiselect(
        "Started by the therapist",
        list(CHANNELS),
        format_func=lambda key: CHANNEL_LABELS[key],
        key="import_direction_therapist",
    )
    try:
        defaults = direction_defaults(
            [(channel, "client") for channel in by_client]
            + [(channel, "therapist") for channel in by_therapist]
        )
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        defaults = ()
    phone_options = phone_log_settings(
        therapist.strip() or None, practice or None, time_zone or zone_default
    )
    message_options = message_settings(
        therapist.strip() or None, practice or None, time_zone or zone_default
    )
DATE_ORDERS: dict[str, DateOrder] = {"dmy": "dmy", "mdy": "mdy", "ymd": "ymd"}
options = ImportOptions(
    preset=preset or "auto",
    mapping_name=mapping_name or None,
    therapist=therapist.strip() or None,
    practice=practice or None,
    time_zone=time_zone or zone_default,
    date_order=DATE_ORDERS.get(date_order or "auto"),
    direction_defaults=defaults,
    encoding=None if encoding in (None, "auto") else encoding,
)

uploads = st.file_uploader(
    "Contact logs (CSV or Excel), phone logs (XML, Google Voice Takeout zip or page), "
    "calendars (ICS), session files (CSV or Excel), mailboxes (mbox, .eml, zip) or "
    "WhatsApp chats (.txt, zip)",
    type=["csv", "txt", "tsv", "xlsx", "xlsm", "ics", "ical", "xml", "mbox", "eml", "zip", "html"],
    accept_multiple_files=True,
    key="import_files",
)
# A workbook's kind (contact log or session file, never a calendar) is known once its sheet
# is chosen, below; calendars are what the settings here depend on.
kinds = {
    upload.file_id: file_kind(raw)  # a zip: Google Voice, .eml files, a WhatsApp chat or a workbook
    for upload in uploads or []
    for raw in [upload.getvalue()]
}
session_options = calendar_settings(
    time_zone or zone_default,
    options.therapist,
    options.practice,
    calendars="calendar" in kinds.values(),
)
# (name, bytes, contact options, session options: None for a contact log)
ready: list[tuple[str, bytes, ImportOptions, SessionOptions | None]] = []
for upload in uploads or []:
    st.subheader(upload.name)
    raw = upload.getvalue()
    if kinds[upload.file_id] == "google_voice":  # a Takeout zip or page: read as a phone log
        phone_log_upload(raw, upload.name, upload.file_id, phone_options)
        continue
    if kinds[upload.file_id] in MESSAGE_KINDS:
        message_upload(raw, upload.name, upload.file_id, message_options)
        continue
    try:
        data, file_key = upload_table(raw, upload.name, upload.file_id)
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        continue
    if is_workbook(raw):
        kinds[upload.file_id] = file_kind(data)
    if kinds[upload.file_id] == "phone_log":
        phone_log_upload(data, upload.name, upload.file_id, phone_options)
        continue
    # A file that names no real therapist (no user, or "Me"; a calendar or phone log never
    # does) gets the name asked for here; the box stays once asked, so the name is kept.
    named_key = f"therapist_{file_key}"
    named = therapist_named(named_key)
    if kinds[upload.file_id] != "contacts":
        file_sessions = replace(session_options, therapist=named) if named else session_options
        try:
            checked = session_dry_run(data, upload.name, file_sessions)
        except TherapistNeededError as error:
            ask_therapist(error, named_key)
            continue
        except NoSessionsError as error:
            st.error(str(error), icon=":material/error:")
            show_unmatched(error.report, file_key)
            continue
        except ContactLoadError as error:
            st.error(str(error), icon=":material/error:")
            continue
        keep_therapist_box(named_key)
        if isinstance(checked, SessionReport):
            show_session_report(checked, file_key)
            ready.append((upload.name, data, options, file_sessions))
        continue
    notice = st.empty()  # why the columns need mapping, until a mapping fixes it
    base_options = replace(options, therapist=named) if named else options
    try:
        report: FileReport | None = dry_run(data, upload.name, base_options)
    except TherapistNeededError as error:
        ask_therapist(error, named_key)
        continue
    except MappingError as error:
        # The columns need mapping (no known export, an empty client column): say why and
        # offer the file's columns to pick from.
        notice.error(str(error), icon=":material/error:")
        report = None
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        continue
    keep_therapist_box(named_key)
    if report is not None:
        st.caption(f"Detected: {report.detected}")
        if report.new_therapists:
            st.info(
                new_therapists_note(report.new_therapists, time_zone), icon=":material/schedule:"
            )
    layout = report.layout if report is not None else None
    mapping_box = st.expander(
        "Column mapping", expanded=layout is None or layout.preset == "custom"
    )
    with mapping_box:
        changes = mapping_choices(file_header(data), layout, file_key)
    file_options = base_options
    if changes:
        file_options = with_mapping(base_options, changes)
        try:
            report = dry_run(data, upload.name, file_options)
        except TherapistNeededError as error:
            notice.warning(error.ask, icon=":material/person:")
            if not named:
                st.text_input("Therapist's name", key=named_key, placeholder="e.g. Anna Weber")
            continue
        except ContactLoadError as error:
            notice.error(str(error), icon=":material/error:")
            continue
        notice.caption(f"Mapped: {report.detected}")
    if report is None:
        continue
    if report.layout is not None:
        with mapping_box:
            name = st.text_input("Save this mapping as", key=f"mapping_name_{file_key}")
            if st.button("Save mapping", key=f"save_mapping_{file_key}") and name:
                save_mapping(database(), name.strip(), report.layout, scope=scope)
                st.success(f"Mapping {name.strip()!r} saved.")
    columns = st.columns(4)
    columns[0].metric("Rows", f"{report.rows:,}")
    columns[1].metric("Will import", f"{report.imported:,}")
    columns[2].metric("Already stored", f"{report.duplicates:,}")
    columns[3].metric("Rejected", f"{report.rejected:,}")
    if report.erased_note:
        st.info(report.erased_note, icon=":material/person_off:")
    if report.preview is not None and not report.preview.empty:
        st.dataframe(report.preview, hide_index=True, key=f"preview_{file_key}")
    if report.direction_unknown:
        st.caption(
            f"{report.direction_unknown:,} contacts have no direction (the file does not say "
            "who started them): billing leaves them out. Map a direction column below, or "
            "choose who starts each channel in the import settings."
        )
    for warning in report.warnings:
        st.warning(warning, icon=":material/visibility:")
    if report.errors:
        st.warning(f"{report.rejected:,} rows cannot be imported; the others can.")
        st.dataframe(report.errors_frame().head(200), hide_index=True)
        csv_download(report.errors_frame(), f"{upload.name}-problems.csv", key=f"errors_{file_key}")
    if report.unclassified:
        with st.expander(
            f"{report.unclassified_count:,} contacts will be stored as 'other': review them"
        ):
            st.caption(
                "No column or keyword rule placed these rows. Add a rule below (then upload "
                "again) or import them as 'other' and review them later."
            )
            review = pd.DataFrame(
                [(p.row, p.message) for p in report.unclassified], columns=["row", "reason"]
            )
            st.dataframe(review, hide_index=True)
            csv_download(review, f"{upload.name}-to-review.csv", key=f"review_{file_key}")
    ready.append((upload.name, data, file_options, None))

if ready and st.button(
    f"Import {len(ready)} file{'s' if len(ready) > 1 else ''}",
    type="primary",
    key="import_commit",
):
    bar = st.progress(0.0, text="Importing…")
    for index, (name, data, file_options, sessions) in enumerate(ready):

        def show(fraction: float, text: str, index: int = index, name: str = name) -> None:
            bar.progress((index + fraction) / len(ready), text=f"{name}: {text}")

        if sessions is not None:
            try:
                stored = import_detected(
                    database(), data, file_name=name, session_options=sessions, scope=scope
                )
            except ContactLoadError as error:
                st.error(f"{name}: {error}", icon=":material/error:")
                continue
            st.success(
                f"{name}: {stored.imported:,} sessions imported, {stored.duplicates:,} already "
                f"stored, {stored.rejected:,} not stored (batch {stored.batch_id})."
            )
            erased_note = getattr(stored, "erased_note", None)  # a phone log has none
            if erased_note:
                st.info(f"{name}: {erased_note}", icon=":material/person_off:")
            show(1.0, "Done")
            continue
        try:
            result = import_file(
                database(), data, file_name=name, options=file_options, progress=show, scope=scope
            )
        except ContactLoadError as error:
            st.error(f"{name}: {error}", icon=":material/error:")
            continue
        st.success(
            f"{name}: {result.imported:,} contacts imported, {result.duplicates:,} already "
            f"stored, {result.rejected:,} rejected (batch {result.batch_id})."
        )
        if result.erased_note:
            st.info(f"{name}: {result.erased_note}", icon=":material/person_off:")
    bar.progress(1.0, text="Done")

st.divider()
show_inbox(scope)

st.divider()
st.subheader("Import history")
batches = list_batches(database(), scope)
if batches.empty:
    st.info("Nothing imported yet.")
else:
    st.dataframe(in_words(batches), hide_index=True, key="batches_table")
    csv_download(batches, "import-history.csv", key="batches_csv")
    undoable = {choice.batch_id: choice for choice in undo_choices(database(), scope)}
    if undoable:
        undo_left, undo_right = st.columns([3, 1], vertical_alignment="bottom")
        batch = undo_left.selectbox(
            "Undo a batch",
            list(undoable),
            format_func=lambda batch_id: undoable[batch_id].label,
            key="undo_batch",
        )
        if undo_right.button("Undo…", key="undo_button") and batch is not None:
            st.session_state["undo_pending"] = batch
        pending = undoable.get(st.session_state.get("undo_pending", -1))
        if pending is not None:
            st.warning(
                f"Undo {pending.label}? This deletes its {pending.rows:,} {pending.kind} "
                "(and clients, therapists and practices only it brought); it cannot be "
                "undone itself.",
                icon=":material/warning:",
            )
            yes, no = st.columns(2)
            if yes.button("Yes, undo it", key="undo_confirm", type="primary"):
                st.session_state.pop("undo_pending", None)
                try:
                    removed = undo_batch(database(), pending.batch_id, scope=scope)
                    st.success(
                        f"{pending.file_name} (batch {pending.batch_id}) undone: "
                        f"{removed:,} {pending.kind} removed."
                    )
                except ContactLoadError as error:
                    st.error(str(error))
            if no.button("Cancel", key="undo_cancel"):
                st.session_state.pop("undo_pending", None)
                st.rerun()
st.caption("Backups of the whole database are on the Data care page.")

st.divider()
st.subheader("Contacts stored as 'other'")
if "review_done" in st.session_state:
    st.success(st.session_state.pop("review_done"))
others = other_contacts(database(), scope)
if others.empty:
    st.caption("No stored contact is waiting for review: every one has a category.")
else:
    st.caption(
        f"{len(others):,} contacts no column or keyword rule placed (the oldest "
        f"{REVIEW_LIMIT:,} at most). Their descriptions were not kept, so this shows what is "
        "stored. Choose one or more, give them a category, and, if you like, a keyword that "
        "places such text there in later imports."
    )
    st.dataframe(
        others[["started", "client", "channel", "minutes", "rule"]],
        hide_index=True,
        key="review_table",
    )
    labels = review_labels(others)
    every = st.checkbox(f"All {len(others):,} listed", key="review_all")
    chosen = st.multiselect(
        "Contacts to re-classify",
        list(labels),
        format_func=labels.__getitem__,
        key="review_contacts",
        disabled=every,
    )
    left, right = st.columns(2)
    category = left.selectbox(
        "Category",
        [key for key in CATEGORIES if key != "other"],
        format_func=lambda key: CATEGORY_LABELS[key],
        key="review_category",
    )
    keyword = right.text_input(
        "Also a rule for later imports: text containing",
        key="review_keyword",
        placeholder="e.g. sleep diary (optional)",
    )
    if st.button("Re-classify", key="review_apply", type="primary"):
        picked = others if every else others[others["ref"].isin(chosen)]
        try:
            done = reclassify(
                database(),
                list(zip(picked["ref"], picked["started_at"], strict=True)),
                category or "",
                rule_keyword=keyword,
                scope=scope,
            )
        except ContactLoadError as error:
            st.error(str(error), icon=":material/error:")
        else:
            # Shown after the rerun that lists what is still to review.
            st.session_state["review_done"] = done.describe()
            st.session_state.pop("review_contacts", None)
            st.session_state.pop("review_all", None)
            st.rerun()

st.divider()
st.subheader("Classification rules")
st.caption(
    "A contact's category and channel come from an explicit column when the file has one, "
    "else from the first matching keyword here (lowest priority number wins); what no rule "
    "places becomes Other (to review), listed for review."
)
rules = list_rules(database())
# The editor holds words (what people and screen readers read); saving turns them back
# into the stored codes rules_from_frame expects.
target_words = {"category": "Category", "channel": "Channel"}
value_words = [CATEGORY_LABELS[key] for key in CATEGORIES] + [
    CHANNEL_LABELS[key] for key in CHANNELS
]
word_codes = {
    **{words: code for code, words in target_words.items()},
    **{words: code for code, words in CHANNEL_LABELS.items()},
    **{words: code for code, words in CATEGORY_LABELS.items()},
}
shown_rules = rules.drop(columns=["rule_id"]).assign(
    target=rules["target"].map(target_words).fillna(rules["target"]),
    value=rules["value"]
    .map(CATEGORY_LABELS)
    .where(rules["target"] == "category", rules["value"].map(CHANNEL_LABELS))
    .fillna(rules["value"]),
)
edited_rules = st.data_editor(
    shown_rules,
    num_rows="dynamic",
    hide_index=True,
    key="rules_editor",
    column_config={
        "target": st.column_config.SelectboxColumn("Sets", options=list(target_words.values())),
        "keyword": st.column_config.TextColumn("Keyword"),
        "value": st.column_config.SelectboxColumn("To", options=value_words),
        "priority": st.column_config.NumberColumn("Priority", format=COUNT_COLUMN),
        "language": st.column_config.TextColumn("Language"),
    },
)
if st.button("Save rules", key="save_rules"):
    try:
        as_codes = edited_rules.assign(
            target=edited_rules["target"].map(lambda words: word_codes.get(words, words)),
            value=edited_rules["value"].map(lambda words: word_codes.get(words, words)),
        )
        replace_rules(database(), rules_from_frame(as_codes), scope=scope)
        st.success("Rules saved; they apply to the next import.")
    except ContactLoadError as error:
        st.error(str(error))
