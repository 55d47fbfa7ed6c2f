"""SQL parsing expressions: tables of worked examples, whole-column detection, properties.

Every builder must give the value or NULL for any text, never an error, so each gets a table
of valid and invalid inputs and a property test over arbitrary text; round trips check that
what a tool would write for a value reads back as that value.
"""

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analytics.importing.parsing import (
    DateOrder,
    DurationUnit,
    date_sql,
    datetime_sql,
    detect_date_order,
    detect_decimal_comma,
    detect_duration_unit,
    duration_minutes_sql,
    file_date_order,
    number_sql,
    time_sql,
)

ORDERS: tuple[DateOrder, ...] = ("ymd", "dmy", "mdy")
UNITS: tuple[DurationUnit, ...] = ("clock", "hours", "minutes")


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory DuckDB for the module (parsing needs no database file)."""
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture
def cursor(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own, so temp tables of one test do not meet the next."""
    cursor = connection.cursor()
    yield cursor
    cursor.close()


def evaluate(cursor: duckdb.DuckDBPyConnection, sql: str, text: str | None) -> object:
    """The expression ``sql`` (written over column c1) for one cell."""
    row = cursor.execute(f"SELECT {sql} FROM (SELECT CAST(? AS VARCHAR) AS c1)", [text]).fetchone()
    assert row is not None
    return row[0]


_PREPARED: dict[tuple[int, str], str] = {}


def evaluate_many(
    connection: duckdb.DuckDBPyConnection, sql: str, texts: list[str | None]
) -> list[tuple[object, ...]]:
    """The select list ``sql`` (over column c1) for each text, in order.

    Planning the builders' SQL costs far more than running it on a few texts, so each
    select list is prepared once per connection and then executed with the texts written
    into the statement (EXECUTE takes no parameters).
    """
    key = (id(connection), sql)
    if key not in _PREPARED:
        _PREPARED[key] = f"evaluate_{len(_PREPARED)}"
        connection.execute(
            f"PREPARE {_PREPARED[key]} AS SELECT {sql} "
            "FROM (SELECT unnest(CAST($1 AS VARCHAR[])) AS c1)"
        )
    cells = ", ".join("NULL" if t is None else "'" + t.replace("'", "''") + "'" for t in texts)
    rows = connection.execute(f"EXECUTE {_PREPARED[key]}([{cells}])").fetchall()
    assert len(rows) == len(texts)
    return rows


def evaluate_one(connection: duckdb.DuckDBPyConnection, sql: str, text: str) -> object:
    """The expression ``sql`` (over column c1) for one text, planned once (property tests)."""
    return evaluate_many(connection, sql, [text])[0][0]


def stage(cursor: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    """A staged column t.c1 holding ``values``."""
    cursor.execute("CREATE OR REPLACE TEMP TABLE t (c1 VARCHAR)")
    if values:
        cursor.executemany("INSERT INTO t VALUES (?)", [[value] for value in values])


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ymd", "dmy", "mdy"),
    [
        ("2026-04-15", date(2026, 4, 15), date(2026, 4, 15), date(2026, 4, 15)),
        ("2026/04/15", date(2026, 4, 15), date(2026, 4, 15), date(2026, 4, 15)),
        ("2026-4-5", date(2026, 4, 5), date(2026, 4, 5), date(2026, 4, 5)),
        ("15.04.2026", None, date(2026, 4, 15), None),
        ("1.4.2026", None, date(2026, 4, 1), date(2026, 1, 4)),
        ("03/04/2026", None, date(2026, 4, 3), date(2026, 3, 4)),
        ("04/15/2026", None, None, date(2026, 4, 15)),
        ("15-04-2026", None, date(2026, 4, 15), None),
        ("15.04.26", date(2015, 4, 26), date(2026, 4, 15), None),
        ("26/04/15", date(2026, 4, 15), date(2015, 4, 26), None),
        ("01.01.69", None, date(1969, 1, 1), date(1969, 1, 1)),
        ("01.01.68", None, date(2068, 1, 1), date(2068, 1, 1)),
        ("68.01.01", date(2068, 1, 1), None, None),
        ("29.02.2024", None, date(2024, 2, 29), None),
        ("15.04.2026 14:30", None, date(2026, 4, 15), None),
        ("2026-04-15T14:30:00", date(2026, 4, 15), date(2026, 4, 15), date(2026, 4, 15)),
        ("0026-04-15", date(26, 4, 15), date(26, 4, 15), date(26, 4, 15)),
        ("31.02.2026", None, None, None),
        ("29.02.2025", None, None, None),
        ("15.04/2026", None, None, None),
        ("26/04/2015", None, date(2015, 4, 26), None),
        ("0000-01-01", None, None, None),
        ("2026-13-01", None, None, None),
        ("15.04.2026 noon", None, None, None),
        ("15.04.02026", None, None, None),
        ("April 15, 2026", None, None, None),
        ("abc", None, None, None),
        ("", None, None, None),
        (None, None, None, None),
    ],
)
def test_date_sql(
    cursor: duckdb.DuckDBPyConnection,
    text: str | None,
    ymd: date | None,
    dmy: date | None,
    mdy: date | None,
) -> None:
    assert [evaluate(cursor, date_sql("c1", order), text) for order in ORDERS] == [ymd, dmy, mdy]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2026-04-15", "2026-04-16"], "ymd"),
        (["2026-04-15T14:30:00", None], "ymd"),
        (["15.04.2026", "01.04.2026"], "dmy"),
        (["03.04.2026"], "dmy"),
        (["03/04/2026", "13/04/2026"], "dmy"),
        (["03/04/2026", "04/13/2026"], "mdy"),
        (["15.04.2026 14:30", "16.04.2026 09:00"], "dmy"),
        (["04/15/2026 02:30 PM", "04/16/2026 09:00 AM"], "mdy"),
        (["2026-04-15", "13/04/2026"], "dmy"),
        (["03/04/2026", "04/05/2026"], None),
        (["13/04/2026", "04/13/2026"], None),
        (["13/04/2026", "14/04/2026", "04/13/2026"], "dmy"),
        (["04/13/2026", "04/14/2026", "13.04.2026"], "mdy"),
        (["45/04/2026", "04/40/2026"], None),
        (["2026-04-15", "03/04/2026"], None),
        (["abc", None, ""], None),
        ([], None),
    ],
)
def test_detect_date_order(
    cursor: duckdb.DuckDBPyConnection, values: list[str | None], expected: str | None
) -> None:
    stage(cursor, values)
    assert detect_date_order(cursor, "t", "c1") == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Padded cells read like trimmed ones; empty cells are no evidence either way.
        ([" 13/04/2026 ", "03/04/2026", "", None], "dmy"),
        (["04/13/2026", "  ", "04/13/2026", "13/04/2026"], "mdy"),  # 2 rows for mdy, 1 for dmy
        (["03/04/2026", "03/04/2026", ""], None),
    ],
)
def test_file_date_order_over_distinct_cells(
    cursor: duckdb.DuckDBPyConnection, values: list[str | None], expected: str | None
) -> None:
    stage(cursor, values)
    assert file_date_order(cursor, "t", "c1") == expected
    # the helper table of distinct cells is gone again
    assert not cursor.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = 'date_cells'"
    ).fetchall()


@settings(max_examples=200, deadline=None)
@given(day=st.dates(), separator=st.sampled_from([".", "/", "-"]), order=st.sampled_from(ORDERS))
def test_date_round_trip_with_four_digit_years(
    connection: duckdb.DuckDBPyConnection, day: date, separator: str, order: DateOrder
) -> None:
    parts = {"y": f"{day.year:04d}", "m": f"{day.month:02d}", "d": f"{day.day:02d}"}
    text = separator.join(parts[letter] for letter in order)
    assert evaluate_one(connection, date_sql("c1", order), text) == day


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1969, 1, 1), max_value=date(2068, 12, 31)),
    separator=st.sampled_from([".", "/", "-"]),
    order=st.sampled_from(ORDERS),
)
def test_date_round_trip_with_two_digit_years(
    connection: duckdb.DuckDBPyConnection, day: date, separator: str, order: DateOrder
) -> None:
    parts = {"y": f"{day.year % 100:02d}", "m": str(day.month), "d": str(day.day)}
    text = separator.join(parts[letter] for letter in order)
    assert evaluate_one(connection, date_sql("c1", order), text) == day


# --- times and timestamps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:30", time(14, 30)),
        ("9:05", time(9, 5)),
        ("00:00", time(0, 0)),
        ("23:59:59", time(23, 59, 59)),
        ("14:30:05", time(14, 30, 5)),
        ("14:30:05.250", time(14, 30, 5, 250000)),
        ("14:30:05,5", time(14, 30, 5, 500000)),
        ("2:30 PM", time(14, 30)),
        ("2:30PM", time(14, 30)),
        ("02:30:00 pm", time(14, 30)),
        ("9:05 a.m.", time(9, 5)),
        ("9:05 P.M.", time(21, 5)),
        ("12:00 AM", time(0, 0)),
        ("12:15 PM", time(12, 15)),
        ("9 PM", time(21, 0)),
        ("24:61", None),
        ("24:00", None),
        ("14:60", None),
        ("14:30:60", None),
        ("13:30 PM", None),
        ("0:30 AM", None),
        ("1:99", None),
        ("14", None),
        ("14:3", None),
        ("14:30Z", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_time_sql(cursor: duckdb.DuckDBPyConnection, text: str | None, expected: time) -> None:
    assert evaluate(cursor, time_sql("c1"), text) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2026-04-15 14:30:00", "dmy", datetime(2026, 4, 15, 14, 30)),
        ("2026-04-15T14:30:00", "mdy", datetime(2026, 4, 15, 14, 30)),
        ("2026-04-15T14:30:00.125", "ymd", datetime(2026, 4, 15, 14, 30, 0, 125000)),
        ("15.04.2026 14:30", "dmy", datetime(2026, 4, 15, 14, 30)),
        ("04/15/2026 02:30 PM", "mdy", datetime(2026, 4, 15, 14, 30)),
        ("15/04/2026  2:30 pm", "dmy", datetime(2026, 4, 15, 14, 30)),
        ("04/15/2026 02:30 PM", "dmy", None),
        ("2026-04-15T14:30:00Z", "ymd", None),
        ("2026-04-15T14:30:00+02:00", "ymd", None),
        ("2026-04-15", "ymd", None),
        ("31.02.2026 14:30", "dmy", None),
        ("15.04.2026 24:61", "dmy", None),
        ("abc", "dmy", None),
        ("", "dmy", None),
    ],
)
def test_datetime_sql(
    cursor: duckdb.DuckDBPyConnection, text: str, order: DateOrder, expected: datetime | None
) -> None:
    assert evaluate(cursor, datetime_sql("c1", order), text) == expected


@settings(max_examples=200, deadline=None)
@given(moment=st.times().map(lambda t: t.replace(microsecond=0)), twelve_hour=st.booleans())
def test_time_round_trip(
    connection: duckdb.DuckDBPyConnection, moment: time, twelve_hour: bool
) -> None:
    if twelve_hour:
        hour = moment.hour % 12 or 12
        text = (
            f"{hour}:{moment.minute:02d}:{moment.second:02d} {'PM' if moment.hour >= 12 else 'AM'}"
        )
    else:
        text = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    assert evaluate_one(connection, time_sql("c1"), text) == moment


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes().map(lambda m: m.replace(microsecond=0)),
    order=st.sampled_from(ORDERS),
    joint=st.sampled_from([" ", "T"]),
)
def test_datetime_round_trip(
    connection: duckdb.DuckDBPyConnection, moment: datetime, order: DateOrder, joint: str
) -> None:
    parts = {"y": f"{moment.year:04d}", "m": f"{moment.month:02d}", "d": f"{moment.day:02d}"}
    text = "/".join(parts[letter] for letter in order) + joint + moment.strftime("%H:%M:%S")
    assert evaluate_one(connection, datetime_sql("c1", order), text) == moment


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "point", "comma"),
    [
        ("12", 12.0, 12.0),
        ("-3", -3.0, -3.0),
        ("+7", 7.0, 7.0),
        ("1.5", 1.5, None),
        ("1,5", None, 1.5),
        ("0,25", None, 0.25),
        (".5", 0.5, None),
        (",5", None, 0.5),
        ("1,234", 1234.0, 1.234),
        ("1.234", 1.234, 1234.0),
        ("1,234.5", 1234.5, None),
        ("1.234,5", None, 1234.5),
        ("1,234,567.25", 1234567.25, None),
        ("1.234.567,25", None, 1234567.25),
        ("1 234,5", None, 1234.5),
        ("1\u00a0234,5", None, 1234.5),
        ("1'234.50", 1234.5, None),
        ("12,34,56", None, None),
        ("1,23", None, 1.23),
        ("1.2.3", None, None),
        ("1e5", None, None),
        ("inf", None, None),
        ("NaN", None, None),
        ("-", None, None),
        (".", None, None),
        ("abc", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_number_sql(
    cursor: duckdb.DuckDBPyConnection, text: str | None, point: float | None, comma: float | None
) -> None:
    assert evaluate(cursor, number_sql("c1", False), text) == point
    assert evaluate(cursor, number_sql("c1", True), text) == comma


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0,25", "1,5"], True),
        (["0.25", "1.5"], False),
        (["0,250"], True),
        (["1.234,5"], True),
        (["1,234.5"], False),
        (["1,234", "2,500"], False),
        (["1.234", "2.500"], False),
        (["12", "7", None], False),
        (["1,5", "2.5", "3.5"], False),
        (["1,5", "2,5", "3.5"], True),
        ([], False),
    ],
)
def test_detect_decimal_comma(
    cursor: duckdb.DuckDBPyConnection, values: list[str | None], expected: bool
) -> None:
    stage(cursor, values)
    assert detect_decimal_comma(cursor, "t", "c1") is expected


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    decimal_comma=st.booleans(),
    grouped=st.booleans(),
)
def test_number_round_trip(
    connection: duckdb.DuckDBPyConnection, cents: int, decimal_comma: bool, grouped: bool
) -> None:
    value = Decimal(cents) / 100
    text = f"{value:,.2f}" if grouped else f"{value:.2f}"
    if decimal_comma:
        text = text.translate(str.maketrans(",.", ".,"))
    assert evaluate_one(connection, number_sql("c1", decimal_comma), text) == float(value)


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "decimal_comma", "expected"),
    [
        ("1:30", "clock", False, 90.0),
        ("01:30:00", "clock", False, 90.0),
        ("0:05", "clock", False, 5.0),
        ("00:05:30", "clock", False, 5.5),
        ("25:00:00", "clock", False, 1500.0),
        ("100:00", "clock", True, 6000.0),
        ("0:00:30,0", "clock", True, 0.5),
        ("1:99", "clock", False, None),
        ("1:30:99", "clock", False, None),
        ("1:5", "clock", False, None),
        ("-0:05", "clock", False, None),
        ("1.5", "clock", False, None),
        ("1.5", "hours", False, 90.0),
        ("1,5", "hours", True, 90.0),
        ("0,25", "hours", True, 15.0),
        ("0.1", "hours", False, 6.0),
        ("2", "hours", False, 120.0),
        ("1,5", "hours", False, None),
        ("-1", "hours", False, None),
        ("1:30", "hours", False, None),
        ("12", "minutes", False, 12.0),
        ("12,5", "minutes", True, 12.5),
        ("12.5", "minutes", False, 12.5),
        ("-3", "minutes", False, None),
        ("abc", "minutes", False, None),
        ("", "clock", False, None),
        (None, "hours", False, None),
    ],
)
def test_duration_minutes_sql(
    cursor: duckdb.DuckDBPyConnection,
    text: str | None,
    unit: DurationUnit,
    decimal_comma: bool,
    expected: float | None,
) -> None:
    result = evaluate(cursor, duration_minutes_sql("c1", unit, decimal_comma), text)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1:30", "0:05"], "clock"),
        (["01:30:00", "1.5", "0:10"], "clock"),
        (["1.5", "0.25"], "hours"),
        (["12", "7"], "hours"),
        (["1:30", "1.5", "2"], "hours"),
        ([None, None], "hours"),
        ([], "hours"),
    ],
)
def test_detect_duration_unit(
    cursor: duckdb.DuckDBPyConnection, values: list[str | None], expected: str
) -> None:
    stage(cursor, values)
    assert detect_duration_unit(cursor, "t", "c1") == expected


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=100 * 3600 - 1))
def test_clock_duration_round_trip(connection: duckdb.DuckDBPyConnection, seconds: int) -> None:
    hours, rest = divmod(seconds, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    result = evaluate_one(connection, duration_minutes_sql("c1", "clock", False), text)
    assert result == pytest.approx(seconds / 60)


# --- never an error --------------------------------------------------------------------------

NEAR_MISSES = st.text(alphabet="0123456789:./-,+ TZapmAPM'\u00a0", max_size=24)
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)

BUILDERS = {
    "date_dmy": (date_sql("c1", "dmy"), "DATE", date),
    "date_mdy": (date_sql("c1", "mdy"), "DATE", date),
    "date_ymd": (date_sql("c1", "ymd"), "DATE", date),
    "time": (time_sql("c1"), "TIME", time),
    "datetime_dmy": (datetime_sql("c1", "dmy"), "TIMESTAMP", datetime),
    "datetime_ymd": (datetime_sql("c1", "ymd"), "TIMESTAMP", datetime),
    "number_point": (number_sql("c1", False), "DOUBLE", float),
    "number_comma": (number_sql("c1", True), "DOUBLE", float),
    "duration_clock": (duration_minutes_sql("c1", "clock", False), "DOUBLE", float),
    "duration_hours_point": (duration_minutes_sql("c1", "hours", False), "DOUBLE", float),
    "duration_hours_comma": (duration_minutes_sql("c1", "hours", True), "DOUBLE", float),
    "duration_minutes_comma": (duration_minutes_sql("c1", "minutes", True), "DOUBLE", float),
}


@pytest.mark.parametrize(("sql", "sql_type"), [(sql, kind) for sql, kind, _ in BUILDERS.values()])
def test_every_builder_has_one_sql_type(
    cursor: duckdb.DuckDBPyConnection, sql: str, sql_type: str
) -> None:
    assert evaluate(cursor, f"typeof({sql})", "abc") == sql_type


# Planning this query (all builders at once) is what costs, not the rows: it is planned
# once, and fewer, larger examples try as many texts as 200 examples of 8.
@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.one_of(NEAR_MISSES, ANY_TEXT), min_size=1, max_size=16))
def test_every_builder_gives_a_value_or_null_for_any_text(
    connection: duckdb.DuckDBPyConnection, texts: list[str]
) -> None:
    selected = ", ".join(f"{sql} AS {name}" for name, (sql, _, _) in BUILDERS.items())
    rows = evaluate_many(connection, selected, list(texts))

    for row in rows:
        for value, (_, _, python_type) in zip(row, BUILDERS.values(), strict=True):
            assert value is None or isinstance(value, python_type)


@pytest.mark.parametrize("name", ["t; DROP TABLE t", "t.c1", ""])
def test_detectors_refuse_names_that_are_not_identifiers(
    cursor: duckdb.DuckDBPyConnection, name: str
) -> None:
    stage(cursor, ["1"])
    for detect in (detect_date_order, file_date_order, detect_decimal_comma, detect_duration_unit):
        with pytest.raises(ValueError, match="identifier"):
            detect(cursor, name, "c1")
        with pytest.raises(ValueError, match="identifier"):
            detect(cursor, "t", name)


# --- fast paths ------------------------------------------------------------------------------

# Each builder tries cheap exact checks for the common shapes before its general path; they
# must give exactly what the general path gives, for well-formed texts and for texts that
# only just miss a shape (one character changed, added or removed).
PATHS = {
    **{f"date_{o}": (date_sql("c1", o), date_sql("c1", o, fast=False)) for o in ORDERS},
    "time": (time_sql("c1"), time_sql("c1", fast=False)),
    **{f"datetime_{o}": (datetime_sql("c1", o), datetime_sql("c1", o, fast=False)) for o in ORDERS},
    "number_point": (number_sql("c1", False), number_sql("c1", False, fast=False)),
    "number_comma": (number_sql("c1", True), number_sql("c1", True, fast=False)),
    **{
        f"duration_{unit}_{'comma' if comma else 'point'}": (
            duration_minutes_sql("c1", unit, comma),
            duration_minutes_sql("c1", unit, comma, fast=False),
        )
        for unit in UNITS
        for comma in (False, True)
    },
}


def _field(largest: int) -> st.SearchStrategy[int]:
    """0..largest, with the edges of hours, minutes and seconds often."""
    edges = [value for value in (0, 1, 9, 12, 13, 23, 24, 59, 60) if value <= largest]
    return st.one_of(st.sampled_from(edges), st.integers(0, largest))


def _two(number: int, padded: bool) -> str:
    return f"{number:02d}" if padded else str(number)


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    day = draw(st.dates())
    padded = draw(st.booleans())
    year = f"{day.year:04d}" if draw(st.booleans()) else f"{day.year % 100:02d}"
    parts = {"y": year, "m": _two(day.month, padded), "d": _two(day.day, padded)}
    separator = draw(st.sampled_from(".-/"))
    return separator.join(parts[letter] for letter in draw(st.sampled_from(ORDERS)))


@st.composite
def time_texts(draw: st.DrawFn) -> str:
    twelve = draw(st.sampled_from(["", " AM", " PM", "PM", " am", " p.m."]))
    hour = draw(_field(13 if twelve else 25))
    text = f"{_two(hour, draw(st.booleans()))}:{draw(_field(61)):02d}"
    if draw(st.booleans()):
        text += f":{draw(_field(61)):02d}" + draw(st.sampled_from(["", ".5", ",250"]))
    return text + twelve


@st.composite
def clock_texts(draw: st.DrawFn) -> str:
    text = f"{_two(draw(_field(130)), draw(st.booleans()))}:{draw(_field(61)):02d}"
    return text + (f":{draw(_field(61)):02d}" if draw(st.booleans()) else "")


WELL_FORMED = st.one_of(
    date_texts(),
    time_texts(),
    clock_texts(),
    st.builds(
        lambda day, joint, moment: day + joint + moment,
        date_texts(),
        st.sampled_from([" ", "T", "  "]),
        time_texts(),
    ),
    st.datetimes().map(lambda moment: moment.isoformat(sep=" ")),
    st.from_regex(r"[0-9]{0,22}[.,]?[0-9]{0,3}", fullmatch=True),
)


@st.composite
def near_well_formed(draw: st.DrawFn) -> str:
    text = draw(WELL_FORMED)
    at = draw(st.integers(0, len(text)))
    change = draw(st.sampled_from(["insert", "replace", "delete"]))
    character = draw(st.sampled_from(list("0123456789:./-, TZAPMapm+\t\u00a0")))
    end = at + 1 if change != "insert" else at
    return text[:at] + ("" if change == "delete" else character) + text[end:]


# Texts that a fast path's DuckDB function would take but the general path must not.
EDGES = [
    *["24:00", "24:00:00", "24:00:01", "23:59:60", "00:00", "0:00", "12:00 AM", "0:30 AM"],
    *["13:30 PM", "9:05", "9:5", " 9:05", "09:05 ", "9:05:00.5", "02:30:00 pm", "2:30PM"],
    *[
        "0000-01-01",
        "0001-01-01",
        "0026-04-15",
        "26-04-15",
        "2026-4-5",
        "2026-04-15 ",
        "2026-02-30",
    ],
    *["+026-04-15", " 2026-04-15", "12026-04-15", "00.01.2026", "31.04.2026", "1.4.0000", "5.4.26"],
    *["2026-04-15 24:00:00", "2026-04-15T24:00", "2026-04-15 14:30:00.000", "2026-04-15t14:30"],
    *["5.", ".5", "0", "00", "1e5", "1_000", "0x10", " 1.5", "1.5 ", "+1.5", "-0", "9" * 25],
    *["0,", ",5", "1,5,0", "100:00", "1:60", "1:30:60", "01:30:00,5", "25:00:00", "-1:00"],
]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(WELL_FORMED, near_well_formed()), min_size=1, max_size=20))
@example(texts=EDGES)
def test_fast_paths_agree_with_the_general_path(
    connection: duckdb.DuckDBPyConnection, texts: list[str]
) -> None:
    selected = ", ".join(f"{fast}, {general}" for fast, general in PATHS.values())
    rows = evaluate_many(connection, selected, list(texts))

    for text, row in zip(texts, rows, strict=True):
        for index, name in enumerate(PATHS):
            assert row[2 * index] == row[2 * index + 1], (name, text)


@pytest.mark.parametrize(
    ("build", "text", "expected"),
    [
        (lambda fast: date_sql("c1", "ymd", fast=fast), "2026-04-15", date(2026, 4, 15)),
        (lambda fast: date_sql("c1", "dmy", fast=fast), "5.4.2026", date(2026, 4, 5)),
        (lambda fast: date_sql("c1", "dmy", fast=fast), "15/04/2026", date(2026, 4, 15)),
        (lambda fast: date_sql("c1", "mdy", fast=fast), "04/15/2026", date(2026, 4, 15)),
        (lambda fast: time_sql("c1", fast=fast), "09:05:00", time(9, 5)),
        (lambda fast: time_sql("c1", fast=fast), "9:05", time(9, 5)),
        (lambda fast: time_sql("c1", fast=fast), "02:30:00 PM", time(14, 30)),
        (lambda fast: number_sql("c1", False, fast=fast), "1.5", 1.5),
        (lambda fast: number_sql("c1", True, fast=fast), "0,25", 0.25),
        (lambda fast: duration_minutes_sql("c1", "clock", False, fast=fast), "0:25:00", 25.0),
        (lambda fast: duration_minutes_sql("c1", "clock", False, fast=fast), "01:30", 90.0),
        (lambda fast: duration_minutes_sql("c1", "hours", True, fast=fast), "0,25", 15.0),
    ],
)
def test_common_shapes_take_a_fast_path(
    cursor: duckdb.DuckDBPyConnection,
    build: Callable[[bool], str],
    text: str,
    expected: object,
) -> None:
    # With the general path replaced by NULL, only a fast path can give the value.
    fast, general = build(True), build(False)
    assert general in fast
    assert evaluate(cursor, fast.replace(general, "NULL"), text) == expected
