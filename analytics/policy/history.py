"""The history of boundary changes: who changed what, when, before and after (JSON text).

Every change lands in ``boundary_changes`` in the same transaction as the change itself.
"""

import json

import duckdb
import pandas as pd

from analytics.access.scope import Scope
from analytics.policy.agreements import (
    SETTING_FIELDS,
    WEEKDAY_KEYS,
    BoundarySetting,
    WorkingWeek,
    interval_text,
)
from analytics.policy.lookup import Therapist, client_name
from analytics.storage.database import Database
from analytics.storage.sql import execute, query, sql


def setting_json(setting: BoundarySetting | None) -> str | None:
    if setting is None:
        return None
    record: dict[str, object] = {
        "practice": setting.practice,
        "therapist": setting.therapist,
        "client": setting.client,
        "effective_from": setting.effective_from.isoformat(),
    }
    for field in SETTING_FIELDS:
        value = getattr(setting, field)
        if field == "channel_categories" and value is not None:
            value = {channel: list(carried) for channel, carried in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        record[field] = value
    return json.dumps(record, ensure_ascii=False)


def hours_json(therapist: Therapist, hours: WorkingWeek | None) -> str | None:
    if hours is None:
        return None
    return json.dumps(
        {
            "practice": therapist.practice,
            "therapist": therapist.name,
            "effective_from": hours.effective_from.isoformat(),
            **{
                WEEKDAY_KEYS[weekday]: [interval_text(interval) for interval in intervals]
                for weekday, intervals in hours.days.items()
            },
        },
        ensure_ascii=False,
    )


def record_change(
    cursor: duckdb.DuckDBPyConnection,
    changed_by: str,
    therapist_id: int,
    client_id: int | None,
    what: str,
    before: str | None,
    after: str | None,
) -> None:
    cursor.execute(
        """
        INSERT INTO boundary_changes
            (changed_by, therapist_id, client_id, what, before_value, after_value)
        VALUES ($changed_by, $therapist_id, $client_id, $what, $before, $after)
        """,
        {
            "changed_by": changed_by.strip(),
            "therapist_id": therapist_id,
            "client_id": client_id,
            "what": what,
            "before": before,
            "after": after,
        },
    )


_CHANGE_LOG_SQL = """
SELECT h.change_id, h.changed_at, h.changed_by, p.name AS practice,
       t.name AS therapist, {client} AS client, h.what,
       {before} AS before, {after} AS after
FROM boundary_changes AS h
LEFT JOIN therapists AS t ON t.therapist_id = h.therapist_id
LEFT JOIN practices AS p ON p.practice_id = t.practice_id
LEFT JOIN clients AS c ON c.client_id = h.client_id
WHERE {in_scope}
ORDER BY h.change_id DESC
LIMIT $limit
"""

# The stored before/after JSON names the client by label; viewers who see keys get the
# key in its place (a JSON merge patch on the "client" field).
_AS_STORED = (sql("h.before_value"), sql("h.after_value"))
_KEYED = (
    sql("json_merge_patch(h.before_value, json_object('client', c.client_key))"),
    sql("json_merge_patch(h.after_value, json_object('client', c.client_key))"),
)


def change_log(db: Database, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """The latest changes to boundaries, working hours and time zones the viewer may see,
    newest first.

    Columns: change_id, changed_at (UTC), changed_by, practice, therapist, client (None
    unless the change concerns one client; its key for viewers who see no labels), what,
    and before / after as JSON text (None for an addition / a deletion).
    """
    before, after = _AS_STORED if scope.shows_labels else _KEYED
    statement = query(
        _CHANGE_LOG_SQL,
        client=client_name(scope),
        in_scope=scope.fragment("t"),
        before=before,
        after=after,
        limit=limit,
    )
    with db.cursor() as cursor:
        frame = execute(cursor, statement).df()
    # Missing text stays None (not NaN), as in the other frames of this module.
    text = ["changed_by", "practice", "therapist", "client", "what", "before", "after"]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
    return frame
