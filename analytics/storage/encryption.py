"""Encryption at rest: opening the database file encrypted when a key is configured.

DuckDB encrypts a database file (AES-GCM) when it is attached with ``ENCRYPTION_KEY``.
DuckDB 2.0.1's built-in crypto only reads such files; writing one needs the OpenSSL crypto
of its ``httpfs`` extension, which analytics.storage.httpfs finds and loads the ways DuckDB users
provide it (installed from DuckDB's extension repository when online, or a file, folder or
wheel named by ``CONTACTLOAD_HTTPFS`` when offline). Without it a key is refused in one
sentence rather than written with DuckDB's fallback, which DuckDB itself calls not securely
encrypted; nothing is created then.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from analytics.errors import EncryptionError as EncryptionError  # its home until #17
from analytics.storage.httpfs import HttpfsSource, how_to_provide, load_httpfs

KEY_ENV_VAR = "CONTACTLOAD_DB_KEY"
KEY_FILE_ENV_VAR = "CONTACTLOAD_DB_KEY_FILE"
CATALOG = "contactload"
"""The name an encrypted database is attached under (plain files keep their stem)."""


def configured_key() -> str | None:
    """The key from ``CONTACTLOAD_DB_KEY``, else from the file ``CONTACTLOAD_DB_KEY_FILE``
    names (its first line), else None: no encryption."""
    key = os.environ.get(KEY_ENV_VAR, "").strip()
    if key:
        return key
    key_file = os.environ.get(KEY_FILE_ENV_VAR, "").strip()
    if not key_file:
        return None
    try:
        lines = Path(key_file).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise EncryptionError(
            f"The key file {key_file} named by {KEY_FILE_ENV_VAR} cannot be read "
            f"({error.strerror or error})."
        ) from error
    key = lines[0].strip() if lines else ""
    if not key:
        raise EncryptionError(f"The key file {key_file} named by {KEY_FILE_ENV_VAR} is empty.")
    return key


def refusal() -> str:
    """The sentence that refuses a key when no httpfs extension can be loaded."""
    return (
        f"{KEY_ENV_VAR} asks for an encrypted database, but DuckDB {duckdb.__version__}'s "
        f"httpfs extension, which writes it securely, cannot be loaded: {how_to_provide()}, "
        "or unset the key."
    )


def httpfs_loadable() -> HttpfsSource | None:
    """Where this process loads httpfs from, or None when it cannot (for tests and checks)."""
    with duckdb.connect(config={"allow_unsigned_extensions": "false"}) as connection:
        return load_httpfs(connection)


def connect_encrypted(
    path: Path, key: str, *, allow_unsafe_crypto: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is ``path``, encrypted with ``key``.

    ``allow_unsafe_crypto`` (tests only) writes with DuckDB's built-in crypto when httpfs is
    missing: the file is still encrypted, but DuckDB does not vouch for its strength.
    """
    connection = duckdb.connect(config={"allow_unsigned_extensions": "false"})
    try:
        if load_httpfs(connection) is None:
            if not allow_unsafe_crypto:
                raise EncryptionError(refusal())
            connection.execute("SET force_mbedtls_unsafe = 'true'")
        # the folder only now: a refused key leaves nothing behind
        path.parent.mkdir(parents=True, exist_ok=True)
        connection.execute(f"ATTACH ? AS {CATALOG} (ENCRYPTION_KEY ?)", [str(path), key])
        connection.execute(f"USE {CATALOG}")
    except EncryptionError:
        connection.close()
        raise
    except duckdb.Error as error:
        connection.close()
        text = str(error).lower()
        if "lock" in text:
            raise
        if "key" in text or "decrypt" in text or "encrypt" in text:
            raise EncryptionError(
                f"{path} could not be opened with the configured key; check "
                f"{KEY_ENV_VAR} (or the key file), or open an unencrypted database."
            ) from error
        raise
    return connection
