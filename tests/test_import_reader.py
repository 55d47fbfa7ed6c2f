"""The CSV reader on real bytes: encodings, delimiters, quoting, row numbers, ragged rows.

Fixture files in tests/data/import/quirks are the exact bytes other tools write (BOMs, CRLF,
UTF-16, Windows-1252); expected values below were worked out by reading those files.
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.importing import reader
from analytics.importing.reader import RowProblem, TextTable, stage_text_table
from analytics.importing.text_encodings import UnreadableFileError
from analytics.storage.database import Database
from analytics.storage.sql import sql

QUIRKS = Path(__file__).parent / "data" / "import" / "quirks"

TOGGL_HEADER = (
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "End date",
    "End time",
    "Duration",
    "Tags",
    "Amount (EUR)",
)
CLOCKIFY_HEADER = (
    "Project",
    "Client",
    "Description",
    "Task",
    "User",
    "Email",
    "Tags",
    "Billable",
    "Start Date",
    "Start Time",
    "End Date",
    "End Time",
    "Duration (h)",
    "Duration (decimal)",
)


@pytest.fixture
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory DuckDB connection."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def staged(cursor: duckdb.DuckDBPyConnection, table: str = "raw_rows") -> list[tuple[object, ...]]:
    """Every staged row, in row order."""
    return cursor.execute(f"SELECT * FROM {table} ORDER BY row_number").fetchall()


def source(name: str, as_path: bool) -> bytes | Path:
    """A fixture as a path (read by DuckDB directly when it can) or as uploaded bytes."""
    path = QUIRKS / name
    return path if as_path else path.read_bytes()


FIXTURES = [
    pytest.param(
        "toggl_utf8_bom_crlf.csv",
        "utf-8-sig",
        ",",
        TOGGL_HEADER,
        [
            (
                2,
                "Anna Müller",
                "anna@example.org",
                "Client 7",
                "Between sessions",
                None,
                'Call re "crisis plan", follow-up',
                "No",
                "2026-04-15",
                "14:30:00",
                "2026-04-15",
                "14:42:00",
                "00:12:00",
                "phone, crisis",
                "0.00",
            ),
            (
                3,
                "Anna Müller",
                "anna@example.org",
                "Client 12",
                "Between sessions",
                None,
                "Email",
                "No",
                "2026-04-16",
                "09:05:00",
                "2026-04-16",
                "09:10:30",
                "00:05:30",
                "email",
                None,
            ),
            (
                4,
                "Anna Müller",
                "anna@example.org",
                "Client 7",
                "Between sessions",
                None,
                "Text message",
                "No",
                "2026-04-17",
                "21:15:00",
                "2026-04-17",
                "21:17:00",
                "00:02:00",
                "sms",
                None,
            ),
        ],
        (),
        id="toggl-utf8-bom-crlf-trailing-empty-line",
    ),
    pytest.param(
        "clockify_quoted_lf.csv",
        "utf-8",
        ",",
        CLOCKIFY_HEADER,
        [
            (
                2,
                "Between sessions",
                "Client 3",
                "Voicemail, then\ncall back",
                None,
                "Ben Ortiz",
                "ben@example.org",
                "phone",
                "No",
                "04/15/2026",
                "02:30:00 PM",
                "04/15/2026",
                "02:45:00 PM",
                "00:15:00",
                "0.25",
            ),
            (
                5,
                "Between sessions",
                "Client 4",
                "Text",
                None,
                "Ben Ortiz",
                "ben@example.org",
                "sms",
                "No",
                "04/17/2026",
                "11:00:00 PM",
                "04/17/2026",
                "11:03:00 PM",
                "00:03:00",
                "0.05",
            ),
        ],
        (
            RowProblem(3, None, "Expected 14 fields but found 5."),
            RowProblem(4, None, "Expected 14 fields but found 15."),
        ),
        id="clockify-all-quoted-newline-in-field-ragged-both-ways",
    ),
    pytest.param(
        "excel_unicode_text_utf16le.txt",
        "utf-16-le",
        "\t",
        ("Datum", "Klient", "Notiz", "Dauer"),
        [
            (2, "15.04.2026", "Müller", "Café-Termin abgesagt", "0,25"),
            (3, "16.04.2026", "Café", "Rechnung\t€ 12,50", "1,5"),
        ],
        (),
        id="excel-unicode-text-utf16le-tabs",
    ),
    pytest.param(
        "excel_semicolon_cp1252.csv",
        "cp1252",
        ";",
        ("Datum", "Klient", "Notiz", "Dauer (h)", "Betrag"),
        [
            (2, "15.04.2026", "Müller", "Café", "0,25", "€ 12,50"),
            (3, "16.04.2026", "Weiß; Anna", 'Sagte "später"', "1,5", None),
            (5, "17.04.2026", "Müller", None, "0,5", "3,00"),
        ],
        (),
        id="excel-semicolon-cp1252-blank-and-empty-rows",
    ),
    pytest.param(
        "pipes_no_final_newline.csv",
        "utf-8",
        "|",
        ("date", "client", "note", "minutes"),
        [
            (2, "2026-04-15", "Client 1", "a|b", "12"),
            (3, "2026-04-16", "Client 2", "plain", "7,5"),
        ],
        (),
        id="pipes-quoted-pipe-no-final-newline",
    ),
    pytest.param(
        "ragged_both_ways.csv",
        "utf-8",
        ",",
        ("date", "client", "minutes"),
        [
            (2, "2026-04-01", "A", "10"),
            (4, "2026-04-03", "C", "30"),
            (7, "2026-04-05", "E", "50"),
            (9, "2026-04-06", "F", "60"),
        ],
        (
            RowProblem(3, None, "Expected 3 fields but found 2."),
            RowProblem(5, None, "Expected 3 fields but found 5."),
        ),
        id="ragged-both-ways-blank-lines-between",
    ),
    pytest.param(
        "harvest_quoted_decimal_comma.csv",
        "utf-8",
        ",",
        ("Date", "Client", "Project", "Task", "Notes", "Hours", "Billable?"),
        [
            (
                2,
                "15.04.2026",
                "Client 1",
                "Between sessions",
                "Phone",
                "Rückruf, kurz",
                "0,25",
                "No",
            ),
            (3, "16.04.2026", "Client 2", "Between sessions", "Email", None, "1,5", "No"),
        ],
        (),
        id="harvest-quoted-decimal-commas-stay-comma-separated",
    ),
]


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
@pytest.mark.parametrize(("name", "encoding", "delimiter", "header", "rows", "ragged"), FIXTURES)
def test_fixture_files_are_staged_cell_by_cell(
    cursor: duckdb.DuckDBPyConnection,
    as_path: bool,
    name: str,
    encoding: str,
    delimiter: str,
    header: tuple[str, ...],
    rows: list[tuple[object, ...]],
    ragged: tuple[RowProblem, ...],
) -> None:
    table = stage_text_table(cursor, source(name, as_path))

    assert table == TextTable(
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        rows=len(rows) + len(ragged),
        ragged=ragged,
    )
    assert staged(cursor) == rows


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
@pytest.mark.parametrize(("name", "encoding", "delimiter", "header", "rows", "ragged"), FIXTURES)
def test_untrimmed_staging_keeps_the_rows_and_only_skips_trimming(
    cursor: duckdb.DuckDBPyConnection,
    as_path: bool,
    name: str,
    encoding: str,
    delimiter: str,
    header: tuple[str, ...],
    rows: list[tuple[object, ...]],
    ragged: tuple[RowProblem, ...],
) -> None:
    table = stage_text_table(cursor, source(name, as_path), trim=False)

    assert table == stage_text_table(cursor, source(name, as_path), table="trimmed")
    untrimmed = staged(cursor)
    assert [
        (number, *(cell.strip() or None if isinstance(cell, str) else cell for cell in cells))
        for number, *cells in untrimmed
    ] == rows


@pytest.mark.parametrize(
    ("data", "trimmed", "untrimmed"),
    [
        pytest.param(
            b'Date,Client\n 1.4.2026 ,\t A\xc2\xa0\n"  "," "\n,\n\xc2\xa0,\xe2\x80\x83\t\n',
            [(2, "1.4.2026", "A")],
            [(2, " 1.4.2026 ", "\t A\xa0")],
            id="blank-rows-left-out-either-way",
        ),
        pytest.param(
            b"Date\n 1.4.2026\n\n\n2.4.2026\n  \n3.4.2026\n",
            [(2, "1.4.2026"), (5, "2.4.2026"), (7, "3.4.2026")],
            [(2, " 1.4.2026"), (5, "2.4.2026"), (7, "3.4.2026")],
            id="one-column-with-blank-lines-inside",
        ),
        pytest.param(
            b'Date,Note\n1.4.2026," para\n\nnext "\n\n2.4.2026,x\n',
            [(2, "1.4.2026", "para\n\nnext"), (4, "2.4.2026", "x")],
            [(2, "1.4.2026", " para\n\nnext "), (4, "2.4.2026", "x")],
            id="blank-line-inside-a-quoted-field",
        ),
        pytest.param(
            b'Date,Note\r\n"",x\r\n" ",\r\n',
            [(2, None, "x")],
            [(2, None, "x")],
            id="empty-fields-null-quoted-or-not",
        ),
    ],
)
def test_trim_false_stages_cells_as_read(
    cursor: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    data: bytes,
    trimmed: list[tuple[object, ...]],
    untrimmed: list[tuple[object, ...]],
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    for src in (data, path):
        assert stage_text_table(cursor, src, trim=True).rows == len(trimmed)
        assert staged(cursor) == trimmed
        assert stage_text_table(cursor, src, trim=False).rows == len(untrimmed)
        assert staged(cursor) == untrimmed


@pytest.mark.parametrize("trim", [True, False])
def test_row_numbers_without_dense_rowids(
    cursor: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, trim: bool
) -> None:
    # Rowids have been dense in every DuckDB so far; the numbering kept for when they are
    # not must give the same numbers, with and without rejected rows.
    dense = reader._position_sql
    expected = {}
    for name in ("ragged_both_ways.csv", "pipes_no_final_newline.csv"):
        expected[name] = (stage_text_table(cursor, QUIRKS / name, trim=trim), staged(cursor))
    monkeypatch.setattr(
        reader,
        "_position_sql",
        lambda cursor, scan: (
            dense(cursor, scan) and (sql("(row_number() OVER (ORDER BY s.rowid) - 1)"), False)
        ),
    )
    for name, (table, rows) in expected.items():
        assert stage_text_table(cursor, QUIRKS / name, trim=trim) == table
        assert staged(cursor) == rows


def test_staged_table_has_row_number_and_one_text_column_per_header_cell(
    cursor: duckdb.DuckDBPyConnection,
) -> None:
    stage_text_table(cursor, QUIRKS / "pipes_no_final_newline.csv", table="upload_7")

    columns = cursor.execute("DESCRIBE upload_7").fetchall()
    assert [(column[0], column[1]) for column in columns] == [
        ("row_number", "BIGINT"),
        ("c1", "VARCHAR"),
        ("c2", "VARCHAR"),
        ("c3", "VARCHAR"),
        ("c4", "VARCHAR"),
    ]


def test_staging_twice_replaces_the_table_and_leaves_no_helper_tables(
    cursor: duckdb.DuckDBPyConnection,
) -> None:
    stage_text_table(cursor, QUIRKS / "ragged_both_ways.csv")
    stage_text_table(cursor, QUIRKS / "pipes_no_final_newline.csv")

    tables = cursor.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    assert tables == [("raw_rows",)]
    assert [row[0] for row in staged(cursor)] == [2, 3]


@pytest.mark.parametrize("trim", [True, False])
@pytest.mark.parametrize(
    ("name", "expected"),
    [("ragged_both_ways.csv", [2, 4, 7, 9]), ("pipes_no_final_newline.csv", [2, 3])],
)
def test_row_numbers_inside_a_transaction(
    tmp_path: Path, name: str, expected: list[int], trim: bool
) -> None:
    # Rows written inside a transaction get rowids from about 2**55 on; numbers must not.
    db = Database(tmp_path / "contactload.duckdb")
    try:
        with db.transaction() as cursor:
            stage_text_table(cursor, QUIRKS / name, trim=trim)
            numbers = [row[0] for row in staged(cursor)]
    finally:
        db.close()

    assert numbers == expected


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter", "rows"),
    [
        pytest.param(
            b"Date,Minutes\r1.4.2026,5\r2.4.2026,7\r",
            "utf-8",
            ",",
            [(2, "1.4.2026", "5"), (3, "2.4.2026", "7")],
            id="old-mac-cr-line-ends",
        ),
        pytest.param(
            b'Date,Note\r\n1.4.2026,"two\nlines"\n2.4.2026,x\r\n',
            "utf-8",
            ",",
            [(2, "1.4.2026", "two\nlines"), (3, "2.4.2026", "x")],
            id="mixed-line-ends",
        ),
        pytest.param(
            b"\xfe\xff" + "Datum\tKlient\r\n15.04.2026\tMüller\r\n".encode("utf-16-be"),
            "utf-16-be",
            "\t",
            [(2, "15.04.2026", "Müller")],
            id="utf16-be-with-bom",
        ),
        pytest.param(
            "Klient;Betrag\nMüller;€ 5\n".encode(),
            "utf-8",
            ";",
            [(2, "Müller", "€ 5")],
            id="utf8-without-bom",
        ),
        pytest.param(
            b"\n\nDate|Client\n1.4.2026|A\n",
            "utf-8",
            "|",
            [(4, "1.4.2026", "A")],
            id="blank-lines-above-the-header-count-as-rows",
        ),
        pytest.param(
            b'Date,Client\n 1.4.2026 ,\t A\xc2\xa0\n"  "," "\n',
            "utf-8",
            ",",
            [(2, "1.4.2026", "A")],
            id="cells-trimmed-and-blank-cells-null",
        ),
        pytest.param(
            b'Date,Note\n1.4.2026,"para\n\nnext"\n\n2.4.2026,x\n',
            "utf-8",
            ",",
            [(2, "1.4.2026", "para\n\nnext"), (4, "2.4.2026", "x")],
            id="blank-line-inside-a-quoted-field",
        ),
    ],
)
def test_line_ends_encodings_and_blank_lines(
    cursor: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    data: bytes,
    encoding: str,
    delimiter: str,
    rows: list[tuple[object, ...]],
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    for src in (data, path):
        table = stage_text_table(cursor, src)

        assert (table.encoding, table.delimiter, table.rows) == (encoding, delimiter, len(rows))
        assert staged(cursor) == rows


@pytest.mark.parametrize(
    ("chunks", "clean"),
    [
        ([b"a,b\r\n1,2\r\n"], True),
        ([b"a,b\r", b"\n1,2\r\n"], True),
        ([b"a,b\r\n1,2\r"], False),
        ([b"a,b\r", b"1,2\r\n"], False),
        ([b"a,b\r\n1,2\n"], False),
        ([b"a,b\r1,2\r"], True),
        ([b"a,b\n", b"1,2\r\n"], False),
        ([b"a,b\r\n\r", b"\n1,2\r\n"], False),
        ([b"a,b\r\n1,2\r\n\r\n"], True),
    ],
)
def test_line_end_survey_across_chunks(chunks: list[bytes], clean: bool) -> None:
    # One style of line end and no blank line before the end: DuckDB reads the bytes as
    # they are; a CRLF split between chunks is still one CRLF.
    assert reader._survey(iter(chunks)).clean() is clean


def test_unclosed_quote_is_reported_not_staged(cursor: duckdb.DuckDBPyConnection) -> None:
    data = b'Date,Note\n1.4.2026,"fine"\n2.4.2026,"oops\n'

    table = stage_text_table(cursor, data)

    assert table.ragged == (
        RowProblem(
            3,
            None,
            "A quote mark in this row is not closed or is followed by other text, so its "
            "fields cannot be told apart.",
        ),
    )
    assert staged(cursor) == [(2, "1.4.2026", "fine")]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            TextTable("utf-8-sig", ",", TOGGL_HEADER, 1204, ()),
            "UTF-8 with BOM, comma-separated, 14 columns, 1,204 rows",
        ),
        (
            TextTable("cp1252", ";", ("Datum",), 1, ()),
            "Windows-1252, semicolon-separated, 1 column, 1 row",
        ),
        (
            TextTable("utf-16-le", "\t", ("a", "b"), 3, (RowProblem(3, None, "x"),)),
            "UTF-16 LE, tab-separated, 2 columns, 3 rows (1 of them unreadable)",
        ),
        (
            TextTable("utf-8", "|", ("a", "b"), 2, ()),
            "UTF-8, pipe-separated, 2 columns, 2 rows",
        ),
    ],
)
def test_describe(table: TextTable, expected: str) -> None:
    assert table.describe() == expected


UNREADABLE = [
    pytest.param(
        (QUIRKS / "empty.csv").read_bytes(),
        "The file is empty; export the report again and upload the new file.",
        id="empty",
    ),
    pytest.param(
        b"\xef\xbb\xbf\r\n \r\n",
        "The file is empty; export the report again and upload the new file.",
        id="bom-and-blank-lines",
    ),
    pytest.param(
        (QUIRKS / "header_only.csv").read_bytes(),
        "The file has a header row but no data rows; export a report that covers some entries.",
        id="header-only",
    ),
    pytest.param(
        b"Date;Client\r\n;\r\n\r\n",
        "The file has a header row but no data rows; export a report that covers some entries.",
        id="header-and-empty-rows",
    ),
    pytest.param(
        (QUIRKS / "all_ragged.csv").read_bytes(),
        "No row of the file has the 3 fields its header has; check that it is a complete CSV "
        "export.",
        id="every-row-ragged",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        "This file is not a text (CSV) file; export the report as CSV and upload that file.",
        id="png",
    ),
    pytest.param(
        b"Date,Client\n1.4.2026,A\x00\n",
        "This file is not a text (CSV) file; export the report as CSV and upload that file.",
        id="nul-byte",
    ),
    pytest.param(
        bytes(range(1, 9)) * 50,
        "This file is not a text (CSV) file; export the report as CSV and upload that file.",
        id="control-characters",
    ),
    pytest.param(
        b"PK\x03\x04\x14\x00\x06\x00",
        "This is an Excel workbook, not a CSV file; in Excel use Save As > CSV and upload "
        "that file.",
        id="xlsx",
    ),
]


@pytest.mark.parametrize(("data", "message"), UNREADABLE)
def test_unreadable_files_get_one_sentence(
    cursor: duckdb.DuckDBPyConnection, tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    for src in (data, path):
        with pytest.raises(UnreadableFileError) as raised:
            stage_text_table(cursor, src)

        assert str(raised.value) == message


def test_table_name_must_be_an_identifier(cursor: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="identifier"):
        stage_text_table(cursor, b"a,b\n1,2\n", table="raw; DROP TABLE x")
