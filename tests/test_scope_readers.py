"""Every reader returns only what is in the viewer's scope (see tests/test_scope.py).

One test per discovered reader and narrow scope, so a reader's leak names the function and
does not hide another's; within one test every call is checked and each failing call named.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.policy import history
from analytics.storage.database import Database
from analytics.storage.sql import query
from tests.helpers import copy_database as _copy
from tests.helpers import outcome, plain, without_errors
from tests.scope_world import (
    OTHER,
    SCOPE_NAMES,
    THERAPISTS,
    World,
    _function,
    _prune,
    _scopes,
    _world,
)
from tests.test_scope import (
    MAPPINGS_SHOWN_TO,
    SHOWING_IN_SCOPE,
    Call,
    _episode_contacts,
    _per_client,
    _readers,
    _variants,
)


@pytest.fixture(scope="module")
def pruned_paths(scoped_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """For each narrow scope, a copy of the fixture holding only that scope's rows."""
    db = Database(scoped_db_path)
    scopes = _scopes(_world(db))
    db.close()
    paths = {}
    for name, scope in scopes.items():
        path = _copy(scoped_db_path, tmp_path_factory.mktemp(f"pruned-{name}"))
        pruned = Database(path)
        _prune(pruned, scope)
        pruned.close()
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def databases(
    scoped_db_path: Path, pruned_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, World, dict[str, Database]]]:
    """The full fixture (a copy, for reading) and each pruned copy, open for the module."""
    full = Database(_copy(scoped_db_path, tmp_path_factory.mktemp("full")))
    pruned = {name: Database(path) for name, path in pruned_paths.items()}
    yield full, _world(full), pruned
    full.close()
    for db in pruned.values():
        db.close()


def _out_of_scope_words(db: Database, world: World, scope: Scope) -> list[str]:
    """Names, labels and keys the scope must never show: clients neither listed under it
    nor met by a therapist in it, therapists outside it (and every label, for viewers who
    see keys)."""
    seen = query(
        "SELECT c.client_id FROM clients AS c WHERE {seen}", seen=scope.client_fragment("c")
    )
    inside = db.frame(seen)
    clients = world.clients
    outside = clients[~clients["client_id"].isin(inside["client_id"])]
    words = [*outside["label"], *outside["client_key"]]
    if not scope.shows_labels:
        words += list(clients["label"])
    for therapist, (practice, _, _) in THERAPISTS.items():
        listed = scope.therapist_ids is None or world.therapists[therapist] in scope.therapist_ids
        in_practice = scope.practice_ids is None or world.practices[practice] in scope.practice_ids
        if scope.sees_nothing or not (listed and in_practice):
            words.append(therapist)
    return words


INSIDE = {"therapist": 2, "supervisor": 2, "nobody": 0, "colleague": 3}
"""How many clients each scope sees: Ada's 2; Lindenhof's 2; none; Bo's 2 and Opaline."""


def _inside(world: World, forbidden: list[str]) -> list[str]:
    """The keys of the clients a scope does see."""
    return [key for key in world.clients["client_key"] if key not in forbidden]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per discovered reader (discovery needs the registries further down)."""
    if "reader" in metafunc.fixturenames:
        metafunc.parametrize("reader", _readers())


READS_WHAT_READERS_RECORD = frozenset({"storage.audit.entries"})
"""Readers of what other readers record: an export is audited (who, what, when) on the copy
it ran on, a moment apart on the full and the pruned copy, so once an export reader ran
before on this worker's shared copies the two audit logs differ in time alone. These
readers get fresh copies of both (whatever order the workers take the tests in)."""


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
def test_reader_returns_only_what_is_in_scope(
    databases: tuple[Database, World, dict[str, Database]],
    scoped_db_path: Path,
    pruned_paths: dict[str, Path],
    scope_name: str,
    reader: str,
    tmp_path: Path,
) -> None:
    # One test per reader and scope, so one reader's leak does not hide another's; every
    # call of the reader is checked, and the failure names each call that failed.
    full, world, pruned = databases
    pruned_db = pruned[scope_name]
    with contextlib.ExitStack() as fresh:
        if reader in READS_WHAT_READERS_RECORD:
            full = fresh.enter_context(
                contextlib.closing(Database(_copy(scoped_db_path, tmp_path / "fresh-full")))
            )
            pruned_db = fresh.enter_context(
                contextlib.closing(Database(_copy(pruned_paths[scope_name], tmp_path / "fresh")))
            )
        scope = _scopes(world)[scope_name]
        forbidden = _out_of_scope_words(full, world, scope)
        assert forbidden  # every narrow scope has something outside it
        inside = _inside(world, forbidden)
        shows_inside = False
        failures = []
        for number, variant in enumerate(_variants(reader)):
            on_full = Call(full, scope, world, tmp_path / "full")
            on_pruned = Call(pruned_db, scope, world, tmp_path / "pruned")
            seen = outcome(lambda variant=variant, call=on_full: variant(call))
            expected = outcome(lambda variant=variant, call=on_pruned: variant(call))
            where = f"analytics.{reader} (call {number}) as {scope_name}"
            if seen != expected:
                failures.append(f"{where} returns rows outside the scope")
            # Error messages may repeat the name asked for; everything else must not name
            # anyone outside the scope.
            text = str(without_errors(seen))
            leaked = [word for word in forbidden if word in text]
            if leaked:
                failures.append(f"{where} shows {leaked}")
            shows_inside = shows_inside or any(key in text for key in inside)
        assert failures == []
        must_show = reader in SHOWING_IN_SCOPE or (
            reader == "importing.phone_log.list_mappings" and scope_name in MAPPINGS_SHOWN_TO
        )
        if inside and must_show:
            assert shows_inside, f"analytics.{reader} shows {scope_name} none of its clients"


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
def test_each_scope_sees_its_own_clients(
    databases: tuple[Database, World, dict[str, Database]], scope_name: str
) -> None:
    full, world, _ = databases
    scope = _scopes(world)[scope_name]
    assert len(_inside(world, _out_of_scope_words(full, world, scope))) == INSIDE[scope_name]


def test_local_scope_sees_what_the_pruned_copies_do_not(
    databases: tuple[Database, World, dict[str, Database]], tmp_path: Path
) -> None:
    # The comparison above can only fail if scoped and unscoped results differ at all:
    # local mode sees other therapists' labels in the client table.
    full, world, _ = databases
    table = plain(_function("measures.metrics.client_table")(full, ContactFilter()))
    labels = {row[1] for row in table["rows"]}
    assert labels == set(world.clients["label"])  # 6 clients, 2 per therapist


def test_a_therapist_sees_the_rows_behind_her_own_clients(
    databases: tuple[Database, World, dict[str, Database]], tmp_path: Path
) -> None:
    # The readers without keys in their output are not empty in scope either: Ada's two
    # clients each have 12 weekly sessions (cancelled ones included), a first telephone
    # episode of one call and a first online period of two portal messages (8 + 6 min);
    # the other four clients give empty frames.
    full, world, _ = databases
    call = Call(full, _scopes(world)["therapist"], world, tmp_path)
    sessions = _per_client("measures.session_load.client_sessions")(call)
    assert sorted(len(result["rows"]) for result in sessions) == [0, 0, 0, 0, 12, 12]
    contacts = _episode_contacts(call)
    assert sorted(len(result["rows"]) for result in contacts) == [0] * 8 + [1, 1, 2, 2]


def test_a_colleague_sees_the_client_he_stood_in_for(
    databases: tuple[Database, World, dict[str, Database]],
) -> None:
    # Bo answered Ada's client Opaline once (7 min email): per client, his session load
    # shows that contact under Opaline, so his clients add up to his total, like metrics.
    full, world, _ = databases
    filters = ContactFilter(scope=_scopes(world)["colleague"])
    by_client = _function("measures.session_load.session_load_by")(full, filters, "client")
    opaline = by_client[by_client["label"] == "Opaline Ashcombe"]
    assert opaline[["contacts", "contact_minutes", "sessions"]].values.tolist() == [[1, 7.0, 0]]
    totals = _function("measures.session_load.session_totals")(full, filters)
    assert by_client["contact_minutes"].sum() == totals.contact_minutes


def test_supervisors_see_keys_in_the_change_log(
    databases: tuple[Database, World, dict[str, Database]],
) -> None:
    # Cyprian's override for Saffron Ellery was saved twice (120, then 90 minutes): the
    # supervisor of Lindenhof sees both changes with the client's key, in the column and in
    # the before/after JSON, and no label.
    full, world, _ = databases
    scope = _scopes(world)["supervisor"]
    log = history.change_log(full, scope)
    assert set(log["therapist"]) == {OTHER}
    key = world.clients.loc[world.clients["label"] == "Saffron Ellery", "client_key"].item()
    overrides = log[log["client"].notna()]
    assert list(overrides["client"]) == [key, key]
    assert all(key in after for after in overrides["after"])
    assert "Saffron" not in str(log.to_dict())
