"""``contactload compliance`` on the hand-checked fixture with one agreement set by hand."""

import json
from datetime import date
from pathlib import Path

from analytics.policy.agreements import BoundarySetting
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from tests.conftest import load_fixture_csv
from tests.test_cli import run


def fixture_with_agreement(folder: Path) -> Path:
    path = folder / "c.duckdb"
    db = Database(path)
    load_fixture_csv(db, "fixture_contacts.csv")
    save_setting(
        db,
        BoundarySetting(
            therapist="Dana Reyes",
            practice="Harbor Counseling",
            client=None,
            effective_from=date(2026, 3, 1),
            weekly_cap_minutes=30.0,
            channel_categories={"text": ("scheduling", "reminder")},
        ),
        changed_by="test",
    )
    db.close()
    return path


# Avery (Dana Reyes, New York), weeks by local Monday, crisis not counted toward the cap:
#   2026-03-02: 20 (Mon 08:00 scheduling) + 15 (Fri 07:30 check-in) = 35 > 30, over by 5
#   2026-03-09: 25 support + 30 crisis + 40 crisis (Sun 22:00) -> counted 25, not over
#   2026-03-30: 15 (Tue 23:30 support) + 15 (Thu check-in) = 30, exactly the cap: not over
# Out of policy: texts may carry scheduling and reminders only -> the check-in text of
# 03-06 and the support text of 03-31: 2 contacts.


def test_compliance_json_by_client_matches_hand_figures(tmp_path: Path) -> None:
    db = fixture_with_agreement(tmp_path)
    result = run("compliance", "--db", db, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    labels = Database(db)
    with labels.cursor() as cursor:
        key = cursor.execute("SELECT client_key FROM clients WHERE label = 'Avery'").fetchone()
    labels.close()
    assert key is not None
    (avery,) = [row for row in rows if row["key"] == key[0]]
    assert [
        (w["week"], w["minutes"], w["cap"], w["over"], w["over_by"]) for w in avery["weeks"]
    ] == [
        ("2026-03-02", 35.0, 30.0, True, 5.0),
        ("2026-03-09", 25.0, 30.0, False, 0.0),
        ("2026-03-30", 30.0, 30.0, False, 0.0),
    ]
    assert (avery["breach_weeks"], avery["over_by_minutes"]) == (1, 5.0)
    assert avery["out_of_policy_contacts"] == 2
    assert avery["contacts"] == 7 and avery["minutes"] == 160.0  # 35 + 95 + 30


def test_compliance_by_therapist_and_readable_table(tmp_path: Path) -> None:
    db = fixture_with_agreement(tmp_path)
    result = run("compliance", "--db", db, "--by", "therapist", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    keys = {row["key"] for row in json.loads(result.stdout)}
    assert keys == {"Dana Reyes", "Sam Okafor", "Jonas Weber"}
    table = run("compliance", "--db", db, "--by", "therapist", cwd=tmp_path)
    assert table.returncode == 0 and "breach_weeks" in table.stdout
    bad = run("compliance", "--db", db, "--from", "2026-04-01", "--to", "2026-03-01", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("contactload: ")


def test_labelled_lists_for_the_boundaries_page(tmp_path: Path) -> None:
    from analytics.access.filters import ContactFilter
    from analytics.measures.caps import weeks_over_cap
    from analytics.measures.out_of_policy import out_of_policy_labelled

    db = Database(fixture_with_agreement(tmp_path))
    over = weeks_over_cap(db, ContactFilter())
    # Only Avery's week of 2026-03-02 (35 > 30) is over Dana's cap; see the comment above.
    assert [(f"{row.week:%Y-%m-%d}", row.client, row.over_by) for row in over.itertuples()] == [
        ("2026-03-02", "Avery", 5.0)
    ]
    outside = out_of_policy_labelled(db, ContactFilter())
    avery = outside[outside["client"] == "Avery"]
    # Newest first: the support text of 03-31, then the check-in text of 03-06.
    assert list(avery["category"]) == ["support", "check_in"]
    db.close()


def test_weekly_cap_totals_for_the_overview_chart(tmp_path: Path) -> None:
    from analytics.access.filters import ContactFilter
    from analytics.measures.caps import weekly_cap_totals

    db = Database(fixture_with_agreement(tmp_path))
    totals = weekly_cap_totals(db, ContactFilter())
    over = {f"{row.period:%Y-%m-%d}": row.over_minutes for row in totals.itertuples()}
    # Only Avery's week of 2026-03-02 goes beyond Dana's 30-minute cap, by 5 minutes.
    assert over["2026-03-02"] == 5.0
    assert sum(over.values()) == 5.0
    db.close()
