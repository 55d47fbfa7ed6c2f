"""SQL expressions that turn staged text cells into dates, times, durations and numbers.

Builders (``date_sql``, ``time_sql``, ...) take SQL text for one value, such as ``c3`` or
``nullif(trim(c3), '')``, and return SQL text for the parsed value: the right type, or NULL
when the text is not such a value. They never raise, so one bad cell becomes one reported row
instead of a failed file: every conversion is gated by a regular expression for its shape and
then done with ``try_strptime`` / ``TRY_CAST``, which give NULL for impossible values like
31.02.2026. (DuckDB's ``try()`` would also do, but falls back to row-by-row work on every
error.)

That general path costs up to a second or two per million values, so each builder first
tries the few shapes that exports write nearly always (``2026-04-15``, ``15.04.2026``,
``14:30:00``, ``9:05``, ``02:30:00 PM``, ``2026-04-15 14:30:00``, ``1.5``, ``0,25``, ...)
with cheap exact checks, and DuckDB evaluates the general path only for the rows none of them
read (see ``_first_of``): about 0.05-0.15 s per million well-formed values. A fast path gives
a value only where the general path gives the same one. ISO dates and 24-hour times are
converted with ``TRY_CAST`` behind a LIKE for their layout (a failing TRY_CAST is slow) and
kept only if they print back as exactly the text, which rules out everything the casts
tolerate beyond the one shape (spaces, one-digit fields, ``24:00``, years before 1000 written
short, BC); other shapes are matched by a strict regular expression and then read with the
one ``try_strptime`` format of the general path that can match them. ``fast=False`` gives the
general path alone, which the tests compare the fast paths with.

Detectors (``detect_date_order``, ...) query a whole staged column, because one cell such as
``03/04/2026`` cannot tell its own date order, but the other rows of the file usually can.

Accepted forms, after the reader has trimmed each cell:

- dates: day, month and year in the given order, separated by one of ``. / -`` (the same
  twice); 4-digit years 0001-9999 or 2-digit years (69-99 -> 1969-1999, 00-68 -> 2000-2068).
  A leading 4-digit year (``2026-04-15``, ``2026/04/15``) is always year-month-day. A time
  after the date (``15.04.2026 14:30``) is ignored by ``date_sql``.
- times: ``14:30``, ``9:05``, ``14:30:05``, ``14:30:05.250`` (or ``,250``), and 12-hour forms
  ``2:30 PM``, ``02:30:00 pm``, ``9:05 a.m.``, ``9 PM``; hours 0-23 (no ``24:00``), 1-12
  with AM/PM.
- timestamps: a date, then ``T`` or spaces, then a time, as above (wall clock). Values with a
  zone or offset (``Z``, ``+02:00``) give NULL there rather than a time shifted without
  notice; ``instant_sql`` reads those (ISO date and 24-hour time, then ``Z``, ``UTC`` or an
  offset ``+02:00`` / ``+0200`` / ``+02``) as the instant they name.
- numbers: optional sign, digits, a decimal point (or comma), and thousands separators in
  groups of three: ``,`` (or ``.`` with decimal comma), spaces, no-break spaces, ``'``.
- durations: ``clock`` is ``h:mm`` or ``h:mm:ss`` with any number of hours (``25:00:00``);
  ``hours``, ``minutes`` and ``seconds`` are non-negative numbers.
"""

import re
from typing import Literal, get_args

import duckdb

DateOrder = Literal["ymd", "dmy", "mdy"]
"""The order of day, month and year in dates that do not start with a 4-digit year."""

DurationUnit = Literal["clock", "hours", "minutes", "seconds"]
"""How a duration column is written: ``1:30`` (clock), ``1.5`` (hours), ``90`` (minutes) or
``5400`` (seconds, as Kimai writes)."""

DATE_ORDERS: tuple[DateOrder, ...] = get_args(DateOrder)
"""Every date order, for choices offered to the user."""

DURATION_UNITS: tuple[DurationUnit, ...] = get_args(DurationUnit)
"""Every duration unit, for choices offered to the user."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Shapes (RE2, as SQL string literals). Only spaces around values: the reader trims cells.
_YEAR4 = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_AFTER_DATE = r"(?: *| *T *[0-9]{1,2}:.*| +[0-9]{1,2}:.*)$"
_DAY_OR_MONTH = r"[0-9]{1,2}"
_DATE_SHAPES = {
    "year_first": rf"^ *{_YEAR4}[./-]{_DAY_OR_MONTH}[./-]{_DAY_OR_MONTH}{_AFTER_DATE}",
    "long_year": rf"^ *{_DAY_OR_MONTH}[./-]{_DAY_OR_MONTH}[./-]{_YEAR4}{_AFTER_DATE}",
    "short_year": rf"^ *{_DAY_OR_MONTH}[./-]{_DAY_OR_MONTH}[./-][0-9]{{2}}{_AFTER_DATE}",
    "short_year_first": rf"^ *[0-9]{{2}}[./-]{_DAY_OR_MONTH}[./-]{_DAY_OR_MONTH}{_AFTER_DATE}",
}
_DATE_PART = r"^ *([0-9./-]+)"
_DATE_PARTS = r"^ *([0-9]{1,4})([./-])([0-9]{1,2})([./-])([0-9]{1,4})(?:$|[T ])"
_AM_PM = r" *([AaPp])\.? *[Mm]\.?$"
_TIME_SHAPE = (
    r"^ *[0-9]{1,2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?)?"
    r"(?: *[AaPp]\.? *[Mm]\.?)? *$"
)
_TIME_FORMATS = (
    "%H:%M",
    "%H:%M:%S",
    "%H:%M:%S.%f",
    "%I:%M %p",
    "%I:%M:%S %p",
    "%I:%M:%S.%f %p",
    "%I %p",
)
_DATETIME_PARTS = r"^ *([0-9./-]+)(?: *T *| +)(.+)$"
_INSTANT = (
    rf"^ *{_YEAR4}-[0-9]{{2}}-[0-9]{{2}}(?:T| +)"
    r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?"
    r" *(?:[Zz]|UTC|[+-][0-9]{2}(?::?[0-9]{2})?) *$"
)
_GROUPS = r"[ \x{00A0}\x{202F}']"
_NUMBER_SHAPES = {
    False: rf"^ *[-+]?(?:[0-9]+|[0-9]{{1,3}}(?:(?:,|{_GROUPS})[0-9]{{3}})+)?(?:\.[0-9]+)? *$",
    True: rf"^ *[-+]?(?:[0-9]+|[0-9]{{1,3}}(?:(?:\.|{_GROUPS})[0-9]{{3}})+)?(?:,[0-9]+)? *$",
}
_NUMBER_NOISE = {False: rf"(?:,|{_GROUPS})", True: rf"(?:\.|{_GROUPS})"}
_CLOCK = r"^ *([0-9]+):([0-5][0-9])(?::([0-5][0-9](?:[.,][0-9]+)?))? *$"

# Whole-column evidence for a decimal comma / point; "1,234" and "1.234" prove nothing.
_AMBIGUOUS_NUMBER = r"^ *[-+]?[1-9][0-9]{0,2}[.,][0-9]{3} *$"
_COMMA_DECIMAL = r"^ *[-+]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]*),[0-9]+ *$"
_POINT_DECIMAL = (
    r"^ *[-+]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)\.[0-9]+|[0-9]{1,3}(?:,[0-9]{3}){2,}) *$"
)


def _literal(text: str) -> str:
    """A SQL string literal (for the fixed patterns and formats of this module)."""
    return "'" + text.replace("'", "''") + "'"


def _list(texts: tuple[str, ...] | list[str]) -> str:
    """A SQL list of string literals."""
    return "[" + ", ".join(_literal(text) for text in texts) + "]"


def _date_formats(order: DateOrder) -> dict[str, list[str]]:
    """``strptime`` formats for each date shape read in ``order`` (none: not a date)."""
    separators = (".", "/", "-")
    formats: dict[str, list[str]] = {"year_first": [f"%Y{s}%m{s}%d" for s in separators]}
    if order == "ymd":
        formats["short_year_first"] = [f"%y{s}%m{s}%d" for s in separators]
        return formats
    first, second = ("%d", "%m") if order == "dmy" else ("%m", "%d")
    formats["long_year"] = [f"{first}{s}{second}{s}%Y" for s in separators]
    formats["short_year"] = [f"{first}{s}{second}{s}%y" for s in separators]
    return formats


def _let(name: str, value: str, body: str) -> str:
    """``body`` with ``name`` standing for ``value``, which is computed once.

    For the general paths, which sit where DuckDB does not compute repeated parts once (see
    ``_first_of``). ``name`` must not be a column name.
    """
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def _first_of(value: str, fast: list[str], general: str) -> str:
    """The first of the fast paths that is not NULL, else the general path.

    ``coalesce`` evaluates an argument only for the rows where the ones before are NULL
    (timed: 0.03 s per million values when the first one reads them all, against 0.75 s
    for the general path alone). But DuckDB's common-subexpression step first hoists any
    part that occurs twice outside a short-circuited position, ``coalesce`` arguments
    included, and computes it for every row. The general path therefore goes in the THEN
    of a CASE, where nothing is hoisted; on NULL it gives NULL anyway.
    """
    guarded = f"CASE WHEN {value} IS NOT NULL THEN {general} END"
    return f"coalesce({', '.join([*fast, guarded])})"


def _fast_date_sql(value: str, order: DateOrder) -> list[str]:
    """Fast paths for ``15.04.2026`` / ``1/4/2026`` (dmy) or ``4/15/2026`` (mdy), then ISO.

    For such a shape the general path makes the same ``try_strptime`` call (of its formats
    only the one with this separator can match); the exact shape comes first because
    ``try_strptime`` takes more than the general path does (spaces, a year 0000 that is
    1 BC). A cast date prints as ``YYYY-MM-DD`` for the years 0001-9999 (earlier ones get
    `` (BC)``, which the LIKE rules out).
    """
    layouts = {"ymd": (), "dmy": ("%d.%m.%Y", "%d/%m/%Y"), "mdy": ("%m/%d/%Y",)}[order]
    paths = []
    for layout in layouts:
        shape = re.escape(layout[2]).join(["[0-9]{1,2}", "[0-9]{1,2}", _YEAR4])
        paths.append(
            f"CASE WHEN regexp_full_match({value}, {_literal(shape)}) "
            f"THEN CAST(try_strptime({value}, {_literal(layout)}) AS DATE) END"
        )
    paths.append(
        f"CASE WHEN {value} LIKE '____-__-__' "
        f"AND CAST(TRY_CAST({value} AS DATE) AS VARCHAR) = {value} "
        f"THEN TRY_CAST({value} AS DATE) END"
    )
    return paths


def date_sql(column: str, order: DateOrder, *, fast: bool = True) -> str:
    """SQL for the DATE in ``column`` read in ``order``, or NULL: one order for the file.

    ``fast``: False gives the general path alone (same values, about ten times slower).
    """
    if order not in DATE_ORDERS:
        raise ValueError(f"Unknown date order: {order!r}")
    value = f"({column})"
    general = _general_date_sql(value, order)
    return _first_of(value, _fast_date_sql(value, order), general) if fast else general


def _general_date_sql(value: str, order: DateOrder) -> str:
    """The general path of ``date_sql``: any accepted shape, by regular expressions."""
    date_text = f"regexp_extract({value}, {_literal(_DATE_PART)}, 1)"
    branches = " ".join(
        f"WHEN regexp_full_match({value}, {_literal(_DATE_SHAPES[shape])}) "
        f"THEN try_strptime({date_text}, {_list(formats)})"
        for shape, formats in _date_formats(order).items()
    )
    return f"CAST(CASE {branches} END AS DATE)"


_FAST_AM_PM = {
    "%I:%M %p": r"[0-9]{1,2}:[0-9]{2} [AP]M",
    "%I:%M:%S %p": r"[0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M",
}
"""12-hour shapes read with the one of the general path's formats that can match them."""


def _clock_shapes(value: str) -> list[tuple[str, str, str]]:
    """``(LIKE pattern, the text as HH:MM:SS, hour digits)`` for ``14:30:00``, ``14:30``,
    ``9:05:00`` and ``9:05``."""
    return [
        ("__:__:__", value, f"{value}[1:2]"),
        ("__:__", f"{value} || ':00'", f"{value}[1:2]"),
        ("_:__:__", f"'0' || {value}", f"{value}[1:1]"),
        ("_:__", f"'0' || {value} || ':00'", f"{value}[1:1]"),
    ]


def _exact_time_sql(value: str, like: str, text: str, latest: str) -> str:
    """True where ``value`` is LIKE ``like`` and ``text`` is exactly ``HH:MM:SS`` before
    ``latest``: a TIME that prints as the text again.

    The LIKE is what keeps this cheap: a TRY_CAST that fails costs ten that succeed.
    """
    return (
        f"{value} LIKE '{like}' AND {text} < '{latest}' "
        f"AND CAST(TRY_CAST({text} AS TIME) AS VARCHAR) = {text}"
    )


def _fast_time_sql(value: str) -> list[str]:
    """Fast paths for ``14:30:00``, ``14:30``, ``9:05:00``, ``9:05`` (hours 0-23; a TIME cast
    takes 24 too) and ``2:30 PM``, ``02:30:00 PM``."""
    paths = [
        f"CASE WHEN {_exact_time_sql(value, like, text, '24')} THEN TRY_CAST({text} AS TIME) END"
        for like, text, _ in _clock_shapes(value)
    ]
    paths.extend(
        f"CASE WHEN regexp_full_match({value}, {_literal(shape)}) "
        f"THEN CAST(try_strptime({value}, {_literal(layout)}) AS TIME) END"
        for layout, shape in _FAST_AM_PM.items()
    )
    return paths


def time_sql(column: str, *, fast: bool = True) -> str:
    """SQL for the TIME of day in ``column``, or NULL; 24-hour and AM/PM alike (Clockify).

    ``fast``: False gives the general path alone (same values, about ten times slower).
    """
    value = f"({column})"
    general = _general_time_sql(value)
    return _first_of(value, _fast_time_sql(value), general) if fast else general


def _general_time_sql(value: str) -> str:
    """The general path of ``time_sql``: any accepted shape, by regular expressions."""
    normalized = f"replace(regexp_replace(trim({value}), {_literal(_AM_PM)}, ' \\1M'), ',', '.')"
    return (
        f"CASE WHEN regexp_full_match({value}, {_literal(_TIME_SHAPE)}) "
        f"AND regexp_matches({value}, '[:AaPp]') "
        f"THEN CAST(try_strptime({normalized}, {_list(_TIME_FORMATS)}) AS TIME) END"
    )


def _fast_datetime_sql(value: str) -> list[str]:
    """Fast paths for ``2026-04-15 14:30:00`` and ``2026-04-15 14:30``, also with ``T``."""
    return [
        f"CASE WHEN {value} LIKE '{like}' "
        f"AND CAST(TRY_CAST({value} AS TIMESTAMP) AS VARCHAR) = replace({value}, 'T', ' '){suffix} "
        f"THEN TRY_CAST({value} AS TIMESTAMP) END"
        for like, suffix in (("____-__-_____:__:__", ""), ("____-__-_____:__", " || ':00'"))
    ]


def datetime_sql(column: str, order: DateOrder, *, fast: bool = True) -> str:
    """SQL for the wall-clock TIMESTAMP in ``column``, or NULL: for one-cell date and time.

    ``fast``: False gives the general path alone (same values, about ten times slower).
    """
    value = f"({column})"
    # The two parts are split off once and named by a lambda: each is used many times below.
    parts = f"regexp_extract({value}, {_literal(_DATETIME_PARTS)}, ['day', 'time'])"
    day, moment = "(datetime_parts.day)", "(datetime_parts.time)"
    if fast:
        day = _first_of(day, _fast_date_sql(day, order), _general_date_sql(day, order))
        moment = _first_of(moment, _fast_time_sql(moment), _general_time_sql(moment))
    else:
        day, moment = _general_date_sql(day, order), _general_time_sql(moment)
    read = _let("datetime_parts", parts, f"CAST({day} + {moment} AS TIMESTAMP)")
    general = f"CASE WHEN regexp_matches({value}, {_literal(_DATETIME_PARTS)}) THEN {read} END"
    return _first_of(value, _fast_datetime_sql(value), general) if fast else general


def instant_sql(column: str) -> str:
    """SQL for the TIMESTAMPTZ in ``column`` when it names its zone (``...Z``, ``...+02:00``,
    ``... UTC``), else NULL: an instant, which the therapist's zone turns into local time."""
    value = f"({column})"
    text = f"replace(upper({value}), ',', '.')"
    return (
        f"CASE WHEN regexp_full_match({value}, {_literal(_INSTANT)}) "
        f"THEN TRY_CAST({text} AS TIMESTAMPTZ) END"
    )


_FAST_NUMBER = {False: r"[0-9]*\.?[0-9]+", True: r"[0-9]*,?[0-9]+"}
"""Unsigned numbers without grouping; up to 20 characters they are finite doubles."""


def _fast_number_sql(value: str, decimal_comma: bool) -> str:
    """Fast path for ``1.5`` / ``0,25`` / ``12``: NULL for anything else."""
    digits = f"replace({value}, ',', '.')" if decimal_comma else value
    return (
        f"CASE WHEN length({value}) <= 20 "
        f"AND regexp_full_match({value}, {_literal(_FAST_NUMBER[decimal_comma])}) "
        f"THEN TRY_CAST({digits} AS DOUBLE) END"
    )


def number_sql(column: str, decimal_comma: bool, *, fast: bool = True) -> str:
    """SQL for the DOUBLE in ``column``, or NULL, read with the file's decimal mark.

    ``fast``: False gives the general path alone (same values, about four times slower).
    """
    value = f"({column})"
    digits = f"regexp_replace(trim({value}), {_literal(_NUMBER_NOISE[decimal_comma])}, '', 'g')"
    if decimal_comma:
        digits = f"replace({digits}, ',', '.')"
    number = f"TRY_CAST({digits} AS DOUBLE)"
    general = (
        f"CASE WHEN regexp_full_match({value}, {_literal(_NUMBER_SHAPES[decimal_comma])}) "
        f"AND regexp_matches({value}, '[0-9]') AND isfinite({number}) THEN {number} END"
    )
    return _first_of(value, [_fast_number_sql(value, decimal_comma)], general) if fast else general


def duration_minutes_sql(
    column: str, unit: DurationUnit, decimal_comma: bool, *, fast: bool = True
) -> str:
    """SQL for a duration in minutes (DOUBLE, never negative), or NULL: one unit for all.

    ``fast``: False gives the general path alone (same values, several times slower).
    """
    value = f"({column})"
    if unit == "clock":
        # The parts are split off once and named by a lambda: each is used twice.
        parts = f"regexp_extract({value}, {_literal(_CLOCK)}, ['h', 'm', 's'])"
        seconds = "coalesce(TRY_CAST(replace(clock_parts.s, ',', '.') AS DOUBLE), 0)"
        minutes = (
            "TRY_CAST(clock_parts.h AS DOUBLE) * 60 + TRY_CAST(clock_parts.m AS DOUBLE) "
            f"+ {seconds} / 60"
        )
        read = _let("clock_parts", parts, f"CASE WHEN isfinite({minutes}) THEN {minutes} END")
        general = f"CASE WHEN regexp_full_match({value}, {_literal(_CLOCK)}) THEN {read} END"
        # Up to 24:00:00, summed in the general path's order and types (the same double).
        clocks = [
            f"CASE WHEN {_exact_time_sql(value, like, text, '24:00:01')} "
            f"THEN TRY_CAST({hour} AS DOUBLE) * 60 + TRY_CAST(({text})[4:5] AS DOUBLE) "
            f"+ coalesce(TRY_CAST({second_digits} AS DOUBLE), 0) / 60 END"
            for like, text, hour in _clock_shapes(value)
            for second_digits in [f"({value})[-2:]" if like.count(":") == 2 else "NULL"]
        ]
        return _first_of(value, clocks, general) if fast else general
    if unit not in DURATION_UNITS:
        raise ValueError(f"Unknown duration unit: {unit!r}")
    # The number is read once and named by a lambda: it is used three times.
    scale = {"hours": " * 60", "minutes": "", "seconds": " / 60"}[unit]
    minutes = f"duration_number{scale}"
    general = _let(
        "duration_number",
        number_sql(value, decimal_comma, fast=False),
        f"CASE WHEN duration_number >= 0 AND isfinite({minutes}) THEN {minutes} END",
    )
    if not fast:
        return general
    quick = _fast_number_sql(value, decimal_comma)
    return _first_of(value, [f"({quick}){scale}" if scale else quick], general)


def _checked(table: str, column: str) -> None:
    """Refuse names that are not plain identifiers (they are put into SQL text)."""
    for name in (table, column):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"Not a plain SQL identifier: {name!r}")


def file_date_order(
    cursor: duckdb.DuckDBPyConnection, table: str, column: str, *more: str
) -> DateOrder | None:
    """The date order of a staged file's date column(s), decided over their distinct
    non-empty cells with their counts (a few hundred at most, however long the file):
    contact logs and session files alike (``more``: an end column whose dates count too).

    None only when some date reads both ways (03/04/2026) and nothing decides the order.
    When no date is ambiguous, "dmy" is as good as "mdy" (every date reads the same or in
    neither, like 13/15/2024, and that row is then reported as unreadable).
    """
    for name in (column, *more):
        _checked(table, name)
    cells = " UNION ALL ".join(
        f"SELECT nullif(trim({name}), '') AS cell FROM {table}"  # noqa: S608
        for name in (column, *more)
    )
    cursor.execute(
        "CREATE OR REPLACE TEMP TABLE date_cells AS "  # noqa: S608 - checked identifiers
        f"SELECT cell, count(*) AS n FROM ({cells}) GROUP BY 1"
    )
    order = detect_date_order(cursor, "date_cells", "cell", weight="n")
    if order is None and not _any_ambiguous_date(cursor, "date_cells", "cell"):
        order = "dmy"
    cursor.execute("DROP TABLE date_cells")
    return order


def _any_ambiguous_date(cursor: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether some date in the column reads both day-first and month-first (03/04/2026)."""
    row = cursor.execute(
        f"""
        SELECT count(*) FROM (
            SELECT regexp_extract({column}, $shape, ['a', 's1', 'b', 's2', 'c']) AS p
            FROM {table} WHERE {column} IS NOT NULL
        )
        WHERE length(p.a) <> 4 AND p.a <> '' AND p.s1 = p.s2 AND NOT p.s1 = '.'
          AND TRY_CAST(p.a AS INTEGER) BETWEEN 1 AND 12
          AND TRY_CAST(p.b AS INTEGER) BETWEEN 1 AND 12
        """,  # noqa: S608
        {"shape": _DATE_PARTS},
    ).fetchone()
    return bool(row and row[0])


def neither_order_sql(column: str) -> str:
    """SQL: True where a cell shaped like a date (13/15/2024) reads neither day-first nor
    month-first, so its row can say why rather than only that it could not be read."""
    value = f"({column})"
    return (
        f"(regexp_matches({value}, {_literal(_DATE_PARTS)}) "
        f"AND {date_sql(value, 'dmy')} IS NULL AND {date_sql(value, 'mdy')} IS NULL)"
    )


def detect_date_order(
    cursor: duckdb.DuckDBPyConnection, table: str, column: str, *, weight: str | None = None
) -> DateOrder | None:
    """The date order the whole column proves, or None when it proves none (ask the user).

    Values starting with a 4-digit year are year-month-day in any order; when those are all
    there is, "ymd". Otherwise a value with a day above 12 in first place (or with dots,
    DD.MM.YYYY) is evidence for "dmy", one with a day above 12 in second place for "mdy",
    and the order with more evidence wins (the other values then read as no date and are
    reported). None when there is no evidence (every value like 03/04/2026) or a tie.

    ``weight`` names a column of row counts when ``table`` holds distinct values (a file's
    dates repeat; deciding over the few distinct ones is much faster and gives the same
    answer).
    """
    _checked(table, column)
    if weight is not None:
        _checked(table, weight)
    counted = "sum(w)" if weight else "count(*)"
    row = cursor.execute(
        f"""
        WITH parts AS (
            SELECT regexp_extract({column}, $shape, ['a', 's1', 'b', 's2', 'c']) AS p,
                   {weight or "1"} AS w
            FROM {table}
            WHERE {column} IS NOT NULL
        ), facts AS (
            SELECT length(p.a) = 4 AS iso, p.s1 = '.' AS dotted,
                   TRY_CAST(p.a AS INTEGER) AS a, TRY_CAST(p.b AS INTEGER) AS b, w
            FROM parts
            WHERE p.a <> '' AND p.s1 = p.s2
        )
        SELECT {counted} FILTER (WHERE iso),
               {counted} FILTER (WHERE NOT iso),
               {counted} FILTER (
                   WHERE NOT iso AND b BETWEEN 1 AND 12
                     AND (a BETWEEN 13 AND 31 OR (dotted AND a BETWEEN 1 AND 31))
               ),
               {counted} FILTER (
                   WHERE NOT iso AND a BETWEEN 1 AND 12 AND b BETWEEN 13 AND 31
               )
        FROM facts
        """,  # noqa: S608
        {"shape": _DATE_PARTS},
    ).fetchone()
    iso, other, day_first, month_first = (value or 0 for value in row) if row else (0, 0, 0, 0)
    if day_first > month_first:
        return "dmy"
    if month_first > day_first:
        return "mdy"
    if iso and not other:
        return "ymd"
    return None


def detect_decimal_comma(cursor: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """True when the column's numbers use a decimal comma ("0,25"): decides ``number_sql``.

    Counts values that can only be read one way ("0,25", "1.234,5" against "1.5",
    "1,234.5"); "1,234" proves nothing. Ties, including no evidence, mean a decimal point.
    """
    _checked(table, column)
    row = cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE regexp_full_match({column}, $comma)),
               count(*) FILTER (WHERE regexp_full_match({column}, $point))
        FROM {table}
        WHERE {column} IS NOT NULL AND NOT regexp_full_match({column}, $ambiguous)
        """,  # noqa: S608
        {"comma": _COMMA_DECIMAL, "point": _POINT_DECIMAL, "ambiguous": _AMBIGUOUS_NUMBER},
    ).fetchone()
    comma, point = row if row else (0, 0)
    return bool(comma > point)


def detect_duration_unit(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    *,
    whole_numbers: DurationUnit = "hours",
) -> DurationUnit:
    """ "clock" when most values hold a ":" (1:30), else "hours", what time trackers write.

    ``whole_numbers``: the unit of a column whose numbers are all whole (``2700``), for an
    export known to write seconds there (Kimai); a decimal among them still means hours.
    Minutes are never guessed: a number alone cannot tell 1.5 hours from 1.5 minutes, so a
    column is read as minutes only when its header or the user says so.
    """
    _checked(table, column)
    row = cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE contains({column}, ':')),
               count(*) FILTER (WHERE regexp_full_match(trim({column}), '[0-9]+')),
               count(nullif(trim({column}), ''))
        FROM {table}
        """  # noqa: S608
    ).fetchone()
    with_colon, whole, total = row if row else (0, 0, 0)
    if total and with_colon * 2 > total:
        return "clock"
    return whole_numbers if total and whole == total else "hours"
