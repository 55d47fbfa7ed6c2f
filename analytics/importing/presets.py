"""Which column of an uploaded CSV holds what: known exports, synonyms and saved mappings.

A ``Layout`` maps canonical fields (``FIELDS``) to header cells of one file. It comes from
one of three places:

* a preset recognised from the header alone (Toggl Track, Clockify, Harvest, Kimai in
  English or German, or this project's own template), see ``detect_layout``;
* header synonyms in English and German when no preset fits ("Klient", "Datum",
  "Dauer (Min.)", ...), giving a ``custom`` layout;
* the user's own mapping (``--map client=Kunde,date=Datum`` on the command line, the
  mapping editor on the Import page), validated by ``layout_from_mapping`` and kept in
  ``saved_mappings`` under a name.

Only the header is looked at here: what the cells say (date order, 12- or 24-hour clock,
decimal comma) is for ``parsing`` to decide from the whole file. Header cells are compared
case-, accent-composition- and punctuation-insensitively ("Start date", "START_DATE" and
" start-date " are the same), but a layout always names them exactly as the file wrote them.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from analytics.errors import ContactLoadError

FIELDS: tuple[str, ...] = (
    "client",
    "therapist",
    "practice",
    "date",
    "start_time",
    "end_date",
    "end_time",
    "started_at",
    "ended_at",
    "duration",
    "category",
    "channel",
    "direction",
    "task",
    "project",
    "tags",
    "description",
    "email",
)
"""Canonical fields a column can be mapped to.

``started_at`` and ``ended_at`` are columns holding date and time together (``2026-04-15
14:30``, ``2026-04-15T14:30:00+02:00``); ``duration`` is a duration column (its unit in
``Layout.duration_unit``). ``task``, ``project``, ``tags``,
``description`` and ``email`` are free text: used to classify, then dropped, never stored.
"""

CLASSIFY_FIELDS: tuple[str, ...] = ("project", "task", "tags", "description")
"""Free-text fields whose words the keyword rules read (``email`` is an address, not text
about the contact: a name in it such as "jane@..." would match a portal keyword)."""

FREE_TEXT_FIELDS: tuple[str, ...] = ("task", "project", "tags", "description", "email")
"""Fields that are dropped after classification, so no free text reaches the database."""

PRESET_NAMES: tuple[str, ...] = (
    "toggl", "clockify", "harvest", "kimai", "template", "therapynotes",
)  # fmt: skip
"""Presets a user can force (CLI ``--preset``); ``custom`` is any other layout."""

TEMPLATE_HEADER: tuple[str, ...] = (
    "date",
    "start_time",
    "minutes",
    "client",
    "therapist",
    "practice",
    "channel",
    "category",
    "direction",
)
"""Header of this project's own CSV template (see ``template_csv``)."""

DurationUnit = Literal["clock", "hours", "minutes", "seconds"]
DURATION_UNITS: tuple[DurationUnit, ...] = ("clock", "hours", "minutes", "seconds")
"""How a duration column is written: ``h:mm[:ss]``, decimal hours, minutes or seconds."""

DURATION_UNIT_KEY = "duration_unit"
"""Extra key a user mapping may carry to say how the duration column is written."""


class MappingError(ContactLoadError):
    """A header does not fit a preset, or a column mapping is incomplete or wrong."""


@dataclass(frozen=True)
class Layout:
    """Where each canonical field is in one file's header, and how its duration is written."""

    preset: str
    """``toggl``, ``clockify``, ``harvest``, ``kimai``, ``template`` or ``custom``."""
    columns: Mapping[str, str]
    """Field -> header cell text exactly as in the file; fields without a column are absent."""
    duration_unit: DurationUnit | None
    """How the ``duration`` column is written; None when there is no duration column or its
    header does not say (then ``parsing`` decides from the values)."""
    has_time_of_day: bool
    """False when no column gives a time of day (Harvest): contacts are date-only."""
    joined: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Fields built from several columns joined with a space, in order: Harvest's
    ``therapist`` is ``("First Name", "Last Name")``. A field is in ``columns`` or here,
    never both; use ``sources`` to get either."""

    def sources(self, name: str) -> tuple[str, ...]:
        """The header cell(s) a field is read from (empty if none), so callers need not care
        whether a field is one column or several joined."""
        if name in self.columns:
            return (self.columns[name],)
        return tuple(self.joined.get(name, ()))

    def fields(self) -> tuple[str, ...]:
        """The mapped fields, in ``FIELDS`` order, for loops that build one SQL expression each."""
        return tuple(name for name in FIELDS if name in self.columns or name in self.joined)

    def describe(self) -> str:
        """A short name for the layout to show the user, e.g. "Toggl Track detailed report"."""
        if self.preset in _LABELS:
            return _LABELS[self.preset]
        placed = ", ".join(
            f"{name}: {' + '.join(self.sources(name))}"
            for name in self.fields()
            if name not in FREE_TEXT_FIELDS
        )
        return f"Custom column mapping ({placed})"


_LABELS = {
    "toggl": "Toggl Track detailed report",
    "clockify": "Clockify detailed report",
    "harvest": "Harvest detailed time report",
    "kimai": "Kimai timesheet export",
    "template": "Contact Load template",
    "therapynotes": "TherapyNotes contact notes",
}


def _normalize(text: str) -> str:
    """A header cell reduced to lower-case words, so spelling variants compare equal."""
    text = unicodedata.normalize("NFC", text.replace("\ufeff", "")).lower()
    return re.sub(r"[\W_]+", " ", text).strip()


@dataclass(frozen=True)
class _Preset:
    """How one tool writes its export: accepted header cells per field."""

    name: str
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    required: tuple[str, ...]
    signature: tuple[str, ...]
    duration_unit: DurationUnit | None
    joined: tuple[tuple[str, tuple[str, ...]], ...] = ()


_PRESETS: tuple[_Preset, ...] = (
    _Preset(
        name="toggl",
        columns=(
            ("client", ("Client",)),
            ("therapist", ("User",)),
            ("email", ("Email",)),
            ("project", ("Project",)),
            ("task", ("Task",)),
            ("description", ("Description",)),
            ("date", ("Start date",)),
            ("start_time", ("Start time",)),
            ("end_date", ("End date",)),
            ("end_time", ("End time",)),
            ("duration", ("Duration",)),
            ("tags", ("Tags",)),
        ),
        required=("client", "therapist", "date", "start_time", "duration"),
        signature=("Email", "Project", "Description", "Billable", "End date", "End time"),
        duration_unit="clock",
    ),
    _Preset(
        name="clockify",
        columns=(
            ("client", ("Client",)),
            ("therapist", ("User",)),
            ("practice", ("Group",)),
            ("email", ("Email",)),
            ("project", ("Project",)),
            ("task", ("Task", "Activity")),
            ("description", ("Description",)),
            ("date", ("Start Date",)),
            ("start_time", ("Start Time",)),
            ("end_date", ("End Date",)),
            ("end_time", ("End Time",)),
            # "Duration (h)" is exact; "Duration (decimal)" is rounded to 0.01 h (36 s).
            ("duration", ("Duration (h)",)),
            ("tags", ("Tags",)),
        ),
        required=("client", "therapist", "date", "start_time", "duration"),
        signature=("Project", "Description", "End Date", "End Time"),
        duration_unit="clock",
    ),
    _Preset(
        name="harvest",
        columns=(
            ("date", ("Date",)),
            ("client", ("Client",)),
            ("project", ("Project",)),
            ("task", ("Task",)),
            ("description", ("Notes",)),
            # "Hours" is what was tracked; "Hours Rounded" follows the account's rounding.
            ("duration", ("Hours",)),
        ),
        required=("date", "client", "duration"),
        signature=("Project", "Task", "Notes"),
        duration_unit="hours",
        joined=(("therapist", ("First Name", "Last Name")),),
    ),
    _Preset(
        name="kimai",
        columns=(
            ("date", ("Date",)),
            ("start_time", ("From",)),
            ("end_time", ("To",)),
            ("duration", ("Duration",)),
            ("therapist", ("User",)),
            ("client", ("Customer",)),
            ("project", ("Project",)),
            ("task", ("Activity",)),
            ("description", ("Description",)),
            ("tags", ("Tags",)),
        ),
        required=("date", "start_time", "duration", "client"),
        signature=("To", "Project", "Activity"),
        # Kimai writes "0:45", "0:45:00" or 2700 (seconds) depending on version and export
        # template: decided from the values (``whole_number_unit``).
        duration_unit=None,
    ),
    _Preset(
        name="kimai",
        columns=(
            ("date", ("Datum",)),
            ("start_time", ("Von",)),
            ("end_time", ("Bis",)),
            ("duration", ("Dauer",)),
            ("therapist", ("Benutzer",)),
            ("client", ("Kunde",)),
            ("project", ("Projekt",)),
            ("task", ("Tätigkeit",)),
            ("description", ("Beschreibung",)),
            ("tags", ("Schlagworte",)),
        ),
        required=("date", "start_time", "duration", "client"),
        signature=("Bis", "Projekt", "Tätigkeit"),
        duration_unit=None,
    ),
    # TherapyNotes' Contact Note (support.therapynotes.com, "Complete a Contact Note"): when,
    # who wrote it, the patient, the Method(s) of Communication, the Reason for
    # Communication and the total minutes; the contacted party's name and the details are
    # never read. Header cells are the form's labels: no public sample of the list's CSV
    # was found to check them against.
    _Preset(
        name="therapynotes",
        columns=(
            ("date", ("Date",)),
            ("start_time", ("Time",)),
            ("client", ("Patient",)),
            ("therapist", ("Clinician", "Staff Member")),
            ("channel", ("Method of Communication",)),
            ("task", ("Reason for Communication",)),
            ("duration", ("Minutes",)),
        ),
        required=("date", "client", "duration"),
        signature=("Method of Communication", "Reason for Communication"),
        duration_unit="minutes",
    ),
    _Preset(
        name="template",
        columns=(
            ("date", ("date",)),
            ("start_time", ("start_time",)),
            ("duration", ("minutes",)),
            ("client", ("client",)),
            ("therapist", ("therapist",)),
            ("practice", ("practice",)),
            ("channel", ("channel",)),
            ("category", ("category",)),
            ("direction", ("direction",)),
        ),
        required=("date", "duration", "client"),
        signature=("start_time",),
        duration_unit="minutes",
    ),
)


def _index(header: Sequence[str]) -> dict[str, str]:
    """Normalized header cell -> the cell as written (the first, if two normalize alike)."""
    index: dict[str, str] = {}
    for cell in header:
        index.setdefault(_normalize(cell), cell)
    return index


def _has_time_of_day(columns: Mapping[str, str]) -> bool:
    """Whether any mapped column carries a time of day."""
    return "start_time" in columns or "started_at" in columns


def _fit(preset: _Preset, index: Mapping[str, str]) -> tuple[Layout, list[str]]:
    """The preset's layout on this header, and the required header cells it lacks."""
    columns: dict[str, str] = {}
    missing: list[str] = []
    for name, accepted in preset.columns:
        found = next((index[_normalize(a)] for a in accepted if _normalize(a) in index), None)
        if found is not None:
            columns[name] = found
        elif name in preset.required:
            missing.append(accepted[0])
    joined = {
        name: tuple(index[_normalize(part)] for part in parts)
        for name, parts in preset.joined
        if all(_normalize(part) in index for part in parts)
    }
    layout = Layout(
        preset=preset.name,
        columns={name: columns[name] for name in FIELDS if name in columns},
        duration_unit=preset.duration_unit,
        has_time_of_day=_has_time_of_day(columns),
        joined=joined,
    )
    return layout, missing


# Synonyms for the custom layout, per field, in order of preference. Fields are assigned in
# this dict's order, each taking the first unclaimed header cell that matches one of its
# synonyms (compared after _normalize), so e.g. "End date" is never taken for ``date``.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "started_at": (
        "started at", "start datetime", "start date time", "start date and time",
        "datetime", "date time", "date and time", "timestamp",
        "zeitpunkt", "zeitstempel", "datum uhrzeit", "datum und uhrzeit", "beginn datum uhrzeit",
    ),
    "ended_at": (
        "ended at", "end datetime", "end date time", "end date and time", "finished at",
        "stopped at", "ende datum uhrzeit", "datum und uhrzeit ende", "ende zeitpunkt",
    ),
    "end_date": ("end date", "enddatum", "end datum", "datum bis", "datum ende"),
    "date": (
        "date", "contact date", "start date", "entry date", "day",
        "datum", "kontaktdatum", "startdatum", "tag",
    ),
    "end_time": (
        "end time", "end", "to", "until", "finish", "stop", "time to",
        "endzeit", "ende", "bis", "uhrzeit bis", "zeit bis", "ende uhrzeit",
    ),
    "start_time": (
        "start time", "start", "from", "time", "begin", "begin time", "time from",
        "startzeit", "beginn", "von", "uhrzeit", "zeit", "anfang", "uhrzeit von", "zeit von",
        "beginn uhrzeit",
    ),
    "duration": (
        "duration", "duration min", "duration minutes", "duration h", "duration hours",
        "duration decimal", "minutes", "mins", "min", "hours", "hrs", "length", "time spent",
        "dauer", "dauer min", "dauer minuten", "dauer h", "dauer std", "dauer stunden",
        "minuten", "stunden", "std", "zeitaufwand", "zeitaufwand min", "aufwand",
        "aufwand min", "zeit min", "zeit minuten",
    ),
    "client": (
        "client", "client name", "client id", "client code", "client initials",
        "customer", "customer name", "patient", "patient name",
        "klient", "klientin", "klient in", "klienten", "klientenname", "klientenkürzel",
        "kunde", "kundin", "kundenname", "patientin", "patient in", "pseudonym",
    ),
    "therapist": (
        "therapist", "therapist name", "clinician", "counsellor", "counselor", "provider",
        "practitioner", "psychologist", "user", "user name", "username", "member",
        "employee", "staff", "person",
        "therapeut", "therapeutin", "therapeut in", "behandler", "behandlerin",
        "behandler in", "psychologe", "psychologin", "berater", "beraterin",
        "mitarbeiter", "mitarbeiterin", "mitarbeiter in", "benutzer", "benutzername", "nutzer",
    ),
    "practice": (
        "practice", "practice name", "clinic", "office", "group", "team", "location", "site",
        "praxis", "praxisname", "standort", "gruppe", "einrichtung", "klinik",
    ),
    "channel": (
        "channel", "contact channel", "contact method", "method", "medium", "mode", "via",
        "kanal", "kontaktkanal", "kontaktweg", "kommunikationsweg", "weg", "methode",
    ),
    "category": (
        "category", "contact type", "type", "reason", "purpose", "topic",
        "kategorie", "kontaktart", "art", "typ", "anlass", "grund", "thema",
    ),
    "direction": (
        "direction", "initiated by", "initiator", "inbound outbound", "in out",
        "richtung", "initiiert von", "initiative", "von wem", "eingehend ausgehend",
    ),
    "task": ("task", "activity", "service", "tätigkeit", "aufgabe", "aktivität", "leistung"),
    "project": ("project", "projekt"),
    "tags": ("tags", "labels", "schlagworte", "schlagwörter", "stichworte", "stichwörter"),
    "description": (
        "description", "notes", "note", "comment", "comments", "details", "summary", "subject",
        "beschreibung", "notiz", "notizen", "bemerkung", "bemerkungen", "anmerkung",
        "anmerkungen", "kommentar", "kommentare", "inhalt", "betreff",
    ),
    "email": ("email", "e mail", "email address", "e mail address", "e mail adresse", "mail"),
}  # fmt: skip

_MINUTE_WORDS = frozenset({"min", "mins", "minute", "minutes", "minuten"})
_SECOND_WORDS = frozenset({"s", "sec", "secs", "second", "seconds", "sek", "sekunden"})
_HOUR_WORDS = frozenset(
    {"h", "hr", "hrs", "hour", "hours", "std", "stunde", "stunden", "decimal", "dezimal"}
)


def _unit_from_header(cell: str) -> DurationUnit | None:
    """The duration unit a header names ("Dauer (Min.)" -> minutes), None if it names none."""
    words = set(_normalize(cell).split())
    if words & _SECOND_WORDS:
        return "seconds"
    if words & _MINUTE_WORDS:
        return "minutes"
    if words & _HOUR_WORDS:
        return "hours"
    return None


def _same(first: Sequence[str], second: Sequence[str]) -> bool:
    """Whether two lists of header cells name the same columns (spelling aside)."""
    return [_normalize(cell) for cell in first] == [_normalize(cell) for cell in second]


def _missing_required(present: Collection[str]) -> list[str]:
    """What a layout still needs to place contacts in time, in words ([] when complete)."""
    has = set(present)
    missing = []
    if "client" not in has:
        missing.append("client")
    if not has & {"date", "started_at"}:
        missing.append("date (or started_at)")
    ends = (has & {"start_time", "started_at"} and "end_time" in has) or (
        {"started_at", "ended_at"} <= has
    )
    if "duration" not in has and not ends:
        missing.append("duration (or start_time and end_time, or started_at and ended_at)")
    return missing


def whole_number_unit(layout: Layout) -> DurationUnit:
    """How a duration column of plain numbers is read when neither its header nor the user
    says: seconds for Kimai (its CSV writes ``2700`` for 45 minutes), else hours, what the
    other time trackers write (``0.75``)."""
    return "seconds" if layout.preset == "kimai" else "hours"


def _custom_layout(header: Sequence[str]) -> Layout | None:
    """A layout from header synonyms, or None when it cannot place contacts in time."""
    index = _index(header)
    claimed: set[str] = set()
    columns: dict[str, str] = {}
    for name, synonyms in _SYNONYMS.items():
        for synonym in synonyms:
            cell = index.get(_normalize(synonym))
            if cell is not None and cell not in claimed:
                columns[name] = cell
                claimed.add(cell)
                break
    # A lone "Start" or "Beginn" with no date column must hold the date as well, and so
    # must a lone "End" or "Ende" beside it ("start,end" with ISO timestamps).
    if "date" not in columns and "started_at" not in columns and "start_time" in columns:
        columns["started_at"] = columns.pop("start_time")
        if "end_time" in columns and "end_date" not in columns and "ended_at" not in columns:
            columns["ended_at"] = columns.pop("end_time")
    if _missing_required(columns):
        return None
    unit = _unit_from_header(columns["duration"]) if "duration" in columns else None
    return Layout(
        preset="custom",
        columns={name: columns[name] for name in FIELDS if name in columns},
        duration_unit=unit,
        has_time_of_day=_has_time_of_day(columns),
    )


def detect_layout(header: Sequence[str]) -> Layout | None:
    """The layout of a file from its header alone, so most uploads need no mapping by hand.

    A preset wins when all its required and signature columns are there; otherwise header
    synonyms give a ``custom`` layout if they find a client, a date (or a combined
    date-time) and a duration (or start and end, as times or as date-times); otherwise
    None: the user maps columns.
    """
    index = _index(header)
    for preset in _PRESETS:
        layout, missing = _fit(preset, index)
        if not missing and all(_normalize(cell) in index for cell in preset.signature):
            return layout
    return _custom_layout(header)


def layout_for_preset(name: str, header: Sequence[str]) -> Layout:
    """The named preset's layout on this header (CLI ``--preset``), or why it does not fit.

    Only required columns are checked, so an export with a hidden optional column still
    loads; Kimai is tried in English and German and the closer one reported.
    """
    key = name.strip().lower()
    if key not in PRESET_NAMES:
        raise MappingError(
            f"There is no preset called '{name}'; choose one of {', '.join(PRESET_NAMES)}."
        )
    index = _index(header)
    fits = sorted(
        (_fit(preset, index) for preset in _PRESETS if preset.name == key),
        key=lambda fit: len(fit[1]),
    )
    layout, missing = fits[0]
    if missing:
        quoted = [f"'{cell}'" for cell in missing]
        names = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise MappingError(f"The file does not fit the {_LABELS[key]}: it has no {names} column.")
    return layout


def _resolve_header(cell: str, header: Sequence[str]) -> str:
    """The file's own spelling of a header cell the user named, or a MappingError."""
    found = _index(header).get(_normalize(cell))
    if found is None:
        shown = ", ".join(f"'{c}'" for c in header)
        raise MappingError(f"The file has no column '{cell}'; its columns are {shown}.")
    return found


def layout_from_mapping(
    header: Sequence[str], mapping: Mapping[str, str], base: Layout | None = None
) -> Layout:
    """A layout from the user's field -> header choices, checked against the file's header.

    ``mapping`` may also carry ``duration_unit`` (clock, hours, minutes or seconds). With
    ``base`` (a detected or saved layout) the mapping changes only the fields it names: an empty
    header removes a field, and a header the mapping gives to one field is taken away from
    any other. Headers are matched like detection does, and every header the result uses
    must be in the file, so a saved layout is re-checked with an empty mapping. The preset
    name stays the base's while the mapping only adds fields; otherwise it is ``custom``.
    """
    wanted = {key.strip().lower(): value for key, value in mapping.items()}
    unit_text = wanted.pop(DURATION_UNIT_KEY, None)
    unknown = [key for key in wanted if key not in FIELDS]
    if unknown:
        raise MappingError(
            f"'{unknown[0]}' is not a field Contact Load can map; use one of "
            f"{', '.join(FIELDS)} (or {DURATION_UNIT_KEY})."
        )
    unit: DurationUnit | None = None
    if unit_text is not None and unit_text.strip():
        unit_key = unit_text.strip().lower()
        if unit_key not in DURATION_UNITS:
            raise MappingError(
                f"'{unit_text}' is not a duration unit; use one of {', '.join(DURATION_UNITS)}."
            )
        unit = cast(DurationUnit, unit_key)

    chosen: dict[str, str] = {}
    for name, cell in wanted.items():
        if cell.strip():
            chosen[name] = _resolve_header(cell.strip(), header)
    seen: dict[str, str] = {}
    for name, cell in chosen.items():
        if cell in seen:
            raise MappingError(
                f"The column '{cell}' is mapped to both {seen[cell]} and {name}; map each "
                "column to one field (started_at is for a column holding date and time)."
            )
        seen[cell] = name

    columns: dict[str, str] = {}
    joined: dict[str, tuple[str, ...]] = {}
    if base is not None:
        for name in base.fields():
            if name in wanted:
                continue
            parts = tuple(_resolve_header(cell, header) for cell in base.sources(name))
            if any(part in seen for part in parts):
                continue
            if name in base.joined:
                joined[name] = parts
            else:
                columns[name] = parts[0]
    columns.update(chosen)

    missing = _missing_required({**columns, **joined})
    if missing:
        raise MappingError(
            f"Contacts cannot be placed without a column for {' and '.join(missing)}; "
            f"add {'it' if len(missing) == 1 else 'them'} to the mapping, for example "
            "client=Klient."
        )

    if "duration" not in columns:
        unit = None
    elif unit is None:
        same_column = base is not None and _same(base.sources("duration"), (columns["duration"],))
        unit = base.duration_unit if base is not None and same_column else None
        unit = unit or _unit_from_header(columns["duration"])

    def result_sources(name: str) -> tuple[str, ...]:
        return (columns[name],) if name in columns else joined.get(name, ())

    unchanged = (
        base is not None
        and unit == base.duration_unit
        and all(_same(base.sources(name), result_sources(name)) for name in base.fields())
    )
    return Layout(
        preset=base.preset if base is not None and unchanged else "custom",
        columns={name: columns[name] for name in FIELDS if name in columns},
        duration_unit=unit,
        has_time_of_day=_has_time_of_day(columns),
        joined=joined,
    )


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The text of a double-quoted header starting at ``start``, and the index after it."""
    value: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"' and text[position + 1 : position + 2] == '"':
            value.append('"')
            position += 2
        elif char == '"':
            return "".join(value), position + 1
        else:
            value.append(char)
            position += 1
    raise MappingError(f"The mapping '{text}' opens a double quote it never closes.")


def parse_map_option(text: str) -> dict[str, str]:
    """Parse ``field=Header,field=Header`` from the command line into a mapping.

    Items are separated by commas; the first ``=`` of an item ends the field name, so a
    header may contain ``=`` and spaces. A header containing a comma is either written in
    double quotes (``date="Date, local"``; inside quotes a doubled ``""`` is one quote and
    a backslash is just a backslash) or with the comma escaped as ``\\,`` (outside quotes
    a backslash takes the next character literally, so ``\\\\`` is one backslash). Space
    around fields and unquoted headers is ignored, an empty header (``channel=``) removes
    a field, and empty items are skipped. Field names are checked by ``layout_from_mapping``.
    """
    items: list[tuple[str, str | None]] = []  # (field, header or None when no "=")
    name: list[str] = []
    cell: list[str] = []
    has_equals = False
    position = 0
    while position < len(text):
        char = text[position]
        target = cell if has_equals else name
        if char == "\\" and position + 1 < len(text):
            target.append(text[position + 1])
            position += 2
            continue
        if char == "=" and not has_equals:
            has_equals = True
        elif char == '"' and has_equals and not "".join(cell).strip():
            value, position = _read_quoted(text, position)
            cell = list(value)
            while position < len(text) and text[position] == " ":
                position += 1
            if position < len(text) and text[position] != ",":
                raise MappingError(
                    f"In the mapping '{text}' a quoted header is followed by more text; "
                    "put a comma after the closing quote."
                )
            items.append(("".join(name), value))
            name, cell, has_equals = [], [], False
            position += 1
            continue
        elif char == ",":
            items.append(("".join(name), "".join(cell).strip() if has_equals else None))
            name, cell, has_equals = [], [], False
        else:
            target.append(char)
        position += 1
    if name or has_equals:
        items.append(("".join(name), "".join(cell).strip() if has_equals else None))

    mapping: dict[str, str] = {}
    for raw_name, header in items:
        field_name = raw_name.strip().lower()
        if header is None:
            if field_name:
                raise MappingError(
                    f"'{raw_name.strip()}' in the mapping has no '='; write field=Header, "
                    "for example client=Kunde."
                )
            continue
        if not field_name:
            raise MappingError(f"'={header}' in the mapping names no field before the '='.")
        if field_name in mapping:
            raise MappingError(f"The mapping names the field {field_name} twice; keep one.")
        mapping[field_name] = header
    return mapping


_TEMPLATE_ROWS: tuple[tuple[str, ...], ...] = (
    ("2026-04-13", "09:05", "10", "Client A", "Dr. Kim", "Northside Practice", "phone",
     "scheduling", "client"),
    ("2026-04-13", "21:40", "35", "Client B", "Dr. Kim", "Northside Practice", "phone",
     "crisis", "client"),
    ("2026-04-14", "", "4.5", "Client A", "Dr. Kim", "Northside Practice", "email",
     "reminder", "therapist"),
)  # fmt: skip


def template_csv() -> str:
    """This project's own CSV template, offered for download so hand-kept logs import cleanly.

    One row per contact, comma-separated, UTF-8, with these columns:

    * ``date``: the day of the contact, ISO ``YYYY-MM-DD``.
    * ``start_time``: when it started, ``HH:MM`` on the 24-hour clock, in the therapist's
      local time; leave it empty when the time is not known (the contact then counts for
      its day but not for time-of-day or after-hours measures).
    * ``minutes``: how long it took, a decimal number with a point (``4.5``).
    * ``client``: the client's name or code; it is pseudonymised on import.
    * ``therapist`` and ``practice``: who handled it and where (empty: chosen on import).
    * ``channel``: phone, email, text, portal, video or other.
    * ``category``: scheduling, reminder, check_in, support, crisis, homework or other
      (empty: decided by the keyword rules, else other).
    * ``direction``: client (the client started it), therapist, or empty for unknown.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TEMPLATE_HEADER)
    writer.writerows(_TEMPLATE_ROWS)
    return buffer.getvalue()
