"""Compliance: the measured load next to the boundaries therapist and client agreed.

Every measure takes the database and one ``ContactFilter``, like those of ``metrics``, and
does all per-contact work in DuckDB SQL; only aggregated frames (or the few rows of a
breach list) come back to Python. The measures live by topic: ``caps`` (weekly and category
caps), ``out_of_policy`` (channels and categories outside the agreement), ``replies``
(response times) and ``drift``; the SQL and the rules they share are in ``fragments``. This
module holds after hours against the working hours in force, the headline summary of them
all (``compliance_summary``) and the per-client or per-therapist report of the CLI.
"""

from dataclasses import dataclass
from datetime import date, time
from typing import Any

import pandas as pd

from analytics.access.filters import ContactFilter, Period
from analytics.errors import InvalidFilterError
from analytics.measures.caps import weekly_caps
from analytics.measures.drift import (
    DRIFT_BASELINE_WEEKS,
    DRIFT_MIN_MINUTES,
    DRIFT_THRESHOLD,
    drift_ctes,
)
from analytics.measures.fragments import caps_ctes, contacts_ctes, float_or_none, response_ctes
from analytics.measures.metrics import data_period
from analytics.measures.out_of_policy import out_of_policy_ctes
from analytics.measures.replies import ResponseSummary, response_times
from analytics.policy.in_force import IN_FORCE_CTES
from analytics.policy.working_hours import (
    DEFAULT_WORKING_HOURS,
    MARKED_CTE,
    week_in_force,
    working_hours_ctes,
)
from analytics.storage.database import Database
from analytics.storage.sql import Fragment, execute, query, sql

# --- after hours --------------------------------------------------------------------------


def after_hours(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Per therapist: contacts and minutes outside the working hours in force that day.

    Judged on local wall-clock time, so a 21:30 contact is 21:30 in the therapist's own zone
    on either side of a DST change. Columns: therapist, time_zone, contacts, minutes (all
    contacts), after_hours_contacts, after_hours_minutes, after_hours_share (after-hours
    minutes / all minutes, the Overview's definition), untimed_contacts and untimed_minutes
    (no time of day: never after hours, counted here instead) and default_hours (true when
    the therapist has stored no working hours, so Mon-Fri 08:00-18:00 applied throughout).
    Busiest after-hours first.
    """
    statement = query(
        """WITH {contacts}, {hours}, {marked}
        SELECT t.name AS therapist, t.time_zone, count(*) AS contacts,
               sum(m.minutes) AS minutes,
               count(*) FILTER (WHERE m.after_hours) AS after_hours_contacts,
               coalesce(sum(m.minutes) FILTER (WHERE m.after_hours), 0) AS after_hours_minutes,
               coalesce(sum(m.minutes) FILTER (WHERE m.after_hours), 0)
                   / nullif(sum(m.minutes), 0) AS after_hours_share,
               count(*) FILTER (WHERE NOT m.time_known) AS untimed_contacts,
               coalesce(sum(m.minutes) FILTER (WHERE NOT m.time_known), 0) AS untimed_minutes,
               NOT EXISTS (
                   SELECT 1 FROM working_hours AS w WHERE w.therapist_id = t.therapist_id
               ) AS default_hours
        FROM marked AS m JOIN therapists AS t ON t.therapist_id = m.therapist_id
        GROUP BY t.therapist_id, t.name, t.time_zone
        ORDER BY after_hours_minutes DESC, therapist
        """,
        contacts=contacts_ctes(filters),
        hours=working_hours_ctes(),
        marked=MARKED_CTE,
    )
    return db.frame(statement)


# --- headline -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceSummary:
    """Headline figures for the Boundaries page: where agreed boundaries held and broke."""

    period: Period | None
    clients_with_cap: int
    """Clients with at least one week under a weekly or category cap."""
    clients_over_cap: int
    """Clients with at least one breach week."""
    breach_weeks: int
    """Client-weeks over the weekly cap or over any category cap."""
    over_by_minutes: float
    """Minutes above weekly caps, summed over breach weeks (category excess not added)."""
    out_of_policy_contacts: int
    out_of_policy_minutes: float
    after_hours_minutes: float
    after_hours_share: float | None
    """After-hours minutes / all minutes, as on the Overview."""
    untimed_contacts: int
    response: ResponseSummary
    alerts: int

    @property
    def response_median_hours(self) -> float | None:
        """Median response time, in the agreed units."""
        return self.response.median_hours

    @property
    def response_p90_hours(self) -> float | None:
        """90th percentile response time, in the agreed units."""
        return self.response.p90_hours

    @property
    def response_share_within_target(self) -> float | None:
        """Share of answered contacts (with a target) answered within it."""
        return self.response.share_within_target


def _after_hours_minutes(db: Database, filters: ContactFilter) -> tuple[float, float, int]:
    """Minutes outside the working hours in force, all minutes, and untimed contacts."""
    statement = query(
        """WITH {contacts}, {hours}, {marked}
        SELECT coalesce(sum(minutes) FILTER (WHERE after_hours), 0), sum(minutes),
               count(*) FILTER (WHERE NOT time_known)
        FROM marked
        """,
        contacts=contacts_ctes(filters),
        hours=working_hours_ctes(),
        marked=MARKED_CTE,
    )
    late_minutes, all_minutes, untimed = db.row(statement)
    return late_minutes, all_minutes, untimed


def after_hours_share(db: Database, filters: ContactFilter) -> float | None:
    """Share of minutes outside each therapist's working hours in force that day (0 to 1),
    as ``compliance_summary(...).after_hours_share``: the Overview needs this one figure, and the
    whole summary (caps, response times, drift) cost 30 times as much at 1M contacts."""
    late_minutes, all_minutes, _ = _after_hours_minutes(db, filters)
    return float(late_minutes) / float(all_minutes) if all_minutes else None


def compliance_summary(
    db: Database, filters: ContactFilter, alerts: pd.DataFrame | None = None
) -> ComplianceSummary:
    """Caps, out-of-policy contacts, after hours, response times and drift in one object.

    Response times are counted as agreed; drift uses the ``DRIFT_*`` defaults (``alerts``:
    ``drift_alerts(db, filters)`` when the caller already has it, as the Boundaries page
    does, so drift is worked out once).
    """
    caps_statement = query(
        """{ctes},
        category_weeks AS (
            SELECT client_id, day, bool_or(over) AS category_over
            FROM judged_category_caps GROUP BY ALL
        ),
        weeks_judged AS (
            SELECT j.client_id, j.over OR coalesce(cw.category_over, false) AS breach,
                   j.weekly_cap_minutes IS NOT NULL OR cw.client_id IS NOT NULL AS capped,
                   j.over_by
            FROM judged_caps AS j LEFT JOIN category_weeks AS cw USING (client_id, day)
        )
        SELECT count(DISTINCT client_id) FILTER (WHERE capped),
               count(DISTINCT client_id) FILTER (WHERE breach),
               count(*) FILTER (WHERE breach),
               coalesce(sum(over_by), 0)
        FROM weeks_judged
        """,
        ctes=caps_ctes(filters),
    )
    with_cap, over, breach_weeks, over_by = db.row(caps_statement)
    refused, refused_minutes = db.row(
        query(
            "{ctes} SELECT count(*), coalesce(sum(minutes), 0) FROM refused",
            ctes=out_of_policy_ctes(filters),
        )
    )
    late_minutes, all_minutes, untimed = _after_hours_minutes(db, filters)
    if alerts is None:
        alert_ctes = drift_ctes(filters, DRIFT_THRESHOLD, DRIFT_BASELINE_WEEKS, DRIFT_MIN_MINUTES)
        (alert_count,) = db.row(query("{ctes} SELECT count(*) FROM alerts", ctes=alert_ctes))
    else:
        alert_count = len(alerts)
    return ComplianceSummary(
        period=data_period(db, filters),
        clients_with_cap=int(with_cap),
        clients_over_cap=int(over),
        breach_weeks=int(breach_weeks),
        over_by_minutes=float(over_by),
        out_of_policy_contacts=int(refused),
        out_of_policy_minutes=float(refused_minutes),
        after_hours_minutes=float(late_minutes),
        after_hours_share=float(late_minutes) / float(all_minutes) if all_minutes else None,
        untimed_contacts=int(untimed),
        response=response_times(db, filters),
        alerts=int(alert_count),
    )


# --- one report per client or therapist (the CLI's ``compliance``) ---------------------------

_GROUP_KEYS = {
    "client": (
        sql("c.client_id"),
        sql("cl.client_key"),
        sql("JOIN clients AS cl ON cl.client_id = c.client_id"),
    ),
    "therapist": (
        sql("c.therapist_id"),
        sql("t.name"),
        sql("JOIN therapists AS t ON t.therapist_id = c.therapist_id"),
    ),
}


def _grouped(by: str) -> tuple[Fragment, Fragment, Fragment]:
    if by not in _GROUP_KEYS:
        raise InvalidFilterError(f"Cannot report compliance by {by!r}; use client or therapist.")
    return _GROUP_KEYS[by]


def compliance_by(db: Database, filters: ContactFilter, by: str = "client") -> pd.DataFrame:
    """One row per client (key) or therapist (name): the figures ``contactload compliance``
    prints beside each one's weekly use against caps.

    Columns: key, contacts, minutes, breach_weeks, over_by_minutes, out_of_policy_contacts,
    after_hours_contacts, after_hours_minutes, client_contacts (client-initiated, timed),
    answered, median_response_hours, p90_response_hours, within_target, with_target.
    """
    group_id, key, join = _grouped(by)
    grouping = {"group_id": group_id, "key": key, "join": join}
    contacts = contacts_ctes(filters)
    hours = working_hours_ctes()
    marked_statement = query(
        """WITH {contacts}, {hours}, {marked}
        SELECT {key} AS key, count(*) AS contacts, sum(c.minutes) AS minutes,
               count(*) FILTER (WHERE c.after_hours) AS after_hours_contacts,
               coalesce(sum(c.minutes) FILTER (WHERE c.after_hours), 0) AS after_hours_minutes
        FROM marked AS c {join}
        GROUP BY {group_id}, {key}
        """,
        contacts=contacts,
        hours=hours,
        marked=MARKED_CTE,
        **grouping,
    )
    marked = db.frame(marked_statement)
    responses_statement = query(
        """WITH {contacts}, {hours}, {settings}, {responses}
        SELECT {key} AS key,
               count(*) FILTER (WHERE c.time_known) AS client_contacts,
               count(c.answered_at) AS answered,
               median(c.hours) AS median_response_hours,
               quantile_cont(c.hours, 0.9) AS p90_response_hours,
               count(*) FILTER (WHERE c.hours <= c.response_target_hours) AS within_target,
               count(*) FILTER (
                   WHERE c.answered_at IS NOT NULL AND c.response_target_hours IS NOT NULL
               ) AS with_target
        FROM timed AS c {join}
        GROUP BY {group_id}, {key}
        """,
        contacts=contacts,
        hours=hours,
        settings=IN_FORCE_CTES,
        responses=response_ctes(None),  # as each agreement says
        **grouping,
    )
    responses = db.frame(responses_statement)
    outside_statement = query(
        """{policy}
        SELECT {key} AS key, count(*) AS out_of_policy_contacts
        FROM refused AS c {join}
        GROUP BY {group_id}, {key}
        """,
        policy=out_of_policy_ctes(filters),
        **grouping,
    )
    outside = db.frame(outside_statement)
    caps = weekly_caps(db, filters)
    caps_key = "client_key" if by == "client" else "therapist"
    breaches = (
        caps.assign(key=caps[caps_key])
        .groupby("key", as_index=False)
        .agg(breach_weeks=("over", "sum"), over_by_minutes=("over_by", "sum"))
    )
    report = (
        marked.merge(breaches, on="key", how="left")
        .merge(outside, on="key", how="left")
        .merge(responses, on="key", how="left")
    )
    counts = ["breach_weeks", "out_of_policy_contacts", "client_contacts", "answered",
              "within_target", "with_target"]  # fmt: skip
    report[counts] = report[counts].fillna(0).astype(int)
    report["over_by_minutes"] = report["over_by_minutes"].fillna(0.0)
    return report.sort_values(["breach_weeks", "minutes"], ascending=False).reset_index(drop=True)


def _number(value: Any) -> float | None:
    """A JSON-friendly float (None for SQL NULL or NaN)."""
    number = float_or_none(value)
    return None if number is None or number != number else round(number, 3)


def compliance_report(
    db: Database, filters: ContactFilter, by: str = "client"
) -> list[dict[str, Any]]:
    """The ``contactload compliance --json`` document: one object per client or therapist.

    Each holds its weekly use against caps (``weeks``: week, minutes counted toward the cap,
    cap, over, over_by for a client; week, minutes, clients_over for a therapist) beside the
    figures of ``compliance_by``. Clients are named by their pseudonymous key.
    """
    figures = compliance_by(db, filters, by)
    caps = weekly_caps(db, filters)
    weeks: dict[str, list[dict[str, Any]]] = {}
    if by == "client":
        for row in caps.itertuples(index=False):  # aggregated client-weeks, not contacts
            weeks.setdefault(str(row.client_key), []).append(
                {
                    "week": f"{row.week:%Y-%m-%d}",
                    "minutes": _number(row.counted_minutes),
                    "cap": _number(row.cap_minutes),
                    "over": bool(row.over),
                    "over_by": _number(row.over_by),
                }
            )
    else:
        per_therapist = caps.groupby(["therapist", "week"], as_index=False).agg(
            minutes=("counted_minutes", "sum"), clients_over=("over", "sum")
        )
        for therapist, week, minutes, clients_over in per_therapist[
            ["therapist", "week", "minutes", "clients_over"]
        ].itertuples(index=False, name=None):
            weeks.setdefault(str(therapist), []).append(
                {
                    "week": f"{week:%Y-%m-%d}",
                    "minutes": _number(minutes),
                    "clients_over": int(clients_over),
                }
            )
    report = []
    records: list[dict[str, Any]] = figures.to_dict("records")  # type: ignore[assignment]
    for figure in records:
        with_target = int(figure["with_target"])
        report.append(
            {
                "key": str(figure["key"]),
                "contacts": int(figure["contacts"]),
                "minutes": _number(figure["minutes"]),
                "weeks": sorted(weeks.get(str(figure["key"]), []), key=lambda week: week["week"]),
                "breach_weeks": int(figure["breach_weeks"]),
                "over_by_minutes": _number(figure["over_by_minutes"]),
                "out_of_policy_contacts": int(figure["out_of_policy_contacts"]),
                "after_hours_contacts": int(figure["after_hours_contacts"]),
                "after_hours_minutes": _number(figure["after_hours_minutes"]),
                "client_initiated_contacts": int(figure["client_contacts"]),
                "answered": int(figure["answered"]),
                "median_response_hours": _number(figure["median_response_hours"]),
                "p90_response_hours": _number(figure["p90_response_hours"]),
                "share_within_target": (
                    round(int(figure["within_target"]) / with_target, 4) if with_target else None
                ),
            }
        )
    return report


def working_windows(db: Database, filters: ContactFilter) -> list[tuple[int, time, time]]:
    """The working hours to shade on the weekday x hour heatmap: (weekday, start, end).

    With exactly one therapist selected, that therapist's hours in force at the end of the
    period; otherwise (or when none are stored) the default Mon-Fri 08:00-18:00.
    """
    default = [
        (weekday, DEFAULT_WORKING_HOURS.start, DEFAULT_WORKING_HOURS.end)
        for weekday in DEFAULT_WORKING_HOURS.weekdays
    ]
    if len(filters.therapist_ids) != 1:
        return default
    on = filters.end or date.today()
    statement = query(
        """
        SELECT w.weekday, w.starts, w.ends
        FROM working_hours AS w JOIN therapists AS t ON t.therapist_id = w.therapist_id
        WHERE w.therapist_id = $therapist_id AND {in_scope} AND {in_force}
        ORDER BY w.weekday, w.starts
        """,
        in_force=week_in_force(on),
        in_scope=filters.scope.fragment("t"),
        therapist_id=filters.therapist_ids[0],
    )
    with db.cursor() as cursor:
        rows = execute(cursor, statement).fetchall()
    return [(int(day), starts, ends) for day, starts, ends in rows] or default
