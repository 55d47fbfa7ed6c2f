"""The seeded demo data: deterministic, shaped like the published figures, and scalable.

Bounds on the demo's shape come from DOMAIN.md's published figures (for example, 4 of 35
clients made 56% of contacts); they are deliberately wide so that they test the shape of
the generator rather than one seed's exact numbers.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL
from analytics.demo import DAYS, DEFAULT_CLIENTS, DEFAULT_CONTACTS, generate_demo, is_empty
from analytics.domain import CATEGORIES, CHANNELS
from analytics.measures import metrics
from analytics.storage.database import Database

END = date(2026, 11, 27)  # the same fixed end the other tests use (conftest.DEMO_END)
ALL = ContactFilter()


def query(db: Database, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.cursor() as cursor:
        return cursor.execute(sql, params or []).fetchall()


def scalar(db: Database, sql: str, params: list[Any] | None = None) -> Any:
    rows = query(db, sql, params)
    assert len(rows) == 1
    return rows[0][0]


def per_client(db: Database) -> list[tuple[str, int, float]]:
    """(client label, contacts, minutes) per client, by label.

    Client keys depend on each database's own secret, so two files compare by label.
    """
    return [
        (str(label), int(contacts), float(minutes))
        for label, contacts, minutes in query(
            db,
            "SELECT cl.label, count(*), sum(c.minutes) FROM contacts AS c "
            "JOIN clients AS cl USING (client_id) GROUP BY cl.label ORDER BY 1",
        )
    ]


def every_contact(db: Database) -> list[tuple[Any, ...]]:
    """Every contact, identified by label and names rather than database ids."""
    return query(
        db,
        "SELECT p.name, t.name, t.time_zone, cl.label, c.started_at, c.local_started_at, "
        "c.minutes, c.channel, c.category, c.direction FROM contacts AS c "
        "JOIN clients AS cl USING (client_id) "
        "JOIN therapists AS t ON t.therapist_id = c.therapist_id "
        "JOIN practices AS p ON p.practice_id = c.practice_id "
        "ORDER BY ALL",
    )


def build(path: Path, **kwargs: Any) -> Database:
    db = Database(path)
    generate_demo(db, **kwargs)
    return db


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The default-size demo (12,000 contacts, 150 clients) ending on END."""
    db = build(tmp_path_factory.mktemp("demo-default") / "contactload.duckdb", end=END)
    yield db
    db.close()


# --- determinism -----------------------------------------------------------------------


def test_same_seed_and_end_give_identical_data_in_separate_files(tmp_path: Path) -> None:
    first = build(tmp_path / "one" / "contactload.duckdb", contacts=4_000, seed=11, end=END)
    second = build(tmp_path / "two" / "contactload.duckdb", contacts=4_000, seed=11, end=END)
    try:
        # separate folders have separate secrets, hence different client keys ...
        keys_first = {key for (key,) in query(first, "SELECT client_key FROM clients")}
        keys_second = {key for (key,) in query(second, "SELECT client_key FROM clients")}
        assert keys_first.isdisjoint(keys_second)
        # ... but the same clients, contacts and minutes
        assert per_client(first) == per_client(second)
        assert len(per_client(first)) == DEFAULT_CLIENTS
        assert every_contact(first) == every_contact(second)
    finally:
        first.close()
        second.close()


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    first = build(tmp_path / "one" / "contactload.duckdb", contacts=4_000, seed=11, end=END)
    other = build(tmp_path / "two" / "contactload.duckdb", contacts=4_000, seed=12, end=END)
    try:
        assert per_client(first) != per_client(other)
        assert every_contact(first) != every_contact(other)
        # still the requested size
        assert scalar(other, "SELECT count(*) FROM contacts") == 4_000
    finally:
        first.close()
        other.close()


def test_the_default_seed_is_deterministic_too(demo: Database, tmp_path: Path) -> None:
    again = build(tmp_path / "again" / "contactload.duckdb", end=END)
    try:
        assert per_client(again) == per_client(demo)
    finally:
        again.close()


# --- shape of the default demo ---------------------------------------------------------


def test_default_size(demo: Database) -> None:
    assert DEFAULT_CONTACTS == 12_000
    assert scalar(demo, "SELECT count(*) FROM contacts") == 12_000
    assert scalar(demo, "SELECT count(*) FROM clients") == 150
    assert scalar(demo, "SELECT count(DISTINCT client_id) FROM contacts") <= 150


def test_three_practices_twelve_therapists_in_six_or_more_zones(demo: Database) -> None:
    assert scalar(demo, "SELECT count(*) FROM practices") == 3
    assert scalar(demo, "SELECT count(*) FROM therapists") == 12
    assert scalar(demo, "SELECT count(DISTINCT time_zone) FROM therapists") >= 6
    # every practice has therapists, and every therapist has contacts
    assert scalar(demo, "SELECT count(DISTINCT practice_id) FROM therapists") == 3
    assert scalar(demo, "SELECT count(DISTINCT therapist_id) FROM contacts") == 12


def test_every_channel_and_category_is_present(demo: Database) -> None:
    channels = {channel for (channel,) in query(demo, "SELECT DISTINCT channel FROM contacts")}
    categories = {c for (c,) in query(demo, "SELECT DISTINCT category FROM contacts")}
    assert channels == set(CHANNELS)
    assert categories == set(CATEGORIES)


def test_crisis_is_rare_but_present(demo: Database) -> None:
    crisis = scalar(demo, "SELECT count(*) FROM contacts WHERE category = 'crisis'")
    share = crisis / 12_000
    assert 0.005 <= share <= 0.05, share


def test_all_local_dates_are_in_the_year_ending_on_end(demo: Database) -> None:
    first_allowed = END - timedelta(days=DAYS - 1)
    assert DAYS == 365
    first, last = query(
        demo, "SELECT min(local_started_at)::DATE, max(local_started_at)::DATE FROM contacts"
    )[0]
    assert first >= first_allowed, first
    assert last <= END, last
    # and the year is actually used, not a corner of it
    assert (last - first).days >= 300
    outside = scalar(
        demo,
        "SELECT count(*) FROM contacts WHERE local_started_at < CAST(? AS TIMESTAMP) "
        "OR local_started_at >= CAST(? AS TIMESTAMP)",
        [first_allowed, END + timedelta(days=1)],
    )
    assert outside == 0


def test_local_time_is_the_therapists_zone(demo: Database) -> None:
    mismatched = scalar(
        demo,
        "SELECT count(*) FROM contacts AS c JOIN therapists AS t USING (therapist_id) "
        "WHERE timezone(t.time_zone, c.started_at) <> c.local_started_at",
    )
    assert mismatched == 0


def test_after_hours_share_of_minutes(demo: Database) -> None:
    result = metrics.totals(demo, ALL)
    assert result.after_hours_share is not None
    assert 0.05 <= result.after_hours_share <= 0.40, result.after_hours_share


def test_load_is_heavy_tailed(demo: Database) -> None:
    # published: 4 of 35 clients (11%) made 56% of contacts
    result = metrics.concentration(demo, ALL)
    assert result.clients == 150
    assert result.top_clients == 15
    assert result.top_minutes_share is not None
    assert 0.35 <= result.top_minutes_share <= 0.75, result.top_minutes_share


def test_both_directions_are_present(demo: Database) -> None:
    directions = dict(query(demo, "SELECT direction, count(*) FROM contacts GROUP BY 1"))
    assert directions.get("client", 0) > 0
    assert directions.get("therapist", 0) > 0


def test_weekend_contacts_exist_but_are_few(demo: Database) -> None:
    weekend = scalar(demo, "SELECT count(*) FROM contacts WHERE isodow(local_started_at) >= 6")
    assert weekend > 0
    assert weekend / 12_000 < 0.15, weekend


def test_minutes_are_positive_whole_numbers(demo: Database) -> None:
    smallest, fractional = query(
        demo, "SELECT min(minutes), count(*) FILTER (WHERE minutes <> round(minutes)) FROM contacts"
    )[0]
    assert smallest >= 1
    assert fractional == 0


# --- scale and emptiness ---------------------------------------------------------------


def test_fifty_thousand_contacts_get_one_client_per_eighty(tmp_path: Path) -> None:
    db = build(tmp_path / "big" / "contactload.duckdb", contacts=50_000, end=END)
    try:
        assert scalar(db, "SELECT count(*) FROM contacts") == 50_000
        # clients default to max(150, contacts // 80) = max(150, 625)
        assert scalar(db, "SELECT count(*) FROM clients") == 625
    finally:
        db.close()


def test_small_demo_keeps_the_minimum_caseload(tmp_path: Path) -> None:
    db = build(tmp_path / "small" / "contactload.duckdb", contacts=800, end=END)
    try:
        assert scalar(db, "SELECT count(*) FROM contacts") == 800
        # 800 // 80 = 10, so the minimum of 150 clients applies
        clients = scalar(db, "SELECT count(DISTINCT client_id) FROM contacts")
        assert 10 < clients <= 150, clients
    finally:
        db.close()


def test_contacts_must_be_positive(empty_db: Database) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_demo(empty_db, contacts=0, end=END)
    assert is_empty(empty_db, LOCAL)


def test_is_empty_before_and_after_demo(empty_db: Database) -> None:
    assert is_empty(empty_db, LOCAL) is True
    generate_demo(empty_db, contacts=100, end=END)
    assert is_empty(empty_db, LOCAL) is False
    assert scalar(empty_db, "SELECT count(*) FROM contacts") == 100
