"""The dashboard's database and cached measures.

``st.cache_resource`` holds the one ``Database`` of this server process (shared by every
browser session; it hands each operation its own cursor, so sharing is thread-safe).
The dashboard holds the file only while it works: the connection closes once idle for
``IDLE_RELEASE_SECONDS`` (at once when a command waits for it), so commands in a
terminal or a nightly job use the same file meanwhile.
``st.cache_data`` holds measure results keyed by the filter set and the database's
``data_version`` (stored in the file and advanced by every write, from this process or
another), so results are reused across reruns and pages and expire the moment stored
data changes.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.importing import message_minutes
from analytics.measures import (
    billing,
    caps,
    compare,
    compliance,
    drift,
    glance,
    metrics,
    out_of_policy,
    session_load,
)
from analytics.storage.database import Database, default_db_path, open_database
from ui.viewer import current_viewer_scope


def _compare_distribution(
    db: Database, filters: ContactFilter, min_clients: int | None = None
) -> Any:
    """``compare.distribution`` from the cached therapist comparison (the Compare page
    shows that table too), so the comparison is worked out once per filter set."""
    args: tuple[Any, ...] = ("therapist",) if min_clients is None else ("therapist", min_clients)
    return compare.distribution(
        db, filters, min_clients, table=measure("comparison", filters, *args)
    )


def _over_episodes(function: Callable[..., Any]) -> Callable[..., Any]:
    """A billing measure summed over the cached ``billing.episodes`` of the filter set,
    so the Billing page detects the episodes once, not once per figure."""

    def measured(db: Database, filters: ContactFilter, *args: Any) -> Any:
        return function(db, filters, *args, detected=measure("billing_detected", filters))

    return measured


def _reusing(function: Callable[..., Any], keyword: str, source: str) -> Callable[..., Any]:
    """``function`` given the cached result of measure ``source`` for the same filter set
    as ``keyword``: a page that shows both works the source out once."""

    def measured(db: Database, filters: ContactFilter, *args: Any) -> Any:
        return function(db, filters, *args, **{keyword: measure(source, filters)})

    return measured


MEASURES: dict[str, Callable[..., Any]] = {
    "headline": metrics.headline,
    "totals": metrics.totals,
    "breakdown": metrics.breakdown,
    "trend": metrics.trend,
    "channel_category": metrics.channel_category,
    "load_grid": metrics.load_grid,
    "concentration": metrics.concentration,
    "pareto": metrics.pareto,
    "client_table": metrics.client_table,
    "client_timeline": metrics.client_timeline,
    "compliance_summary": _reusing(compliance.compliance_summary, "alerts", "drift_alerts"),
    "after_hours_share": compliance.after_hours_share,
    "weekly_caps": caps.weekly_caps,
    # The Clients page's chart: partial weeks count only their days in the period.
    "weekly_caps_in_period": lambda db, filters: caps.weekly_caps(db, filters, whole_weeks=False),
    "cap_summary": caps.cap_summary,
    "clients_against_caps": caps.clients_against_caps,
    "weekly_cap_totals": caps.weekly_cap_totals,
    "working_windows": compliance.working_windows,
    "out_of_policy": out_of_policy.out_of_policy,
    "drift_alerts": drift.drift_alerts,
    "weeks_over_cap": caps.weeks_over_cap,
    "out_of_policy_labelled": _reusing(
        out_of_policy.out_of_policy_labelled, "outside", "out_of_policy"
    ),
    "drift_alerts_labelled": _reusing(drift.drift_alerts_labelled, "alerts", "drift_alerts"),
    "after_hours_by_therapist": compliance.after_hours,
    "compare_pattern": compare.suppression_pattern,
    "comparison": _reusing(compare.comparison, "pattern", "compare_pattern"),
    "compare_trend": _reusing(compare.monthly_trend, "pattern", "compare_pattern"),
    "compare_distribution": _compare_distribution,
    "phone_text_minutes": message_minutes.estimated_minutes_note,
    "session_totals": session_load.session_totals,
    "session_load_by": session_load.session_load_by,
    "weekly_session_load": session_load.weekly_session_load,
    "low_attendance_clients": session_load.low_attendance_clients,
    "after_missed_sessions": session_load.after_missed_sessions,
    "client_sessions": session_load.client_sessions,
    "billing_detected": billing.episodes,
    "billing_summary": _over_episodes(billing.summary),
    "billing_episodes": _over_episodes(billing.with_value),
    "billing_months": _over_episodes(billing.monthly),
    "billing_client_months": _over_episodes(billing.per_client_month),
    "billing_episode_contacts": billing.episode_contacts,
    "glance": glance.glance,
    "top_clients": _reusing(glance.top_clients, "table", "clients_against_caps"),
    "therapist_ranking": glance.therapist_ranking,
    "alert_digest": glance.alert_digest,
    "billing_unknown_direction": billing.unknown_direction,
}
"""Measures pages may ask for by name (an allow-list, and the cache's key)."""


def database_path() -> Path:
    """``--db PATH`` after ``streamlit run app.py --``, else $CONTACTLOAD_DB or the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", type=Path, default=None)
    known, _ = parser.parse_known_args(sys.argv[1:])
    return Path(known.db or default_db_path())


IDLE_RELEASE_SECONDS = 1.0
"""How long the dashboard keeps the file open after its last query (bench/RESULTS.md:
a rerun within it reuses the open file; one after it opens the file again)."""


@st.cache_resource(show_spinner="Opening the database…")
def _database(path: str) -> Database:
    db = open_database(path)
    db.release_when_idle(IDLE_RELEASE_SECONDS)
    return db


def database() -> Database:
    """The server process's database (opened, and migrated, once per path)."""
    return _database(str(database_path().resolve()))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(
    name: str,
    _db: Database,
    db_path: str,
    version: int,
    filters: ContactFilter,
    args: tuple[Any, ...],
) -> Any:
    return MEASURES[name](_db, filters, *args)


def measure(name: str, filters: ContactFilter, *args: Any) -> Any:
    """The result of ``analytics.measures.metrics.<name>(db, filters, *args)``, cached."""
    db = database()
    _pause_point(db)
    return _cached(name, db, str(db.path), db.data_version(), filters, tuple(args))


PAUSE_WHILE_ENV_VAR = "CONTACTLOAD_PAUSE_WHILE"
"""For the sharing tests: while the file this names exists, a render holds the database
mid-measure (a dashboard busy for as long as a test needs; unset in normal use)."""


def _pause_point(db: Database) -> None:
    """Hold the database while the file named by ``CONTACTLOAD_PAUSE_WHILE`` exists (a
    minute at most), marking ``FILE.held`` meanwhile."""
    marker = os.environ.get(PAUSE_WHILE_ENV_VAR)
    if not marker or not Path(marker).exists():
        return
    held = Path(f"{marker}.held")
    with db.cursor():
        held.touch()
        deadline = time.monotonic() + 60
        while Path(marker).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        held.unlink(missing_ok=True)


@st.cache_data(show_spinner=False, max_entries=8)
def _choices(_db: Database, db_path: str, version: int, scope: Scope) -> metrics.FilterChoices:
    return metrics.filter_choices(_db, scope)


def filter_choices(scope: Scope | None = None) -> metrics.FilterChoices:
    """Practices, therapists, clients and the data's date span the viewer may see, cached
    like measures (``scope`` defaults to the viewer's)."""
    db = database()
    return _choices(db, str(db.path), db.data_version(), scope or current_viewer_scope())
