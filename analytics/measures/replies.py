"""Response times: from each client-initiated contact to the next therapist-initiated one,
in calendar hours or in working hours, against the response target in force."""

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.errors import InvalidFilterError
from analytics.measures.fragments import contacts_ctes, float_or_none, response_ctes
from analytics.policy.in_force import IN_FORCE_CTES
from analytics.policy.working_hours import working_hours_ctes
from analytics.storage.database import Database
from analytics.storage.sql import query

ResponseMode = Literal["agreed", "calendar", "working"]
"""How response times are counted: as each agreement says, or all in one unit."""

RESPONSE_MODES: tuple[ResponseMode, ...] = ("agreed", "calendar", "working")

_RESPONSE_SQL = """WITH {contacts}, {hours}, {settings}, {responses}
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
    forced = {"agreed": None, "calendar": False, "working": True}[mode]
    statement = query(
        _RESPONSE_SQL,
        contacts=contacts_ctes(filters),
        hours=working_hours_ctes(),
        settings=IN_FORCE_CTES,
        responses=response_ctes(forced),
    )
    frame = db.frame(statement)
    # The () grouping set yields the overall row even when no contact matches.
    overall = frame[frame["overall"]].iloc[0]
    by_therapist = frame[~frame["overall"]].reset_index(drop=True)[list(_RESPONSE_COLUMNS)]
    return ResponseSummary(
        mode=mode,
        client_contacts=int(overall["client_contacts"]),
        answered=int(overall["answered"]),
        unanswered=int(overall["unanswered"]),
        median_hours=float_or_none(overall["median_hours"]),
        p90_hours=float_or_none(overall["p90_hours"]),
        with_target=int(overall["with_target"]),
        within_target=int(overall["within_target"]),
        untimed=int(overall["untimed"]),
        by_therapist=by_therapist,
    )
