"""The SQL the compliance measures share, as named fragments.

Contacts under a filter (``contacts_ctes``), the boundaries in force on a day
(``IN_FORCE_CTES``, ``resolved``, ``agreements``), working hours and after-hours marking
(``working_hours_ctes``, ``MARKED_CTE``), weekly caps (``caps_ctes``) and replies
(``response_ctes``). ``caps``, ``out_of_policy``, ``replies``, ``drift``, ``compliance``,
``compare`` and ``output.exports`` build their queries from these, so each rule below is
written once.

How settings are resolved (the rules every compliance measure shares):
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
  their first row), the standard hours (``policy.working_hours``, Mon-Fri 08:00-18:00) apply, so the
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

from datetime import timedelta
from typing import Any, LiteralString

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.policy.in_force import IN_FORCE_CTES, agreements, resolved
from analytics.storage.sql import Fragment, identifier, query, sql

# --- shared SQL ---------------------------------------------------------------------------


def contacts_ctes(filters: ContactFilter) -> Fragment:
    """The CTEs ``f`` (contacts under ``filters``), ``visible`` (every contact in the
    viewer's scope, whatever the period: replies may come after it) and ``own_clients``
    (clients whose own therapist is in scope: their agreements and caps are the scope's,
    a colleague's client one stood in for is not), without WITH."""
    return query(
        "f AS (SELECT c.* FROM contacts AS c WHERE {where}), "
        "visible AS (SELECT v.* FROM contacts AS v WHERE {visible}), "
        "own_clients AS (SELECT o.* FROM clients AS o WHERE {own})",
        where=filters.fragment("c"),
        visible=filters.scope.fragment("v"),
        own=filters.scope.fragment("o"),
    )


# Which agreement is in force (``IN_FORCE_CTES``, ``resolved``, ``agreements``) and the
# after-hours rule (``working_hours_ctes``, ``MARKED_CTE``) are defined once, in policy.


def whole_weeks_of(filters: ContactFilter) -> ContactFilter:
    """The filter widened to whole local weeks: from a Monday to a Sunday."""
    start = filters.start
    end = filters.end
    if start is not None:
        start = start - timedelta(days=start.weekday())
    if end is not None:
        end = end + timedelta(days=6 - end.weekday())
    return filters.with_period(start, end)


def float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- weekly caps --------------------------------------------------------------------------

# Per client and week: minutes, crisis minutes, the settings in force on the Monday, the
# minutes counted toward the cap and the per-category minutes. ``f`` must hold whole weeks.
_CAPS_CTES = query(
    """
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
""",
    resolved_weeks=resolved("judged_weeks", "client_weeks"),
    week_agreements=agreements("week_agreements", "judged_weeks"),
)


def caps_ctes(filters: ContactFilter, *, whole_weeks: bool = True) -> Fragment:
    """WITH clause up to ``judged_caps`` and ``judged_category_caps``.

    ``whole_weeks=False`` counts only the contacts inside the filter's period (the charts'
    rule for partial weeks); the cap is still the one in force on each week's Monday.
    """
    return query(
        "WITH {contacts}, {settings}, {caps}",
        contacts=contacts_ctes(whole_weeks_of(filters) if whole_weeks else filters),
        settings=IN_FORCE_CTES,
        caps=_CAPS_CTES,
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
_WORKED_UNTIL: LiteralString = (
    "coalesce(list_sum(list_transform({day}.windows, lambda w: "
    "greatest(0, epoch(least({instant}, w.closes) - w.opens)))), 0)"
)

# The one parameter of these CTEs, the response-time mode ($response_working, NULL: as each
# agreement says; true: working hours; false: calendar hours), sits in the first CTE so that
# each contact can ask it. Only contacts counted in working hours go near the working-hours clock:
# building the clock and joining every contact to it was half of the query at 1M contacts
# (README, Performance), for figures that calendar hours never use.
_RESPONSE_CTES = """
response_mode AS (SELECT CAST($response_working AS BOOLEAN) AS working),
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
"""


def response_ctes(working: bool | None) -> Fragment:
    """CTEs ``response_mode`` to ``timed`` (each client-initiated contact of ``f`` with its
    reply and its response time in hours), after those of ``contacts_ctes``,
    ``working_hours_ctes`` and ``IN_FORCE_CTES``: ``working`` None counts each contact as
    its agreement says, True in working hours, False in calendar hours."""
    return query(
        _RESPONSE_CTES,
        resolved_asked=resolved("judged_asked", "asked"),
        worked_until_answer=query(_WORKED_UNTIL, day=identifier("b"), instant=sql("j.answered_at")),
        worked_until_ask=query(_WORKED_UNTIL, day=identifier("a"), instant=sql("j.started_at")),
        response_working=working,
    )
