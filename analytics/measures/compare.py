"""Comparing therapists and practices fairly, with small groups suppressed.

Raw totals mislead: caseloads differ and loads are skewed (DOMAIN.md, "Comparing fairly").
So every figure here is normalised, per group (a therapist or a practice) and for all
groups together (the total row):

* **minutes per active client per week**: contact minutes / active clients / (days in the
  period / 7), where an active client had any contact *or session* in the period;
* **minutes per 8 scheduled session hours**: contact minutes / scheduled session hours x 8,
  scheduled hours being sessions with a status in ``SCHEDULED_STATUSES`` (None without any);
* **after-hours share**: minutes outside the working hours in force that day (each
  therapist's own, as on the Boundaries page) / all minutes;
* **crisis share**: crisis minutes / all minutes;
* **top 10 % share**: minutes of the busiest ceil(10 % x clients with contact) clients (at
  least one) / all minutes, the Overview's definition;
* **response median**: median hours from a client-initiated contact to the next
  therapist-initiated one, in the unit each agreement names (as on the Boundaries page);
* **cap compliance**: client-weeks within the agreed weekly cap / client-weeks with a cap
  (``caps.weekly_caps``: weeks with contact, judged by the cap in force on Monday,
  crisis left out unless agreed; exactly at the cap is within);
* **percentile rank** of each shown group's minutes per active client per week among the
  shown groups: 100 x (r - 1) / (n - 1), where r is the group's rank from the lowest value
  (tied values take the average of their ranks) and n the number of shown groups; a single
  shown group gets 50. So the lowest is 0, the highest 100, the median group 50.

**Small-group suppression.** Any figure about fewer than k distinct clients can identify a
person. Following US federal cell-size policy for health data (DOMAIN.md, "Comparing
fairly": counts from 1 to 10 are suppressed, and so is any cell from which one can be worked
out), a group with fewer than k active clients shows no value at all, only the reason
("fewer than 11 clients"); k is the ``min_group_clients`` setting (default 11) or an
argument. Complementary suppression is decided once for every view a viewer can reach
(``suppression_pattern``; the rule is in ``analytics.access.suppression``): the therapist and
practice comparisons, the total row, the monthly trends, the downloads and the CLI all read
their hidden cells from it, so no sum across them (total minus practices, practice minus
therapists, period minus months) gives a hidden cell away. Comparisons hold no client rows
at all, so no client label can appear in them.

Every per-contact and per-session step runs in DuckDB SQL under the viewer's scope (the
filter's ``fragment``/``session_fragment``); only one row per group comes back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from analytics.access import suppression
from analytics.access.filters import ContactFilter, Period
from analytics.errors import InvalidFilterError
from analytics.measures.fragments import caps_ctes, contacts_ctes, response_ctes
from analytics.measures.metrics import data_period
from analytics.policy.in_force import IN_FORCE_CTES
from analytics.policy.working_hours import MARKED_CTE, working_hours_ctes
from analytics.storage.database import Database
from analytics.storage.schema import SCHEDULED_STATUSES
from analytics.storage.settings import SETTINGS, InvalidSettingError, get_setting
from analytics.storage.sql import Fragment, execute, identifier, query, sql

# SQL below is built with the query kit: grouping columns and bucket expressions come from
# the allow-lists right here, values always travel as named parameters.

GroupBy = Literal["therapist", "practice"]
GROUPINGS: tuple[GroupBy, ...] = ("therapist", "practice")

TOP_FRACTION = 0.10
"""The busiest tenth of clients, as on the Overview."""

SESSION_HOURS_BASIS = 8
"""Minutes per 8 scheduled session hours: roughly one full clinical day (DOMAIN.md)."""

TOTAL_GROUP_ID = 0
"""The group id of the total row (stored ids start at 1)."""


@dataclass(frozen=True)
class ComparedMeasure:
    """One normalised figure: its column, its label with unit, and how to show it."""

    column: str
    label: str
    unit: str
    kind: Literal["minutes", "share", "hours", "rank", "count"]


MEASURES: tuple[ComparedMeasure, ...] = (
    ComparedMeasure(
        "minutes_per_client_week", "Minutes per active client per week", "min", "minutes"
    ),
    ComparedMeasure(
        "minutes_per_8_session_hours", "Minutes per 8 scheduled session hours", "min", "minutes"
    ),
    ComparedMeasure("after_hours_share", "After-hours share", "%", "share"),
    ComparedMeasure("crisis_share", "Crisis share", "%", "share"),
    ComparedMeasure("top_client_share", "Top 10 % clients' share", "%", "share"),
    ComparedMeasure("response_median_hours", "Response time, median", "h", "hours"),
    ComparedMeasure("cap_compliance", "Client-weeks within cap", "%", "share"),
)
"""The normalised measures, in the order pages and the CLI show them."""

VALUE_COLUMNS = (
    "clients",
    "minutes",
    "scheduled_hours",
    *(measure.column for measure in MEASURES),
    "percentile_rank",
)
"""Every column a suppressed cell empties."""

# --- SQL ---------------------------------------------------------------------------------------

_GROUP_COLUMN: dict[str, str] = {"therapist": "therapist_id", "practice": "practice_id"}


# A bucket is the whole period ('period') or one local calendar month ('YYYY-MM').
def _bucket(bucket: str, column: Fragment) -> Fragment:
    if bucket == "period":
        return sql("'period'")
    return query("strftime({column}, '%Y-%m')", column=column)


# Each row twice: once for its own group, once for the total row (group 0).
_LEVELS_CTE = sql("levels AS (SELECT * FROM (VALUES (false), (true)) AS v(is_total))")

_LOAD_SQL = """WITH {contacts}, {hours}, {marked}, {settings}, {responses},
{levels},
keyed AS (
    SELECT {contact_bucket} AS bucket,
           CASE WHEN l.is_total THEN 0 ELSE c.{group} END AS group_id,
           c.client_id, c.minutes, c.category, c.after_hours
    FROM marked AS c CROSS JOIN levels AS l
),
contact_figures AS (
    SELECT bucket, group_id, sum(minutes) AS minutes,
           coalesce(sum(minutes) FILTER (WHERE after_hours), 0) AS after_hours_minutes,
           coalesce(sum(minutes) FILTER (WHERE category = 'crisis'), 0) AS crisis_minutes
    FROM keyed GROUP BY ALL
),
per_client AS (
    SELECT bucket, group_id, client_id, sum(minutes) AS minutes FROM keyed GROUP BY ALL
),
top_clients AS (
    SELECT bucket, group_id,
           sum(minutes) FILTER (WHERE rank <= greatest(ceil(with_contact * $top_fraction), 1))
               / nullif(sum(minutes), 0) AS top_client_share
    FROM (
        SELECT *, row_number() OVER (
                      PARTITION BY bucket, group_id ORDER BY minutes DESC, client_id
                  ) AS rank,
                  count(*) OVER (PARTITION BY bucket, group_id) AS with_contact
        FROM per_client
    )
    GROUP BY ALL
),
session_rows AS (SELECT s.* FROM sessions AS s WHERE {session_where}),
session_keyed AS (
    SELECT {session_bucket} AS bucket,
           CASE WHEN l.is_total THEN 0 ELSE s.{group} END AS group_id,
           s.client_id, s.minutes, s.status
    FROM session_rows AS s CROSS JOIN levels AS l
),
session_figures AS (
    SELECT bucket, group_id,
           sum(minutes) FILTER (WHERE list_contains($scheduled_statuses, status)) / 60
               AS scheduled_hours
    FROM session_keyed GROUP BY ALL
),
active AS (
    SELECT bucket, group_id, count(DISTINCT client_id) AS clients
    FROM (
        SELECT bucket, group_id, client_id FROM keyed
        UNION ALL
        SELECT bucket, group_id, client_id FROM session_keyed
    )
    GROUP BY ALL
),
responses AS (
    SELECT {response_bucket} AS bucket,
           CASE WHEN l.is_total THEN 0 ELSE t.{group} END AS group_id,
           median(r.hours) AS response_median_hours
    FROM timed AS r
    JOIN therapists AS t ON t.therapist_id = r.therapist_id
    CROSS JOIN levels AS l
    WHERE r.hours IS NOT NULL
    GROUP BY ALL
)
SELECT a.bucket, a.group_id, a.clients,
       coalesce(cf.minutes, 0) AS minutes,
       coalesce(cf.after_hours_minutes, 0) AS after_hours_minutes,
       coalesce(cf.crisis_minutes, 0) AS crisis_minutes,
       tc.top_client_share,
       sf.scheduled_hours,
       rs.response_median_hours
FROM active AS a
LEFT JOIN contact_figures AS cf USING (bucket, group_id)
LEFT JOIN top_clients AS tc USING (bucket, group_id)
LEFT JOIN session_figures AS sf USING (bucket, group_id)
LEFT JOIN responses AS rs USING (bucket, group_id)
"""

# Client-weeks under a weekly cap, per group: the client's therapist (or practice) and the
# Monday's month, or the period's first month for the week the period starts inside.
_CAPS_SQL = """{ctes},
{levels},
capped AS (
    SELECT {week_bucket} AS bucket,
           CASE WHEN l.is_total THEN 0 ELSE cl.{group} END AS group_id,
           j.over
    FROM judged_caps AS j
    JOIN clients AS cl USING (client_id)
    CROSS JOIN levels AS l
    WHERE j.weekly_cap_minutes IS NOT NULL
)
SELECT bucket, group_id, count(*) AS capped_weeks,
       count(*) FILTER (WHERE NOT over) AS weeks_within_cap
FROM capped GROUP BY ALL
"""

# Active clients per cell of every view: each grouping set is one level (therapist,
# practice, total) in one bucket (a month, or the whole period).
_CELLS_SQL = """WITH {contacts},
session_rows AS (SELECT s.* FROM sessions AS s WHERE {session_where}),
active AS (
    SELECT strftime(local_started_at, '%Y-%m') AS month, practice_id, therapist_id, client_id
    FROM f
    UNION
    SELECT strftime(local_started_at, '%Y-%m'), practice_id, therapist_id, client_id
    FROM session_rows
)
SELECT month, practice_id, therapist_id, count(DISTINCT client_id) AS clients,
       grouping(month) = 1 AS all_months,
       grouping(practice_id) = 1 AS all_practices,
       grouping(therapist_id) = 1 AS all_therapists
FROM active
GROUP BY GROUPING SETS (
    (month, practice_id, therapist_id), (month, practice_id), (month),
    (practice_id, therapist_id), (practice_id), ()
)
"""

# Normalising and ranking the few group rows of ``load_figures`` and ``cap_figures``; which
# of them are hidden comes from ``pattern`` (``suppression_pattern``, all views at once).
_JUDGE_SQL = """
WITH figures AS (
    SELECT lf.*, cf.capped_weeks, cf.weeks_within_cap,
           CASE WHEN lf.bucket = 'period' THEN CAST($period_first AS DATE)
                ELSE greatest(TRY_CAST(lf.bucket || '-01' AS DATE), CAST($period_first AS DATE))
           END AS first_day,
           CASE WHEN lf.bucket = 'period' THEN CAST($period_last AS DATE)
                ELSE least(CAST(TRY_CAST(lf.bucket || '-01' AS DATE) + INTERVAL 1 MONTH
                                - INTERVAL 1 DAY AS DATE), CAST($period_last AS DATE)) END
               AS last_day
    FROM load_figures AS lf
    LEFT JOIN cap_figures AS cf USING (bucket, group_id)
    WHERE $with_total OR lf.group_id <> 0
),
normalised AS (
    SELECT *,
           (last_day - first_day + 1) / 7 AS weeks,
           minutes / clients / ((last_day - first_day + 1) / 7) AS minutes_per_client_week,
           minutes / nullif(scheduled_hours, 0) * $basis AS minutes_per_8_session_hours,
           after_hours_minutes / nullif(minutes, 0) AS after_hours_share,
           crisis_minutes / nullif(minutes, 0) AS crisis_share,
           weeks_within_cap / nullif(capped_weeks, 0) AS cap_compliance
    FROM figures
),
judged AS (
    -- A cell the pattern does not know is hidden: never show what was not judged.
    SELECT n.*, coalesce(p.suppressed, true) AS suppressed,
           CASE WHEN p.suppressed IS NULL THEN 'not judged' ELSE p.suppressed_reason END
               AS suppressed_reason,
           n.group_id <> 0 AND NOT coalesce(p.suppressed, true) AS ranked
    FROM normalised AS n
    LEFT JOIN pattern AS p USING (bucket, group_id)
),
ranked AS (
    SELECT *,
           CASE WHEN ranked THEN
               CASE WHEN count(*) OVER shown = 1 THEN 50.0
                    ELSE 100.0 * (rank() OVER ordered - 1
                                  + (count(*) OVER tied - 1) / 2)
                         / (count(*) OVER shown - 1)
               END
           END AS percentile_rank
    FROM judged
    WINDOW shown AS (PARTITION BY bucket, ranked),
           ordered AS (PARTITION BY bucket, ranked ORDER BY minutes_per_client_week),
           tied AS (PARTITION BY bucket, ranked, minutes_per_client_week)
)
SELECT r.bucket, r.group_id, r.group_id = 0 AS is_total,
       CASE WHEN r.group_id = 0 THEN $total_name ELSE {name} END AS "group",
       {practice} AS practice,
       r.first_day, r.last_day, r.weeks,
       -- the VALUE_COLUMNS, each empty where the cell is suppressed
       CASE WHEN r.suppressed THEN NULL ELSE r.clients END AS clients,
       CASE WHEN r.suppressed THEN NULL ELSE r.minutes END AS minutes,
       CASE WHEN r.suppressed THEN NULL ELSE r.scheduled_hours END AS scheduled_hours,
       CASE WHEN r.suppressed THEN NULL ELSE r.minutes_per_client_week END
           AS minutes_per_client_week,
       CASE WHEN r.suppressed THEN NULL ELSE r.minutes_per_8_session_hours END
           AS minutes_per_8_session_hours,
       CASE WHEN r.suppressed THEN NULL ELSE r.after_hours_share END AS after_hours_share,
       CASE WHEN r.suppressed THEN NULL ELSE r.crisis_share END AS crisis_share,
       CASE WHEN r.suppressed THEN NULL ELSE r.top_client_share END AS top_client_share,
       CASE WHEN r.suppressed THEN NULL ELSE r.response_median_hours END
           AS response_median_hours,
       CASE WHEN r.suppressed THEN NULL ELSE r.cap_compliance END AS cap_compliance,
       CASE WHEN r.suppressed THEN NULL ELSE r.percentile_rank END AS percentile_rank,
       r.suppressed, r.suppressed_reason
FROM ranked AS r
{name_join}
ORDER BY r.bucket, r.group_id = 0, "group", r.group_id
"""

assert all(f"ELSE r.{column} END" in _JUDGE_SQL for column in VALUE_COLUMNS), (
    "every value column is emptied in a suppressed cell"
)

_NAMES: dict[str, tuple[Fragment, Fragment, Fragment]] = {
    # by: (name expression, practice expression, joins)
    "therapist": (
        sql("t.name"),
        sql("CASE WHEN r.group_id = 0 THEN NULL ELSE p.name END"),
        sql(
            "LEFT JOIN therapists AS t ON t.therapist_id = r.group_id\n"
            "LEFT JOIN practices AS p ON p.practice_id = t.practice_id"
        ),
    ),
    "practice": (
        sql("p.name"),
        sql("CASE WHEN r.group_id = 0 THEN NULL ELSE p.name END"),
        sql("LEFT JOIN practices AS p ON p.practice_id = r.group_id"),
    ),
}

_TOTAL_NAMES = {"therapist": "All therapists", "practice": "All practices"}


# --- building blocks -------------------------------------------------------------------------


def _group_size(db: Database, override: int | None = None) -> int:
    """The smallest group shown: ``override`` when given, else the stored setting (11)."""
    if override is None:
        return int(get_setting(db, "min_group_clients"))
    setting = SETTINGS["min_group_clients"]
    if isinstance(override, bool) or not setting.minimum <= override <= setting.maximum:
        raise InvalidSettingError(
            f"{setting.label} must be between {setting.minimum:g} and {setting.maximum:g} "
            f"{setting.unit}; {override} is outside that."
        )
    return int(override)


def _check_by(by: str) -> None:
    if by not in GROUPINGS:
        raise InvalidFilterError(f"Cannot compare by {by!r}; use {' or '.join(GROUPINGS)}.")


def _load_figures(db: Database, filters: ContactFilter, by: str, bucket: str) -> pd.DataFrame:
    """Per bucket and group (and group 0, all together): raw sums, not yet normalised."""
    statement = query(
        _LOAD_SQL,
        contacts=contacts_ctes(filters),
        hours=working_hours_ctes(),
        marked=MARKED_CTE,
        settings=IN_FORCE_CTES,
        responses=response_ctes(None),  # response times counted as each agreement says
        levels=_LEVELS_CTE,
        group=identifier(_GROUP_COLUMN[by], _GROUP_COLUMN.values()),
        contact_bucket=_bucket(bucket, sql("c.local_started_at")),
        session_bucket=_bucket(bucket, sql("s.local_started_at")),
        response_bucket=_bucket(bucket, sql("r.day")),
        session_where=filters.session_fragment(),
        top_fraction=TOP_FRACTION,
        scheduled_statuses=list(SCHEDULED_STATUSES),
    )
    return db.frame(statement)


def _cap_figures(
    db: Database, filters: ContactFilter, by: str, bucket: str, period: Period
) -> pd.DataFrame:
    """Per bucket and group: client-weeks with a weekly cap and those within it."""
    week = sql("greatest(j.day, CAST($first_day AS DATE))", first_day=period.start)
    statement = query(
        _CAPS_SQL,
        ctes=caps_ctes(filters),
        levels=_LEVELS_CTE,
        group=identifier(_GROUP_COLUMN[by], _GROUP_COLUMN.values()),
        week_bucket=_bucket(bucket, week),
    )
    return db.frame(statement)


def _judged(
    db: Database,
    filters: ContactFilter,
    by: str,
    bucket: str,
    min_clients: int | None,
    with_total: bool,
    pattern: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Normalised, suppressed and ranked figures per bucket and group."""
    _check_by(by)
    k = _group_size(db, min_clients)
    period = data_period(db, filters)
    if period is None:
        return _empty_frame()
    if pattern is None or not (pattern["min_group_clients"] == k).all():
        pattern = suppression_pattern(db, filters, k)
    cells = pattern[pattern["level"].isin([by, "total"])]
    cells = cells[["bucket", "group_id", "suppressed", "suppressed_reason"]]
    load_figures = _load_figures(db, filters, by, bucket)
    cap_figures = _cap_figures(db, filters, by, bucket, period)
    name, practice, name_join = _NAMES[by]
    statement = query(
        _JUDGE_SQL,
        name=name,
        practice=practice,
        name_join=name_join,
        basis=SESSION_HOURS_BASIS,
        period_first=period.start,
        period_last=period.end,
        with_total=with_total,
        total_name=_TOTAL_NAMES[by],
    )
    with db.cursor() as cursor:
        cursor.register("load_figures", load_figures)
        cursor.register("cap_figures", cap_figures)
        cursor.register("pattern", cells)
        frame = execute(cursor, statement).df()
    frame["suppressed_reason"] = frame["suppressed_reason"].astype(object)
    frame = frame.astype({column: "float64" for column in VALUE_COLUMNS})
    return (
        frame.astype(object)
        .where(frame.notna(), None)
        .astype({"group_id": "int64", "is_total": "bool", "suppressed": "bool"})
    )


def _cell_clients(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Active clients per cell: period and month, therapist, practice and total."""
    statement = query(
        _CELLS_SQL, contacts=contacts_ctes(filters), session_where=filters.session_fragment()
    )
    return db.frame(statement)


def suppression_pattern(
    db: Database, filters: ContactFilter, min_clients: int | None = None
) -> pd.DataFrame:
    """Which cells of every comparison view are hidden, decided once for all of them.

    One row per cell a viewer can reach under ``filters`` (scope and period): bucket
    (``"period"`` or ``"YYYY-MM"``), level (total, practice, therapist), group_id (0 for the
    total), clients, suppressed, suppressed_reason and min_group_clients (k). The therapist
    and practice comparisons, their totals, the monthly trends, the downloads and the CLI
    all read their hidden cells from here (``analytics.access.suppression`` has the rule).
    """
    k = _group_size(db, min_clients)
    counts = _cell_clients(db, filters)
    clients: dict[suppression.Cell, int] = {}
    practice_of: dict[int, int] = {}
    for row in counts.to_dict("records"):  # one row per cell: a few hundred at most
        if not row["clients"]:  # the empty grouping set when no rows match at all
            continue
        level: suppression.Level = "therapist"
        group_id = int(row["therapist_id"]) if not row["all_therapists"] else TOTAL_GROUP_ID
        if row["all_practices"]:
            level = "total"
        elif row["all_therapists"]:
            level, group_id = "practice", int(row["practice_id"])
        else:
            practice_of[group_id] = int(row["practice_id"])
        bucket = suppression.PERIOD if row["all_months"] else str(row["month"])
        clients[suppression.Cell(bucket, level, group_id)] = int(row["clients"])
    hidden = suppression.decide(clients, practice_of, k)
    cells = sorted(clients)
    return pd.DataFrame(
        {
            "bucket": [cell.bucket for cell in cells],
            "level": [cell.level for cell in cells],
            "group_id": pd.Series([cell.group_id for cell in cells], dtype="int64"),
            "clients": pd.Series([clients[cell] for cell in cells], dtype="int64"),
            "suppressed": pd.Series([cell in hidden for cell in cells], dtype="bool"),
            "suppressed_reason": pd.Series([hidden.get(cell) for cell in cells], dtype=object),
            "min_group_clients": pd.Series([k] * len(cells), dtype="int64"),
        }
    )


def _empty_frame() -> pd.DataFrame:
    columns = [
        "bucket", "group_id", "is_total", "group", "practice", "first_day", "last_day",
        "weeks", *VALUE_COLUMNS, "suppressed", "suppressed_reason",
    ]  # fmt: skip
    return pd.DataFrame(columns=columns)


# --- public measures ----------------------------------------------------------------------------


def comparison(
    db: Database,
    filters: ContactFilter,
    by: str = "therapist",
    min_clients: int | None = None,
    with_total: bool = True,
    pattern: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per therapist or practice (and a total row last): the normalised measures.

    Columns: group_id, group (name), practice (a therapist's practice), is_total,
    first_day, last_day, weeks (days / 7), clients (active), minutes, scheduled_hours, the
    ``MEASURES`` columns, percentile_rank (0-100, groups only), suppressed and
    suppressed_reason. A suppressed row holds None in every value column; which rows are
    hidden comes from ``pattern`` (``suppression_pattern``, worked out when not given).
    """
    frame = _judged(db, filters, by, "period", min_clients, with_total, pattern)
    return frame.drop(columns=["bucket"]).reset_index(drop=True)


def monthly_trend(
    db: Database,
    filters: ContactFilter,
    by: str = "therapist",
    min_clients: int | None = None,
    pattern: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The same rows per local calendar month (column ``month``, ``YYYY-MM``), hidden where
    ``suppression_pattern`` says; a month's weeks are its days inside the period / 7."""
    frame = _judged(db, filters, by, "month", min_clients, True, pattern)
    return frame.rename(columns={"bucket": "month"}).reset_index(drop=True)


def distribution(
    db: Database,
    filters: ContactFilter,
    min_clients: int | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One value per shown therapist and measure, for box and strip plots (never per client).

    Columns: therapist, practice, measure (a ``MEASURES`` column), label, value and
    percentile_rank (of the value among the therapists with one, same formula as the
    comparison's). Suppressed therapists and missing values (e.g. no sessions) are left out.
    ``table`` is ``comparison(db, filters, "therapist", min_clients)`` when the caller
    already has it (the Compare page does): working it out again cost 2 s at 1M contacts.
    """
    if table is None:
        table = comparison(db, filters, "therapist", min_clients)
    shown = table[~table["suppressed"] & ~table["is_total"]]
    long = shown.melt(
        id_vars=["group", "practice"],
        value_vars=[measure.column for measure in MEASURES],
        var_name="measure",
        value_name="value",
    ).rename(columns={"group": "therapist"})
    long = long[long["value"].notna()].reset_index(drop=True)
    labels = {measure.column: measure.label for measure in MEASURES}
    long.insert(3, "label", long["measure"].map(labels))
    long["value"] = long["value"].astype(float)
    by_measure = long.groupby("measure")["value"]
    ranks = by_measure.rank(method="average")  # ties share the average of their ranks
    counts = by_measure.transform("count")
    long["percentile_rank"] = (100 * (ranks - 1) / (counts - 1).where(counts > 1)).fillna(50.0)
    return long


def ranked_by(table: pd.DataFrame, measure: ComparedMeasure) -> pd.DataFrame:
    """The shown groups of ``comparison`` ranked by ``measure``: group, value, percentile_rank.

    The comparison's formula (100 x (r - 1) / (n - 1), ties averaged, a single group 50)
    applied to the chosen measure instead of minutes per active client per week; groups
    without a value (suppressed, or no sessions for a per-session measure) are left out.
    """
    shown = table[~table["is_total"].astype(bool) & ~table["suppressed"].astype(bool)]
    frame = pd.DataFrame(
        {"group": shown["group"], "value": pd.to_numeric(shown[measure.column], errors="coerce")}
    )
    frame = frame[frame["value"].notna()].reset_index(drop=True)
    ranks = frame["value"].rank(method="average")
    count = len(frame)
    frame["percentile_rank"] = 50.0 if count == 1 else 100 * (ranks - 1) / max(count - 1, 1)
    return frame


def comparison_report(
    db: Database,
    filters: ContactFilter,
    by: str = "therapist",
    min_clients: int | None = None,
    months: bool = False,
) -> dict[str, Any]:
    """The ``contactload compare --json`` document: the period, k, each group and the total
    (and with ``months`` the same per local month).

    Suppressed values are null and the row carries ``suppressed_reason``; every row reads
    its hidden cells from the one ``suppression_pattern``.
    """
    _check_by(by)
    k = _group_size(db, min_clients)
    pattern = suppression_pattern(db, filters, k)
    period = data_period(db, filters)
    report: dict[str, Any] = {
        "by": by,
        "from": None if period is None else period.start.isoformat(),
        "to": None if period is None else period.end.isoformat(),
        "days": None if period is None else period.days,
        "min_group_clients": k,
        **_report_rows(comparison(db, filters, by, k, pattern=pattern), by),
    }
    if months:
        trend = monthly_trend(db, filters, by, k, pattern=pattern)
        report["months"] = [
            {"month": month, **_report_rows(trend[trend["month"] == month], by)}
            for month in sorted(set(trend["month"]))
        ]
    return report


def _report_rows(table: pd.DataFrame, by: str) -> dict[str, Any]:
    """``groups`` and ``total`` of one comparison table, as the JSON document holds them."""
    rows = [_report_row({str(key): value for key, value in row.items()}, by)
            for row in table.to_dict("records")]  # fmt: skip
    totals = [row for row in rows if row["is_total"]]
    for row in rows:
        del row["is_total"]
    return {
        "groups": [row for row in rows if not any(row is total for total in totals)],
        "total": totals[0] if totals else None,
    }


def with_hidden_words(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison or trend table for a download: each hidden value cell says
    "suppressed: <reason>" instead of being empty, so no reader takes it for zero."""
    shown = table.copy()
    hidden = shown["suppressed"].to_numpy(dtype=bool)
    words = [f"suppressed: {reason}" for reason in shown.loc[hidden, "suppressed_reason"]]
    for column in VALUE_COLUMNS:
        values = shown[column].astype(object)
        values[hidden] = words
        shown[column] = values
    return shown


def _report_row(row: dict[str, Any], by: str) -> dict[str, Any]:
    def number(value: Any) -> float | None:
        return None if value is None else round(float(value), 4)

    report: dict[str, Any] = {"is_total": bool(row["is_total"]), by: row["group"]}
    if by == "therapist" and not row["is_total"]:
        report["practice"] = row["practice"]
    report["clients"] = None if row["clients"] is None else int(row["clients"])
    report["weeks"] = number(row["weeks"])
    report["minutes"] = number(row["minutes"])
    report["scheduled_hours"] = number(row["scheduled_hours"])
    for measure in MEASURES:
        report[measure.column] = number(row[measure.column])
    if not row["is_total"]:
        report["percentile_rank"] = number(row["percentile_rank"])
    report["suppressed"] = bool(row["suppressed"])
    report["suppressed_reason"] = row["suppressed_reason"]
    return report


__all__ = [
    "GROUPINGS",
    "MEASURES",
    "SESSION_HOURS_BASIS",
    "TOP_FRACTION",
    "ComparedMeasure",
    "comparison",
    "comparison_report",
    "distribution",
    "monthly_trend",
    "suppression_pattern",
    "with_hidden_words",
]
