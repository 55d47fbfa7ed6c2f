"""Compliance: the measured load next to the boundaries therapist and client agreed.

Every measure takes the database and one ``ContactFilter``, like those of ``metrics``, and
does all per-contact work in DuckDB SQL; only aggregated frames (or the few rows of a
breach list) come back to Python.

How settings are resolved (the rules every measure below shares):

* **Boundaries** (table ``boundaries``) are judged on the therapist's local date. For a
  contact that is its own local date; for a client-week it is the week's Monday, so a cap
  that changes on a Wednesday applies from the following week (one week, one cap). The
  therapist's default row (``client_id`` NULL) in force on that date is the latest with
  ``effective_from`` on or before it; the client's override row is found the same way, and
  its non-NULL fields replace the default's field by field (two rows of one scope on one
  date: the one stored last wins). A list or map field is one field: an override
  ``{'support': 60}`` replaces the default's category caps as a whole, it is not merged
  key by key. Boundaries are keyed by (therapist, client): a
  contact is judged by its own therapist's agreement with the client, a client-week by the
  agreement with the client's therapist (``clients.therapist_id``); with one therapist per
  client, the usual case, the two are the same.
* **Unset fields** mean: no weekly cap, no category caps, every channel allowed, every
  channel may carry every category, no response target, response time in calendar hours,
  crisis minutes not counted toward caps (DOMAIN.md: crisis is shown apart).
* **Working hours** (table ``working_hours``) are a dated weekly schedule: on a date, the
  therapist's rows with the latest ``effective_from`` on or before it form the schedule, and
  the date's weekday takes that schedule's rows (none: a day off; several: a split shift).
  Where no stored schedule is in force (a therapist with no rows at all, or a date before
  their first row), ``metrics.DEFAULT_WORKING_HOURS`` (Mon-Fri 08:00-18:00) applies, so the
  after-hours figures here equal the Overview's until a therapist stores their own hours.
* **Weeks** are ISO weeks of the therapist's local calendar, keyed by the Monday's date.
  A cap is weekly, so the cap measures judge every week that overlaps the filter's period on
  all seven of its days (a period starting on a Wednesday still judges that whole week).
* **Partial weeks on charts** (``weekly_cap_totals``, ``weekly_caps(..., whole_weeks=False)``)
  count only the days inside the period, against the *full* weekly cap: a chart's bar holds
  only those days, so the minutes beyond the cap drawn over it never exceed the bar, and
  every minute shown beyond the cap is one the whole week went beyond it too (pro-rating
  the cap by days would assume the load is spread evenly and could report a breach the
  whole week never had).
"""

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any, Literal

import pandas as pd

from analytics.access.filters import ContactFilter, Period
from analytics.access.scope import Scope
from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import InvalidFilterError
from analytics.measures.metrics import client_table, data_period
from analytics.output.wording import sql_words
from analytics.policy import in_force, working_hours
from analytics.policy.working_hours import DEFAULT_WORKING_HOURS, WorkingHours
from analytics.storage.database import Database

# SQL below is fixed text: CTE names and fragments are module constants, values always
# travel as parameters (in the order their placeholders appear), which is why composing
# the text with f-strings is safe (ruff S608 is silenced where that happens).

ResponseMode = Literal["agreed", "calendar", "working"]
"""How response times are counted: as each agreement says, or all in one unit."""

RESPONSE_MODES: tuple[ResponseMode, ...] = ("agreed", "calendar", "working")

DRIFT_THRESHOLD = 0.5
"""A week drifts when it is more than 50% above its baseline (the issue's example)."""
DRIFT_BASELINE_WEEKS = 8
"""The baseline is the median of the previous 8 weeks."""
DRIFT_MIN_MINUTES = 30.0
"""Weeks under 30 minutes never alert: a rise from 5 to 10 minutes is noise, not drift."""

# --- shared SQL ---------------------------------------------------------------------------


def _contacts_cte(filters: ContactFilter) -> tuple[str, list[object]]:
    """The CTEs ``f`` (contacts under ``filters``), ``visible`` (every contact in the
    viewer's scope, whatever the period: replies may come after it) and ``own_clients``
    (clients whose own therapist is in scope: their agreements and caps are the scope's,
    a colleague's client one stood in for is not), without WITH, and their parameters."""
    where, params = filters.where()
    visible, visible_params = filters.scope.where("v")
    own, own_params = filters.scope.where("o")
    return (
        f"f AS (SELECT c.* FROM contacts AS c WHERE {where}), "  # noqa: S608
        f"visible AS (SELECT v.* FROM contacts AS v WHERE {visible}), "
        f"own_clients AS (SELECT o.* FROM clients AS o WHERE {own})",
        [*params, *visible_params, *own_params],
    )


# Which agreement is in force (the rows and the field-by-field merge) is policy's one SQL
# rule; these fragments carry no parameters, so their text joins the templates below.
_SETTINGS_CTES = in_force.IN_FORCE_CTES.text


def _resolved(name: str, source: str) -> str:
    """A CTE ``name``: the rows of CTE ``source`` with the settings in force on their day."""
    return in_force.resolved(name, source).text


def _agreements(name: str, source: str) -> str:
    """A CTE ``name``: category caps, channels and channel categories per pair of ids."""
    return in_force.agreements(name, source).text


# Working-hours schedules. The fallback schedule is in force "from the beginning of time"
# for every therapist, so it applies wherever no stored schedule is (yet) in force.
_HOURS_CTES = """
hours_rows AS (
    SELECT therapist_id, effective_from, weekday, starts, ends FROM working_hours
    UNION ALL
    SELECT t.therapist_id, DATE '0001-01-01', w.weekday, CAST(? AS TIME), CAST(? AS TIME)
    FROM therapists AS t CROSS JOIN unnest(?) AS w(weekday)
),
hour_versions AS (
    SELECT therapist_id, effective_from,
           lead(effective_from, 1, DATE '9999-12-31') OVER (
               PARTITION BY therapist_id ORDER BY effective_from
           ) AS until
    FROM (SELECT DISTINCT therapist_id, effective_from FROM hours_rows)
),
-- The windows of each weekday of each schedule, with the schedule's span: a weekday the
-- schedule in force leaves out matches no row (a day off), whatever older schedules said.
day_hours AS (
    SELECT h.therapist_id, h.weekday, v.effective_from, v.until,
           list({'starts': h.starts, 'ends': h.ends} ORDER BY h.starts) AS windows
    FROM hours_rows AS h JOIN hour_versions AS v USING (therapist_id, effective_from)
    GROUP BY ALL
)
"""


def _hours_ctes(fallback: WorkingHours = DEFAULT_WORKING_HOURS) -> tuple[str, list[object]]:
    """CTEs ``hours_rows``, ``hour_versions`` and ``day_hours``, and their parameters."""
    return _HOURS_CTES, [fallback.start, fallback.end, list(fallback.weekdays)]


# Contacts under the filter marked after hours or not: policy's one after-hours rule (the
# fragment carries no parameters, so its text joins the templates here).
_MARKED_CTE = working_hours.MARKED_CTE.text


def _whole_weeks(filters: ContactFilter) -> ContactFilter:
    """The filter widened to whole local weeks: from a Monday to a Sunday."""
    start = filters.start
    end = filters.end
    if start is not None:
        start = start - timedelta(days=start.weekday())
    if end is not None:
        end = end + timedelta(days=6 - end.weekday())
    return filters.with_period(start, end)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- weekly caps --------------------------------------------------------------------------

# Per client and week: minutes, crisis minutes, the settings in force on the Monday, the
# minutes counted toward the cap and the per-category minutes. ``f`` must hold whole weeks.
_CAPS_CTES = """
week_minutes AS (
    SELECT client_id, CAST(date_trunc('week', local_started_at) AS DATE) AS day,
           count(*) AS contacts, sum(minutes) AS minutes,
           coalesce(sum(minutes) FILTER (WHERE category = 'crisis'), 0) AS crisis_minutes
    FROM f
    GROUP BY ALL
),
client_weeks AS (
    SELECT cl.therapist_id, w.*
    FROM week_minutes AS w JOIN own_clients AS cl USING (client_id)
),
{resolved_weeks},
caps AS (
    SELECT *,
           minutes - CASE WHEN crisis_counts_toward_cap THEN 0 ELSE crisis_minutes END
               AS counted_minutes
    FROM judged_weeks
),
judged_caps AS (
    SELECT *,
           coalesce(counted_minutes > weekly_cap_minutes, false) AS over,
           CASE WHEN weekly_cap_minutes IS NOT NULL
                THEN greatest(counted_minutes - weekly_cap_minutes, 0) END AS over_by,
           counted_minutes / nullif(weekly_cap_minutes, 0) AS use_share
    FROM caps
),
category_minutes AS (
    SELECT client_id, CAST(date_trunc('week', local_started_at) AS DATE) AS day, category,
           sum(minutes) AS minutes
    FROM f
    GROUP BY ALL
),
{week_agreements},
category_cap_rows AS (
    SELECT w.therapist_id, w.client_id, w.day, a.cap
    FROM judged_weeks AS w
    JOIN (
        SELECT default_id, override_id, unnest(map_entries(category_caps)) AS cap
        FROM week_agreements WHERE category_caps IS NOT NULL
    ) AS a USING (default_id, override_id)
),
judged_category_caps AS (
    SELECT r.therapist_id, r.client_id, r.day, r.cap.key AS category,
           coalesce(m.minutes, 0) AS minutes, r.cap.value AS cap_minutes,
           coalesce(m.minutes, 0) > r.cap.value AS over,
           greatest(coalesce(m.minutes, 0) - r.cap.value, 0) AS over_by,
           coalesce(m.minutes, 0) / nullif(r.cap.value, 0) AS use_share
    FROM category_cap_rows AS r
    LEFT JOIN category_minutes AS m
        ON m.client_id = r.client_id AND m.day = r.day AND m.category = r.cap.key
)
""".format(  # noqa: S608
    resolved_weeks=_resolved("judged_weeks", "client_weeks").strip(),
    week_agreements=_agreements("week_agreements", "judged_weeks").strip(),
)


def _caps_ctes(filters: ContactFilter, *, whole_weeks: bool = True) -> tuple[str, list[object]]:
    """WITH clause up to ``judged_caps`` and ``judged_category_caps``, and its parameters.

    ``whole_weeks=False`` counts only the contacts inside the filter's period (the charts'
    rule for partial weeks); the cap is still the one in force on each week's Monday.
    """
    contacts, params = _contacts_cte(_whole_weeks(filters) if whole_weeks else filters)
    return f"WITH {contacts}, {_SETTINGS_CTES}, {_CAPS_CTES}", params


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
    ctes, params = _caps_ctes(filters, whole_weeks=whole_weeks)
    where, order = (
        ("WHERE j.over", "week DESC, j.over_by DESC, cl.client_key")
        if over_only
        else ("", "cl.client_key, week")
    )
    return db.frame(
        f"""{ctes}
        SELECT cl.client_key, t.name AS therapist, j.day AS week, j.contacts, j.minutes,
               j.crisis_minutes, j.crisis_counts_toward_cap, j.counted_minutes,
               j.weekly_cap_minutes AS cap_minutes, j.over, j.over_by, j.use_share
        FROM judged_caps AS j
        JOIN clients AS cl USING (client_id)
        JOIN therapists AS t ON t.therapist_id = j.therapist_id
        {where}
        ORDER BY {order}
        """,  # noqa: S608
        params,
    )


def category_caps(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Each client's weekly minutes per category against the category caps in force.

    One row per client-week listed by ``weekly_caps`` and per category capped in the
    agreement in force on that Monday, including categories with no minutes that week.
    Crisis minutes count toward a cap set on the crisis category itself whatever
    ``crisis_counts_toward_cap`` says (that flag concerns the overall weekly cap).
    Columns: client_key, therapist, week, category, minutes, cap_minutes, over, over_by
    and use_share, with the meanings of ``weekly_caps``.
    """
    ctes, params = _caps_ctes(filters)
    return db.frame(
        f"""{ctes}
        SELECT cl.client_key, t.name AS therapist, j.day AS week, j.category, j.minutes,
               j.cap_minutes, j.over, j.over_by, j.use_share
        FROM judged_category_caps AS j
        JOIN clients AS cl USING (client_id)
        JOIN therapists AS t ON t.therapist_id = j.therapist_id
        ORDER BY cl.client_key, week, j.category
        """,  # noqa: S608
        params,
    )


_CAP_SUMMARY_SQL = """
,
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
               CAST(? AS DATE), (SELECT max(local_started_at) FROM f)
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
""".format(resolved_latest=_resolved("judged_latest", "latest").strip())  # noqa: S608


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
    ctes, params = _caps_ctes(filters)
    return db.frame(ctes + _CAP_SUMMARY_SQL, [*params, filters.end])


# --- channels and categories outside the agreement ----------------------------------------

# The (channel, category) pairs each agreement refuses, with the reason, worked out once
# per agreement (crossed with every channel and category) and joined back to the contacts
# by equality: no per-contact list or map work, however many contacts there are.
_OUT_OF_POLICY_CTES = """
,
dated AS (SELECT *, CAST(local_started_at AS DATE) AS day FROM f),
{resolved_contacts},
{contact_agreements},
judged_pairs AS (
    SELECT a.default_id, a.override_id, a.allowed_channels, ch.channel, cat.category,
           coalesce(NOT list_contains(a.allowed_channels, ch.channel), false)
               AS channel_refused,
           a.channel_categories[ch.channel] AS carried
    FROM contact_agreements AS a
    CROSS JOIN unnest(?) AS ch(channel) CROSS JOIN unnest(?) AS cat(category)
),
refused_pairs AS (
    SELECT default_id, override_id, channel, category,
           concat_ws('; ',
               CASE WHEN channel_refused THEN format(
                   '{{}} is not an agreed channel (agreed: {{}})', {channel_words},
                   coalesce(nullif(array_to_string(
                       list_transform(list_sort(allowed_channels), lambda c: {c_channel_words}),
                       ', '), ''), 'none'))
               END,
               CASE WHEN NOT list_contains(carried, category) THEN format(
                   '{{}} may carry only {{}}, not {{}}', {channel_words},
                   coalesce(nullif(array_to_string(
                       list_transform(list_sort(carried), lambda c: {c_category_words}),
                       ', '), ''), 'nothing'),
                   {category_words})
               END
           ) AS reason
    FROM judged_pairs
    WHERE channel_refused OR coalesce(NOT list_contains(carried, category), false)
),
refused AS (
    SELECT v.*, r.reason
    FROM judged_contacts AS v
    JOIN refused_pairs AS r USING (default_id, override_id, channel, category)
)
""".format(  # noqa: S608
    resolved_contacts=_resolved("judged_contacts", "dated").strip(),
    # The reason is read by people (page, report, downloads): channels and categories in words.
    channel_words=sql_words("channel", CHANNEL_LABELS),
    category_words=sql_words("category", CATEGORY_LABELS),
    c_channel_words=sql_words("c", CHANNEL_LABELS),
    c_category_words=sql_words("c", CATEGORY_LABELS),
    contact_agreements=_agreements("contact_agreements", "judged_contacts").strip(),
)

_OUT_OF_POLICY_SQL = """
SELECT r.local_started_at, cl.client_key, t.name AS therapist, r.channel, r.category,
       r.direction, r.minutes, r.reason
FROM refused AS r
JOIN clients AS cl ON cl.client_id = r.client_id
JOIN therapists AS t ON t.therapist_id = r.therapist_id
ORDER BY r.local_started_at, cl.client_key
"""


def _out_of_policy_query(filters: ContactFilter) -> tuple[str, list[object]]:
    """The out-of-policy CTEs (up to ``refused``) and their parameters."""
    contacts, params = _contacts_cte(filters)
    return (
        f"WITH {contacts}, {_SETTINGS_CTES}{_OUT_OF_POLICY_CTES}",
        [*params, list(CHANNELS), list(CATEGORIES)],
    )


def out_of_policy(db: Database, filters: ContactFilter, limit: int | None = None) -> pd.DataFrame:
    """Contacts on a channel not agreed, or carrying a category their channel may not carry.

    Judged by the agreement in force on each contact's local date. Metadata only, oldest
    first, at most ``limit`` rows (all when None). Columns: local_started_at, client_key,
    therapist, channel, category, direction, minutes and reason (one sentence per broken
    rule, joined by "; ").
    """
    if limit is not None and limit < 0:
        raise InvalidFilterError(f"A list cannot hold {limit} rows; ask for 0 or more.")
    ctes, params = _out_of_policy_query(filters)
    sql = ctes + _OUT_OF_POLICY_SQL
    if limit is not None:
        sql += " LIMIT ?"
        params = [*params, limit]
    return db.frame(sql, params)


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
    contacts, params = _contacts_cte(filters)
    hours, hour_params = _hours_ctes()
    return db.frame(
        f"""WITH {contacts}, {hours}, {_MARKED_CTE}
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
        """,  # noqa: S608
        [*params, *hour_params],
    )


# --- response times -------------------------------------------------------------------------

# For each client-initiated contact under the filter, the next therapist-initiated contact
# with the same client (any therapist, channel or date: a reply by phone to a text is a
# reply, and one after the period's end still answers a message inside it). Contacts with
# no time of day are neither asked nor answers: their order within the day is unknown.
#
# Working hours between two instants: every working window of the therapist's days in the
# span is turned into a pair of instants (DST-correct via timezone()), overlapping windows
# are merged, and a running total gives the working seconds before each day; the working
# time up to an instant is then that day's total plus the part of the day's windows before
# it (an equality join on the local day), and the time between two instants a difference
# of two such lookups. (Two ASOF joins on the instants did the same, twice as slowly.)
# Working seconds of one day (a ``clock`` row) before an instant on that day.
_WORKED_UNTIL = (
    "coalesce(list_sum(list_transform({day}.windows, lambda w: "
    "greatest(0, epoch(least({instant}, w.closes) - w.opens)))), 0)"
)

# The one parameter of these CTEs, the response-time mode (NULL: as each agreement says;
# true: working hours; false: calendar hours), sits in the first CTE so that each contact
# can ask it. Only contacts counted in working hours go near the working-hours clock:
# building the clock and joining every contact to it was half of the query at 1M contacts
# (README, Performance), for figures that calendar hours never use.
_RESPONSE_CTES = """
,
response_mode AS (SELECT CAST(? AS BOOLEAN) AS working),
replies AS (
    SELECT client_id, started_at FROM visible WHERE direction = 'therapist' AND time_known
),
asked AS (
    SELECT a.therapist_id, a.client_id, a.started_at, a.time_known,
           CAST(a.local_started_at AS DATE) AS day,
           CASE WHEN a.time_known THEN r.started_at END AS answered_at
    FROM f AS a
    ASOF LEFT JOIN replies AS r ON r.client_id = a.client_id AND a.started_at < r.started_at
    WHERE a.direction = 'client'
),
{resolved_asked},
spans AS (
    SELECT j.therapist_id, t.time_zone, min(j.day) AS first_day,
           max(CAST(timezone(t.time_zone, j.answered_at) AS DATE)) AS last_day
    FROM judged_asked AS j JOIN therapists AS t USING (therapist_id)
    WHERE j.answered_at IS NOT NULL
          AND coalesce((SELECT working FROM response_mode), j.response_in_working_hours)
    GROUP BY ALL
),
span_days AS (
    SELECT therapist_id, time_zone,
           CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS day
    FROM spans
),
day_windows AS (
    SELECT d.therapist_id, d.time_zone, d.day, unnest(dh.windows) AS w
    FROM span_days AS d
    JOIN day_hours AS dh
        ON dh.therapist_id = d.therapist_id AND dh.weekday = isodow(d.day) - 1
           AND d.day >= dh.effective_from AND d.day < dh.until
),
windows AS (
    SELECT therapist_id, day, timezone(time_zone, day + w.starts) AS opens,
           timezone(time_zone, day + w.ends) AS closes
    FROM day_windows
),
islands AS (
    SELECT therapist_id, day, opens, closes,
           sum(CASE WHEN opens <= previous_closes THEN 0 ELSE 1 END) OVER (
               PARTITION BY therapist_id ORDER BY opens, closes ROWS UNBOUNDED PRECEDING
           ) AS island
    FROM (
        SELECT *, max(closes) OVER (
            PARTITION BY therapist_id ORDER BY opens, closes
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_closes
        FROM windows
    )
),
merged AS (
    SELECT therapist_id, min(day) AS day, min(opens) AS opens, max(closes) AS closes
    FROM islands GROUP BY therapist_id, island
),
clock AS (
    SELECT therapist_id, day, windows,
           coalesce(sum(day_seconds) OVER (
               PARTITION BY therapist_id ORDER BY day
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ), 0) AS worked_before
    FROM (
        SELECT d.therapist_id, d.day,
               list({{'opens': m.opens, 'closes': m.closes}}) FILTER (WHERE m.opens IS NOT NULL)
                   AS windows,
               coalesce(sum(epoch(m.closes - m.opens)), 0) AS day_seconds
        FROM span_days AS d
        LEFT JOIN merged AS m ON m.therapist_id = d.therapist_id AND m.day = d.day
        GROUP BY ALL
    )
),
-- Contacts counted in working hours meet the clock; the others take calendar hours.
timed AS (
    SELECT j.*,
           CASE WHEN j.answered_at IS NOT NULL THEN
               (b.worked_before + {worked_until_answer}
                - a.worked_before - {worked_until_ask}) / 3600
           END AS hours
    FROM judged_asked AS j
    JOIN therapists AS t USING (therapist_id)
    LEFT JOIN clock AS a ON a.therapist_id = j.therapist_id AND a.day = j.day
    LEFT JOIN clock AS b
        ON b.therapist_id = j.therapist_id
           AND b.day = CAST(timezone(t.time_zone, j.answered_at) AS DATE)
    WHERE coalesce((SELECT working FROM response_mode), j.response_in_working_hours)
    UNION ALL BY NAME
    SELECT j.*, epoch(j.answered_at - j.started_at) / 3600 AS hours
    FROM judged_asked AS j
    WHERE NOT coalesce((SELECT working FROM response_mode), j.response_in_working_hours)
)
""".format(  # noqa: S608
    resolved_asked=_resolved("judged_asked", "asked").strip(),
    worked_until_answer=_WORKED_UNTIL.format(day="b", instant="j.answered_at"),
    worked_until_ask=_WORKED_UNTIL.format(day="a", instant="j.started_at"),
)

_RESPONSE_SQL = """
SELECT grouping(t.therapist_id) = 1 AS overall, any_value(t.name) AS therapist,
       count(*) FILTER (WHERE r.time_known) AS client_contacts,
       count(r.answered_at) AS answered,
       count(*) FILTER (WHERE r.time_known AND r.answered_at IS NULL) AS unanswered,
       median(r.hours) AS median_hours,
       quantile_cont(r.hours, 0.9) AS p90_hours,
       count(*) FILTER (
           WHERE r.answered_at IS NOT NULL AND r.response_target_hours IS NOT NULL
       ) AS with_target,
       count(*) FILTER (WHERE r.hours <= r.response_target_hours) AS within_target,
       count(*) FILTER (WHERE r.hours <= r.response_target_hours) / nullif(count(*) FILTER (
           WHERE r.answered_at IS NOT NULL AND r.response_target_hours IS NOT NULL
       ), 0) AS share_within_target,
       count(*) FILTER (WHERE NOT r.time_known) AS untimed
FROM timed AS r JOIN therapists AS t ON t.therapist_id = r.therapist_id
GROUP BY GROUPING SETS ((t.therapist_id), ())
ORDER BY overall, therapist
"""

_RESPONSE_COLUMNS = (
    "therapist",
    "client_contacts",
    "answered",
    "unanswered",
    "median_hours",
    "p90_hours",
    "with_target",
    "within_target",
    "share_within_target",
    "untimed",
)


@dataclass(frozen=True, eq=False)
class ResponseSummary:
    """How fast client-initiated contacts were answered, overall and per therapist."""

    mode: ResponseMode
    client_contacts: int
    """Client-initiated contacts with a time of day: the ones judged."""
    answered: int
    unanswered: int
    """No therapist-initiated contact with the client followed (yet)."""
    median_hours: float | None
    p90_hours: float | None
    with_target: int
    """Answered contacts with a response target in force on their date."""
    within_target: int
    untimed: int
    """Client-initiated contacts left out because their source gave no time of day."""
    by_therapist: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    """The same figures per therapist (columns as the fields above, plus therapist)."""

    @property
    def share_within_target(self) -> float | None:
        """Share of answered contacts with a target that were answered within it."""
        return self.within_target / self.with_target if self.with_target else None


def response_times(
    db: Database, filters: ContactFilter, mode: ResponseMode = "agreed"
) -> ResponseSummary:
    """Time from each client-initiated contact to the next therapist-initiated one.

    ``mode`` "agreed" counts each contact in the unit its agreement names (calendar hours
    unless ``response_in_working_hours``); "calendar" and "working" count every contact in
    that unit. Working hours count only the time inside the therapist's working hours in
    force on each day between the two instants (a Friday 17:00 message answered Monday
    10:00, with hours 09:00-17:00, took 1 working hour and 65 calendar hours). Median and
    90th percentile are interpolated over answered contacts; the share within target is over
    answered contacts with a target in force on the message's local date, and unanswered
    ones are counted apart (a reply may simply not have been logged yet).
    """
    if mode not in RESPONSE_MODES:
        raise InvalidFilterError(
            f"Unknown response-time mode {mode!r}; use one of {', '.join(RESPONSE_MODES)}."
        )
    contacts, params = _contacts_cte(filters)
    hours, hour_params = _hours_ctes()
    forced = {"agreed": None, "calendar": False, "working": True}[mode]
    frame = db.frame(
        f"WITH {contacts}, {hours}, {_SETTINGS_CTES}{_RESPONSE_CTES}{_RESPONSE_SQL}",
        [*params, *hour_params, forced],
    )
    # The () grouping set yields the overall row even when no contact matches.
    overall = frame[frame["overall"]].iloc[0]
    by_therapist = frame[~frame["overall"]].reset_index(drop=True)[list(_RESPONSE_COLUMNS)]
    return ResponseSummary(
        mode=mode,
        client_contacts=int(overall["client_contacts"]),
        answered=int(overall["answered"]),
        unanswered=int(overall["unanswered"]),
        median_hours=_float(overall["median_hours"]),
        p90_hours=_float(overall["p90_hours"]),
        with_target=int(overall["with_target"]),
        within_target=int(overall["within_target"]),
        untimed=int(overall["untimed"]),
        by_therapist=by_therapist,
    )


# --- drift ------------------------------------------------------------------------------------

# Weekly minutes per therapist and per client, zero-filled between each one's first and last
# week with contacts (a quiet week inside the span is a real 0; weeks before the first
# contact are not, or every new client would rise "above" a baseline of nothing), with the
# median of the previous weeks as the baseline. ``f`` holds every contact up to the period's
# end, so a span (and a baseline) may begin before the period does.
_DRIFT_CTES = """
,
entity_weeks AS (
    SELECT 'therapist' AS level, therapist_id AS entity_id,
           CAST(date_trunc('week', local_started_at) AS DATE) AS week, sum(minutes) AS minutes
    FROM f GROUP BY ALL
    UNION ALL
    SELECT 'client', client_id,
           CAST(date_trunc('week', local_started_at) AS DATE), sum(minutes)
    FROM f GROUP BY ALL
),
series AS (
    SELECT s.level, s.entity_id, s.week, coalesce(w.minutes, 0) AS minutes
    FROM (
        SELECT level, entity_id,
               CAST(unnest(generate_series(first_week, last_week, INTERVAL 7 DAY)) AS DATE)
                   AS week
        FROM (
            -- Weeks older than the first baseline needed cannot change any alert.
            SELECT level, entity_id,
                   greatest(min(week), coalesce(CAST(? AS DATE) - 7 * CAST(? AS INTEGER),
                                                min(week))) AS first_week,
                   max(week) AS last_week
            FROM entity_weeks GROUP BY ALL
        )
    ) AS s
    LEFT JOIN entity_weeks AS w USING (level, entity_id, week)
),
baselined AS (
    -- The previous weeks as a list, then its median: the same interpolated median as
    -- median() OVER the frame, three times faster in DuckDB (0.2 s vs 0.66 s at 480k weeks).
    SELECT level, entity_id, week, minutes,
           list_median(baseline) AS baseline_median, len(baseline) AS baseline_weeks
    FROM (
        SELECT *, list(minutes) OVER (
            PARTITION BY level, entity_id ORDER BY week
            ROWS BETWEEN ? PRECEDING AND 1 PRECEDING
        ) AS baseline
        FROM series
    )
),
alerts AS (
    SELECT * FROM baselined
    WHERE baseline_weeks = ? AND week >= coalesce(CAST(? AS DATE), week)
      AND minutes >= ? AND minutes > (1 + ?) * baseline_median
)
"""

_DRIFT_SQL = """
SELECT a.level,
       CASE a.level WHEN 'therapist' THEN t.name ELSE cl.client_key END AS who,
       coalesce(t.name, ct.name) AS therapist, a.week, a.minutes, a.baseline_median,
       (a.minutes / nullif(a.baseline_median, 0) - 1) * 100 AS rise_pct
FROM alerts AS a
LEFT JOIN therapists AS t ON a.level = 'therapist' AND t.therapist_id = a.entity_id
LEFT JOIN clients AS cl ON a.level = 'client' AND cl.client_id = a.entity_id
LEFT JOIN therapists AS ct ON ct.therapist_id = cl.therapist_id
ORDER BY a.week, a.level DESC, who
"""


def _drift_query(
    filters: ContactFilter, threshold: float, baseline_weeks: int, min_minutes: float
) -> tuple[str, list[object]]:
    """The drift CTEs (up to ``alerts``) and their parameters, after checking the knobs."""
    if threshold < 0:
        raise InvalidFilterError(
            f"A drift threshold of {threshold} would flag falls; use 0 or more (0.5 = 50% above)."
        )
    if isinstance(baseline_weeks, bool) or not isinstance(baseline_weeks, int):
        raise InvalidFilterError("The drift baseline is a whole number of weeks.")
    if baseline_weeks < 1:
        raise InvalidFilterError(
            f"A baseline of {baseline_weeks} weeks has no median; use at least 1 week."
        )
    if min_minutes < 0:
        raise InvalidFilterError(f"Minimum minutes cannot be negative ({min_minutes}).")
    # The baseline of the period's first weeks lies before the period, and so may the start
    # of someone's span: read from the beginning (only weekly sums reach the windows).
    weeks = _whole_weeks(filters)
    contacts, params = _contacts_cte(weeks.with_period(None, weeks.end))
    first_week = weeks.start  # the Monday of the period's first week, or None
    return f"WITH {contacts}{_DRIFT_CTES}", [
        *params,
        first_week,
        baseline_weeks,
        baseline_weeks,
        baseline_weeks,
        first_week,
        min_minutes,
        threshold,
    ]


def drift_alerts(
    db: Database,
    filters: ContactFilter,
    threshold: float = DRIFT_THRESHOLD,
    baseline_weeks: int = DRIFT_BASELINE_WEEKS,
    min_minutes: float = DRIFT_MIN_MINUTES,
) -> pd.DataFrame:
    """Weeks where a therapist's or a client's minutes rose well above their own baseline.

    A week alerts when its minutes are at least ``min_minutes`` and more than
    (1 + ``threshold``) x the median of the previous ``baseline_weeks`` weeks. Weeks inside
    the span from one's first to last week with contacts count, quiet ones as 0; a week
    needs a full baseline (so nobody alerts in their first ``baseline_weeks`` weeks), and the
    baseline of the period's first weeks is read from before the period. A baseline median
    of 0 (mostly quiet weeks) is exceeded by any week of ``min_minutes`` or more. All minutes
    count, crisis included: drift is about load. Columns: level ("therapist" or "client"),
    who (therapist name or client_key), therapist, week (Monday), minutes, baseline_median
    and rise_pct (percent above the baseline; NULL when the baseline is 0). Oldest first.
    """
    ctes, params = _drift_query(filters, threshold, baseline_weeks, min_minutes)
    return db.frame(ctes + _DRIFT_SQL, params)


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
    contacts, params = _contacts_cte(filters)
    hours, hour_params = _hours_ctes()
    late_minutes, all_minutes, untimed = db.row(
        f"""WITH {contacts}, {hours}, {_MARKED_CTE}
        SELECT coalesce(sum(minutes) FILTER (WHERE after_hours), 0), sum(minutes),
               count(*) FILTER (WHERE NOT time_known)
        FROM marked
        """,  # noqa: S608
        [*params, *hour_params],
    )
    return late_minutes, all_minutes, untimed


def after_hours_share(db: Database, filters: ContactFilter) -> float | None:
    """Share of minutes outside each therapist's working hours in force that day (0 to 1),
    as ``summary(...).after_hours_share``: the Overview needs this one figure, and the
    whole summary (caps, response times, drift) cost 30 times as much at 1M contacts."""
    late_minutes, all_minutes, _ = _after_hours_minutes(db, filters)
    return float(late_minutes) / float(all_minutes) if all_minutes else None


def summary(
    db: Database, filters: ContactFilter, alerts: pd.DataFrame | None = None
) -> ComplianceSummary:
    """Caps, out-of-policy contacts, after hours, response times and drift in one object.

    Response times are counted as agreed; drift uses the ``DRIFT_*`` defaults (``alerts``:
    ``drift_alerts(db, filters)`` when the caller already has it, as the Boundaries page
    does, so drift is worked out once).
    """
    caps_ctes, caps_params = _caps_ctes(filters)
    with_cap, over, breach_weeks, over_by = db.row(
        f"""{caps_ctes},
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
        """,  # noqa: S608
        caps_params,
    )
    refused_ctes, refused_params = _out_of_policy_query(filters)
    refused, refused_minutes = db.row(
        refused_ctes + "SELECT count(*), coalesce(sum(minutes), 0) FROM refused",  # noqa: S608
        refused_params,
    )
    late_minutes, all_minutes, untimed = _after_hours_minutes(db, filters)
    if alerts is None:
        drift_ctes, drift_params = _drift_query(
            filters, DRIFT_THRESHOLD, DRIFT_BASELINE_WEEKS, DRIFT_MIN_MINUTES
        )
        (alert_count,) = db.row(drift_ctes + "SELECT count(*) FROM alerts", drift_params)  # noqa: S608
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


__all__ = [
    "DRIFT_BASELINE_WEEKS",
    "DRIFT_MIN_MINUTES",
    "DRIFT_THRESHOLD",
    "RESPONSE_MODES",
    "ComplianceSummary",
    "ResponseMode",
    "ResponseSummary",
    "after_hours",
    "after_hours_share",
    "cap_summary",
    "category_caps",
    "drift_alerts",
    "out_of_policy",
    "response_times",
    "summary",
    "weekly_caps",
]


# --- one report per client or therapist (the CLI's ``compliance``) ---------------------------

_GROUP_KEYS = {
    "client": ("c.client_id", "cl.client_key", "JOIN clients AS cl ON cl.client_id = c.client_id"),
    "therapist": (
        "c.therapist_id",
        "t.name",
        "JOIN therapists AS t ON t.therapist_id = c.therapist_id",
    ),
}


def _grouped(by: str) -> tuple[str, str, str]:
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
    contacts, params = _contacts_cte(filters)
    hours, hour_params = _hours_ctes()
    marked = db.frame(
        f"""WITH {contacts}, {hours}, {_MARKED_CTE}
        SELECT {key} AS key, count(*) AS contacts, sum(c.minutes) AS minutes,
               count(*) FILTER (WHERE c.after_hours) AS after_hours_contacts,
               coalesce(sum(c.minutes) FILTER (WHERE c.after_hours), 0) AS after_hours_minutes
        FROM marked AS c {join}
        GROUP BY {group_id}, {key}
        """,  # noqa: S608 - fragments from the _GROUP_KEYS allow-list
        [*params, *hour_params],
    )
    responses = db.frame(
        f"""WITH {contacts}, {hours}, {_SETTINGS_CTES}{_RESPONSE_CTES}
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
        """,  # noqa: S608 - fragments from the _GROUP_KEYS allow-list
        [*params, *hour_params, None],
    )
    policy, policy_params = _out_of_policy_query(filters)
    outside = db.frame(
        f"""{policy}
        SELECT {key} AS key, count(*) AS out_of_policy_contacts
        FROM refused AS c {join}
        GROUP BY {group_id}, {key}
        """,  # noqa: S608 - fragments from the _GROUP_KEYS allow-list
        policy_params,
    )
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
    number = _float(value)
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


# --- what the pages draw beside the load ------------------------------------------------------


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
    ctes, params = _caps_ctes(filters, whole_weeks=False)
    return db.frame(
        f"""{ctes}
        SELECT j.day AS period, sum(j.weekly_cap_minutes) AS cap_minutes,
               sum(j.counted_minutes) AS counted_minutes, sum(j.over_by) AS over_minutes,
               count(DISTINCT j.client_id) AS clients
        FROM judged_caps AS j
        WHERE j.weekly_cap_minutes IS NOT NULL
        GROUP BY j.day
        ORDER BY period
        """,  # noqa: S608
        params,
    )


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
    in_scope, scope_params = filters.scope.where("t")
    with db.cursor() as cursor:
        rows = cursor.execute(
            f"""
            SELECT w.weekday, w.starts, w.ends
            FROM working_hours AS w JOIN therapists AS t ON t.therapist_id = w.therapist_id
            WHERE w.therapist_id = ? AND {in_scope} AND w.effective_from = (
                SELECT max(effective_from) FROM working_hours
                WHERE therapist_id = ? AND effective_from <= ?
            )
            ORDER BY w.weekday, w.starts
            """,  # noqa: S608 - the scope condition is fixed text with parameters
            [filters.therapist_ids[0], *scope_params, filters.therapist_ids[0], on],
        ).fetchall()
    return [(int(day), starts, ends) for day, starts, ends in rows] or default


def with_client_labels(
    db: Database, scope: Scope, frame: pd.DataFrame, column: str = "client_key"
) -> pd.DataFrame:
    """``frame`` with a ``client`` column: the label of each client key in the viewer's
    scope, or the key itself for viewers who see no labels (supervisors)."""
    in_scope, scope_params = scope.client_where("c")
    label = scope.client_name("c")
    labels = db.frame(
        f"SELECT c.client_key, {label} AS client FROM clients AS c WHERE {in_scope}",  # noqa: S608
        scope_params,
    )
    return frame.merge(
        labels, left_on=column, right_on="client_key", how="left", suffixes=("", "_")
    )


def weeks_over_cap(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """Client-weeks over the agreed weekly cap, newest and largest first, with labels."""
    over = _weekly_caps(db, filters, over_only=True)
    return with_client_labels(db, filters.scope, over)


def out_of_policy_labelled(
    db: Database, filters: ContactFilter, limit: int = 500, outside: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The most recent out-of-policy contacts (at most ``limit``), with client labels
    (``outside``: ``out_of_policy(db, filters)`` when the caller already has it)."""
    if outside is None:
        outside = out_of_policy(db, filters)
    latest = outside.tail(limit).iloc[::-1].reset_index(drop=True)
    return with_client_labels(db, filters.scope, latest)


def drift_alerts_labelled(
    db: Database, filters: ContactFilter, limit: int = 200, alerts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The newest drift alerts (at most ``limit``); a client alert names the client's label
    (``alerts``: ``drift_alerts(db, filters)`` when the caller already has it; working
    them out again cost 1 s at 1M contacts)."""
    if alerts is None:
        alerts = drift_alerts(db, filters)
    alerts = alerts.sort_values("week", ascending=False).head(limit)
    labelled = with_client_labels(db, filters.scope, alerts.reset_index(drop=True), column="who")
    labelled["who"] = labelled["client"].where(labelled["level"] == "client", labelled["who"])
    return labelled.drop(columns=["client", "client_key"], errors="ignore")
