"""Streamlit glue for the Import page: cached dry runs and the options form."""

import hashlib
from dataclasses import replace

import streamlit as st

from analytics.db import Database
from analytics.importing.pipeline import FileReport, ImportOptions, import_file
from analytics.scope import Scope
from ui.state import database, viewer_scope

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Zurich",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Tokyo",
)


@st.cache_data(show_spinner=False, max_entries=32)
def _dry_run(
    _db: Database,
    digest: str,
    version: int,
    data: bytes,
    name: str,
    options: ImportOptions,
    scope: Scope,
) -> FileReport:
    return import_file(_db, data, file_name=name, options=options, dry_run=True, scope=scope)


def dry_run(data: bytes, name: str, options: ImportOptions) -> FileReport:
    """What importing ``data`` would do, cached per file, options and stored data."""
    db = database()
    digest = hashlib.sha256(data).hexdigest()
    return _dry_run(db, digest, db.data_version(), data, name, options, viewer_scope())


def with_mapping(options: ImportOptions, mapping: dict[str, str]) -> ImportOptions:
    """The same options with an edited column mapping."""
    return replace(options, mapping=mapping or None)
