"""The one name resolver (analytics/access/names.py): one sentence per case, scope obeyed.

tests/data/names_contacts.csv holds, by hand:

    Harbor Counseling  Sam Lee      Avery
    Harbor Counseling  Dana Reyes   Blake
    Lindenhof          Sam Lee      Avery   (a second Sam Lee, a second Avery)
    Lindenhof          Jonas Weber  Cleo

So "Sam Lee" and "Avery" are ambiguous without a practice; "Blake" and "Cleo" are not.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.access import names
from analytics.access.names import AmbiguousNameError, UnknownNameError
from analytics.access.scope import Scope
from analytics.errors import InvalidFilterError
from analytics.storage.database import Database
from tests.conftest import load_fixture_csv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The four contacts above in a database of their own."""
    database = Database(tmp_path / "names.duckdb")
    load_fixture_csv(database, "names_contacts.csv")
    yield database
    database.close()


def ids(db: Database, table: str, column: str, name: str) -> list[int]:
    """The ids of the rows of ``table`` called ``name`` (looked up directly, to compare)."""
    frame = db.frame(
        f"SELECT {column} AS id FROM {table} WHERE name = $name ORDER BY id",
        {"name": name},
    )
    return [int(value) for value in frame["id"]]


def test_a_therapist_is_found_by_name_and_by_practice_when_two_share_it(db: Database) -> None:
    dana = names.find_therapist(db, " Dana Reyes ")
    assert (dana.name, dana.practice, dana.time_zone) == (
        "Dana Reyes",
        "Harbor Counseling",
        "America/New_York",
    )
    berlin = names.find_therapist(db, "Sam Lee", "Lindenhof")
    assert (berlin.practice, berlin.time_zone) == ("Lindenhof", "Europe/Berlin")
    with pytest.raises(AmbiguousNameError) as ambiguous:
        names.find_therapist(db, "Sam Lee")
    assert str(ambiguous.value) == (
        "There are therapists called 'Sam Lee' at Harbor Counseling and Lindenhof; "
        "name the practice too."
    )


@pytest.mark.parametrize(
    ("therapist", "practice", "sentence"),
    [
        ("Nobody", None, "There is no therapist called 'Nobody'; check the spelling or import "
         "their contacts first."),
        ("Dana Reyes", "Lindenhof", "There is no therapist called 'Dana Reyes' at Lindenhof; "
         "check the spelling or import their contacts first."),
        ("Dana Reyes", "Nowhere", "There is no practice called 'Nowhere'; check the spelling "
         "or import its contacts first."),
    ],
)  # fmt: skip
def test_an_unknown_therapist_is_one_sentence(
    db: Database, therapist: str, practice: str | None, sentence: str
) -> None:
    with pytest.raises(UnknownNameError) as unknown:
        names.find_therapist(db, therapist, practice)
    assert str(unknown.value) == sentence
    assert isinstance(unknown.value, InvalidFilterError)


def test_a_scope_hides_therapists_and_practices_outside_it(db: Database) -> None:
    (dana,) = ids(db, "therapists", "therapist_id", "Dana Reyes")
    (harbor,) = ids(db, "practices", "practice_id", "Harbor Counseling")
    own = Scope.therapist("dana@example.org", (dana,))
    assert names.find_therapist(db, "Dana Reyes", scope=own).therapist_id == dana
    with pytest.raises(UnknownNameError, match="no therapist called 'Jonas Weber';"):
        names.find_therapist(db, "Jonas Weber", scope=own)
    assert names.find_practice(db, "Harbor Counseling", own).practice_id == harbor
    with pytest.raises(UnknownNameError, match="no practice called 'Lindenhof';"):
        names.find_practice(db, "Lindenhof", own)
    # Without a scope (writers check permission afterwards) everyone is found.
    assert names.find_therapist(db, "Jonas Weber").practice == "Lindenhof"


def test_a_client_is_found_by_label_or_key(db: Database) -> None:
    blake = names.find_client(db, "Blake")
    assert blake.label == "Blake"
    assert names.find_client(db, blake.client_key) == blake
    lindenhof = names.find_client(db, "Avery", practice="Lindenhof")
    harbor = names.find_client(db, "Avery", practice="Harbor Counseling")
    assert lindenhof.client_key != harbor.client_key
    with pytest.raises(AmbiguousNameError) as ambiguous:
        names.find_client(db, "Avery")
    assert str(ambiguous.value) == (
        "There are clients called 'Avery' at Harbor Counseling and Lindenhof; name the "
        "practice too, or give the client's key."
    )
    with pytest.raises(UnknownNameError) as unknown:
        names.find_client(db, "Zed")
    assert str(unknown.value) == (
        "There is no client called 'Zed'; check the spelling or give the client's key."
    )


def test_a_supervisor_names_clients_by_key_only(db: Database) -> None:
    blake = names.find_client(db, "Blake")
    (harbor,) = ids(db, "practices", "practice_id", "Harbor Counseling")
    supervisor = Scope.supervisor("sup@example.org", (harbor,))
    found = names.find_client(db, blake.client_key, supervisor)
    assert (found.client_key, found.label) == (blake.client_key, None)
    with pytest.raises(UnknownNameError, match="no client called 'Blake';"):
        names.find_client(db, "Blake", supervisor)
    cleo = names.find_client(db, "Cleo").client_key  # Lindenhof's: outside the practice
    with pytest.raises(UnknownNameError, match=f"no client called '{cleo}';"):
        names.find_client(db, cleo, supervisor)


def test_a_client_of_a_therapist(db: Database) -> None:
    dana = names.find_therapist(db, "Dana Reyes")
    assert names.find_client(db, "Blake", therapist=dana).label == "Blake"
    with pytest.raises(UnknownNameError) as not_theirs:
        names.find_client(db, "Avery", therapist=dana)
    assert str(not_theirs.value) == (
        "'Avery' is not a client of Dana Reyes at Harbor Counseling; check the therapist."
    )
    with pytest.raises(UnknownNameError) as unknown:
        names.find_client(db, "Cleo", therapist=dana)  # Lindenhof's client
    assert str(unknown.value) == (
        "There is no client called 'Cleo' of Dana Reyes at Harbor Counseling; check the spelling."
    )


def test_filters_take_every_match_and_name_every_unknown(db: Database) -> None:
    local = Scope.local()
    both_sams = ids(db, "therapists", "therapist_id", "Sam Lee")
    assert len(both_sams) == 2
    assert names.therapist_ids(db, ["Sam Lee"], local) == tuple(both_sams)
    assert names.practice_ids(db, [" Lindenhof"], local) == tuple(
        ids(db, "practices", "practice_id", "Lindenhof")
    )
    assert len(names.client_keys(db, ["Avery", "Blake"], local)) == 3
    assert names.therapist_ids(db, [], local) == ()
    with pytest.raises(UnknownNameError) as unknown:
        names.therapist_ids(db, ["Sam Lee", "Zoe", "Ann"], local)
    assert str(unknown.value) == (
        "There is no therapist called 'Ann' or 'Zoe'; check the spelling or import their "
        "contacts first."
    )
    with pytest.raises(UnknownNameError, match=r"^There is no practice called 'Nowhere';"):
        names.practice_ids(db, ["Nowhere"], local)
    with pytest.raises(UnknownNameError, match=r"^There is no client called 'Zed';"):
        names.client_keys(db, ["Zed", "Blake"], local)


def test_a_cursor_of_a_transaction_resolves_too(db: Database) -> None:
    with db.transaction() as cursor:
        assert names.find_therapist(cursor, "Jonas Weber").name == "Jonas Weber"
