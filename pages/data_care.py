"""Data care: installation settings, removing the demo data, erasing one client, backups,
and the audit log."""

import pandas as pd
import streamlit as st

from analytics.demo import demo_status, remove_demo
from analytics.errors import ContactLoadError
from analytics.output.wording import TABLE_WORDS
from analytics.storage.audit import entries
from analytics.storage.care import erase_client
from analytics.storage.settings import SETTINGS, get_setting, set_setting, settings_in_words
from ui.components import backup_download, csv_download
from ui.format import in_words
from ui.sidebar import current_filter
from ui.state import database, filter_choices
from ui.viewer import current_viewer_scope

# Newest audit entries shown (the CLI's `contactload audit --limit N` reaches further). A
# comment, not a docstring: Streamlit's "magic" shows a page's bare strings to the user.
AUDIT_LIMIT = 500

st.title("Data care")
scope = current_viewer_scope()
if not scope.may_import:
    # Settings, erasure, backups and the whole audit log concern everyone's data: the
    # library refuses them too; say so before showing any control.
    st.info(
        f"Signed in as {scope.identity} ({scope.role}): settings, erasure, backups and the "
        "audit log are for admins. Ask an admin.",
        icon=":material/lock:",
    )
    st.stop()
st.caption(
    "Settings that apply to the whole installation, a client's right to erasure, backups "
    "and the record of who did what. Every change here is written to the audit log."
)
db = database()

st.subheader("Settings")
for setting in SETTINGS.values():
    current = float(get_setting(db, setting.key))
    # Whole numbers (clients, days) as whole numbers; minutes per text may be 1.5.
    whole = current.is_integer() and all(
        float(bound).is_integer() for bound in (setting.minimum, setting.maximum)
    )
    value_column, save_column = st.columns([3, 1], vertical_alignment="bottom")
    # No min/max on the widget: the library checks the range and says so in one sentence.
    value = value_column.number_input(
        # A label that names its unit already ("(distinct clients)") gets no second one.
        setting.label if "(" in setting.label else f"{setting.label} ({setting.unit})",
        value=int(current) if whole else current,
        step=1 if whole else 0.5,
        key=f"setting_{setting.key}",
        help=f"From {setting.minimum:g} to {setting.maximum:g} {setting.unit}; "
        f"default {setting.default:g} {setting.unit}.",
    )
    if save_column.button("Save", key=f"setting_save_{setting.key}"):
        try:
            set_setting(db, setting.key, float(value), scope=scope)
            st.success(f"{setting.label}: {float(value):g} {setting.unit} saved.")
        except ContactLoadError as error:
            st.error(str(error), icon=":material/error:")

if demo_status(db, scope) == "present":
    st.divider()
    st.subheader("Demo data")
    st.markdown(
        "This database holds the demo data `make run` fills an empty database with. Remove "
        "it before importing your own (or once you no longer want it mixed in): every demo "
        "batch, the demo therapists' boundary settings, and the clients, therapists and "
        "practices only demo data brought. What you imported stays."
    )
    if st.button("Remove the demo data…", key="demo_remove", icon=":material/delete_sweep:"):
        st.session_state["demo_remove_pending"] = True
    if st.session_state.get("demo_remove_pending"):
        st.warning(
            "Remove all demo data? It cannot be brought back except by `contactload demo`.",
            icon=":material/warning:",
        )
        yes, no = st.columns(2)
        if yes.button("Yes, remove it", key="demo_remove_confirm", type="primary"):
            st.session_state.pop("demo_remove_pending", None)
            try:
                st.success(remove_demo(db, scope=scope).describe())
            except ContactLoadError as error:
                st.error(str(error), icon=":material/error:")
        if no.button("Cancel", key="demo_remove_cancel"):
            st.session_state.pop("demo_remove_pending", None)
            st.rerun()

st.divider()
st.subheader("Erase a client")
st.markdown(
    "Deletes **every** row that names the client: contacts, sessions, phone mappings, "
    "boundaries and their history, and the client itself, then rewrites the database file "
    "so nothing of them stays in it. It **cannot be undone** (only a backup made before "
    "brings it back). Later imports skip the client's rows and say so. The audit log "
    "records the erasure under a reference (`e-…`), never the name or the key."
)
clients = filter_choices(scope).clients
if clients.empty:
    st.info("No clients stored.", icon=":material/inbox:")
else:
    names = dict(zip(clients["client_key"], clients["label"], strict=True))
    client_key = st.selectbox(
        "Client",
        list(names),
        index=None,
        format_func=lambda key: key if names[key] == key else f"{names[key]} ({key})",
        key="erase_client",
        placeholder="Choose the client to erase",
    )
    typed = st.text_input(
        "Type the client's key to confirm",
        key="erase_confirm",
        placeholder="c-…",
        help="The key shown in brackets beside the name.",
    )
    if st.button("Erase this client", key="erase_button", type="primary", icon=":material/delete:"):
        if client_key is None:
            st.error("Choose the client to erase first.", icon=":material/error:")
        elif typed.strip() != client_key:
            st.error(
                f"The key typed does not match {client_key}; nothing was erased.",
                icon=":material/error:",
            )
        else:
            try:
                erasure = erase_client(db, scope, client_key)
            except ContactLoadError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.success(f"Client {erasure.client_key} erased: {erasure.described} removed.")
                if not erasure.rewritten:
                    st.warning(
                        "Other work held the database, so its file is rewritten (to wipe the "
                        "freed space) when Contact Load next starts.",
                        icon=":material/schedule:",
                    )
                removed = pd.DataFrame(
                    {
                        "Removed": [TABLE_WORDS.get(table, table) for table in erasure.rows],
                        "Rows": list(erasure.rows.values()),
                    }
                )
                st.dataframe(removed, hide_index=True, key="erasure_rows")

st.divider()
st.subheader("Backup and restore")
st.markdown(
    "The backup is the whole database at one moment, made by the running dashboard, with "
    "the secret that keeps client keys stable inside it: keep it as safe as the data. To "
    "restore it, stop the dashboard and run "
    "`contactload restore FILE.zip --db data/contactload.duckdb --force` (without "
    "`--force` it refuses to replace an existing database); the copy is checked before it "
    "replaces anything."
)
backup_download(current_filter())

st.divider()
st.subheader("Audit log")
log = entries(db, scope, limit=AUDIT_LIMIT)
log["detail"] = log["detail"].map(settings_in_words, na_action="ignore")  # labels, not setting keys
if log.empty:
    st.info("Nothing recorded yet.", icon=":material/history:")
else:
    st.caption(
        f"The newest {len(log):,} entries (at most {AUDIT_LIMIT:,}); times in UTC. Details "
        "name files, batches and client keys, never client names."
    )
    st.dataframe(
        in_words(log),
        hide_index=True,
        key="audit_table",
        column_config={
            "When": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm:ss"),
        },
    )
    csv_download(log, "audit-log.csv", key="audit_csv")
