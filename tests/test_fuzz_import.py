"""Fuzz the import: random bytes and mutated real fixtures go through
``analytics.importing.pipeline.import_file``. Only ``ContactLoadError`` subclasses may
escape, and a refused file changes nothing stored (contacts, minutes, batches, data_version).

Bounded for the everyday suite (``FUZZ_EXAMPLES`` examples per test, a deadline per
example); ``CONTACTLOAD_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_import.py`` searches longer.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.errors import ContactLoadError
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.storage.database import Database

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(
    path.read_bytes() for path in (DATA / "import").rglob("*") if path.suffix in (".csv", ".txt")
)
FUZZ_EXAMPLES = int(os.environ.get("CONTACTLOAD_FUZZ_EXAMPLES", "100"))
OPTIONS = ImportOptions(time_zone="UTC", preview_rows=0)

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=5_000,  # ms per example; a stuck import fails rather than hangs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=FUZZ_EXAMPLES <= 100,  # the everyday run is the same every time
)


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database for every example (each refused file must leave it as it was)."""
    db = Database(tmp_path_factory.mktemp("fuzz") / "contactload.duckdb")
    yield db
    db.close()


def stored(db: Database) -> tuple[int, float, int, int]:
    contacts, minutes, batches = db.row(
        "SELECT (SELECT count(*) FROM contacts), (SELECT coalesce(sum(minutes), 0) "
        "FROM contacts), (SELECT count(*) FROM import_batches)",
        [],
    )
    return int(contacts), float(minutes), int(batches), db.data_version()


def check_import(db: Database, data: bytes) -> None:
    """Import ``data``: it either goes in, or is refused in one sentence changing nothing."""
    before = stored(db)
    try:
        import_file(db, data, file_name="fuzz.csv", options=OPTIONS)
    except ContactLoadError as error:
        message = str(error)
        assert message and "\n" not in message and "Traceback" not in message, message
        assert stored(db) == before, f"a refused file changed stored data: {message}"


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    """A real export with a few bytes deleted, inserted, replaced, lines duplicated or cut."""
    data = bytearray(draw(st.sampled_from(FIXTURES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=12),
                    st.sampled_from(
                        [b",", b";", b"\t", b'"', b"\n", b"\r\n", b"\x00", b"\xff\xfe", b"-1"]
                    ),
                )
            )
        elif kind == "replace" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "duplicate":
            lines = bytes(data).split(b"\n")
            line = draw(st.integers(0, len(lines) - 1))
            lines.insert(line, lines[line])
            data = bytearray(b"\n".join(lines))
        else:
            data = data[:at]
    return bytes(data)


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_fail_cleanly(fuzz_db: Database, data: bytes) -> None:
    check_import(fuzz_db, data)


@FUZZ
@given(data=mutated_fixture())
def test_mutated_exports_import_or_fail_cleanly(fuzz_db: Database, data: bytes) -> None:
    check_import(fuzz_db, data)


@FUZZ
@given(
    header=st.sampled_from([fixture.split(b"\n", 1)[0] for fixture in FIXTURES]),
    cells=st.lists(
        st.lists(st.text(max_size=12).map(lambda text: text.encode("utf-8")), max_size=14),
        max_size=6,
    ),
)
def test_known_headers_with_random_cells(
    fuzz_db: Database, header: bytes, cells: list[list[bytes]]
) -> None:
    check_import(fuzz_db, header + b"\n" + b"\n".join(b",".join(row) for row in cells))


def test_the_fixtures_exist() -> None:
    assert len(FIXTURES) >= 20  # tests/data/import holds the real exports being mutated
