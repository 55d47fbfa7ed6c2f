"""Every number the dashboard and the CLI show, computed in DuckDB SQL.

Each measure takes the database and one ``ContactFilter`` and returns either a small
dataclass or an aggregated frame; no contact row ever comes back to Python. Local time
means the therapist's own zone (``contacts.local_started_at``), so weekdays, hours and
after-hours are DST-correct for each therapist.
"""

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import pandas as pd

from analytics.access.filters import ContactFilter, Period
from analytics.access.scope import Scope
from analytics.domain import BREAKDOWNS, CATEGORIES, CHANNELS
from analytics.errors import InvalidFilterError
from analytics.policy.working_hours import (
    DEFAULT_WORKING_HOURS,
    MARKED_CTE,
    WorkingHours,
    working_hours_ctes,
)
from analytics.storage.database import Database
from analytics.storage.sql import Fragment, identifier, query, sql

# SQL below is built with the query kit: fragments are fixed text chosen from allow-lists,
# values always travel as named parameters.

TimeBucket = Literal["week", "month"]


def _filtered(filters: ContactFilter) -> Fragment:
    """A WITH clause whose CTE ``f`` holds the filtered contacts."""
    return query(
        "WITH f AS (SELECT c.* FROM contacts AS c WHERE {where})", where=filters.fragment()
    )


# --- period and totals ------------------------------------------------------------------


def data_period(db: Database, filters: ContactFilter) -> Period | None:
    """The period a filter covers: its own dates, else the span of matching contacts."""
    if filters.start and filters.end:
        return Period(filters.start, filters.end)
    first, last = db.row(
        query(
            "{cte} SELECT min(local_started_at)::DATE, max(local_started_at)::DATE FROM f",
            cte=_filtered(filters),
        )
    )
    if first is None:
        return None
    return Period(filters.start or first, filters.end or last)


@dataclass(frozen=True)
class Totals:
    """Headline figures for one period under one filter."""

    period: Period | None
    contacts: int
    minutes: float
    active_clients: int
    after_hours_minutes: float
    crisis_minutes: float
    untimed_minutes: float = 0.0
    """Minutes of contacts with a date but no time of day (left out of after-hours)."""

    @property
    def hours(self) -> float:
        """Total time in hours."""
        return self.minutes / 60

    @property
    def minutes_per_active_client_week(self) -> float | None:
        """Minutes per active client per week: the caseload-fair rate from DOMAIN.md."""
        if not self.period or not self.active_clients:
            return None
        return self.minutes / self.active_clients / self.period.weeks

    @property
    def after_hours_share(self) -> float | None:
        """Share of minutes outside working hours (0 to 1)."""
        return self.after_hours_minutes / self.minutes if self.minutes else None

    @property
    def minutes_per_contact(self) -> float | None:
        """Average length of one contact in minutes."""
        return self.minutes / self.contacts if self.contacts else None


def totals(
    db: Database, filters: ContactFilter, hours: WorkingHours = DEFAULT_WORKING_HOURS
) -> Totals:
    """Contacts, minutes, active clients and after-hours minutes under ``filters`` (after
    hours under the working hours in force, ``hours`` where a therapist stored none)."""
    statement = query(
        """
            WITH f AS (SELECT c.* FROM contacts AS c WHERE {where}), {hours}, {marked}
            SELECT count(*),
                   coalesce(sum(minutes), 0),
                   count(DISTINCT client_id),
                   coalesce(sum(minutes) FILTER (WHERE after_hours), 0),
                   coalesce(sum(minutes) FILTER (WHERE category = 'crisis'), 0),
                   coalesce(sum(minutes) FILTER (WHERE NOT time_known), 0)
            FROM marked
            """,
        where=filters.fragment("c"),
        hours=working_hours_ctes(hours),
        marked=MARKED_CTE,
    )
    contacts, minutes, clients, after_hours, crisis, untimed = db.row(statement)
    return Totals(
        period=data_period(db, filters),
        contacts=int(contacts),
        minutes=float(minutes),
        active_clients=int(clients),
        after_hours_minutes=float(after_hours),
        crisis_minutes=float(crisis),
        untimed_minutes=float(untimed),
    )


@dataclass(frozen=True)
class Headline:
    """This period's totals beside the previous period of the same length."""

    current: Totals
    previous: Totals | None = field(default=None)


def headline(
    db: Database, filters: ContactFilter, hours: WorkingHours = DEFAULT_WORKING_HOURS
) -> Headline:
    """Totals for the filter's period and for the period just before it."""
    current = totals(db, filters, hours)
    if current.period is None:
        return Headline(current=current)
    before = current.period.previous()
    previous = totals(db, filters.with_period(before.start, before.end), hours)
    return Headline(current=current, previous=previous)


# --- breakdowns -------------------------------------------------------------------------

_BY_SIZE = sql("minutes DESC, key")
_BY_KEY = sql("key")
_WEEK_KEY = sql("strftime(date_trunc('week', c.local_started_at), '%Y-%m-%d')")
_MONTH_KEY = sql("strftime(c.local_started_at, '%Y-%m')")
_CLIENT_LABEL = sql("cl.label")  # stands for the viewer's label-or-key (``_client_label``)
_BREAKDOWN_SQL: dict[str, tuple[Fragment, Fragment, Fragment, Fragment]] = {
    # by: (key expression, label expression, joins, order)
    "client": (
        sql("cl.client_key"),
        _CLIENT_LABEL,
        sql("JOIN clients AS cl ON cl.client_id = c.client_id"),
        _BY_SIZE,
    ),
    "therapist": (
        sql("t.name"),
        sql("t.name"),
        sql("JOIN therapists AS t ON t.therapist_id = c.therapist_id"),
        _BY_SIZE,
    ),
    "practice": (
        sql("p.name"),
        sql("p.name"),
        sql("JOIN practices AS p ON p.practice_id = c.practice_id"),
        _BY_SIZE,
    ),
    "channel": (sql("c.channel"), sql("c.channel"), sql(""), _BY_SIZE),
    "category": (sql("c.category"), sql("c.category"), sql(""), _BY_SIZE),
    "week": (_WEEK_KEY, _WEEK_KEY, sql(""), _BY_KEY),
    "month": (_MONTH_KEY, _MONTH_KEY, sql(""), _BY_KEY),
}
assert set(_BREAKDOWN_SQL) == set(BREAKDOWNS)


def breakdown(db: Database, filters: ContactFilter, by: str) -> pd.DataFrame:
    """Contacts and minutes per ``by`` value: columns key, label, contacts, minutes, share.

    Week keys are the ISO date of the week's Monday and month keys ``YYYY-MM``, both in the
    therapist's local calendar; clients are keyed by their pseudonymous key (and labelled by
    it too for viewers who see no labels).
    """
    if by not in _BREAKDOWN_SQL:
        raise InvalidFilterError(
            f"Cannot break down by {by!r}; use one of {', '.join(BREAKDOWNS)}."
        )
    key, label, joins, order = _BREAKDOWN_SQL[by]
    statement = query(
        """{cte}
        SELECT {key} AS key, any_value({label}) AS label,
               count(*) AS contacts, sum(c.minutes) AS minutes,
               sum(c.minutes) / sum(sum(c.minutes)) OVER () AS share
        FROM f AS c {joins}
        GROUP BY {key}, {group}
        ORDER BY {order}
        """,
        cte=_filtered(filters),
        key=key,
        label=_client_label(filters.scope) if label is _CLIENT_LABEL else label,
        joins=joins,
        group=sql("t.therapist_id") if by == "therapist" else key,
        order=order,
    )
    return db.frame(statement)


def trend(
    db: Database,
    filters: ContactFilter,
    by: Literal["category", "channel"],
    bucket: TimeBucket = "week",
) -> pd.DataFrame:
    """Minutes per time bucket and ``by`` key, zero-filled: columns period, key, minutes, contacts.

    Every bucket of the period appears for every key that has any contact, so lines and
    stacked bars show quiet weeks as zero instead of skipping them.
    """
    if by not in ("category", "channel"):
        raise InvalidFilterError(f"Cannot show a trend by {by!r}; use category or channel.")
    if bucket not in ("week", "month"):
        raise InvalidFilterError(f"Unknown time bucket {bucket!r}; use week or month.")
    period = data_period(db, filters)
    if period is None:
        return pd.DataFrame({"period": [], "key": [], "minutes": [], "contacts": []})
    part, step = (
        (sql("'week'"), sql("INTERVAL 7 DAY"))
        if bucket == "week"
        else (sql("'month'"), sql("INTERVAL 1 MONTH"))
    )
    statement = query(
        """{cte},
        buckets AS (
            SELECT CAST(b AS DATE) AS period
            FROM range(
                date_trunc({part}, CAST($span_start AS TIMESTAMP)),
                CAST($span_end AS TIMESTAMP) + INTERVAL 1 DAY,
                {step}
            ) AS r(b)
        ),
        keys AS (SELECT DISTINCT {by} AS key FROM f),
        measured AS (
            SELECT CAST(date_trunc({part}, local_started_at) AS DATE) AS period, {by} AS key,
                   sum(minutes) AS minutes, count(*) AS contacts
            FROM f GROUP BY ALL
        )
        SELECT b.period, k.key, coalesce(m.minutes, 0) AS minutes,
               coalesce(m.contacts, 0) AS contacts
        FROM buckets AS b CROSS JOIN keys AS k
        LEFT JOIN measured AS m ON m.period = b.period AND m.key = k.key
        ORDER BY b.period, k.key
        """,
        cte=_filtered(filters),
        part=part,
        step=step,
        by=identifier(by, ("category", "channel")),
        span_start=period.start,
        span_end=period.end,
    )
    return db.frame(statement)


def channel_category(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Minutes and contacts for every channel x category pair with contacts."""
    statement = query(
        """{cte}
        SELECT channel, category, count(*) AS contacts, sum(minutes) AS minutes
        FROM f GROUP BY ALL ORDER BY channel, category
        """,
        cte=_filtered(filters),
    )
    return db.frame(statement)


# --- time of day --------------------------------------------------------------------------


def load_grid(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Minutes and contacts for each local weekday (0 = Monday) and hour: all 168 cells.

    Contacts without a time of day are left out (their hour is unknown).
    """
    statement = query(
        """{cte},
        measured AS (
            SELECT isodow(local_started_at) - 1 AS weekday, hour(local_started_at) AS hour,
                   sum(minutes) AS minutes, count(*) AS contacts
            FROM f WHERE time_known GROUP BY ALL
        )
        SELECT d.weekday, h.hour, coalesce(m.minutes, 0) AS minutes,
               coalesce(m.contacts, 0) AS contacts
        FROM range(7) AS d(weekday) CROSS JOIN range(24) AS h(hour)
        LEFT JOIN measured AS m ON m.weekday = d.weekday AND m.hour = h.hour
        ORDER BY d.weekday, h.hour
        """,
        cte=_filtered(filters),
    )
    return db.frame(statement)


# --- clients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concentration:
    """How much of the load the busiest clients carry."""

    clients: int
    top_clients: int
    top_minutes_share: float | None
    top_fraction: float = 0.10


def concentration(
    db: Database, filters: ContactFilter, top_fraction: float = 0.10
) -> Concentration:
    """Share of minutes taken by the top ``top_fraction`` of clients (at least one client)."""
    statement = query(
        """{cte},
        per_client AS (SELECT client_id, sum(minutes) AS minutes FROM f GROUP BY client_id),
        ranked AS (
            SELECT minutes, row_number() OVER (ORDER BY minutes DESC, client_id) AS rank,
                   count(*) OVER () AS clients
            FROM per_client
        )
        SELECT coalesce(max(clients), 0),
               coalesce(max(CAST(ceil(clients * $top_fraction) AS BIGINT)), 0),
               sum(minutes) FILTER (WHERE rank <= ceil(clients * $top_fraction))
                   / nullif(sum(minutes), 0)
        FROM ranked
        """,
        cte=_filtered(filters),
        top_fraction=top_fraction,
    )
    clients, top_clients, share = db.row(statement)
    return Concentration(
        clients=int(clients),
        top_clients=int(top_clients),
        top_minutes_share=None if share is None else float(share),
        top_fraction=top_fraction,
    )


def pareto(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """The Pareto curve: clients by minutes, busiest first, with cumulative shares.

    Columns: rank, client_key, minutes, client_share (rank / clients) and minutes_share
    (cumulative share of all minutes), both from 0 to 1.
    """
    statement = query(
        """{cte},
        per_client AS (SELECT client_id, sum(minutes) AS minutes FROM f GROUP BY client_id)
        SELECT row_number() OVER w AS rank, cl.client_key, pc.minutes,
               row_number() OVER w / count(*) OVER () AS client_share,
               sum(pc.minutes) OVER w / sum(pc.minutes) OVER () AS minutes_share
        FROM per_client AS pc JOIN clients AS cl USING (client_id)
        WINDOW w AS (ORDER BY pc.minutes DESC, pc.client_id ROWS UNBOUNDED PRECEDING)
        ORDER BY rank
        """,
        cte=_filtered(filters),
    )
    return db.frame(statement)


def client_table(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """One row per client with contacts: the Clients page's sortable table.

    Columns: client_key, label (the key again for viewers who see no labels), therapist
    (the client's own, or whoever had most minutes with a colleague's client in view),
    contacts, minutes, share (of all minutes),
    minutes_per_contact, last_contact (local date) and weekly_minutes (a list, one value per
    week of the period, zero-filled, for the trend sparkline).
    """
    period = data_period(db, filters)
    if period is None:
        return pd.DataFrame(
            columns=[
                "client_key",
                "label",
                "therapist",
                "contacts",
                "minutes",
                "share",
                "minutes_per_contact",
                "last_contact",
                "weekly_minutes",
            ]
        )
    statement = query(
        """{cte},
        weeks AS (
            SELECT CAST(w AS DATE) AS week
            FROM range(
                date_trunc('week', CAST($span_start AS TIMESTAMP)),
                CAST($span_end AS TIMESTAMP) + INTERVAL 1 DAY,
                INTERVAL 7 DAY
            ) AS r(w)
        ),
        per_client AS (
            SELECT client_id, count(*) AS contacts, sum(minutes) AS minutes,
                   max(local_started_at)::DATE AS last_contact
            FROM f GROUP BY client_id
        ),
        per_week AS (
            SELECT client_id, CAST(date_trunc('week', local_started_at) AS DATE) AS week,
                   sum(minutes) AS minutes
            FROM f GROUP BY ALL
        ),
        sparkline AS (
            SELECT pc.client_id, list(coalesce(pw.minutes, 0) ORDER BY w.week) AS weekly_minutes
            FROM per_client AS pc CROSS JOIN weeks AS w
            LEFT JOIN per_week AS pw ON pw.client_id = pc.client_id AND pw.week = w.week
            GROUP BY pc.client_id
        ),
        leads AS (
            -- the client's own therapist when their contacts are in view, else the one
            -- with most minutes (a colleague's client someone stood in for)
            SELECT pt.client_id,
                   arg_max(pt.therapist_id, [
                       CAST(pt.therapist_id = cl.therapist_id AS DOUBLE), pt.minutes,
                       -pt.therapist_id
                   ]) AS therapist_id
            FROM (SELECT client_id, therapist_id, sum(minutes) AS minutes FROM f GROUP BY ALL)
                AS pt
            JOIN clients AS cl USING (client_id)
            GROUP BY pt.client_id
        )
        SELECT cl.client_key, {label} AS label, t.name AS therapist,
               pc.contacts, pc.minutes,
               pc.minutes / sum(pc.minutes) OVER () AS share,
               pc.minutes / pc.contacts AS minutes_per_contact,
               pc.last_contact, s.weekly_minutes
        FROM per_client AS pc
        JOIN clients AS cl USING (client_id)
        JOIN leads AS l USING (client_id)
        JOIN therapists AS t ON t.therapist_id = l.therapist_id
        JOIN sparkline AS s USING (client_id)
        ORDER BY pc.minutes DESC, cl.client_key
        """,
        cte=_filtered(filters),
        label=_client_label(filters.scope),
        span_start=period.start,
        span_end=period.end,
    )
    return db.frame(statement)


def client_timeline(db: Database, filters: ContactFilter, client_key: str) -> pd.DataFrame:
    """Every contact of one client under ``filters``, in time order (metadata only).

    Columns: local_started_at, started_at (UTC), minutes, channel, category, direction,
    therapist. One client's contacts are few, so these rows may come back to Python.
    """
    statement = query(
        """{cte}
        SELECT c.local_started_at, c.started_at, c.minutes, c.channel, c.category,
               c.direction, t.name AS therapist
        FROM f AS c
        JOIN clients AS cl ON cl.client_id = c.client_id
        JOIN therapists AS t ON t.therapist_id = c.therapist_id
        WHERE cl.client_key = $client_key
        ORDER BY c.started_at
        """,
        cte=_filtered(filters),
        client_key=client_key,
    )
    return db.frame(statement)


# --- choices for filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class FilterChoices:
    """What the filter widgets can offer: stored entities and the span of the data."""

    practices: pd.DataFrame  # practice_id, name
    therapists: pd.DataFrame  # therapist_id, name, practice_id, practice, time_zone
    clients: pd.DataFrame  # client_key, label, therapist_id, practice_id
    first_day: date | None
    last_day: date | None


def filter_choices(db: Database, scope: Scope) -> FilterChoices:
    """Everything the sidebar filters need that the viewer may see, in four small queries.

    Practices are those with a therapist in scope; clients carry their key as the label
    for viewers who see no labels.
    """
    therapist_scope = scope.fragment("t")
    practices = db.frame(
        query(
            """
            SELECT p.practice_id, p.name FROM practices AS p
            WHERE EXISTS (
                SELECT 1 FROM therapists AS t
                WHERE t.practice_id = p.practice_id AND {therapist_scope}
            )
            ORDER BY p.name
            """,
            therapist_scope=therapist_scope,
        )
    )
    therapists = db.frame(
        query(
            """
            SELECT t.therapist_id, t.name, t.practice_id, p.name AS practice, t.time_zone
            FROM therapists AS t JOIN practices AS p USING (practice_id)
            WHERE {therapist_scope}
            ORDER BY p.name, t.name
            """,
            therapist_scope=therapist_scope,
        )
    )
    clients = db.frame(
        query(
            "SELECT c.client_key, {label} AS label, c.therapist_id, c.practice_id "
            "FROM clients AS c WHERE {client_scope} ORDER BY label",
            label=Fragment(scope.client_name("c")),  # the one label-or-key rule: fixed text
            client_scope=scope.client_fragment("c"),
        )
    )
    first, last = db.row(
        query(
            "SELECT min(local_started_at)::DATE, max(local_started_at)::DATE "
            "FROM contacts AS c WHERE {contact_scope}",
            contact_scope=scope.fragment("c"),
        )
    )
    return FilterChoices(practices, therapists, clients, first, last)


def _client_label(scope: Scope) -> Fragment:
    """The SQL naming a client (alias ``cl``): the label, or the key for supervisors."""
    return Fragment(scope.client_name("cl"))  # the one label-or-key rule: fixed text


def with_client_labels(
    db: Database, scope: Scope, frame: pd.DataFrame, column: str = "client_key"
) -> pd.DataFrame:
    """``frame`` with a ``client`` column: the label of each client key in the viewer's
    scope, or the key itself for viewers who see no labels (supervisors)."""
    statement = query(
        "SELECT c.client_key, {label} AS client FROM clients AS c WHERE {in_scope}",
        label=Fragment(scope.client_name("c")),  # the one label-or-key rule: fixed text
        in_scope=scope.client_fragment("c"),
    )
    labels = db.frame(statement)
    return frame.merge(
        labels, left_on=column, right_on="client_key", how="left", suffixes=("", "_")
    )


def round_half_up(value: float, digits: int = 1) -> float:
    """Round for display the way people do by hand (2.25 -> 2.3), not banker's rounding."""
    factor = 10**digits
    return math.floor(value * factor + 0.5) / factor


__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "Concentration",
    "FilterChoices",
    "Headline",
    "Totals",
    "WorkingHours",
    "breakdown",
    "channel_category",
    "client_table",
    "client_timeline",
    "concentration",
    "data_period",
    "filter_choices",
    "headline",
    "load_grid",
    "pareto",
    "totals",
    "trend",
    "with_client_labels",
]
