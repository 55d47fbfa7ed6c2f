"""Column mappings saved under a name, so the next export of the same kind needs none.

A ``Layout`` (``presets``) is stored as JSON text in ``saved_mappings``; a damaged entry
reads back as a ``MappingError`` sentence, never a crash.
"""

from __future__ import annotations

import json

from analytics.access.scope import LOCAL, Scope
from analytics.importing.presets import DURATION_UNITS, FIELDS, Layout, MappingError
from analytics.storage import audit
from analytics.storage.database import Database


def _to_json(layout: Layout) -> str:
    """A layout as JSON text for ``saved_mappings``."""
    return json.dumps(
        {
            "format": 1,
            "preset": layout.preset,
            "columns": dict(layout.columns),
            "joined": {name: list(parts) for name, parts in layout.joined.items()},
            "duration_unit": layout.duration_unit,
            "has_time_of_day": layout.has_time_of_day,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _from_json(name: str, text: str) -> Layout:
    """A layout back from its JSON text; a damaged entry is a MappingError, not a crash."""
    try:
        data = json.loads(text)
        unit = data["duration_unit"]
        if unit is not None and unit not in DURATION_UNITS:
            raise ValueError(unit)
        columns = {str(k): str(v) for k, v in data["columns"].items()}
        joined = {str(k): tuple(str(p) for p in v) for k, v in data.get("joined", {}).items()}
        if any(key not in FIELDS for key in [*columns, *joined]):
            raise ValueError("unknown field")
        return Layout(
            preset=str(data["preset"]),
            columns=columns,
            duration_unit=unit,
            has_time_of_day=bool(data["has_time_of_day"]),
            joined=joined,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise MappingError(
            f"The saved mapping '{name}' is damaged; map the columns again and save it anew."
        ) from error


def save_mapping(db: Database, name: str, layout: Layout, *, scope: Scope = LOCAL) -> None:
    """Keep a layout under a name so the next export of the same kind needs no mapping
    (an import setting: only a viewer who may import; audited)."""
    scope.require_import()
    key = name.strip()
    if not key:
        raise MappingError("A saved mapping needs a name; type one and save again.")
    with db.transaction() as cursor:
        audit.record(cursor, scope, "settings", f"column mapping {key!r} saved")
        cursor.execute(
            "INSERT INTO saved_mappings (name, mapping) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping, "
            "created_at = get_current_timestamp()",
            [key, _to_json(layout)],
        )


def load_mapping(db: Database, name: str) -> Layout:
    """The layout saved under a name (check it against a file with ``layout_from_mapping``)."""
    with db.cursor() as cursor:
        row = cursor.execute(
            "SELECT mapping FROM saved_mappings WHERE name = ?", [name.strip()]
        ).fetchone()
    if row is None:
        known = list_mappings(db)
        hint = f"; saved ones are {', '.join(known)}" if known else "; none is saved yet"
        raise MappingError(f"There is no saved mapping called '{name}'{hint}.")
    return _from_json(name, str(row[0]))


def list_mappings(db: Database) -> list[str]:
    """Names of the saved mappings, sorted, for a picker or ``--mapping`` help."""
    with db.cursor() as cursor:
        rows = cursor.execute("SELECT name FROM saved_mappings ORDER BY name").fetchall()
    return [str(row[0]) for row in rows]
