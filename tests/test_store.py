"""``storage.store.add_contacts`` with small canonical frames built here, on real DuckDB files.

Every expected value is worked out by hand (see the comments); the code under test never
computes an expectation. Calendar facts used below: the US springs forward on Sun
2026-03-08 at 02:00 EST (= 07:00Z) and falls back on Sun 2026-11-01 at 02:00 EDT
(= 06:00Z); the EU springs forward on Sun 2026-03-29 at 01:00Z (02:00 CET -> 03:00 CEST);
Asia/Kolkata is +05:30 all year.
"""

import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analytics.errors import InvalidRecordError
from analytics.storage.database import Database
from analytics.storage.store import add_contacts

SECRET_FILE = ".contactload-secret"
"""The installation secret beside the database (pseudonyms.SECRET_FILE_NAME)."""

ALL_TABLES = {
    "practices",
    "therapists",
    "clients",
    "import_batches",
    "classification_rules",
    "saved_mappings",
    "boundaries",
    "working_hours",
    "boundary_changes",
    "sessions",
    "phone_numbers",
    "settings",
    "audit_log",
    "billing_rules",
    "billing_fees",
    "erased_clients",
    "dismissed_alerts",
    "inbox_files",
    "message_addresses",
    "contacts",
    "meta",
    "schema_version",
}


def contact(**overrides: Any) -> dict[str, Any]:
    """One canonical contact row; a Harbor Counseling phone call unless overridden."""
    row: dict[str, Any] = {
        "practice": "Harbor Counseling",
        "therapist": "Dana Reyes",
        "time_zone": "America/New_York",
        "client": "Avery",
        "started_at": "2026-03-02T08:00:00-05:00",
        "minutes": 20,
        "channel": "phone",
        "category": "scheduling",
        "direction": "client",
    }
    row.update(overrides)
    return row


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def rows(db: Database, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.cursor() as cursor:
        return cursor.execute(sql, params or []).fetchall()


def count(db: Database, table: str) -> int:
    return int(rows(db, f"SELECT count(*) FROM {table}")[0][0])


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a failed write must leave untouched: row counts, data and data_version."""
    state: dict[str, Any] = {
        table: rows(db, f"SELECT * FROM {table} ORDER BY ALL")
        for table in ("practices", "therapists", "clients", "import_batches", "contacts")
    }
    state["data_version"] = db.data_version()
    return state


def table_names(db: Database) -> set[str]:
    found = rows(
        db,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'",
    )
    return {name for (name,) in found}


def keys_by_label(db: Database) -> dict[tuple[str, str], str]:
    """{(practice name, client label): client_key}."""
    found = rows(
        db,
        "SELECT p.name, c.label, c.client_key FROM clients AS c "
        "JOIN practices AS p USING (practice_id)",
    )
    return {(practice, label): key for practice, label, key in found}


@pytest.fixture
def db_at() -> Iterator[Callable[[Path], Database]]:
    """Open databases at given paths; all are closed after the test."""
    opened: list[Database] = []

    def open_at(path: Path) -> Database:
        database = Database(path)
        opened.append(database)
        return database

    yield open_at
    for database in opened:
        database.close()


# --- stored instants and local wall-clock times -----------------------------------------


def test_started_at_and_local_time_across_zones_and_dst(empty_db: Database) -> None:
    new_york = {"therapist": "Dana Reyes", "time_zone": "America/New_York"}
    berlin = {
        "practice": "Lindenhof Praxis",
        "therapist": "Jonas Weber",
        "time_zone": "Europe/Berlin",
        "client": "Finn",
    }
    kolkata = {"therapist": "Priya Nair", "time_zone": "Asia/Kolkata", "client": "Ishaan"}
    # Each row has its own minutes so the assertions can find it.
    add_contacts(
        empty_db,
        frame(
            contact(**new_york, started_at="2026-03-08T01:30:00-05:00", minutes=1),
            contact(**new_york, started_at="2026-03-08T07:30:00+00:00", minutes=2),
            contact(**new_york, started_at="2026-03-09T21:30:00-04:00", minutes=3),
            contact(**new_york, started_at="2026-11-01T05:30:00+00:00", minutes=4),
            contact(**new_york, started_at="2026-11-01T06:30:00+00:00", minutes=5),
            contact(**berlin, started_at="2026-03-29T00:30:00+00:00", minutes=6),
            contact(**berlin, started_at="2026-03-29T03:30:00+02:00", minutes=7),
            contact(**berlin, started_at="2026-03-28T20:00:00-04:00", minutes=8),
            contact(**kolkata, started_at="2026-03-09T21:30:00-04:00", minutes=9),
            contact(**kolkata, started_at="2026-03-29T01:30:00+00:00", minutes=10),
        ),
        source="test",
    )
    stored = rows(
        empty_db,
        "SELECT minutes, started_at, local_started_at FROM contacts ORDER BY minutes",
    )
    assert stored == [
        # 01:30 EST, half an hour before New York springs forward; 06:30Z.
        (1.0, datetime(2026, 3, 8, 6, 30, tzinfo=UTC), datetime(2026, 3, 8, 1, 30)),
        # 07:30Z is after the 07:00Z jump: EDT, 07:30 - 4 h = 03:30 local.
        (2.0, datetime(2026, 3, 8, 7, 30, tzinfo=UTC), datetime(2026, 3, 8, 3, 30)),
        # 21:30 EDT = 01:30Z the next day; local stays Monday 21:30.
        (3.0, datetime(2026, 3, 10, 1, 30, tzinfo=UTC), datetime(2026, 3, 9, 21, 30)),
        # Fall back: 05:30Z is 01:30 EDT (-4)...
        (4.0, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 1, 30)),
        # ...and 06:30Z is 01:30 again, now EST (-5): same wall clock, an hour later.
        (5.0, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 1, 30)),
        # Berlin, 00:30Z before the 01:00Z switch: CET (+1) -> 01:30.
        (6.0, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30)),
        # 03:30 CEST (+2) = 01:30Z; local keeps the writer's 03:30.
        (7.0, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 3, 30)),
        # Written with a New York offset: 20:00-04:00 = 00:00Z on the 29th = 01:00 CET.
        (8.0, datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0)),
        # Kolkata: 01:30Z + 05:30 = 07:00 on 03-10.
        (9.0, datetime(2026, 3, 10, 1, 30, tzinfo=UTC), datetime(2026, 3, 10, 7, 0)),
        # No DST in India when Europe switches: 01:30Z + 05:30 = 07:00.
        (10.0, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 7, 0)),
    ]
    assert rows(empty_db, "SELECT name, time_zone FROM therapists ORDER BY name") == [
        ("Dana Reyes", "America/New_York"),
        ("Jonas Weber", "Europe/Berlin"),
        ("Priya Nair", "Asia/Kolkata"),
    ]


def test_other_columns_are_stored_as_given(empty_db: Database) -> None:
    add_contacts(
        empty_db,
        frame(
            contact(minutes=12.5, channel="portal", category="homework", direction="therapist"),
            contact(minutes=0, channel="other", category="other", direction=None),
        ),
        source="test",
    )
    assert rows(
        empty_db,
        "SELECT minutes, channel, category, direction FROM contacts ORDER BY minutes",
    ) == [
        (0.0, "other", "other", "unknown"),  # a missing direction is stored as 'unknown'
        (12.5, "portal", "homework", "therapist"),
    ]


# --- batches, practices, therapists, clients --------------------------------------------


def test_one_batch_per_call_and_entities_reused(empty_db: Database) -> None:
    first = frame(
        contact(client="Avery"),
        contact(client="Blake"),
        contact(therapist="Sam Okafor", time_zone="Etc/UTC", client="Drew"),
        contact(
            practice="Lindenhof Praxis",
            therapist="Jonas Weber",
            time_zone="Europe/Berlin",
            client="Finn",
        ),
    )
    stored = add_contacts(empty_db, first, source="csv", file_name="march.csv")
    assert (stored.batch_id, stored.contacts) == (1, 4)

    second = frame(
        contact(client="Avery", started_at="2026-03-03T09:00:00-05:00"),  # known client
        contact(client="Casey"),  # new client of a known therapist
        contact(
            practice="Lindenhof Praxis",
            therapist="Jonas Weber",
            time_zone="Europe/Berlin",
            client="Finn",
            started_at="2026-03-04T10:00:00+01:00",
        ),
        # Exactly Finn's first contact again (an overlapping export): not stored twice.
        contact(
            practice="Lindenhof Praxis",
            therapist="Jonas Weber",
            time_zone="Europe/Berlin",
            client="Finn",
        ),
    )
    stored = add_contacts(empty_db, second, source="csv", file_name="april.csv")
    assert (stored.batch_id, stored.contacts, stored.duplicates) == (2, 3, 1)

    assert rows(
        empty_db,
        "SELECT batch_id, source, file_name, rows_read, rows_imported, rows_duplicate "
        "FROM import_batches ORDER BY batch_id",
    ) == [(1, "csv", "march.csv", 4, 4, 0), (2, "csv", "april.csv", 4, 3, 1)]
    assert count(empty_db, "practices") == 2  # Harbor, Lindenhof
    assert count(empty_db, "therapists") == 3  # Dana, Sam, Jonas
    assert count(empty_db, "clients") == 5  # Avery, Blake, Drew, Finn, Casey
    assert count(empty_db, "contacts") == 7  # 4 + 3
    assert rows(empty_db, "SELECT batch_id, count(*) FROM contacts GROUP BY 1 ORDER BY 1") == [
        (1, 4),
        (2, 3),
    ]
    # Avery's two contacts point at one client row.
    assert rows(
        empty_db,
        "SELECT count(DISTINCT client_id), count(*) FROM contacts "
        "JOIN clients USING (client_id) WHERE label = 'Avery'",
    ) == [(1, 2)]
    assert empty_db.data_version() == 2  # one bump per call


def test_a_therapist_keeps_the_first_stored_time_zone(empty_db: Database) -> None:
    add_contacts(empty_db, frame(contact()), source="test")
    add_contacts(
        empty_db,
        frame(contact(time_zone="Europe/Berlin", started_at="2026-03-03T13:00:00+00:00")),
        source="test",
    )
    assert rows(empty_db, "SELECT name, time_zone FROM therapists") == [
        ("Dana Reyes", "America/New_York")
    ]
    # 13:00Z on 03-03 is 08:00 EST in New York (the stored zone), not 14:00 in Berlin.
    assert rows(
        empty_db,
        "SELECT local_started_at FROM contacts WHERE batch_id = 2",
    ) == [(datetime(2026, 3, 3, 8, 0),)]


# --- client keys ------------------------------------------------------------------------


def test_client_keys_are_pseudonymous_and_stable(
    tmp_path: Path, db_at: Callable[[Path], Database]
) -> None:
    shared = tmp_path / "shared"
    first_db = db_at(shared / "first.duckdb")
    rows_in = frame(
        contact(client="Avery"),
        contact(practice="Lindenhof Praxis", time_zone="Europe/Berlin", client="Avery"),
    )
    add_contacts(first_db, rows_in, source="test")
    keys = keys_by_label(first_db)
    harbor_key = keys[("Harbor Counseling", "Avery")]
    lindenhof_key = keys[("Lindenhof Praxis", "Avery")]

    for key in (harbor_key, lindenhof_key):
        assert re.fullmatch(r"c-[0-9a-f]{12}", key), key  # e.g. c-3f9a0b12c4d5
        assert "avery" not in key.lower()
    # The same label in two practices is two different clients.
    assert harbor_key != lindenhof_key
    # The label itself is kept for the therapist's own views.
    assert sorted(label for (_, label) in keys) == ["Avery", "Avery"]

    # A second call reuses the client rows and their keys.
    add_contacts(first_db, frame(contact(started_at="2026-03-04T09:00:00-05:00")), source="t")
    assert keys_by_label(first_db) == keys
    assert count(first_db, "clients") == 2

    # Another database in the same folder shares the secret, so the keys match.
    second_db = db_at(shared / "second.duckdb")
    add_contacts(second_db, rows_in, source="test")
    assert keys_by_label(second_db) == keys

    # A database in another folder has its own secret: different keys.
    other_db = db_at(tmp_path / "elsewhere" / "other.duckdb")
    add_contacts(other_db, rows_in, source="test")
    other_keys = keys_by_label(other_db)
    assert other_keys[("Harbor Counseling", "Avery")] != harbor_key
    assert other_keys[("Lindenhof Praxis", "Avery")] != lindenhof_key


def test_secret_file_is_private_and_stays_out_of_the_database(tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    add_contacts(db, frame(contact(client="Avery"), contact(client="Blake")), source="test")
    string_values = [
        value
        for table in ("practices", "therapists", "clients", "import_batches", "meta")
        for row in rows(db, f"SELECT * FROM {table}")
        for value in row
        if isinstance(value, str)
    ]
    db.close()

    secret_file = tmp_path / SECRET_FILE
    assert secret_file.is_file()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600  # owner read/write only
    secret_hex = secret_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret_hex)  # 32 random bytes as hex

    # Not in any stored value, nor anywhere in the database file's bytes.
    assert not any(secret_hex in value for value in string_values)
    raw = path.read_bytes()
    assert secret_hex.encode() not in raw
    assert bytes.fromhex(secret_hex) not in raw


def test_secret_file_is_not_created_by_a_refused_write(tmp_path: Path) -> None:
    db = Database(tmp_path / "contactload.duckdb")
    try:
        with pytest.raises(InvalidRecordError):
            add_contacts(db, frame(contact(channel="fax")), source="test")
        assert not (tmp_path / SECRET_FILE).exists()
    finally:
        db.close()


# --- validation -------------------------------------------------------------------------


def _set(column: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A mutation that sets ``column`` of the frame's LAST row to ``value``."""

    def mutate(contacts: pd.DataFrame) -> pd.DataFrame:
        contacts = contacts.astype(object)
        contacts.loc[contacts.index[-1], column] = value
        return contacts

    return mutate


def _drop(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda contacts: contacts.drop(columns=[column])


def _new_therapist_without_zone(contacts: pd.DataFrame) -> pd.DataFrame:
    contacts = contacts.astype(object)
    contacts.loc[contacts.index[-1], "therapist"] = "Lee Park"  # not stored yet
    contacts.loc[contacts.index[-1], "time_zone"] = None
    return contacts


INVALID = [
    pytest.param(
        _set("channel", "fax"), "1 contact(s) have a missing or invalid channel.", id="channel"
    ),
    pytest.param(_set("category", "billing"), "missing or invalid category.", id="category"),
    pytest.param(_set("direction", "outbound"), "missing or invalid direction.", id="direction"),
    pytest.param(_set("minutes", -5), "missing or invalid minutes.", id="negative-minutes"),
    pytest.param(_set("minutes", None), "missing or invalid minutes.", id="no-minutes"),
    pytest.param(_set("started_at", None), "missing or invalid start time.", id="no-start"),
    pytest.param(
        _set("client", ""), "missing or invalid client, therapist or practice.", id="empty-client"
    ),
    pytest.param(
        _set("client", "   "),
        "missing or invalid client, therapist or practice.",
        id="blank-client",
    ),
    pytest.param(
        _set("client", None), "missing or invalid client, therapist or practice.", id="no-client"
    ),
    pytest.param(
        _set("therapist", ""),
        "missing or invalid client, therapist or practice.",
        id="no-therapist",
    ),
    pytest.param(
        _set("time_zone", "Mars/Olympus"), "Unknown time zone 'Mars/Olympus'", id="time-zone"
    ),
    pytest.param(_drop("direction"), "missing the column(s) direction", id="missing-column"),
    # Known library bug: the staging step CASTs (not TRY_CASTs) started_at and minutes, so
    # unparseable values raise a raw duckdb ConversionException; a NULL time zone passes
    # the zone check (NULL NOT IN ...) and a new therapist then hits the NOT NULL
    # constraint (duckdb ConstraintException). The model calls for InvalidRecordError.
    pytest.param(_set("started_at", "yesterday"), "start time", id="unparseable-start"),
    pytest.param(_set("minutes", "twenty"), "minutes", id="unparseable-minutes"),
    pytest.param(_new_therapist_without_zone, "time zone", id="no-time-zone"),
]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One stored contact, shared by the validation cases (each must leave it unchanged)."""
    db = Database(tmp_path_factory.mktemp("validation") / "contactload.duckdb")
    add_contacts(db, frame(contact()), source="test", file_name="first.csv")
    yield db
    db.close()


@pytest.mark.parametrize(("mutation", "fragment"), INVALID)
def test_invalid_frames_are_refused_whole(
    seeded_db: Database,
    mutation: Callable[[pd.DataFrame], pd.DataFrame],
    fragment: str,
) -> None:
    # Some data already stored, so "unchanged" means more than "still empty".
    before = snapshot(seeded_db)

    # A new practice, therapist and client in the first (valid) row, the fault in the last.
    contacts = frame(
        contact(
            practice="Lindenhof Praxis",
            therapist="Jonas Weber",
            time_zone="Europe/Berlin",
            client="Finn",
        ),
        contact(client="Blake", started_at="2026-03-05T10:00:00-05:00"),
    )
    with pytest.raises(InvalidRecordError) as caught:
        add_contacts(seeded_db, mutation(contacts), source="test", file_name="second.csv")
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and message.endswith(".") and ". " not in message  # one sentence

    assert snapshot(seeded_db) == before
    assert table_names(seeded_db) == ALL_TABLES  # no staging table left behind


def test_the_seeded_database_holds_one_contact(seeded_db: Database) -> None:
    # Runs after every validation case: still the single seeded contact, version 1.
    assert count(seeded_db, "contacts") == 1
    assert count(seeded_db, "import_batches") == 1
    assert seeded_db.data_version() == 1


# --- values are parameters, never SQL ---------------------------------------------------


def test_hostile_names_are_stored_verbatim(empty_db: Database) -> None:
    practice = "Robert'); DROP TABLE clients;--"
    label = "x'); DROP TABLE contacts; --"
    therapist = 'Dana "Dee" O\'Reyes'
    add_contacts(
        empty_db,
        frame(contact(practice=practice, therapist=therapist, client=label)),
        source="test'; DROP TABLE import_batches; --",
        file_name="a'b.csv",
    )
    assert table_names(empty_db) == ALL_TABLES
    assert rows(empty_db, "SELECT name FROM practices") == [(practice,)]
    assert rows(empty_db, "SELECT name FROM therapists") == [(therapist,)]
    assert rows(empty_db, "SELECT label FROM clients") == [(label,)]
    assert rows(empty_db, "SELECT source, file_name FROM import_batches") == [
        ("test'; DROP TABLE import_batches; --", "a'b.csv")
    ]
    assert count(empty_db, "contacts") == 1
    key = rows(empty_db, "SELECT client_key FROM clients")[0][0]
    assert re.fullmatch(r"c-[0-9a-f]{12}", key)

    # A second call with the same names finds the same rows (no duplicates), and the
    # very same contact again is recognised as already stored.
    again = add_contacts(
        empty_db,
        frame(contact(practice=practice, therapist=therapist, client=label)),
        source="test",
    )
    assert (count(empty_db, "practices"), count(empty_db, "clients")) == (1, 1)
    assert (again.contacts, again.duplicates) == (0, 1)
    assert count(empty_db, "contacts") == 1
