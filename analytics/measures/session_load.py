"""Between-session load measured against the sessions it sits between.

Sixty minutes of contact a week is light for a therapist with thirty sessions and heavy for
one with five, so these measures put contact minutes beside scheduled sessions:

- **scheduled session hours**: minutes ÷ 60 of sessions whose status is in
  ``SCHEDULED_STATUSES`` (attended, late-cancelled, no-show: every session that held its
  place in the schedule; a timely cancellation freed it). **Attended hours**: status
  attended only.
- **minutes per session hour**: contact minutes ÷ scheduled session hours; **per 8 session
  hours** is that × 8 (a published way to compare out-of-schedule work across clinicians).
  None (shown as "—, no sessions") when there are no scheduled hours.
- **between-session share** of total client work: contact minutes ÷ (contact minutes +
  attended session minutes).
- **clients with high contact and few attended sessions**: a client is flagged when their
  contact minutes are at or above the 75th percentile (``quantile_cont``) of the contact
  minutes of all clients with contact under the same filter, and they attended at most
  ``max_attended_per_4_weeks`` sessions (default 1) per 4 weeks of the period: at most 0.5
  sessions in a fortnight (none), 13 in a year. A rate, not a count, so the same setting
  means "less than monthly" for a week's review and a year's.
- **contacts after a session**: each contact is matched to the same client's latest session
  that started before it; when that session started at most N days earlier (setting
  ``after_session_days``, default 3), the contact counts after that session's status. Days
  are the therapist's wall-clock days, so "3 days after 10:00" ends at 10:00 three local
  days later across a DST change. Attended sessions are listed as the baseline. A contact
  known only by its date (no time of day) is placed at the start of that day.

The filter's period selects contacts and sessions by their own local dates (a contact just
after a period starts is not matched to a session before it); practice, therapist, client
and the viewer's scope apply to both; channel and category apply to contacts only (so
"phone minutes per session hour" divides phone minutes by all scheduled hours). Every row
is handled in DuckDB SQL; only aggregates (and one client's sessions) come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import LiteralString

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.errors import InvalidFilterError
from analytics.storage.database import Database
from analytics.storage.schema import SCHEDULED_STATUSES, SESSION_STATUSES
from analytics.storage.settings import get_setting
from analytics.storage.sql import Fragment, query, sql

# SQL below is fixed text chosen from allow-lists and fixed table aliases; values always
# travel as parameters, which is why composing it with f-strings is safe (ruff S608 is
# silenced where that happens).

SESSION_HOURS_PER_COMPARISON = 8
"""The "per 8 scheduled session hours" of DOMAIN.md's supervisor comparisons."""

LOAD_GROUPS = ("therapist", "practice", "client", "week", "month")
"""What ``session_load_by`` can group by."""

AFTER_SESSION_STATUSES = ("no_show", "late_cancelled", "cancelled", "attended")
"""Row order of ``after_missed_sessions``: missed sessions first, attended as the baseline."""

STATUS_LABELS = {
    "attended": "Attended",
    "late_cancelled": "Late-cancelled",
    "no_show": "No-show",
    "cancelled": "Cancelled in time",
}
"""How session statuses read on pages and charts."""
assert set(STATUS_LABELS) == set(SESSION_STATUSES)


def _filtered(filters: ContactFilter) -> Fragment:
    """A WITH clause of ``fc`` (filtered contacts) and ``fs`` (filtered sessions)."""
    return query(
        """WITH fc AS (SELECT c.* FROM contacts AS c WHERE {contact_where}),
    fs AS (
        SELECT s.*, list_contains($scheduled_statuses, s.status) AS scheduled
        FROM sessions AS s WHERE {session_where}
    )""",
        contact_where=filters.fragment("c"),
        session_where=filters.session_fragment(),
        scheduled_statuses=list(SCHEDULED_STATUSES),
    )


def _client_label(filters: ContactFilter) -> Fragment:
    """The client column a viewer may see: labels, or pseudonymous keys for supervisors."""
    return Fragment(filters.scope.client_name("cl"))  # the one label-or-key rule: fixed text


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- totals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTotals:
    """Contact minutes beside the sessions of the same filter and period."""

    contact_minutes: float
    scheduled_minutes: float
    attended_minutes: float
    sessions_by_status: Mapping[str, int] = field(default_factory=dict)
    """Sessions per status (every status in ``SESSION_STATUSES``, zero included)."""

    @property
    def sessions(self) -> int:
        """All sessions in the period, timely cancellations included."""
        return sum(self.sessions_by_status.values())

    @property
    def scheduled_hours(self) -> float:
        """Hours of sessions that held their place in the schedule."""
        return self.scheduled_minutes / 60

    @property
    def attended_hours(self) -> float:
        """Hours of attended sessions."""
        return self.attended_minutes / 60

    @property
    def per_session_hour(self) -> float | None:
        """Contact minutes per scheduled session hour; None without scheduled sessions."""
        return _ratio(self.contact_minutes, self.scheduled_hours)

    @property
    def per_8_session_hours(self) -> float | None:
        """Contact minutes per 8 scheduled session hours (supervisor comparisons)."""
        per_hour = self.per_session_hour
        return None if per_hour is None else per_hour * SESSION_HOURS_PER_COMPARISON

    @property
    def between_session_share(self) -> float | None:
        """Contact minutes as a share (0 to 1) of contact plus attended session minutes."""
        return _ratio(self.contact_minutes, self.contact_minutes + self.attended_minutes)


def session_totals(db: Database, filters: ContactFilter) -> SessionTotals:
    """Contact minutes, scheduled and attended session minutes, and sessions per status."""
    statement = query(
        """{ctes}
        SELECT (SELECT coalesce(sum(minutes), 0) FROM fc),
               (SELECT coalesce(sum(minutes) FILTER (WHERE scheduled), 0) FROM fs),
               (SELECT coalesce(sum(minutes) FILTER (WHERE status = 'attended'), 0) FROM fs),
               (SELECT map(list(status), list(n)) FROM
                   (SELECT status, count(*) AS n FROM fs GROUP BY status))
        """,
        ctes=_filtered(filters),
    )
    contact_minutes, scheduled, attended, by_status = db.row(statement)
    counts = dict(by_status or {})
    return SessionTotals(
        contact_minutes=float(contact_minutes),
        scheduled_minutes=float(scheduled),
        attended_minutes=float(attended),
        sessions_by_status={status: int(counts.get(status, 0)) for status in SESSION_STATUSES},
    )


# --- grouped --------------------------------------------------------------------------------

# by: (group expression over fc/fs rows, key expression over g, joins from g.id, order);
# a join's {scope} is the viewer's scope over its table.
_BY_SIZE = sql("contact_minutes DESC, key")
_GROUPS: dict[str, tuple[Fragment, Fragment, LiteralString, Fragment]] = {
    "therapist": (
        sql("therapist_id"),
        sql("t.name"),
        "JOIN therapists AS t ON t.therapist_id = g.id AND {scope}",
        _BY_SIZE,
    ),
    # practices carry no therapist column for the scope; the ids come from fc and fs,
    # which the scope has already narrowed.
    "practice": (
        sql("practice_id"),
        sql("p.name"),
        "JOIN practices AS p ON p.practice_id = g.id",
        _BY_SIZE,
    ),
    "client": (
        sql("client_id"),
        sql("cl.client_key"),
        "JOIN clients AS cl ON cl.client_id = g.id AND {scope}",
        _BY_SIZE,
    ),
    "week": (
        sql("CAST(date_trunc('week', local_started_at) AS DATE)"),
        sql("strftime(g.id, '%Y-%m-%d')"),
        "",
        sql("key"),
    ),
    "month": (
        sql("strftime(local_started_at, '%Y-%m')"),
        sql("g.id"),
        "",
        sql("key"),
    ),
}
assert set(_GROUPS) == set(LOAD_GROUPS)


def session_load_by(db: Database, filters: ContactFilter, by: str) -> pd.DataFrame:
    """Contact minutes per scheduled session hour for each therapist, practice, client,
    local week or local month with contacts or sessions.

    Columns: key (therapist or practice name, client key, week Monday ``YYYY-MM-DD``, month
    ``YYYY-MM``), label (client label where the viewer may see it, else the key), contacts,
    contact_minutes, sessions (scheduled), scheduled_hours, attended_hours, per_session_hour,
    per_8_session_hours, between_session_share (the last three NaN where undefined).
    """
    if by not in _GROUPS:
        raise InvalidFilterError(
            f"Cannot show load per session hour by {by!r} (sessions have no channel or "
            f"category); use one of {', '.join(LOAD_GROUPS)}."
        )
    group, key, joins, order = _GROUPS[by]
    # clients met by a therapist in scope too, so the groups add up to the totals
    scope = {
        "therapist": filters.scope.fragment("t"),
        "client": filters.scope.client_fragment("cl"),
    }
    joined = query(joins, scope=scope[by]) if by in scope else sql(joins)
    statement = query(
        """{ctes},
        contact_groups AS (
            SELECT {group} AS id, count(*) AS contacts, sum(minutes) AS contact_minutes
            FROM fc GROUP BY 1
        ),
        session_groups AS (
            SELECT {group} AS id,
                   count(*) FILTER (WHERE scheduled) AS sessions,
                   coalesce(sum(minutes) FILTER (WHERE scheduled), 0) AS scheduled_minutes,
                   coalesce(sum(minutes) FILTER (WHERE status = 'attended'), 0)
                       AS attended_minutes
            FROM fs GROUP BY 1
        ),
        g AS (
            SELECT coalesce(cg.id, sg.id) AS id,
                   coalesce(cg.contacts, 0) AS contacts,
                   coalesce(cg.contact_minutes, 0) AS contact_minutes,
                   coalesce(sg.sessions, 0) AS sessions,
                   coalesce(sg.scheduled_minutes, 0) AS scheduled_minutes,
                   coalesce(sg.attended_minutes, 0) AS attended_minutes
            FROM contact_groups AS cg FULL OUTER JOIN session_groups AS sg ON cg.id = sg.id
        )
        SELECT {key} AS key, {label} AS label, g.contacts, g.contact_minutes, g.sessions,
               g.scheduled_minutes / 60 AS scheduled_hours,
               g.attended_minutes / 60 AS attended_hours,
               g.contact_minutes / nullif(g.scheduled_minutes / 60, 0) AS per_session_hour,
               g.contact_minutes / nullif(g.scheduled_minutes / 60, 0) * $per_hours
                   AS per_8_session_hours,
               g.contact_minutes / nullif(g.contact_minutes + g.attended_minutes, 0)
                   AS between_session_share
        FROM g {joins}
        ORDER BY {order}
        """,
        ctes=_filtered(filters),
        group=group,
        key=key,
        label=_client_label(filters) if by == "client" else key,
        joins=joined,
        order=order,
        per_hours=SESSION_HOURS_PER_COMPARISON,
    )
    return db.frame(statement)


_SPAN_SQL = """span AS (
            -- the filter's dates, else the first and last local day of contacts and sessions
            SELECT coalesce(CAST($span_first AS DATE), min(day)) AS first_day,
                   coalesce(CAST($span_last AS DATE), max(day)) AS last_day
            FROM (
                SELECT CAST(local_started_at AS DATE) AS day FROM fc
                UNION ALL SELECT CAST(local_started_at AS DATE) FROM fs
            )
        )"""


def _span(filters: ContactFilter) -> Fragment:
    """The CTE ``span``: the filter's first and last day, else those of ``fc`` and ``fs``."""
    return sql(_SPAN_SQL, span_first=filters.start, span_last=filters.end)


def weekly_session_load(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Per local ISO week of the period (zero-filled): contact minutes beside session hours.

    Columns: week (the Monday, a date), contact_minutes, scheduled_hours, attended_hours,
    per_session_hour (NaN in weeks without scheduled sessions). Without a period in the
    filter, the weeks span the first to the last contact or session.
    """
    statement = query(
        """{ctes},
        {span},
        weeks AS (
            SELECT CAST(unnest(generate_series(
                CAST(date_trunc('week', first_day) AS TIMESTAMP),
                CAST(last_day AS TIMESTAMP),
                INTERVAL 7 DAY
            )) AS DATE) AS week
            FROM span WHERE first_day IS NOT NULL
        ),
        contact_weeks AS (
            SELECT CAST(date_trunc('week', local_started_at) AS DATE) AS week,
                   sum(minutes) AS contact_minutes
            FROM fc GROUP BY 1
        ),
        session_weeks AS (
            SELECT CAST(date_trunc('week', local_started_at) AS DATE) AS week,
                   coalesce(sum(minutes) FILTER (WHERE scheduled), 0) AS scheduled_minutes,
                   coalesce(sum(minutes) FILTER (WHERE status = 'attended'), 0)
                       AS attended_minutes
            FROM fs GROUP BY 1
        )
        SELECT w.week,
               coalesce(cw.contact_minutes, 0) AS contact_minutes,
               coalesce(sw.scheduled_minutes, 0) / 60 AS scheduled_hours,
               coalesce(sw.attended_minutes, 0) / 60 AS attended_hours,
               coalesce(cw.contact_minutes, 0) / nullif(sw.scheduled_minutes / 60, 0)
                   AS per_session_hour
        FROM weeks AS w
        LEFT JOIN contact_weeks AS cw USING (week)
        LEFT JOIN session_weeks AS sw USING (week)
        ORDER BY w.week
        """,
        ctes=_filtered(filters),
        span=_span(filters),
    )
    return db.frame(statement)


# --- clients --------------------------------------------------------------------------------

DEFAULT_MAX_ATTENDED_PER_4_WEEKS = 1.0
"""Attended sessions per 4 weeks at most which a top-quartile client counts as "few"."""


def low_attendance_clients(
    db: Database,
    filters: ContactFilter,
    max_attended_per_4_weeks: float = DEFAULT_MAX_ATTENDED_PER_4_WEEKS,
) -> pd.DataFrame:
    """Every client with contact, flagging high contact minutes with few attended sessions.

    Columns: client_key, label (the key where the viewer may not see labels), therapist,
    contacts, contact_minutes, attended_sessions, missed_sessions (late-cancelled and
    no-show), cancelled_sessions (timely), minutes_per_attended_session (NaN without an
    attended session), attended_limit (``max_attended_per_4_weeks`` × the period's days ÷
    28; without dates in the filter, the span of the contacts and sessions), flagged
    (never when the filter holds no session at all). Flagged clients come first.
    """
    if max_attended_per_4_weeks < 0:
        raise InvalidFilterError(
            f"The attended sessions per 4 weeks must be 0 or more, not {max_attended_per_4_weeks}."
        )
    statement = query(
        """{ctes},
        per_client AS (
            SELECT client_id, count(*) AS contacts, sum(minutes) AS contact_minutes
            FROM fc GROUP BY client_id
        ),
        client_sessions AS (
            SELECT client_id,
                   count(*) FILTER (WHERE status = 'attended') AS attended,
                   count(*) FILTER (WHERE status IN ('late_cancelled', 'no_show')) AS missed,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled
            FROM fs GROUP BY client_id
        ),
        {span},
        threshold AS (
            SELECT quantile_cont(contact_minutes, 0.75) AS top_quartile,
                   (SELECT $max_attended * (last_day - first_day + 1) / 28 FROM span)
                       AS attended_limit
            FROM per_client
        ),
        measured AS (
            SELECT pc.*, coalesce(cs.attended, 0) AS attended_sessions,
                   coalesce(cs.missed, 0) AS missed_sessions,
                   coalesce(cs.cancelled, 0) AS cancelled_sessions,
                   th.attended_limit,
                   pc.contact_minutes >= th.top_quartile
                       AND coalesce(cs.attended, 0) <= th.attended_limit
                       -- with no session at all, attendance is unknown, not low
                       AND EXISTS (SELECT 1 FROM fs) AS flagged
            FROM per_client AS pc
            CROSS JOIN threshold AS th
            LEFT JOIN client_sessions AS cs USING (client_id)
        )
        SELECT cl.client_key, {label} AS label, t.name AS therapist,
               m.contacts, m.contact_minutes, m.attended_sessions, m.missed_sessions,
               m.cancelled_sessions,
               m.contact_minutes / nullif(m.attended_sessions, 0)
                   AS minutes_per_attended_session,
               m.attended_limit, m.flagged
        FROM measured AS m
        JOIN clients AS cl ON cl.client_id = m.client_id AND {scope_cl}
        JOIN therapists AS t ON t.therapist_id = cl.therapist_id AND {scope_t}
        ORDER BY m.flagged DESC, m.contact_minutes DESC, cl.client_key
        """,
        ctes=_filtered(filters),
        span=_span(filters),
        label=_client_label(filters),
        scope_cl=filters.scope.client_fragment("cl"),
        scope_t=filters.scope.fragment("t"),
        max_attended=float(max_attended_per_4_weeks),
    )
    return db.frame(statement)


def _after_session_days(db: Database) -> int:
    """The installation's window for contacts after a session, in days (a setting)."""
    return int(get_setting(db, "after_session_days"))


def after_missed_sessions(
    db: Database, filters: ContactFilter, days: int | None = None
) -> pd.DataFrame:
    """Contacts in the ``days`` local days after a session, per session status.

    ``days`` defaults to the ``after_session_days`` setting. Each contact counts once, after
    the same client's latest earlier session. One row per status (no-show, late-cancelled,
    cancelled, then attended as the baseline): status, label, sessions, sessions_followed
    (with at least one contact after them), contacts, minutes, minutes_per_session, days.
    """
    window = _after_session_days(db) if days is None else int(days)
    if window < 1:
        raise InvalidFilterError(f"Look at 1 day or more after a session, not {window}.")
    statement = query(
        """{ctes},
        matched AS (
            -- the latest session of the same client that started before the contact (by
            -- instant: in the hour a DST change repeats, wall time would misorder them);
            -- the window is in wall-clock days
            SELECT fs.status, fs.fingerprint AS session, fc.minutes
            FROM fc ASOF JOIN fs
              ON fs.client_id = fc.client_id AND fc.started_at > fs.started_at
            WHERE fc.local_started_at <= fs.local_started_at + to_days(CAST($days AS INTEGER))
        ),
        per_status AS (
            SELECT status, count(*) AS contacts, sum(minutes) AS minutes,
                   count(DISTINCT session) AS sessions_followed
            FROM matched GROUP BY status
        ),
        sessions_per_status AS (SELECT status, count(*) AS sessions FROM fs GROUP BY status),
        statuses AS (
            SELECT unnest($statuses) AS status, unnest($status_labels) AS label,
                   generate_subscripts($statuses, 1) AS position
        )
        SELECT st.status, st.label,
               coalesce(sp.sessions, 0) AS sessions,
               coalesce(ps.sessions_followed, 0) AS sessions_followed,
               coalesce(ps.contacts, 0) AS contacts,
               coalesce(ps.minutes, 0) AS minutes,
               coalesce(ps.minutes, 0) / nullif(sp.sessions, 0) AS minutes_per_session,
               CAST($days AS INTEGER) AS days
        FROM statuses AS st
        LEFT JOIN sessions_per_status AS sp USING (status)
        LEFT JOIN per_status AS ps USING (status)
        ORDER BY st.position
        """,
        ctes=_filtered(filters),
        days=window,
        statuses=list(AFTER_SESSION_STATUSES),
        status_labels=[STATUS_LABELS[status] for status in AFTER_SESSION_STATUSES],
    )
    return db.frame(statement)


def client_sessions(db: Database, filters: ContactFilter, client_key: str) -> pd.DataFrame:
    """One client's sessions under ``filters``, in time order, for the timeline.

    Columns: local_started_at, started_at (UTC), minutes, status, label (of the status),
    therapist. One client's
    sessions are few, so these rows may come back to Python.
    """
    statement = query(
        """
        SELECT s.local_started_at, s.started_at, s.minutes, s.status,
               list_extract($status_labels, list_position($statuses, s.status)) AS label,
               t.name AS therapist
        FROM sessions AS s
        JOIN clients AS cl ON cl.client_id = s.client_id AND {scope_cl}
        JOIN therapists AS t ON t.therapist_id = s.therapist_id AND {scope_t}
        WHERE {session_where} AND cl.client_key = $client_key
        ORDER BY s.started_at
        """,
        scope_cl=filters.scope.client_fragment("cl"),
        scope_t=filters.scope.fragment("t"),
        session_where=filters.session_fragment(),
        status_labels=list(STATUS_LABELS.values()),
        statuses=list(STATUS_LABELS),
        client_key=client_key,
    )
    return db.frame(statement)


__all__ = [
    "AFTER_SESSION_STATUSES",
    "LOAD_GROUPS",
    "STATUS_LABELS",
    "SessionTotals",
    "after_missed_sessions",
    "client_sessions",
    "low_attendance_clients",
    "session_load_by",
    "session_totals",
    "weekly_session_load",
]
