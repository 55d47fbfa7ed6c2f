"""Weekly caps: each client's weekly minutes against the weekly and category caps in force.

The rules (which agreement is in force, crisis minutes, whole and partial weeks) are those
of ``analytics.measures.fragments``.
"""

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.measures.fragments import caps_ctes
from analytics.measures.metrics import client_table, with_client_labels
from analytics.policy.in_force import resolved
from analytics.storage.database import Database
from analytics.storage.sql import TRUE, query, sql


def weekly_caps(db: Database, filters: ContactFilter, *, whole_weeks: bool = True) -> pd.DataFrame:
    """Each client's weekly minutes against the weekly cap in force that week.

    One row per client and local week with at least one contact under the filter (a week
    without contacts is under any cap and is not listed). Columns: client_key, therapist,
    week (the Monday), contacts, minutes (all), crisis_minutes, crisis_counts_toward_cap,
    counted_minutes (toward the cap: crisis left out unless the agreement counts it),
    cap_minutes (NULL when no cap is in force), over (counted above the cap; exactly at the
    cap is not over; false without a cap), over_by (minutes above the cap, 0 when under,
    NULL without a cap) and use_share (counted / cap; NULL without a cap or with a cap of 0).
    The cap is the one in force on the week's Monday. ``whole_weeks=False`` (the charts')
    counts only the days of a partial week inside the period, against the full cap.
    """
    return _weekly_caps(db, filters, over_only=False, whole_weeks=whole_weeks)


def _weekly_caps(
    db: Database, filters: ContactFilter, *, over_only: bool, whole_weeks: bool = True
) -> pd.DataFrame:
    """``weekly_caps``, or only its weeks over the cap, newest and largest first: picked in
    DuckDB, since every client-week as a frame cost 1 s at 1M contacts."""
    where, order = (
        (sql("j.over"), sql("week DESC, j.over_by DESC, cl.client_key"))
        if over_only
        else (TRUE, sql("cl.client_key, week"))
    )
    statement = query(
        """{ctes}
        SELECT cl.client_key, t.name AS therapist, j.day AS week, j.contacts, j.minutes,
               j.crisis_minutes, j.crisis_counts_toward_cap, j.counted_minutes,
               j.weekly_cap_minutes AS cap_minutes, j.over, j.over_by, j.use_share
        FROM judged_caps AS j
        JOIN clients AS cl USING (client_id)
        JOIN therapists AS t ON t.therapist_id = j.therapist_id
        WHERE {where}
        ORDER BY {order}
        """,
        ctes=caps_ctes(filters, whole_weeks=whole_weeks),
        where=where,
        order=order,
    )
    return db.frame(statement)


def category_caps(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Each client's weekly minutes per category against the category caps in force.

    One row per client-week listed by ``weekly_caps`` and per category capped in the
    agreement in force on that Monday, including categories with no minutes that week.
    Crisis minutes count toward a cap set on the crisis category itself whatever
    ``crisis_counts_toward_cap`` says (that flag concerns the overall weekly cap).
    Columns: client_key, therapist, week, category, minutes, cap_minutes, over, over_by
    and use_share, with the meanings of ``weekly_caps``.
    """
    statement = query(
        """{ctes}
        SELECT cl.client_key, t.name AS therapist, j.day AS week, j.category, j.minutes,
               j.cap_minutes, j.over, j.over_by, j.use_share
        FROM judged_category_caps AS j
        JOIN clients AS cl USING (client_id)
        JOIN therapists AS t ON t.therapist_id = j.therapist_id
        ORDER BY cl.client_key, week, j.category
        """,
        ctes=caps_ctes(filters),
    )
    return db.frame(statement)


_CAP_SUMMARY_SQL = """{ctes},
category_weeks AS (
    SELECT client_id, day, bool_or(over) AS category_over
    FROM judged_category_caps
    GROUP BY ALL
),
weeks_judged AS (
    SELECT j.*, coalesce(cw.category_over, false) AS category_over,
           j.weekly_cap_minutes IS NOT NULL OR cw.client_id IS NOT NULL AS capped
    FROM judged_caps AS j
    LEFT JOIN category_weeks AS cw USING (client_id, day)
),
per_client AS (
    SELECT client_id, any_value(therapist_id) AS therapist_id, count(*) AS weeks,
           count(*) FILTER (WHERE capped) AS weeks_with_cap,
           count(*) FILTER (WHERE over) AS weeks_over,
           count(*) FILTER (WHERE category_over) AS category_weeks_over,
           count(*) FILTER (WHERE over OR category_over) AS breach_weeks,
           coalesce(sum(over_by), 0) AS over_by_minutes
    FROM weeks_judged
    GROUP BY client_id
),
latest AS (
    SELECT pc.therapist_id, pc.client_id,
           CAST(date_trunc('week', coalesce(
               CAST($latest_end AS DATE), (SELECT max(local_started_at) FROM f)
           )) AS DATE) AS day
    FROM per_client AS pc
),
{resolved_latest}
SELECT cl.client_key, t.name AS therapist, pc.weeks, pc.weeks_with_cap, pc.weeks_over,
       pc.category_weeks_over, pc.breach_weeks, pc.over_by_minutes,
       l.day AS latest_week,
       coalesce(j.counted_minutes, 0) AS latest_minutes,
       l.weekly_cap_minutes AS latest_cap_minutes,
       coalesce(j.counted_minutes, 0) / nullif(l.weekly_cap_minutes, 0) AS latest_use_share,
       coalesce(coalesce(j.counted_minutes, 0) > l.weekly_cap_minutes, false) AS latest_over
FROM per_client AS pc
JOIN clients AS cl USING (client_id)
JOIN therapists AS t ON t.therapist_id = pc.therapist_id
JOIN judged_latest AS l USING (client_id)
LEFT JOIN judged_caps AS j ON j.client_id = l.client_id AND j.day = l.day
ORDER BY pc.breach_weeks DESC, pc.over_by_minutes DESC, cl.client_key
"""


def cap_summary(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Per client: weeks under a cap, weeks over it and the latest week's use (progress bars).

    One row per client with contacts in the (whole-week) period. Columns: client_key,
    therapist, weeks (listed by ``weekly_caps``), weeks_with_cap (a weekly or category cap in
    force), weeks_over (over the weekly cap), category_weeks_over (over at least one category
    cap), breach_weeks (either), over_by_minutes (sum of ``weekly_caps.over_by``),
    latest_week (the Monday of the week holding the period's end: the filter's end date, else
    the last contact under the filter), latest_minutes (counted toward the cap that week, 0
    when the client had none), latest_cap_minutes (NULL without a cap), latest_use_share and
    latest_over. Busiest breakers first.
    """
    statement = query(
        _CAP_SUMMARY_SQL,
        ctes=caps_ctes(filters),
        resolved_latest=resolved("judged_latest", "latest"),
        latest_end=filters.end,
    )
    return db.frame(statement)


def clients_against_caps(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """The Clients page's table (``metrics.client_table``) with each client's use of the cap.

    Adds latest_cap_minutes, latest_minutes, latest_use_share (the last week of the period:
    minutes counted toward the cap / cap) and breach_weeks; NULL where no cap is agreed.
    """
    table = client_table(db, filters)
    caps = cap_summary(db, filters)[
        ["client_key", "latest_cap_minutes", "latest_minutes", "latest_use_share", "breach_weeks"]
    ]
    merged = table.merge(caps, on="client_key", how="left")
    merged["breach_weeks"] = merged["breach_weeks"].fillna(0).astype(int)
    return merged


def weekly_cap_totals(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Per week: the caps agreed with the clients who had contact, and the minutes beyond.

    The Overview's weekly chart draws the cap itself when one client is shown, and the
    minutes beyond the agreed caps otherwise. Columns: period (the week's Monday),
    cap_minutes (sum of caps), counted_minutes, over_minutes (sum of minutes over each
    client's cap), clients (with a cap and contact that week). A partial week at an edge
    of the period counts only its days inside the period, against the full weekly cap
    (the module's rule), so over_minutes never exceeds the week's minutes in the period.
    """
    # Summed in DuckDB: one row per week comes back, not one per client and week.
    statement = query(
        """{ctes}
        SELECT j.day AS period, sum(j.weekly_cap_minutes) AS cap_minutes,
               sum(j.counted_minutes) AS counted_minutes, sum(j.over_by) AS over_minutes,
               count(DISTINCT j.client_id) AS clients
        FROM judged_caps AS j
        WHERE j.weekly_cap_minutes IS NOT NULL
        GROUP BY j.day
        ORDER BY period
        """,
        ctes=caps_ctes(filters, whole_weeks=False),
    )
    return db.frame(statement)


def weeks_over_cap(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Client-weeks over the agreed weekly cap, newest and largest first, with labels."""
    over = _weekly_caps(db, filters, over_only=True)
    return with_client_labels(db, filters.scope, over)
