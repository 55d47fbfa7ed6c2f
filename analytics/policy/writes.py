"""Storing boundary settings, working weeks and time zones, each with its history entry.

Invalid input stores nothing; saving what is already stored records nothing. Contacts are
only ever touched in SQL (``set_time_zone``).
"""

import json
from datetime import date

import duckdb

from analytics.access.scope import LOCAL, Scope
from analytics.policy.agreements import (
    SETTING_FIELDS,
    BoundarySetting,
    InvalidBoundaryError,
    WorkingWeek,
    check_changed_by,
    check_setting,
    check_working_hours,
)
from analytics.policy.history import hours_json, record_change, setting_json
from analytics.policy.in_force import stored_hours, stored_setting
from analytics.policy.lookup import Therapist, find_client, find_therapist
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sql import Fragment, sql

_INSERT_SETTING_SQL = """
INSERT INTO boundaries (
    therapist_id, client_id, effective_from, weekly_cap_minutes, category_caps,
    allowed_channels, channel_categories, response_target_hours, response_in_working_hours,
    crisis_counts_toward_cap
)
VALUES (
    $therapist_id, $client_id, $effective_from, $weekly_cap_minutes,
    CASE WHEN $has_caps THEN map(CAST($cap_keys AS VARCHAR[]), CAST($cap_minutes AS DOUBLE[])) END,
    CAST($allowed_channels AS VARCHAR[]),
    CASE WHEN $has_carried
         THEN map(CAST($carried_keys AS VARCHAR[]), CAST($carried_categories AS VARCHAR[][])) END,
    $response_target_hours, $response_in_working_hours, $crisis_counts_toward_cap
)
"""


def store_setting(
    cursor: duckdb.DuckDBPyConnection,
    setting: BoundarySetting,
    changed_by: str,
    scope: Scope = LOCAL,
) -> bool:
    """Replace the row of the setting's scope and date; True when anything changed.

    Refuses (``PermissionDeniedError``) a viewer who may not edit this therapist's limits.
    """
    therapist = find_therapist(cursor, setting.therapist, setting.practice)
    scope.require_boundary_edit(therapist.therapist_id)
    client_id = None if setting.client is None else find_client(cursor, therapist, setting.client)
    stored = BoundarySetting(
        therapist=therapist.name,
        practice=therapist.practice,
        client=None if setting.client is None else setting.client.strip(),
        effective_from=setting.effective_from,
        **{field: getattr(setting, field) for field in SETTING_FIELDS},
    )
    before = stored_setting(cursor, therapist.therapist_id, client_id, setting.effective_from)
    if before == stored:
        return False
    row_key = {
        "therapist_id": therapist.therapist_id,
        "client_id": client_id,
        "effective_from": setting.effective_from,
    }
    # UNIQUE treats NULL client ids as distinct, so a same-date default is replaced by hand.
    cursor.execute(
        "DELETE FROM boundaries WHERE therapist_id = $therapist_id "
        "AND client_id IS NOT DISTINCT FROM $client_id AND effective_from = $effective_from",
        row_key,
    )
    caps = stored.category_caps
    carried = stored.channel_categories
    cursor.execute(
        _INSERT_SETTING_SQL,
        {
            **row_key,
            "weekly_cap_minutes": stored.weekly_cap_minutes,
            "has_caps": caps is not None,
            "cap_keys": list(caps or {}),
            "cap_minutes": list((caps or {}).values()),
            "allowed_channels": (
                None if stored.allowed_channels is None else list(stored.allowed_channels)
            ),
            "has_carried": carried is not None,
            "carried_keys": list(carried or {}),
            "carried_categories": [list(value) for value in (carried or {}).values()],
            "response_target_hours": stored.response_target_hours,
            "response_in_working_hours": stored.response_in_working_hours,
            "crisis_counts_toward_cap": stored.crisis_counts_toward_cap,
        },
    )
    kind = "default" if client_id is None else "override"
    action = "added" if before is None else "changed"
    record_change(
        cursor,
        changed_by,
        therapist.therapist_id,
        client_id,
        f"{kind} from {setting.effective_from} {action}",
        setting_json(before),
        setting_json(stored),
    )
    return True


def _audit_edit(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, what: str, therapist: str, practice: str
) -> None:
    """One audit entry for a boundary edit: what changed and whose (never a client label)."""
    audit.record(cursor, scope, "boundary_edit", f"{what} for {therapist} at {practice}")


def save_setting(
    db: Database, setting: BoundarySetting, changed_by: str, *, scope: Scope = LOCAL
) -> None:
    """Store one setting, replacing the one of the same scope and date, with its history.

    Invalid input raises ``InvalidBoundaryError`` and stores nothing; saving a setting
    identical to the stored one changes nothing and records nothing. A viewer who may not
    edit the therapist's boundaries gets ``PermissionDeniedError``.
    """
    check_setting(setting)
    check_changed_by(changed_by)
    with db.transaction() as cursor:
        if store_setting(cursor, setting, changed_by, scope):
            kind = "default" if setting.client is None else "client override"
            what = f"{kind} from {setting.effective_from} saved"
            _audit_edit(cursor, scope, what, setting.therapist, str(setting.practice))


def delete_setting(
    db: Database,
    therapist: str,
    client: str | None,
    effective_from: date,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Remove the setting of one scope and date (the default when ``client`` is None)."""
    check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        client_id = None if client is None else find_client(cursor, found, client)
        before = stored_setting(cursor, found.therapist_id, client_id, effective_from)
        if before is None:
            level = "default" if client is None else f"override for {client}"
            raise InvalidBoundaryError(
                f"{found.name} has no {level} from {effective_from} to delete."
            )
        cursor.execute(
            "DELETE FROM boundaries WHERE therapist_id = $therapist_id "
            "AND client_id IS NOT DISTINCT FROM $client_id AND effective_from = $effective_from",
            {
                "therapist_id": found.therapist_id,
                "client_id": client_id,
                "effective_from": effective_from,
            },
        )
        kind = "default" if client_id is None else "override"
        record_change(
            cursor,
            changed_by,
            found.therapist_id,
            client_id,
            f"{kind} from {effective_from} deleted",
            setting_json(before),
            None,
        )
        _audit_edit(
            cursor, scope, f"{kind} from {effective_from} deleted", found.name, found.practice
        )


# --- writing working hours -------------------------------------------------------------


def _week_of(therapist_id: int, effective_from: date) -> Fragment:
    """The stored week of one therapist and date (``working_hours AS w``)."""
    return sql(
        "w.therapist_id = $therapist_id AND w.effective_from = $effective_from",
        therapist_id=therapist_id,
        effective_from=effective_from,
    )


def store_working_hours(
    cursor: duckdb.DuckDBPyConnection, therapist: Therapist, hours: WorkingWeek, changed_by: str
) -> bool:
    """Replace the therapist's week of that date; True when anything changed."""
    stored = stored_hours(cursor, _week_of(therapist.therapist_id, hours.effective_from))
    before = stored[0][2] if stored else None
    if before == hours:
        return False
    cursor.execute(
        "DELETE FROM working_hours WHERE therapist_id = $therapist_id "
        "AND effective_from = $effective_from",
        {"therapist_id": therapist.therapist_id, "effective_from": hours.effective_from},
    )
    rows = [
        (weekday, starts, ends)
        for weekday, intervals in hours.days.items()
        for starts, ends in intervals
    ]
    cursor.execute(
        """
        INSERT INTO working_hours (therapist_id, effective_from, weekday, starts, ends)
        SELECT $therapist_id, $effective_from, unnest($weekdays), unnest(CAST($starts AS TIME[])),
               unnest(CAST($ends AS TIME[]))
        """,
        {
            "therapist_id": therapist.therapist_id,
            "effective_from": hours.effective_from,
            "weekdays": [weekday for weekday, _, _ in rows],
            "starts": [starts for _, starts, _ in rows],
            "ends": [ends for _, _, ends in rows],
        },
    )
    action = "added" if before is None else "changed"
    record_change(
        cursor,
        changed_by,
        therapist.therapist_id,
        None,
        f"working hours from {hours.effective_from} {action}",
        hours_json(therapist, before),
        hours_json(therapist, hours),
    )
    return True


def save_working_hours(
    db: Database,
    therapist: str,
    hours: WorkingWeek,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Store a therapist's working week from its date, replacing that date's week, with history."""
    check_working_hours(hours)
    check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        if store_working_hours(cursor, found, hours, changed_by):
            what = f"working hours from {hours.effective_from} saved"
            _audit_edit(cursor, scope, what, found.name, found.practice)


def delete_working_hours(
    db: Database,
    therapist: str,
    effective_from: date,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Remove a therapist's working week of one date (the one before it applies again)."""
    check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        stored = stored_hours(cursor, _week_of(found.therapist_id, effective_from))
        if not stored:
            raise InvalidBoundaryError(
                f"{found.name} has no working hours from {effective_from} to delete."
            )
        cursor.execute(
            "DELETE FROM working_hours WHERE therapist_id = $therapist_id "
            "AND effective_from = $effective_from",
            {"therapist_id": found.therapist_id, "effective_from": effective_from},
        )
        record_change(
            cursor,
            changed_by,
            found.therapist_id,
            None,
            f"working hours from {effective_from} deleted",
            hours_json(found, stored[0][2]),
            None,
        )
        what = f"working hours from {effective_from} deleted"
        _audit_edit(cursor, scope, what, found.name, found.practice)


# --- time zone -------------------------------------------------------------------------


def set_time_zone(
    db: Database,
    therapist: str,
    zone: str,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> int:
    """Set a therapist's IANA time zone and recompute their contacts' local times in SQL.

    Instants (``started_at``) are kept and wall-clock times follow the new zone; contacts
    imported with a date only (``time_known`` false) keep their local date. Returns the
    number of contacts whose local time was recomputed. The name is matched without regard
    to case and stored as DuckDB spells it.
    """
    check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        row = cursor.execute(
            "SELECT name FROM pg_timezone_names() WHERE lower(name) = lower(trim($zone)) "
            "ORDER BY name = trim($zone) DESC, name LIMIT 1",
            {"zone": zone},
        ).fetchone()
        if row is None:
            raise InvalidBoundaryError(
                f"Unknown time zone '{zone}'; use an IANA name such as America/New_York "
                "or Europe/Berlin."
            )
        canonical = str(row[0])
        if canonical == found.time_zone:
            return 0
        cursor.execute(
            "UPDATE therapists SET time_zone = $zone WHERE therapist_id = $therapist_id",
            {"zone": canonical, "therapist_id": found.therapist_id},
        )
        updated = cursor.execute(
            "UPDATE contacts SET local_started_at = timezone($zone, started_at) "
            "WHERE therapist_id = $therapist_id AND coalesce(time_known, true)",
            {"zone": canonical, "therapist_id": found.therapist_id},
        ).fetchone()
        record_change(
            cursor,
            changed_by,
            found.therapist_id,
            None,
            "time zone changed",
            json.dumps(
                {"practice": found.practice, "therapist": found.name, "time_zone": found.time_zone}
            ),
            json.dumps(
                {"practice": found.practice, "therapist": found.name, "time_zone": canonical}
            ),
        )
        _audit_edit(cursor, scope, f"time zone set to {canonical}", found.name, found.practice)
    return int(updated[0]) if updated else 0
