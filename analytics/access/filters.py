"""The one filter set every measure takes, as a query-kit fragment (``ContactFilter.fragment``).

Dates are the therapist's local calendar dates (a contact at 23:30 in New York on the
31st belongs to the 31st, whatever UTC says). Every value goes to SQL as a parameter;
the clause text itself is fixed.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import LiteralString

from analytics.access.scope import LOCAL, Scope
from analytics.domain import CATEGORIES, CHANNELS
from analytics.errors import InvalidFilterError
from analytics.storage.sql import TRUE, Fragment, all_of, identifier, in_list, query


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts a measure looks at; empty tuples mean "all".

    ``scope`` is the viewer's: ``where`` always applies it, so a measure that builds its
    WHERE clause here cannot return rows outside what the viewer may see.
    """

    start: date | None = None
    end: date | None = None
    practice_ids: tuple[int, ...] = ()
    therapist_ids: tuple[int, ...] = ()
    client_keys: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    scope: Scope = LOCAL

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

    def with_scope(self, scope: Scope) -> "ContactFilter":
        """The same filter seen by another viewer."""
        return replace(self, scope=scope)

    def fragment(self, alias: LiteralString = "c", *, contacts: bool = True) -> Fragment:
        """The filter over ``contacts AS alias`` as a query-kit fragment (scope first).

        ``alias`` names another table with the same key columns; ``contacts=False`` (for
        sessions) leaves out channel and category.
        """
        keyed = "{alias}.client_id IN (SELECT client_id FROM clients WHERE {keys})"
        return all_of(
            self.scope.fragment(alias),
            TRUE
            if self.start is None
            else Fragment(
                f"{alias}.local_started_at >= CAST($period_start AS TIMESTAMP)",
                {"period_start": self.start},
            ),
            TRUE
            if self.end is None
            else Fragment(
                f"{alias}.local_started_at < CAST($period_after AS TIMESTAMP)",
                {"period_after": self.end + timedelta(days=1)},
            ),
            TRUE
            if not self.practice_ids
            else in_list(f"{alias}.practice_id", "filter_practices", self.practice_ids),
            TRUE
            if not self.therapist_ids
            else in_list(f"{alias}.therapist_id", "filter_therapists", self.therapist_ids),
            TRUE
            if not self.client_keys
            else query(
                keyed,
                alias=identifier(alias),
                keys=in_list("client_key", "filter_client_keys", self.client_keys),
            ),
            TRUE
            if not (contacts and self.channels)
            else in_list(f"{alias}.channel", "filter_channels", self.channels),
            TRUE
            if not (contacts and self.categories)
            else in_list(f"{alias}.category", "filter_categories", self.categories),
        )

    def session_fragment(self) -> Fragment:
        """The same filter over ``sessions AS s`` (scope, period, practice, therapist, client)."""
        return self.fragment("s", contacts=False)


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
