"""Encryption at rest: opening the database file encrypted when a key is configured.

DuckDB encrypts a database file (AES-GCM) when it is attached with ``ENCRYPTION_KEY``.
Writing one securely needs the OpenSSL-backed crypto of DuckDB's ``httpfs`` extension; the
extension server is unreachable here, so the extension is loaded by path from the
``duckdb-extension-httpfs`` package (``pip install duckdb-extension-httpfs==<duckdb
version>``), which ships the binary for one DuckDB version. Without it an encrypted database
is refused in one sentence rather than written with DuckDB's built-in fallback, which
DuckDB itself calls not securely encrypted.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import duckdb

from analytics.errors import DatabaseError

KEY_ENV_VAR = "CONTACTLOAD_DB_KEY"
KEY_FILE_ENV_VAR = "CONTACTLOAD_DB_KEY_FILE"
CATALOG = "contactload"
"""The name an encrypted database is attached under (plain files keep their stem)."""


class EncryptionError(DatabaseError):
    """An encrypted database cannot be opened (no extension, no key, wrong key)."""


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


def httpfs_extension() -> Path | None:
    """The httpfs extension binary for this DuckDB version, from its PyPI package, if any."""
    spec = importlib.util.find_spec("duckdb_extension_httpfs")
    if spec is None or not spec.submodule_search_locations:
        return None
    version = duckdb.__version__
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "extensions" / f"v{version}" / "httpfs.duckdb_extension"
        if candidate.is_file():
            return candidate
    return None


def connect_encrypted(
    path: Path, key: str, *, allow_unsafe_crypto: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is ``path``, encrypted with ``key``.

    ``allow_unsafe_crypto`` (tests only) writes with DuckDB's built-in crypto when httpfs is
    missing: the file is still encrypted, but DuckDB does not vouch for its strength.
    """
    extension = httpfs_extension()
    if extension is None and not allow_unsafe_crypto:
        raise EncryptionError(
            f"{KEY_ENV_VAR} asks for an encrypted database, but DuckDB's httpfs extension "
            f"for DuckDB {duckdb.__version__} is not installed (pip install "
            f"duckdb-extension-httpfs=={duckdb.__version__}); install it or unset the key."
        )
    connection = duckdb.connect(config={"allow_unsigned_extensions": "false"})
    try:
        if extension is not None:
            # LOAD takes no parameters; the path is the installed package's, quoted here
            quoted = str(extension).replace("'", "''")
            connection.execute(f"LOAD '{quoted}'")
        else:
            connection.execute("SET force_mbedtls_unsafe = 'true'")
        connection.execute(f"ATTACH ? AS {CATALOG} (ENCRYPTION_KEY ?)", [str(path), key])
        connection.execute(f"USE {CATALOG}")
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
