"""The after-hours rule: which working hours are in force for a contact, and whether the
contact falls outside them. Defined once here, as query-kit SQL, for every measure.

* **Working hours in force.** On a date, a therapist's stored working week (table
  ``working_hours``) with the latest ``effective_from`` on or before it is in force, and the
  date's weekday takes that week's windows (none: a day off; several: a split shift). Where
  no stored week is in force (none stored, or a date before the first), the standard hours
  apply (``DEFAULT_WORKING_HOURS``, Monday to Friday 08:00-18:00, or the ``fallback`` a
  caller gives).
* **After hours.** A contact is after hours when its local start time is in none of the
  windows of its local day, in the therapist's own zone. A contact without a time of day
  (``time_known`` false) is never after hours: its hour is unknown, and pages count it apart.
"""

from dataclasses import dataclass
from datetime import date, time

from analytics.storage.sql import Fragment, identifier, query, sql


@dataclass(frozen=True)
class WorkingHours:
    """One weekly schedule for every therapist: the standard hours where none are stored.

    Defaults to Monday to Friday, 08:00 to 18:00. (A therapist's own dated week is
    ``policy.agreements.WorkingWeek``.)
    """

    start: time = time(8, 0)
    end: time = time(18, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, as in datetime.weekday()

    def describe(self) -> str:
        """A short human description, e.g. "Mon-Fri 08:00-18:00 local time"."""
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        days = sorted(self.weekdays)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
            day_text = f"{names[days[0]]}-{names[days[-1]]}"
        else:
            day_text = ", ".join(names[day] for day in days)
        return f"{day_text} {self.start:%H:%M}-{self.end:%H:%M} local time"


DEFAULT_WORKING_HOURS = WorkingHours()

# Working-hours schedules. The fallback schedule is in force "from the beginning of time"
# for every therapist, so it applies wherever no stored schedule is (yet) in force.
_HOURS_CTES = """
hours_rows AS (
    SELECT therapist_id, effective_from, weekday, starts, ends FROM working_hours
    UNION ALL
    SELECT t.therapist_id, DATE '0001-01-01', w.weekday,
           CAST($fallback_starts AS TIME), CAST($fallback_ends AS TIME)
    FROM therapists AS t CROSS JOIN unnest($fallback_weekdays) AS w(weekday)
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


def working_hours_ctes(fallback: WorkingHours = DEFAULT_WORKING_HOURS) -> Fragment:
    """CTEs ``hours_rows``, ``hour_versions`` and ``day_hours`` (without WITH): each
    therapist's windows per weekday and span of dates (``fallback`` where no stored
    schedule is in force)."""
    return sql(
        _HOURS_CTES,
        fallback_starts=fallback.start,
        fallback_ends=fallback.end,
        fallback_weekdays=list(fallback.weekdays),
    )


def week_in_force(on: date) -> Fragment:
    """The stored week of ``working_hours AS w`` in force on ``on``: its therapist's week
    with the latest date on or before ``on`` (no rows before the first)."""
    return sql(
        "w.effective_from = (SELECT max(effective_from) FROM working_hours "
        "WHERE therapist_id = w.therapist_id AND effective_from <= $week_on)",
        week_on=on,
    )


# A contact of ``c`` joined to ``day_hours AS dh`` for its local day (NULL: a day off).
AFTER_HOURS = sql(
    """c.time_known AND NOT coalesce(list_bool_or(list_transform(
               dh.windows,
               lambda w: w.starts <= CAST(c.local_started_at AS TIME)
                         AND CAST(c.local_started_at AS TIME) < w.ends
           )), false)"""
)
"""The after-hours condition of contact ``c`` under the windows ``dh`` in force that day."""

DAY_HOURS_JOIN = sql(
    """LEFT JOIN day_hours AS dh
        ON dh.therapist_id = c.therapist_id AND dh.weekday = isodow(c.local_started_at) - 1
           AND CAST(c.local_started_at AS DATE) >= dh.effective_from
           AND CAST(c.local_started_at AS DATE) < dh.until"""
)
"""Joins contact ``c`` to the working-hours windows ``dh`` of its local day."""

_MARKED = """
{name} AS (
    SELECT c.*, {after_hours} AS after_hours
    FROM {source} AS c
    {day_hours}
)
"""


def marked(source: str = "f", name: str = "marked") -> Fragment:
    """A CTE ``name``: the contacts of CTE ``source`` with ``after_hours`` (needs
    ``working_hours_ctes``)."""
    return query(
        _MARKED,
        name=identifier(name),
        source=identifier(source),
        after_hours=AFTER_HOURS,
        day_hours=DAY_HOURS_JOIN,
    )


MARKED_CTE = marked()
"""The CTE ``marked``: contacts of ``f`` with ``after_hours``."""
