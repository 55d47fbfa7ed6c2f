"""The one filter set every measure takes, turned into a parameterised WHERE clause.

Dates are the therapist's local calendar dates (a contact at 23:30 in New York on the
31st belongs to the 31st, whatever UTC says). Every value goes to SQL as a parameter;
the clause text itself is fixed.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from analytics.domain import CATEGORIES, CHANNELS
from analytics.errors import InvalidFilterError


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts a measure looks at; empty tuples mean "all"."""

    start: date | None = None
    end: date | None = None
    practice_ids: tuple[int, ...] = ()
    therapist_ids: tuple[int, ...] = ()
    client_keys: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise InvalidFilterError(
                f"The period starts on {self.start} but ends earlier, on {self.end}; "
                "choose an end date on or after the start."
            )
        unknown = sorted(set(self.channels) - set(CHANNELS))
        if unknown:
            raise InvalidFilterError(
                f"Unknown channel {', '.join(unknown)}; use one of {', '.join(CHANNELS)}."
            )
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise InvalidFilterError(
                f"Unknown category {', '.join(unknown)}; use one of {', '.join(CATEGORIES)}."
            )

    def with_period(self, start: date | None, end: date | None) -> "ContactFilter":
        """The same filter over another period."""
        return replace(self, start=start, end=end)

    def where(self) -> tuple[str, list[object]]:
        """A WHERE clause over ``contacts AS c`` and its parameters, in order."""
        conditions: list[str] = []
        params: list[object] = []
        if self.start is not None:
            conditions.append("c.local_started_at >= CAST(? AS TIMESTAMP)")
            params.append(self.start)
        if self.end is not None:
            conditions.append("c.local_started_at < CAST(? AS TIMESTAMP)")
            params.append(self.end + timedelta(days=1))
        if self.practice_ids:
            conditions.append("list_contains(?, c.practice_id)")
            params.append(list(self.practice_ids))
        if self.therapist_ids:
            conditions.append("list_contains(?, c.therapist_id)")
            params.append(list(self.therapist_ids))
        if self.client_keys:
            conditions.append(
                "c.client_id IN (SELECT client_id FROM clients WHERE list_contains(?, client_key))"
            )
            params.append(list(self.client_keys))
        if self.channels:
            conditions.append("list_contains(?, c.channel)")
            params.append(list(self.channels))
        if self.categories:
            conditions.append("list_contains(?, c.category)")
            params.append(list(self.categories))
        return (" AND ".join(conditions) or "TRUE"), params


@dataclass(frozen=True)
class Period:
    """An inclusive range of local dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Calendar days in the period, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        """The period's length in weeks (days / 7), the denominator of weekly rates."""
        return self.days / 7

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(start=end - timedelta(days=self.days - 1), end=end)
