"""Stored boundary settings and working weeks read back, and the one in force on a day.

Settings rows are few, so Python handles them one by one; which agreement is in force on a
day is decided in SQL (``policy.in_force_sql``), the same rule the measures use.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import duckdb

from analytics.access.scope import Scope
from analytics.policy.agreements import SETTING_FIELDS, BoundarySetting, Interval, WorkingHours
from analytics.policy.lookup import client_column, find_client, find_therapist, named_scope
from analytics.storage.database import Database

_SETTINGS_SQL = """
SELECT t.name AS therapist, p.name AS practice, {client} AS client, b.effective_from,
       b.weekly_cap_minutes, b.category_caps, b.allowed_channels, b.channel_categories,
       b.response_target_hours, b.response_in_working_hours, b.crisis_counts_toward_cap
FROM boundaries AS b
JOIN therapists AS t ON t.therapist_id = b.therapist_id
JOIN practices AS p ON p.practice_id = t.practice_id
LEFT JOIN clients AS c ON c.client_id = b.client_id
WHERE ({where}) AND {in_scope}
ORDER BY p.name, t.name, {client} NULLS FIRST, b.effective_from
"""


def settings_where(
    where: str,
    params: Mapping[str, object],
    cursor: duckdb.DuckDBPyConnection,
    scope: Scope | None = None,
) -> list[BoundarySetting]:
    """Stored settings matching ``where`` (and inside ``scope``, when given)."""
    in_scope, scope_params = named_scope(scope, "t")
    sql = _SETTINGS_SQL.format(where=where, in_scope=in_scope, client=client_column(scope))
    rows = cursor.execute(sql, {**params, **scope_params}).fetchall()
    return [_setting_from_stored(row) for row in rows]


def _setting_from_stored(row: Sequence[Any]) -> BoundarySetting:
    (therapist, practice, client, effective_from, cap, caps, channels, carried) = row[:8]
    return BoundarySetting(
        therapist=therapist,
        practice=practice,
        client=client,
        effective_from=effective_from,
        weekly_cap_minutes=cap,
        category_caps=None if caps is None else dict(caps),
        allowed_channels=None if channels is None else tuple(channels),
        channel_categories=(
            None if carried is None else {key: tuple(value) for key, value in carried.items()}
        ),
        response_target_hours=row[8],
        response_in_working_hours=row[9],
        crisis_counts_toward_cap=row[10],
    )


def stored_setting(
    cursor: duckdb.DuckDBPyConnection,
    therapist_id: int,
    client_id: int | None,
    effective_from: date,
) -> BoundarySetting | None:
    found = settings_where(
        "b.therapist_id = $therapist_id AND b.client_id IS NOT DISTINCT FROM $client_id "
        "AND b.effective_from = $effective_from",
        {"therapist_id": therapist_id, "client_id": client_id, "effective_from": effective_from},
        cursor,
    )
    return found[0] if found else None


def stored_settings(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> list[BoundarySetting]:
    """Every stored setting the viewer may see (of one therapist, when named), defaults
    before overrides; clients named by key for viewers who see no labels."""
    with db.cursor() as cursor:
        if therapist is None:
            if practice is None:
                return settings_where("TRUE", {}, cursor, scope)
            return settings_where("p.name = $practice", {"practice": practice}, cursor, scope)
        found = find_therapist(cursor, therapist, practice, scope)
        return settings_where(
            "b.therapist_id = $therapist_id", {"therapist_id": found.therapist_id}, cursor, scope
        )


def stored_hours(
    cursor: duckdb.DuckDBPyConnection,
    where: str,
    params: Mapping[str, object],
    scope: Scope | None = None,
) -> list[tuple[str, str, WorkingHours]]:
    """(practice, therapist, week) for each dated week of working hours, oldest first."""
    in_scope, scope_params = named_scope(scope, "t")
    rows = cursor.execute(
        f"""
        SELECT p.name, t.name, w.effective_from, w.weekday, w.starts, w.ends
        FROM working_hours AS w
        JOIN therapists AS t ON t.therapist_id = w.therapist_id
        JOIN practices AS p ON p.practice_id = t.practice_id
        WHERE ({where}) AND {in_scope}
        ORDER BY p.name, t.name, w.effective_from, w.weekday, w.starts
        """,  # noqa: S608 - the WHERE text is fixed by callers in this module
        {**params, **scope_params},
    ).fetchall()
    weeks: dict[tuple[str, str, date], dict[int, list[Interval]]] = {}
    for practice, therapist, effective_from, weekday, starts, ends in rows:
        days = weeks.setdefault((practice, therapist, effective_from), {})
        days.setdefault(weekday, []).append((starts, ends))
    return [
        (practice, therapist, WorkingHours(effective_from=effective_from, days=days))
        for (practice, therapist, effective_from), days in weeks.items()
    ]


def working_hours_of(
    db: Database, scope: Scope, therapist: str, *, practice: str | None = None
) -> list[WorkingHours]:
    """One therapist's dated working weeks, oldest first (unknown outside the scope)."""
    return [hours for _, _, hours in stored_working_hours(db, scope, therapist, practice=practice)]


def working_hours_in_force(
    db: Database, scope: Scope, therapist: str, on: date, *, practice: str | None = None
) -> WorkingHours | None:
    """The therapist's working week in force on ``on`` (None before any is set)."""
    earlier = [
        hours
        for hours in working_hours_of(db, scope, therapist, practice=practice)
        if hours.effective_from <= on
    ]
    return earlier[-1] if earlier else None


def settings_in_force(
    db: Database,
    scope: Scope,
    therapist: str,
    client: str | None,
    on: date,
    *,
    practice: str | None = None,
) -> BoundarySetting:
    """The agreement in force for one client (or the default) on one day, fields merged.

    Each field of the client's latest override on or before ``on`` wins when set; the rest
    come from the therapist's latest default on or before ``on``. ``effective_from`` is the
    later of the two rows' dates, or ``on`` itself when nothing is in force (all fields None).
    """
    with db.cursor() as cursor:
        found = find_therapist(cursor, therapist, practice, scope)
        client_id = None if client is None else find_client(cursor, found, client, scope)
        levels = [None] if client_id is None else [None, client_id]
        in_force = []
        for level in levels:
            rows = settings_where(
                "b.therapist_id = $therapist_id AND b.client_id IS NOT DISTINCT FROM $client_id "
                "AND b.effective_from = (SELECT max(effective_from) FROM boundaries "
                "WHERE therapist_id = $therapist_id "
                "AND client_id IS NOT DISTINCT FROM $client_id AND effective_from <= $on)",
                {"therapist_id": found.therapist_id, "client_id": level, "on": on},
                cursor,
                scope,
            )
            in_force.extend(rows)
    merged: dict[str, object] = dict.fromkeys(SETTING_FIELDS)
    for row in in_force:  # the default first, so the override's set fields win
        for field in SETTING_FIELDS:
            value = getattr(row, field)
            if value is not None:
                merged[field] = value
    return BoundarySetting(
        therapist=found.name,
        practice=found.practice,
        client=None if client is None else client.strip(),
        effective_from=max((row.effective_from for row in in_force), default=on),
        **merged,  # type: ignore[arg-type]
    )


def stored_working_hours(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> list[tuple[str, str, WorkingHours]]:
    """(practice, therapist, week) per stored working week the viewer may see (of one
    therapist), oldest first."""
    with db.cursor() as cursor:
        if therapist is not None:
            found = find_therapist(cursor, therapist, practice, scope)
            return stored_hours(
                cursor,
                "w.therapist_id = $therapist_id",
                {"therapist_id": found.therapist_id},
                scope,
            )
        if practice is not None:
            return stored_hours(cursor, "p.name = $practice", {"practice": practice}, scope)
        return stored_hours(cursor, "TRUE", {}, scope)
