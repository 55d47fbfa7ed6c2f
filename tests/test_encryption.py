"""Encryption at rest: with a key configured the database file holds no client label in
plain bytes, the right key opens it, and a missing extension, a missing key or a wrong key
each get one sentence.

The round trips run twice: with DuckDB's httpfs extension, as the product writes, wherever
one for this DuckDB can be loaded (installed, downloadable, or named by CONTACTLOAD_HTTPFS;
skipped with the reason otherwise), and with DuckDB's built-in crypto
(``allow_unsafe_crypto``, which the product refuses), so the rest of the path is tested even
where no httpfs exists: PyPI has no ``duckdb-extension-httpfs`` for DuckDB 2.0.1 (the newest
is 1.5.5, which DuckDB 2.0 refuses) and this machine cannot reach DuckDB's repository.
"""

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.access.filters import ContactFilter
from analytics.measures.metrics import totals
from analytics.storage.database import Database
from analytics.storage.encryption import (
    KEY_ENV_VAR,
    KEY_FILE_ENV_VAR,
    EncryptionError,
    configured_key,
    httpfs_loadable,
    refusal,
)
from analytics.storage.httpfs import duckdb_platform
from analytics.storage.store import add_contacts
from tests.conftest import DATA
from tests.test_cli import assert_one_line_error, run

LABEL = "Zebediah Quixotica"  # a label no DuckDB page would hold by chance
KEY = "correct horse battery staple"


def fill(db: Database) -> None:
    frame = pd.read_csv(DATA / "fixture_contacts.csv", dtype=str, keep_default_na=False)
    frame["client"] = frame["client"].where(frame["client"] != "Avery", LABEL)
    add_contacts(db, frame, source="fixture")


@pytest.fixture(params=["httpfs", "built-in crypto (tests only)"])
def unsafe(request: pytest.FixtureRequest) -> bool:
    """False: write as the product does, with httpfs (skipped, saying why, where none loads);
    True: with DuckDB's built-in crypto."""
    if request.param == "httpfs":
        source = httpfs_loadable()
        if source is None:
            pytest.skip(f"no httpfs for this DuckDB can be loaded here: {refusal()}")
        return False
    return True


def raw_bytes(path: Path) -> bytes:
    wal = Path(f"{path}.wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_encrypted_file_holds_no_label_in_plain_bytes(tmp_path: Path, unsafe: bool) -> None:
    plain_path, secret_path = tmp_path / "plain.duckdb", tmp_path / "secret.duckdb"
    plain = Database(plain_path, key=None)
    fill(plain)
    plain.close()
    # the control: an unencrypted file does show the label (so the check below can fail)
    assert LABEL.encode() in raw_bytes(plain_path)

    encrypted = Database(secret_path, key=KEY, allow_unsafe_crypto=unsafe)
    fill(encrypted)
    with encrypted.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    encrypted.close()
    data = raw_bytes(secret_path)
    for text in (LABEL, "Harbor Counseling", "Dana Reyes", "America/New_York"):
        assert text.encode() not in data, text
        assert text.encode("utf-16-le") not in data, text

    again = Database(secret_path, key=KEY, allow_unsafe_crypto=unsafe)
    try:
        figures = totals(again, ContactFilter())
        # the fixture: 25 contacts, 400 minutes, 7 clients
        assert (figures.contacts, figures.minutes, figures.active_clients) == (25, 400.0, 7)
        (label,) = again.row("SELECT max(label) FROM clients WHERE label = ?", [LABEL])
        assert label == LABEL
    finally:
        again.close()


def test_opening_an_encrypted_file_without_the_key_is_one_sentence(
    tmp_path: Path, unsafe: bool
) -> None:
    path = tmp_path / "secret.duckdb"
    Database(path, key=KEY, allow_unsafe_crypto=unsafe).close()
    with pytest.raises(EncryptionError) as caught:
        Database(path, key=None)
    assert str(caught.value) == (
        f"{path} is encrypted; set {KEY_ENV_VAR} (or {KEY_FILE_ENV_VAR}) to its key to open it."
    )


def test_a_wrong_key_is_one_sentence(tmp_path: Path, unsafe: bool) -> None:
    path = tmp_path / "secret.duckdb"
    Database(path, key=KEY, allow_unsafe_crypto=unsafe).close()
    before = path.read_bytes()
    with pytest.raises(EncryptionError) as caught:
        Database(path, key="not the key", allow_unsafe_crypto=unsafe)
    assert str(caught.value) == (
        f"{path} could not be opened with the configured key; check {KEY_ENV_VAR} (or the "
        "key file), or open an unencrypted database."
    )
    assert path.read_bytes() == before  # the wrong key changed nothing


def no_httpfs_here() -> None:
    """Skip, saying why, where httpfs can be loaded: the refusal cannot happen there."""
    source = httpfs_loadable()
    if source is not None:
        pytest.skip(f"httpfs loads here (from {source.description}), so no key is refused")


def test_without_httpfs_a_key_is_refused_not_written_weakly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTLOAD_HTTPFS", raising=False)
    no_httpfs_here()
    path = tmp_path / "data" / "secret.duckdb"
    with pytest.raises(EncryptionError) as caught:
        Database(path, key=KEY)
    version, platform = duckdb.__version__, duckdb_platform()
    assert str(caught.value) == (
        f"{KEY_ENV_VAR} asks for an encrypted database, but DuckDB {version}'s httpfs "
        "extension, which writes it securely, cannot be loaded: connect to the internet once "
        f"so DuckDB can install it (or run `INSTALL httpfs` in DuckDB {version}), or set "
        f"CONTACTLOAD_HTTPFS to an httpfs.duckdb_extension file for DuckDB {version} on "
        f"{platform} (or a folder or .whl holding one), or unset the key."
    )
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folder


def test_the_key_comes_from_the_environment_or_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV_VAR, raising=False)
    assert configured_key() is None
    key_file = tmp_path / "db.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv(KEY_FILE_ENV_VAR, str(key_file))
    assert configured_key() == KEY
    monkeypatch.setenv(KEY_ENV_VAR, "from the environment")
    assert configured_key() == "from the environment"
    monkeypatch.delenv(KEY_ENV_VAR)
    key_file.write_text("", encoding="utf-8")
    with pytest.raises(EncryptionError, match="is empty"):
        configured_key()


def test_cli_with_a_key_but_no_extension_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTLOAD_HTTPFS", raising=False)
    no_httpfs_here()
    work = tmp_path / "work"
    work.mkdir()
    result = run(
        "import",
        DATA / "fixture_contacts.csv",
        "--db",
        work / "data" / "x.duckdb",
        cwd=work,
        env={KEY_ENV_VAR: KEY},
    )
    assert assert_one_line_error(result) == f"contactload: {refusal()}"
    assert list(work.iterdir()) == []  # no database, folder, audit or log file


def test_a_backup_of_an_encrypted_database_is_encrypted_too(tmp_path: Path, unsafe: bool) -> None:
    from analytics.access.scope import LOCAL
    from analytics.storage.care import backup

    db = Database(tmp_path / "secret.duckdb", key=KEY, allow_unsafe_crypto=unsafe)
    try:
        fill(db)
        copy = tmp_path / "copy.duckdb"
        backup(db, LOCAL, copy)
    finally:
        db.close()
    assert LABEL.encode() not in raw_bytes(copy)
    with pytest.raises(EncryptionError):
        Database(copy, key=None)
    again = Database(copy, key=KEY, allow_unsafe_crypto=unsafe)
    try:
        # the fixture: 25 contacts, 400 minutes
        figures = totals(again, ContactFilter())
        assert (figures.contacts, figures.minutes) == (25, 400.0)
    finally:
        again.close()


def test_the_cli_round_trip_with_httpfs(tmp_path: Path) -> None:
    """Create and import, close, reopen with the key; a wrong or missing key is refused."""
    source = httpfs_loadable()
    if source is None:
        pytest.skip(f"no httpfs for this DuckDB can be loaded here: {refusal()}")
    path = tmp_path / "data" / "secret.duckdb"
    imported = run(
        "import", DATA / "fixture_contacts.csv", "--db", path, cwd=tmp_path, env={KEY_ENV_VAR: KEY}
    )
    assert imported.returncode == 0, imported.stderr
    for text in ("Harbor Counseling", "Dana Reyes", "America/New_York"):
        assert text.encode() not in raw_bytes(path), text
    summary = run(
        "summary", "--db", path, "--by", "channel", "--json", cwd=tmp_path, env={KEY_ENV_VAR: KEY}
    )
    assert summary.returncode == 0, summary.stderr
    rows = json.loads(summary.stdout)
    # the fixture: 25 contacts, 400 minutes
    assert (sum(r["contacts"] for r in rows), sum(r["minutes"] for r in rows)) == (25, 400.0)
    wrong = run(
        "summary", "--db", path, "--by", "channel", cwd=tmp_path, env={KEY_ENV_VAR: "not the key"}
    )
    assert "could not be opened with the configured key" in assert_one_line_error(wrong)
    missing = run("summary", "--db", path, "--by", "channel", cwd=tmp_path, env={KEY_ENV_VAR: ""})
    assert "is encrypted; set CONTACTLOAD_DB_KEY" in assert_one_line_error(missing)
