"""Encryption at rest: with a key configured the database file holds no client label in
plain bytes, the right key opens it, and a missing extension, a missing key or a wrong key
each get one sentence.

DuckDB 2.0.1 has no ``duckdb-extension-httpfs`` build on PyPI (the newest is 1.5.5, which
DuckDB 2.0 refuses, or crashes on when forced), so these tests write with DuckDB's built-in
crypto (``allow_unsafe_crypto``); the product refuses that path and asks for the extension.
"""

from pathlib import Path

import pandas as pd
import pytest

from analytics.db import Database
from analytics.encryption import (
    KEY_ENV_VAR,
    KEY_FILE_ENV_VAR,
    EncryptionError,
    configured_key,
    httpfs_extension,
)
from analytics.filters import ContactFilter
from analytics.metrics import totals
from analytics.store import add_contacts
from tests.conftest import DATA
from tests.test_cli import assert_one_line_error, run

LABEL = "Zebediah Quixotica"  # a label no DuckDB page would hold by chance
KEY = "correct horse battery staple"


def fill(db: Database) -> None:
    frame = pd.read_csv(DATA / "fixture_contacts.csv", dtype=str, keep_default_na=False)
    frame["client"] = frame["client"].where(frame["client"] != "Avery", LABEL)
    add_contacts(db, frame, source="fixture")


def raw_bytes(path: Path) -> bytes:
    wal = Path(f"{path}.wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_encrypted_file_holds_no_label_in_plain_bytes(tmp_path: Path) -> None:
    plain_path, secret_path = tmp_path / "plain.duckdb", tmp_path / "secret.duckdb"
    plain = Database(plain_path, key=None)
    fill(plain)
    plain.close()
    # the control: an unencrypted file does show the label (so the check below can fail)
    assert LABEL.encode() in raw_bytes(plain_path)

    encrypted = Database(secret_path, key=KEY, allow_unsafe_crypto=True)
    fill(encrypted)
    with encrypted.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    encrypted.close()
    data = raw_bytes(secret_path)
    for text in (LABEL, "Harbor Counseling", "Dana Reyes", "America/New_York"):
        assert text.encode() not in data, text
        assert text.encode("utf-16-le") not in data, text

    again = Database(secret_path, key=KEY, allow_unsafe_crypto=True)
    try:
        figures = totals(again, ContactFilter())
        # the fixture: 25 contacts, 400 minutes, 7 clients
        assert (figures.contacts, figures.minutes, figures.active_clients) == (25, 400.0, 7)
        (label,) = again.row("SELECT max(label) FROM clients WHERE label = ?", [LABEL])
        assert label == LABEL
    finally:
        again.close()


def test_opening_an_encrypted_file_without_the_key_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "secret.duckdb"
    Database(path, key=KEY, allow_unsafe_crypto=True).close()
    with pytest.raises(EncryptionError) as caught:
        Database(path, key=None)
    assert str(caught.value) == (
        f"{path} is encrypted; set {KEY_ENV_VAR} (or {KEY_FILE_ENV_VAR}) to its key to open it."
    )


def test_a_wrong_key_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "secret.duckdb"
    Database(path, key=KEY, allow_unsafe_crypto=True).close()
    with pytest.raises(EncryptionError, match="could not be opened with the configured key"):
        Database(path, key="not the key", allow_unsafe_crypto=True)


@pytest.mark.skipif(httpfs_extension() is not None, reason="httpfs is installed here")
def test_without_httpfs_a_key_is_refused_not_written_weakly(tmp_path: Path) -> None:
    path = tmp_path / "secret.duckdb"
    with pytest.raises(EncryptionError, match="httpfs extension"):
        Database(path, key=KEY)
    assert not path.exists()  # nothing was written without proper encryption


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


def test_cli_with_a_key_but_no_extension_is_one_line(tmp_path: Path) -> None:
    if httpfs_extension() is not None:
        pytest.skip("httpfs is installed here")
    # a command that may create the file (a reading one refuses a missing file first)
    result = run(
        "demo",
        "--db",
        tmp_path / "x.duckdb",
        "--contacts",
        "10",
        cwd=tmp_path,
        env={KEY_ENV_VAR: KEY},
    )
    assert "httpfs extension" in assert_one_line_error(result)


def test_a_backup_of_an_encrypted_database_is_encrypted_too(tmp_path: Path) -> None:
    from analytics.care import backup
    from analytics.scope import LOCAL

    db = Database(tmp_path / "secret.duckdb", key=KEY, allow_unsafe_crypto=True)
    try:
        fill(db)
        copy = tmp_path / "copy.duckdb"
        backup(db, LOCAL, copy)
    finally:
        db.close()
    assert LABEL.encode() not in raw_bytes(copy)
    with pytest.raises(EncryptionError):
        Database(copy, key=None)
    again = Database(copy, key=KEY, allow_unsafe_crypto=True)
    try:
        # the fixture: 25 contacts, 400 minutes
        figures = totals(again, ContactFilter())
        assert (figures.contacts, figures.minutes) == (25, 400.0)
    finally:
        again.close()
