"""How tests/data/care/v4-backup/ was made: run with the code of an earlier release.

Release 5666a42 (2026-11-28, schema version 4, the first with `contactload backup`):

    git worktree add /tmp/oldrev 5666a42
    mkdir /tmp/v4 && cd /tmp/v4
    PYTHONPATH=/tmp/oldrev TZ=UTC python tests/data/care/make_v4_backup.py  (full path)
    gzip -9 -n backups/contactload-v4.duckdb        -> contactload-v4.duckdb.gz (15 kB)
    cp backups/.contactload-secret contactload-v4.secret

It stores the hand-made fixture (tests/data/fixture_contacts.csv: 25 contacts, 400 minutes,
7 clients), two sessions (Avery, Blake), Avery's client boundary and its history, then
makes a backup with that release's own `contactload backup`. That release kept the
pseudonym secret beside the backup (backups/.contactload-secret), not inside it.
"""

from datetime import date
from pathlib import Path

import pandas as pd

from analytics.cli import main
from analytics.policy.agreements import BoundarySetting
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from analytics.storage.schema import LATEST_VERSION
from analytics.storage.sessions import add_sessions
from analytics.storage.store import add_contacts

assert LATEST_VERSION == 4, "run this with the code of release 5666a42"
FIXTURE = Path(__file__).resolve().parent.parent / "fixture_contacts.csv"
live = Path("live/contactload.duckdb")
db = Database(live)
add_contacts(
    db,
    pd.read_csv(FIXTURE, dtype=str, keep_default_na=False),
    source="fixture",
    file_name=FIXTURE.name,
)
sessions = pd.DataFrame(
    {
        "practice": ["Harbor Counseling"] * 2,
        "therapist": ["Dana Reyes"] * 2,
        "time_zone": ["America/New_York"] * 2,
        "client": ["Avery", "Blake"],
        "started_at": ["2026-03-03T10:00:00-05:00", "2026-03-04T10:00:00-05:00"],
        "minutes": ["50", "50"],
        "status": ["attended", "no_show"],
        "identity": [None, None],
    }
)
add_sessions(db, sessions, source="fixture sessions")
save_setting(
    db,
    BoundarySetting(
        therapist="Dana Reyes",
        practice="Harbor Counseling",
        client="Avery",
        effective_from=date(2026, 3, 1),
        weekly_cap_minutes=45,
    ),
    changed_by="v4 maker",
)
db.close()
Path("backups").mkdir(exist_ok=True)
main(["backup", "--db", str(live), "--out", "backups/contactload-v4.duckdb"])
