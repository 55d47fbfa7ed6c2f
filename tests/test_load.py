"""Load: 20 readers compute totals while an import commits on the same ``Database``, as
browser sessions do on the dashboard's threads. No reader fails, and every total is either
all of the batch or none of it (no torn totals)."""

import threading
from pathlib import Path

from analytics.access.filters import ContactFilter
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.measures.metrics import totals
from analytics.storage.database import Database
from tests.test_faults import template_file

READERS = 20


def test_twenty_readers_see_all_or_nothing_of_an_import(
    fixture_db: Database, tmp_path: Path
) -> None:
    upload = template_file(tmp_path / "june.csv", 3_000)
    # before: the fixture's 25 contacts, 400 minutes; the batch adds 3,000 contacts of
    # 5 minutes = 15,000 minutes, so after: 3,025 contacts, 15,400 minutes
    before, after = (25, 400.0), (3_025, 15_400.0)
    seen: list[tuple[int, float]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Barrier(READERS + 1)
    imported = threading.Event()

    def read() -> None:
        try:
            started.wait(timeout=60)
            reads_after = 0
            while reads_after < 3:  # keep reading until a few reads after the commit
                if imported.is_set():
                    reads_after += 1
                figures = totals(fixture_db, ContactFilter())
                with lock:
                    seen.append((figures.contacts, figures.minutes))
        except BaseException as error:  # every failure is collected and reported below
            with lock:
                errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    started.wait(timeout=60)
    report = import_file(
        fixture_db, upload, file_name="june.csv", options=ImportOptions(time_zone="UTC")
    )
    imported.set()
    for reader in readers:
        reader.join(timeout=120)
    assert report.imported == 3_000
    assert errors == []
    assert set(seen) <= {before, after}, sorted(set(seen) - {before, after})
    assert after in seen  # every reader read at least 3 times after the commit
    assert len(seen) >= READERS * 3
    assert totals(fixture_db, ContactFilter()).contacts == after[0]
