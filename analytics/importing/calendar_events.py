"""Reading an ICS calendar into one row per event instance, one event at a time.

``icalendar`` parses the file (VTIMEZONE blocks, TZID parameters, UTC ``Z`` times, Windows
zone names) and ``recurring-ical-events`` expands each event's series: RRULE and RDATE, with
EXDATE removed, moved instances (RECURRENCE-ID) in place of their original, RANGE=THISANDFUTURE
moving the rest of a series, Google's X-WR-TIMEZONE placing floating times.

Calendar servers write broken events, so each event (the components sharing one UID) is
checked and expanded on its own: an event that cannot be read becomes one row listed for
review with a plain reason, and the others are read. Only a file that is not a calendar at
all is refused, with ``CalendarError``.

- Read tolerantly, because the meaning is clear: spaces inside a rule (``BYDAY=MO, TU``) and
  an empty EXDATE or RDATE (which removes or adds nothing).
- Listed for review: a property that must appear once written twice (two DTSTART lines); an
  event without a start (a moved instance, or an event of RDATE dates alone, without
  DTSTART: the slot of such a moved instance is left out of its series, not guessed); a date,
  length or rule that cannot be read; a title with bytes that are not UTF-8 text; whatever
  else either library refuses for one event.
- Limits, against rules such as ``FREQ=SECONDLY`` without an end: rules are counted lazily
  and an event over ``MAX_INSTANCES_PER_EVENT`` or ``MAX_RULE_STEPS``, or past
  ``MAX_INSTANCES_PER_FILE`` or ``MAX_READING_SECONDS``, is listed, not expanded.

An event with no instance in the range is one row too (``whole_event``), so the range can
count and list what it left out.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import TYPE_CHECKING, Any

from analytics.errors import ContactLoadError

if TYPE_CHECKING:
    import pandas as pd


class CalendarError(ContactLoadError):
    """The file is not a calendar that can be read (broken lines, no events)."""


MAX_INSTANCES_PER_EVENT = 5_000
"""Instances one event may have in the range (a daily session for 13 years). An event with
more is listed for review and none of its instances is read."""

MAX_INSTANCES_PER_FILE = 100_000
"""Instances one file may have in the range (25 sessions a week for 75 years). Events that
would go past it are listed for review, not read."""

MAX_RULE_STEPS = 100_000
"""Instances a rule may run through from its first start to the end of the range (a rule
that began long before the range is counted from its start: a daily one may reach back 270
years). An event whose rule needs more is listed for review, not read."""

MAX_READING_SECONDS = 20.0
"""Time to read one file's events; events not reached by then are listed for review. (A
rule whose parts never match, such as 30 February, runs to the year 9999 without yielding:
a few seconds each.)"""

RANGE_MARGIN = timedelta(days=2)
"""Instances are expanded this far beyond the range, so a zone far from UTC loses none;
the exact range is then applied to the therapist's local dates in SQL."""

# Errors icalendar, recurring-ical-events and dateutil raise for bad data in one event
# (broken values, missing properties, dates mixed with times, years out of range). Each
# becomes that event's listed reason; anything else is a bug and is not hidden.
EVENT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)

_ONCE = {
    "DTSTART": "start",
    "DTEND": "end",
    "DURATION": "length",
    "RECURRENCE-ID": "moved-instance date",
    "UID": "identifier",
    "SUMMARY": "title",
    "STATUS": "status",
}
"""Properties an event may hold once, with the words a reason uses for them."""

_TIMES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")

_READ = {
    **{name: f"{words} ({name})" for name, words in _ONCE.items() if name in _TIMES},
    "RRULE": "repetition rule (RRULE)",
    "RDATE": "extra dates (RDATE)",
    "EXDATE": "excluded dates (EXDATE)",
}
"""Properties whose values are read, with the words a reason uses for them."""


@dataclass
class CalendarEvents:
    """One row per event instance, as plain columns (the only per-event Python work)."""

    uid: list[str | None] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    start_wall: list[datetime | None] = field(default_factory=list)
    """UTC wall time of the start, or the local wall time where ``floating``."""
    floating: list[bool] = field(default_factory=list)
    instance_wall: list[datetime | None] = field(default_factory=list)
    """The instance's original start (its slot in the series), in the same terms."""
    instance_floating: list[bool] = field(default_factory=list)
    minutes: list[float | None] = field(default_factory=list)
    all_day: list[bool] = field(default_factory=list)
    cancelled: list[bool] = field(default_factory=list)
    problem: list[str | None] = field(default_factory=list)
    """Why a row cannot be read (an unknown time zone, a broken event), else None."""
    whole_event: list[bool] = field(default_factory=list)
    """The row stands for a whole event, never stored: one that cannot be read, is over a
    limit, or has no instance in the range (then ``problem`` is None)."""
    over_limit: list[bool] = field(default_factory=list)
    event: list[int] = field(default_factory=list)
    """Which event a row belongs to (the instances of one series share a number)."""

    def add_event(self, component: Any, problem: str | None, over_limit: bool = False) -> None:
        """Append a whole event (listed, not stored) at its start, or where it was moved from."""
        start = _listed_start(component)
        wall, floating = _wall(start) if start is not None else (None, True)
        self.event.append((self.event[-1] + 1) if self.event else 1)
        self._append(
            _text(component.get("UID")) or None, _title(component), wall, floating,
            wall, floating, None, False, False, problem, True, over_limit,
        )  # fmt: skip

    def add_instances(self, rows: list[tuple[Any, ...]]) -> None:
        """Append the instances of one event (rows from ``_instance_rows``)."""
        number = (self.event[-1] + 1) if self.event else 1
        for row in rows:
            self.event.append(number)
            self._append(*row)

    def _append(self, *values: Any) -> None:
        for column, value in zip(self._columns(), values, strict=True):
            column.append(value)

    def _columns(self) -> tuple[list[Any], ...]:
        return (
            self.uid, self.title, self.start_wall, self.floating, self.instance_wall,
            self.instance_floating, self.minutes, self.all_day, self.cancelled, self.problem,
            self.whole_event, self.over_limit,
        )  # fmt: skip

    def frame(self) -> pd.DataFrame:
        """The columns as a data frame DuckDB can read."""
        import pandas as pd

        return pd.DataFrame(
            {
                "event_number": range(1, len(self.title) + 1),
                "uid": pd.Series(self.uid, dtype="string"),
                "title": pd.Series(self.title, dtype="string"),
                "start_wall": pd.Series(self.start_wall, dtype="datetime64[us]"),
                "floating": pd.Series(self.floating, dtype="bool"),
                "instance_wall": pd.Series(self.instance_wall, dtype="datetime64[us]"),
                "instance_floating": pd.Series(self.instance_floating, dtype="bool"),
                "minutes": pd.Series(self.minutes, dtype="float64"),
                "all_day": pd.Series(self.all_day, dtype="bool"),
                "cancelled": pd.Series(self.cancelled, dtype="bool"),
                "problem": pd.Series(self.problem, dtype="string"),
                "whole_event": pd.Series(self.whole_event, dtype="bool"),
                "over_limit": pd.Series(self.over_limit, dtype="bool"),
                "event": pd.Series(self.event, dtype="int64"),
            }
        )


def read_calendar(
    data: bytes, file_name: str, start: date | None, end: date | None, today: date
) -> tuple[CalendarEvents, date | None, date]:
    """Parse an ICS file into one row per event instance between ``start`` and ``end``
    (local dates, with a margin; default: from the first event's date to ``today``), plus
    one row per event listed for review or without an instance in that window.

    Returns the rows and the range asked for (``start`` None: the first local date, found in
    SQL in the therapist's zone). Raises ``CalendarError`` with one sentence when the file
    is not a calendar.
    """
    calendar = _parse(data, file_name)
    components: list[Any] = list(calendar.walk("VEVENT"))
    if not components:
        raise CalendarError(
            f"{file_name} holds no events; export the calendar with its appointments."
        )
    end = end or today
    if start is not None and end < start:
        raise CalendarError(
            f"The range starts on {start} but ends earlier, on {end}; choose an end on "
            "or after the start."
        )
    events = CalendarEvents()
    readable: list[Any] = []
    blocked: dict[str, set[date | datetime]] = {}  # UID -> slots of moved instances listed
    for component in components:
        _tolerate(component)
        problem = _problem(component)
        if problem is None:
            readable.append(component)
            continue
        events.add_event(component, problem)
        slot, uid = _recurrence_id(component), _text(component.get("UID"))
        if slot is not None and uid:  # (a moved instance without UID belongs to no series)
            blocked.setdefault(uid, set()).add(slot)
    first = start or min((_day(c["DTSTART"].dt) for c in readable), default=end)
    _Expansion(events, calendar, (first, max(first, end)), blocked).read(_groups(readable))
    return events, start, end


def _parse(data: bytes, file_name: str) -> Any:
    """The calendar in ``data``, or ``CalendarError`` when it is not one."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data.lstrip(b"\xef\xbb\xbf"))
    except EVENT_ERRORS as error:
        # the first line of the text says what broke the file as a whole; where it quotes
        # the file's own lines, the words before them are enough
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "\\n" in detail:
            detail = detail.split(": ", 1)[0]
        detail = _plain(detail)
        raise CalendarError(
            f"{file_name} is not a readable calendar ({detail}); export it again from the "
            "calendar program; nothing was stored."
        ) from error
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise CalendarError(
            f"{file_name} is not a calendar (it does not begin with BEGIN:VCALENDAR); export "
            "it again from the calendar program; nothing was stored."
        )
    return calendar


class _Expansion:
    """Expands event after event into ``events``, within the window and the limits."""

    def __init__(
        self,
        events: CalendarEvents,
        calendar: Any,
        shown: tuple[date, date],
        blocked: dict[str, set[date | datetime]],
    ) -> None:
        self.events = events
        self.calendar = calendar
        self.shown = shown
        """The range as the reasons name it (its start in the calendar's own terms)."""
        self.window = (_shift(shown[0], -RANGE_MARGIN), _shift(shown[1], RANGE_MARGIN))
        self.blocked = blocked
        self.instances = 0
        self.began = time.monotonic()

    def read(self, groups: Iterable[list[Any]]) -> None:
        """Expand each event, listing those that cannot be read or are over a limit."""
        for group in groups:
            main = _main(group)
            if time.monotonic() - self.began > MAX_READING_SECONDS:
                self.events.add_event(main, self._range_words(
                    f"Reading the file took over {MAX_READING_SECONDS:g} seconds before "
                    "this event"), over_limit=True)  # fmt: skip
                continue
            try:
                self._expand(group, main)
            except _OverLimit as limit:
                self.events.add_event(main, str(limit), over_limit=True)
            except EVENT_ERRORS as error:
                detail = _plain(str(error)) or type(error).__name__
                self.events.add_event(
                    main, f"Its dates or repetition rule cannot be worked out ({detail})."
                )

    def _expand(self, group: list[Any], main: Any) -> None:
        import recurring_ical_events

        query = recurring_ical_events.of(self._calendar_of(group))
        occurrences: list[Any] = []
        for series in query.series:
            self._check_limits(series)
            for occurrence in series.between(*self.window):
                occurrences.append(occurrence)
                if len(occurrences) > MAX_INSTANCES_PER_EVENT:
                    raise _OverLimit(self._range_words(_too_many()))
        rows = _instance_rows(group, occurrences, self.blocked.get(_text(main.get("UID")), set()))
        if not rows:
            self.events.add_event(main, None)  # no instance in the window: left out by it
        self.events.add_instances(rows)
        self.instances += len(rows)

    def _check_limits(self, series: Any) -> None:
        """Count the series' rules lazily (never past a limit); ``_OverLimit`` when over."""
        low, high = self.window
        counted = 0
        # recurring-ical-events keeps the dateutil rules of a series in ``rrules`` (the
        # RDATE/DTSTART set first); iterating them stops where a limit is reached, while
        # its ``between`` would first list every instance up to the end of the window.
        for rule in getattr(series.recurrence, "rrules", ()):
            for step, instance in enumerate(rule):
                moment = instance.replace(tzinfo=None)  # a day's margin makes zones moot
                if moment.date() > high:
                    break
                if step >= MAX_RULE_STEPS:
                    raise _OverLimit(
                        f"Its repetition rule runs through more than {MAX_RULE_STEPS:,} "
                        f"instances up to {self.shown[1]}; none of its instances were read."
                    )
                counted += moment.date() >= low
                if counted > MAX_INSTANCES_PER_EVENT:
                    raise _OverLimit(self._range_words(_too_many()))
        if self.instances + counted > MAX_INSTANCES_PER_FILE:
            raise _OverLimit(
                self._range_words(
                    f"The file has more than {MAX_INSTANCES_PER_FILE:,} instances before this event"
                )
            )

    def _range_words(self, what: str) -> str:
        low, high = self.shown
        return (
            f"{what} between {low} and {high}; none of its "
            "instances were read; import a shorter range."
        )

    def _calendar_of(self, group: list[Any]) -> Any:
        """A calendar holding only this event, with the file's calendar-wide properties."""
        import icalendar

        single = icalendar.Calendar()
        for name in ("CALSCALE", "X-WR-TIMEZONE"):
            if name in self.calendar:
                single[name] = self.calendar[name]
        for component in group:
            single.add_component(component)
        return single


class _OverLimit(Exception):
    """An event goes past one of the limits; the text is its listed reason."""


def _too_many() -> str:
    return f"It has more than {MAX_INSTANCES_PER_EVENT:,} instances"


def _groups(components: list[Any]) -> list[list[Any]]:
    """Components by UID (a series with its moved instances); each without UID alone."""
    groups: dict[str, list[Any]] = {}
    alone: list[list[Any]] = []
    for component in components:
        uid = _text(component.get("UID"))
        if uid:
            groups.setdefault(uid, []).append(component)
        else:
            alone.append([component])
    return [*groups.values(), *alone]


def _main(group: list[Any]) -> Any:
    """The component that stands for an event in a listing: the series, not a moved one."""
    return next((c for c in group if "RECURRENCE-ID" not in c), group[0])


def _instance_rows(
    group: list[Any], occurrences: list[Any], blocked: set[date | datetime]
) -> list[tuple[Any, ...]]:
    """The column values of each instance; slots of moved instances listed are left out."""
    from recurring_ical_events import EventAdapter

    # RANGE=THISANDFUTURE moves every later instance by the moved one's shift; each keeps its
    # own slot (its start before the shift) as identity.
    shifts = {
        component["RECURRENCE-ID"].to_ical(): EventAdapter(component).move_recurrences_by
        for component in group
        if "RECURRENCE-ID" in component
    }
    zone = next((z for c in group if (z := _unknown_zone(c))), None)
    rows = []
    for occurrence in occurrences:
        component = occurrence.as_component(False)
        begin, finish = occurrence.start, occurrence.end
        recurrence = component.get("RECURRENCE-ID")
        if recurrence is None:
            slot = begin
        elif recurrence.params.get("RANGE", "").upper() == "THISANDFUTURE":
            slot = begin - shifts.get(recurrence.to_ical(), timedelta(0))
        else:
            slot = recurrence.dt
        if slot in blocked:
            continue
        start_wall, floating = _wall(begin)
        instance_wall, instance_floating = _wall(slot)
        timed = isinstance(begin, datetime)
        floating_time = timed and begin.tzinfo is None
        minutes = None
        if timed and isinstance(finish, datetime) and floating_time == (finish.tzinfo is None):
            minutes = (finish - begin).total_seconds() / 60
        rows.append(
            (
                _text(component.get("UID")) or None, _title(component), start_wall, floating,
                instance_wall, instance_floating, minutes, not timed,
                _text(component.get("STATUS")).upper() == "CANCELLED",
                _zone_problem(zone, floating_time), False, False,
            )
        )  # fmt: skip
    return rows


def _zone_problem(zone: str | None, floating_time: bool) -> str | None:
    return f"Unknown time zone {_plain(zone)}." if zone and floating_time else None


def _tolerate(component: Any) -> None:
    """Read in place what servers write loosely but mean clearly: spaces inside a rule
    (``BYDAY=MO, TU``), an empty EXDATE or RDATE."""
    from icalendar import vRecur
    from icalendar.prop import vBroken

    for name in ("RRULE", "EXRULE"):
        values = _values(component.get(name))
        if any(isinstance(value, vBroken) for value in values):
            repaired = []
            for value in values:
                if isinstance(value, vBroken):
                    with contextlib.suppress(*EVENT_ERRORS):  # still broken: listed by _problem
                        value = vRecur.from_ical(re.sub(r"\s+", "", str(value)))
                repaired.append(value)
            component[name] = repaired if len(repaired) > 1 else repaired[0]
    for name in ("EXDATE", "RDATE"):
        values = _values(component.get(name))
        kept = [value for value in values if not (isinstance(value, vBroken) and not value.strip())]
        if len(kept) < len(values):
            del component[name]
            if kept:
                component[name] = kept if len(kept) > 1 else kept[0]


def _problem(component: Any) -> str | None:
    """Why an event cannot be read, in plain words, or None."""
    from icalendar.prop import vBroken

    for name, words in _ONCE.items():
        value = component.get(name)
        if isinstance(value, list):
            return f"It has {len(value)} {name} lines; an event has one {words}."
    if "DTSTART" not in component:
        if "RECURRENCE-ID" in component:
            return "It is a moved instance (RECURRENCE-ID) without its own start (DTSTART)."
        if "RDATE" in component:
            return "It has dates (RDATE) but no start (DTSTART)."
        return "It has no start (DTSTART)."
    for name, words in _READ.items():
        for value in _values(component.get(name)):
            if isinstance(value, vBroken) or not _is_moment(value):
                return f"Its {words} cannot be read ({_raw(value) or 'empty'})."
    if "\ufffd" in _title(component):
        return (
            "Its title holds bytes that are not UTF-8 text; save the calendar as UTF-8 and "
            "import it again."
        )
    return None


def _is_moment(value: Any) -> bool:
    """Whether a read value is what its property holds: a date or date-time (a period in
    RDATE, a length in DURATION), not a bare time of day such as ``DTSTART:202611``."""
    from icalendar.prop import vDDDLists

    if isinstance(value, vDDDLists):  # EXDATE, RDATE
        return all(_is_moment(item) for item in value.dts)
    moment = getattr(value, "dt", None)
    if moment is None:
        return True  # RRULE, read by its own type
    if isinstance(moment, tuple):  # a period: start and end or length
        return isinstance(moment[0], date)
    return isinstance(moment, date | timedelta)


def _raw(value: Any) -> str:
    if isinstance(value, str):
        return _plain(value)
    try:
        text = value.to_ical()
    except EVENT_ERRORS:
        return ""
    return _plain(text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A text property as plain text (the first, where a server wrote it twice)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


def _title(component: Any) -> str:
    return _text(component.get("SUMMARY"))


def _recurrence_id(component: Any) -> date | datetime | None:
    """The slot a moved instance replaces, where it can be read."""
    value = component.get("RECURRENCE-ID")
    try:
        moment = None if value is None or isinstance(value, list) else value.dt
    except EVENT_ERRORS:
        return None
    return moment if isinstance(moment, date) else None


def _listed_start(component: Any) -> date | datetime | None:
    """Where a listed event is shown: its start, or the slot it was moved from, if readable."""
    value = component.get("DTSTART")
    if isinstance(value, list):  # written twice: shown at the first
        value = value[0]
    try:
        if value is not None and isinstance(value.dt, date):
            return value.dt
    except EVENT_ERRORS:
        pass
    return _recurrence_id(component)


def _unknown_zone(component: Any) -> str | None:
    """The TZID of a start that neither a VTIMEZONE block, the IANA database nor the Windows
    names resolve (icalendar then reads the time as floating; we refuse to guess)."""
    start = component.get("DTSTART")
    zone = start.params.get("TZID")
    if zone and isinstance(start.dt, datetime) and start.dt.tzinfo is None:
        return str(zone)
    return None


def _wall(value: date | datetime) -> tuple[datetime, bool]:
    """A start as (wall time, floating): aware times in UTC, floating and all-day as written.

    (A calendar with ``X-WR-TIMEZONE``, as Google writes, has its floating times already
    placed in that zone by recurring-ical-events.)"""
    if not isinstance(value, datetime):
        return datetime.combine(value, clock()), True
    if value.tzinfo is None:
        return value, True
    return value.astimezone(UTC).replace(tzinfo=None), False


def _shift(day: date, by: timedelta) -> date:
    """``day`` moved by ``by``, stopping at the first and last dates Python knows."""
    try:
        return day + by
    except OverflowError:
        return date.min if by < timedelta(0) else date.max


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _plain(text: str, limit: int = 120) -> str:
    """Library text fit for a reason: no Python bytes literal, no escapes, one short line."""
    text = re.sub(r"""\bb(['"])(.*?)\1""", r"\2", text)
    text = re.sub(r"\\x[0-9a-fA-F]{2}", "?", text)
    text = text.replace("\\;", ";").replace("\\,", ",").replace("\ufffd", "?")
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.rstrip(" .")
