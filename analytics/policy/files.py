"""Boundary settings files for sharing a practice's standard policy (the format follows the
file's extension).

TOML (``.toml``), one ``[[setting]]`` table per setting and one ``[[working_hours]]`` table
per dated week of working hours; a field left out is None (inherit or unset)::

    [[setting]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    effective_from = 2026-03-02            # a TOML date (or the text "2026-03-02")
    weekly_cap_minutes = 60
    category_caps = { support = 45 }       # {} = no per-category caps
    allowed_channels = ["phone", "email", "text", "portal"]
    channel_categories = { text = ["scheduling", "reminder"] }
    response_target_hours = 24
    response_in_working_hours = true
    crisis_counts_toward_cap = false

    [[setting]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    client = "Avery"                       # a client's override
    effective_from = 2026-03-16
    weekly_cap_minutes = 30

    [[working_hours]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    effective_from = 2026-03-02
    mon = ["09:00-12:00", "13:00-17:00"]   # days left out are days off
    tue = ["09:00-17:00"]

CSV (``.csv``, UTF-8), one row per setting or dated week of working hours, with the header
``CSV_COLUMNS``. ``kind`` is ``setting`` (or empty) or ``working_hours``; an empty cell is
None (inherit or unset) and the word ``none`` is an explicitly empty map or list. Lists are
comma-separated (``phone, email, text``), maps are ``key=value`` pairs separated by
semicolons (``support=45; homework=30``; for channel categories
``text=scheduling, reminder; email=none``), booleans ``true``/``false``, dates ISO, and a
day's working hours are intervals separated by commas (``09:00-12:00, 13:00-17:00``; an
empty day cell is a day off).
"""

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from analytics.access.scope import LOCAL, Scope
from analytics.output.toml_text import number_text, toml_string
from analytics.policy.agreements import (
    CSV_COLUMNS,
    SETTING_FIELDS,
    WEEKDAY_KEYS,
    BoundaryFileError,
    BoundarySetting,
    InvalidBoundaryError,
    WorkingWeek,
    check_changed_by,
    check_name,
    check_setting,
    check_working_hours,
    interval_text,
)
from analytics.policy.cells import is_empty, setting_from_row, working_hours_from_row
from analytics.policy.in_force import settings_where, stored_hours
from analytics.policy.lookup import find_therapist
from analytics.policy.words import (
    format_category_caps,
    format_channel_categories,
    format_channels,
    format_day_hours,
)
from analytics.policy.writes import store_setting, store_working_hours
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sql import TRUE


@dataclass(frozen=True)
class _HoursEntry:
    practice: str
    therapist: str
    hours: WorkingWeek


@dataclass(frozen=True)
class _Entry:
    """One entry of a settings file and where it came from (for messages)."""

    kind: str  # "Row", "Setting" or "Working hours entry"
    number: int
    file: str
    item: BoundarySetting | _HoursEntry

    @property
    def place(self) -> str:
        """Where the entry is, as a message starts: "Row 3 of policy.csv"."""
        return _place(self.kind, self.number, self.file)


def _place(kind: str, number: int, file: str) -> str:
    return f"{kind} {number} {'of' if kind == 'Row' else 'in'} {file}"


_PLURALS = {"Row": "Rows", "Setting": "Settings", "Working hours entry": "Working hours entries"}


def _at(place: str, error: InvalidBoundaryError) -> InvalidBoundaryError:
    return InvalidBoundaryError(f"{place}: {error}")


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise BoundaryFileError(
            f"{path.name} is neither a .toml nor a .csv file; boundary settings are exchanged "
            "as TOML or CSV."
        )
    return suffix[1:]


def _all_entries(db: Database, scope: Scope) -> tuple[list[BoundarySetting], list[_HoursEntry]]:
    with db.cursor() as cursor:
        settings = settings_where(TRUE, cursor, scope)
        hours = [_HoursEntry(*stored) for stored in stored_hours(cursor, TRUE, scope)]
    return settings, hours


def export_settings(db: Database, scope: Scope, path: Path | str) -> int:
    """Write every setting and working week the viewer may see to ``path`` (.toml or
    .csv); return the count. (Not audited here: the Boundaries page prepares its download
    on every run; callers record the exports people actually take.)"""
    path = Path(path)
    kind = _file_format(path)
    settings, hours = _all_entries(db, scope)
    if kind == "toml":
        path.write_text(_toml_text(settings, hours), encoding="utf-8")
    else:
        # With a byte-order mark, so spreadsheet programs read names like "Weber" or "Müller"
        # as UTF-8; the loader accepts files with or without one.
        path.write_text(_csv_text(settings, hours), encoding="utf-8-sig", newline="")
    return len(settings) + len(hours)


def load_settings(db: Database, path: Path | str, changed_by: str, *, scope: Scope = LOCAL) -> int:
    """Read a settings file (.toml or .csv) and store every entry, all or nothing.

    Everything is checked before anything is stored; an error names the row (CSV) or
    entry (TOML). Entries replace stored ones of the same scope and date; identical ones
    record no change. An entry for a therapist the viewer may not edit refuses the whole
    file (``PermissionDeniedError``). Returns the number of entries in the file.
    """
    path = Path(path)
    kind = _file_format(path)
    check_changed_by(changed_by)
    if not path.is_file():
        raise BoundaryFileError(f"{path} does not exist or is not a file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BoundaryFileError(f"{path.name} is not UTF-8 text; save it as UTF-8.") from None
    entries = _toml_entries(text, path.name) if kind == "toml" else _csv_entries(text, path.name)
    seen: dict[tuple[str, str, str | None, date, str], _Entry] = {}
    for entry in entries:
        item = entry.item
        try:
            if isinstance(item, BoundarySetting):
                check_setting(item)
                key = (item.practice, item.therapist, item.client, item.effective_from, "setting")
            else:
                check_name(item.therapist, "therapist")
                check_name(item.practice, "practice")
                check_working_hours(item.hours)
                key = (item.practice, item.therapist, None, item.hours.effective_from, "hours")
        except InvalidBoundaryError as error:
            raise _at(entry.place, error) from None
        if key in seen:
            first = seen[key]
            what = (
                "working hours"
                if key[4] == "hours"
                else ("default" if key[2] is None else f"override for {key[2]}")
            )
            raise InvalidBoundaryError(
                f"{_PLURALS[entry.kind]} {first.number} and {entry.number} "
                f"{'of' if entry.kind == 'Row' else 'in'} {entry.file} both give {key[1]}'s "
                f"{what} from {key[3]}; keep one."
            )
        seen[key] = entry
    with db.transaction() as cursor:
        changed = 0
        for entry in entries:
            item = entry.item
            try:
                if isinstance(item, BoundarySetting):
                    changed += store_setting(cursor, item, changed_by, scope)
                else:
                    therapist = find_therapist(cursor, item.therapist, item.practice)
                    scope.require_boundary_edit(therapist.therapist_id)
                    changed += store_working_hours(cursor, therapist, item.hours, changed_by)
            except InvalidBoundaryError as error:
                raise _at(entry.place, error) from None
        if changed:
            whose = sorted(
                {f"{entry.item.therapist} at {entry.item.practice}" for entry in entries}
            )
            detail = f"{changed} of {len(entries)} entries loaded from {path.name} for "
            audit.record(cursor, scope, "boundary_edit", detail + "; ".join(whose))
    return len(entries)


# TOML


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return number_text(float(value))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        # Keys are the domain's channel and category keys: always valid bare keys.
        return (
            "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
            if value
            else "{}"
        )
    raise TypeError(f"no TOML form for {value!r}")


def _toml_text(settings: list[BoundarySetting], hours: list[_HoursEntry]) -> str:
    lines = [
        "# Contact Load boundary settings. A field left out inherits the therapist's default",
        "# (client entries) or is not set (defaults); see analytics/policy/files.py.",
    ]
    for setting in settings:
        lines += ["", "[[setting]]"]
        lines.append(f"practice = {toml_string(setting.practice)}")
        lines.append(f"therapist = {toml_string(setting.therapist)}")
        if setting.client is not None:
            lines.append(f"client = {toml_string(setting.client)}")
        lines.append(f"effective_from = {setting.effective_from.isoformat()}")
        for field in SETTING_FIELDS:
            value = getattr(setting, field)
            if value is not None:
                lines.append(f"{field} = {_toml_value(value)}")
    for entry in hours:
        lines += ["", "[[working_hours]]"]
        lines.append(f"practice = {toml_string(entry.practice)}")
        lines.append(f"therapist = {toml_string(entry.therapist)}")
        lines.append(f"effective_from = {entry.hours.effective_from.isoformat()}")
        for weekday, intervals in entry.hours.days.items():
            texts = [interval_text(interval) for interval in intervals]
            lines.append(f"{WEEKDAY_KEYS[weekday]} = {_toml_value(texts)}")
    return "\n".join(lines) + "\n"


_SETTING_KEYS = ("practice", "therapist", "client", "effective_from", *SETTING_FIELDS)
_HOURS_KEYS = ("practice", "therapist", "effective_from", *WEEKDAY_KEYS)


def _toml_entries(text: str, name: str) -> list[_Entry]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BoundaryFileError(f"{name} is not valid TOML ({error}).") from None
    unknown = sorted(set(document) - {"setting", "working_hours"})
    if unknown:
        raise BoundaryFileError(
            f"{name} has an unknown section '{unknown[0]}'; use [[setting]] and "
            "[[working_hours]] tables."
        )
    entries: list[_Entry] = []
    for section, allowed, kind in (
        ("setting", _SETTING_KEYS, "Setting"),
        ("working_hours", _HOURS_KEYS, "Working hours entry"),
    ):
        tables = document.get(section, [])
        if not isinstance(tables, list):
            raise BoundaryFileError(
                f"{name} has [{section}] where [[{section}]] (a list of tables) is expected."
            )
        for number, table in enumerate(tables, start=1):
            place = _place(kind, number, name)
            if not isinstance(table, dict):
                raise BoundaryFileError(f"{place} is not a table of fields.")
            extra = sorted(set(table) - set(allowed))
            if extra:
                raise InvalidBoundaryError(
                    f"{place}: Unknown field '{extra[0]}'; use {', '.join(allowed)}."
                )
            try:
                if section == "setting":
                    entries.append(_Entry(kind, number, name, _setting_from_cells(table)))
                else:
                    entries.append(_Entry(kind, number, name, _hours_from_cells(table)))
            except InvalidBoundaryError as error:
                raise _at(place, error) from None
    return entries


def _setting_from_cells(cells: Mapping[str, object]) -> BoundarySetting:
    for key in ("practice", "therapist"):
        if not isinstance(cells.get(key), str) or not str(cells.get(key)).strip():
            raise InvalidBoundaryError(f"A setting needs the {key}'s name.")
    return setting_from_row(cells)


def _hours_from_cells(cells: Mapping[str, object]) -> _HoursEntry:
    for key in ("practice", "therapist"):
        if not isinstance(cells.get(key), str) or not str(cells.get(key)).strip():
            raise InvalidBoundaryError(f"Working hours need the {key}'s name.")
    return _HoursEntry(
        practice=str(cells["practice"]).strip(),
        therapist=str(cells["therapist"]).strip(),
        hours=working_hours_from_row(cells),
    )


# CSV


def _csv_text(settings: list[BoundarySetting], hours: list[_HoursEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for setting in settings:
        cap = setting.weekly_cap_minutes
        target = setting.response_target_hours
        writer.writerow(
            {
                "kind": "setting",
                "practice": setting.practice,
                "therapist": setting.therapist,
                "client": setting.client or "",
                "effective_from": setting.effective_from.isoformat(),
                "weekly_cap_minutes": "" if cap is None else number_text(cap),
                "category_caps": format_category_caps(setting.category_caps) or "",
                "allowed_channels": format_channels(setting.allowed_channels) or "",
                "channel_categories": format_channel_categories(setting.channel_categories) or "",
                "response_target_hours": "" if target is None else number_text(target),
                "response_in_working_hours": _bool_text(setting.response_in_working_hours),
                "crisis_counts_toward_cap": _bool_text(setting.crisis_counts_toward_cap),
            }
        )
    for entry in hours:
        writer.writerow(
            {
                "kind": "working_hours",
                "practice": entry.practice,
                "therapist": entry.therapist,
                "effective_from": entry.hours.effective_from.isoformat(),
                **{
                    WEEKDAY_KEYS[weekday]: format_day_hours(intervals)
                    for weekday, intervals in entry.hours.days.items()
                },
            }
        )
    return buffer.getvalue()


def _bool_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _csv_entries(text: str, name: str) -> list[_Entry]:
    # csv.reader rather than DictReader: it yields blank lines too, so numbers stay the row
    # numbers a spreadsheet shows (header = row 1).
    records = csv.reader(io.StringIO(text, newline=""))
    header = [column.strip() for column in next(records, [])]
    if not any(header):
        raise BoundaryFileError(f"{name} is empty; export settings to see the expected columns.")
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown:
        raise BoundaryFileError(
            f"{name} has an unknown column '{unknown[0]}'; the columns are "
            f"{', '.join(CSV_COLUMNS)}."
        )
    missing = [
        column for column in ("practice", "therapist", "effective_from") if column not in header
    ]
    if missing:
        raise BoundaryFileError(f"{name} has no '{missing[0]}' column.")
    entries: list[_Entry] = []
    for number, record in enumerate(records, start=2):
        if not any(value.strip() for value in record):
            continue
        if len(record) > len(header):
            raise BoundaryFileError(f"Row {number} of {name} has more cells than the header.")
        cells = dict(zip(header, record, strict=False))
        place = _place("Row", number, name)
        kind = (cells.get("kind") or "setting").strip().lower()
        try:
            if kind == "setting":
                filled = [key for key in WEEKDAY_KEYS if not is_empty(cells.get(key))]
                if filled:
                    raise InvalidBoundaryError(
                        f"A setting row gives working hours ({filled[0]}); put them in a "
                        "working_hours row."
                    )
                entries.append(_Entry("Row", number, name, _setting_from_cells(cells)))
            elif kind == "working_hours":
                filled = [
                    key for key in ("client", *SETTING_FIELDS) if not is_empty(cells.get(key))
                ]
                if filled:
                    raise InvalidBoundaryError(
                        f"A working_hours row gives {filled[0]}, which belongs in a setting row."
                    )
                entries.append(_Entry("Row", number, name, _hours_from_cells(cells)))
            else:
                raise InvalidBoundaryError(
                    f"Unknown kind '{cells.get('kind')}'; use setting or working_hours."
                )
        except InvalidBoundaryError as error:
            raise _at(place, error) from None
    return entries
