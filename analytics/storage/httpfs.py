"""Finding and loading DuckDB's ``httpfs`` extension, which encrypted databases need.

Facts about the installed DuckDB (2.0.1, checked on it, not assumed):

- Its built-in crypto (mbedTLS) is read-only: ``ATTACH ... (ENCRYPTION_KEY ...)`` on a new
  file fails with "DuckDB currently has a read-only crypto module loaded. Please ensure
  httpfs is loaded", unless ``SET force_mbedtls_unsafe = 'true'``, which DuckDB itself calls
  not securely encrypted. Writing needs the OpenSSL crypto that ``httpfs`` brings.
- ``httpfs`` is not built in. ``INSTALL httpfs`` downloads
  ``http://extensions.duckdb.org/v2.0.1/<platform>/httpfs.duckdb_extension.gz`` into
  ``~/.duckdb/extensions/v2.0.1/<platform>/`` (DuckDB's extension directory), where
  ``LOAD httpfs`` finds it without any network.
- DuckDB has no timeout setting for that download before ``httpfs`` is loaded
  (``http_timeout`` is one of httpfs's own settings; asking for it autoinstalls httpfs), so
  the download runs in a thread here and is abandoned after ``INSTALL_TIMEOUT_SECONDS``.
- ``LOAD 'file'`` checks the file's 512-byte metadata footer and DuckDB's signature: a file
  built for another DuckDB version or platform, an unsigned or damaged one, or one shorter
  than 512 bytes is refused with a specific message (translated below into one sentence).
  Unsigned extensions stay disallowed.
- PyPI's ``duckdb-extension-httpfs`` (one wheel per DuckDB version, the binary under
  ``duckdb_extension_httpfs/extensions/v<version>/``) stops at 1.5.5; there is no build for
  2.0.1, and 1.5.5 is refused by 2.0.1 ("built specifically for DuckDB version 'v1.5.5'").

So the extension is looked for, in order: the file, folder, wheel or ``.gz`` named by
``CONTACTLOAD_HTTPFS``; DuckDB's extension directory (``LOAD httpfs``); the
``duckdb-extension-httpfs`` package; DuckDB's extension repository (``INSTALL httpfs``,
bounded in time, tried once per process). When none works, analytics.storage.encryption refuses the
key in one sentence built from ``how_to_provide``.
"""

from __future__ import annotations

import atexit
import gzip
import importlib.util
import os
import re
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import duckdb

from analytics.errors import EncryptionError

HTTPFS_ENV_VAR = "CONTACTLOAD_HTTPFS"
"""A file, folder, wheel (``.whl``) or ``.gz`` holding ``httpfs.duckdb_extension``."""
EXTENSION_FILE = "httpfs.duckdb_extension"
INSTALL_TIMEOUT_SECONDS = 10.0
"""How long a download from DuckDB's extension repository may take before it is given up."""
MAX_EXTENSION_BYTES = 256 * 1024 * 1024
"""The most an unpacked extension may hold (httpfs 1.5.5 is 21 MB): a bigger member of a
wheel or ``.gz`` is refused rather than unpacked."""


@dataclass(frozen=True)
class HttpfsSource:
    """Where the httpfs extension was found: ``path`` to LOAD, or None for DuckDB's own
    extension directory (``LOAD httpfs``)."""

    description: str
    path: Path | None = None


EXTENSION_DIRECTORY = HttpfsSource("DuckDB's extension directory")
REPOSITORY = HttpfsSource("DuckDB's extension repository")
"""Installed from there into DuckDB's extension directory, then loaded by name."""


class _Reader(Protocol):
    """A member of a wheel or ``.gz`` being unpacked."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; empty at the end."""
        ...


_lock = threading.Lock()
_found: tuple[str, HttpfsSource] | None = None
"""The source that loaded last, with the CONTACTLOAD_HTTPFS value it was found under."""
_repository_failed = False
_unpacked: dict[tuple[str, int, int], Path] = {}


def duckdb_version() -> str:
    """The running DuckDB's version, e.g. ``2.0.1``."""
    return duckdb.__version__


@cache
def duckdb_platform() -> str:
    """The platform DuckDB loads extensions for, e.g. ``linux_amd64``."""
    with duckdb.connect() as connection:
        row = connection.execute("SELECT platform FROM pragma_platform()").fetchone()
    return str(row[0]) if row else "unknown"


def how_to_provide() -> str:
    """The clause that says where a usable httpfs extension comes from, online and offline."""
    version = duckdb_version()
    return (
        f"connect to the internet once so DuckDB can install it (or run `INSTALL httpfs` in "
        f"DuckDB {version}), or set {HTTPFS_ENV_VAR} to an {EXTENSION_FILE} file for DuckDB "
        f"{version} on {duckdb_platform()} (or a folder or .whl holding one)"
    )


def package_extension() -> Path | None:
    """The httpfs binary for this DuckDB version from the ``duckdb-extension-httpfs``
    package, if installed."""
    spec = importlib.util.find_spec("duckdb_extension_httpfs")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "extensions" / f"v{duckdb_version()}" / EXTENSION_FILE
        if candidate.is_file():
            return candidate
    return None


def load_httpfs(connection: duckdb.DuckDBPyConnection) -> HttpfsSource | None:
    """Load httpfs into ``connection`` from the first source that works (None: none did);
    one sentence (EncryptionError) when the source CONTACTLOAD_HTTPFS names cannot serve."""
    global _found, _repository_failed
    named = os.environ.get(HTTPFS_ENV_VAR, "").strip()
    with _lock:
        if _found is not None and _found[0] == named and _try_load(connection, _found[1]) is None:
            return _found[1]
        if named:
            source = named_source(Path(named).expanduser())
            problem = _try_load(connection, source)
            if problem is not None:
                _forget_unpacked(source)
                raise EncryptionError(_named_problem(source.description, _reason(problem)))
            _found = (named, source)
            return source
        candidates = [EXTENSION_DIRECTORY]
        package = package_extension()
        if package is not None:
            candidates.append(HttpfsSource("the duckdb-extension-httpfs package", package))
        if not _repository_failed:
            candidates.append(REPOSITORY)
        for source in candidates:
            if source is REPOSITORY and install_httpfs() is not None:
                _repository_failed = True  # offline: do not wait for the network again
            elif _try_load(connection, source) is None:
                _found = (named, source)
                return source
            elif source is REPOSITORY:
                _repository_failed = True  # installed, yet it does not load: no new download
        return None


def _try_load(connection: duckdb.DuckDBPyConnection, source: HttpfsSource) -> str | None:
    """Load ``source`` into ``connection``; None when httpfs is loaded, else DuckDB's
    reason in one line."""
    try:
        if source.path is None:
            connection.execute("LOAD httpfs")
        else:
            # LOAD takes no parameters; the path is a file we found or unpacked, quoted here
            quoted = str(source.path).replace("'", "''")
            connection.execute(f"LOAD '{quoted}'")
        row = connection.execute(
            "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
        ).fetchone()
    except duckdb.Error as error:
        text = str(error).strip()
        return text.splitlines()[0] if text else type(error).__name__
    return None if row and row[0] else NOT_HTTPFS


def install_httpfs(
    timeout: float = INSTALL_TIMEOUT_SECONDS, repository: str | None = None
) -> str | None:
    """Install httpfs from DuckDB's extension repository (or ``repository``) into DuckDB's
    extension directory; None when done, else why not (taking over ``timeout`` seconds
    included)."""
    config: dict[str, str | bool | int | float | list[str]] = {}
    if repository:
        config["custom_extension_repository"] = repository
    installer = duckdb.connect(config=config)
    outcome: list[str | None] = []

    def download() -> None:
        try:
            installer.execute("INSTALL httpfs")
            outcome.append(None)
        except duckdb.Error as error:
            outcome.append(str(error).strip().splitlines()[0])
        finally:
            installer.close()

    worker = threading.Thread(target=download, name="httpfs-install", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        # DuckDB has no download timeout of its own here: interrupt it and stop waiting
        with suppress(duckdb.Error):  # it may have finished (and closed) just now
            installer.interrupt()
        return f"no answer from the extension repository within {timeout:g} seconds"
    return outcome[0] if outcome else "the download stopped without a result"


def named_source(named: Path) -> HttpfsSource:
    """The httpfs file that ``CONTACTLOAD_HTTPFS`` names: the file itself, one inside a
    folder (flat or DuckDB's ``v<version>/<platform>/`` layout), or one unpacked from a wheel
    or ``.gz``; one sentence when there is none."""
    if not named.exists():
        raise EncryptionError(_named_problem(str(named), "which does not exist"))
    if named.is_dir():
        for candidate in _folder_candidates(named):
            if candidate.is_file():
                return named_source(candidate)
        raise EncryptionError(
            _named_problem(
                f"the folder {named}",
                f"which holds no {EXTENSION_FILE} for DuckDB {duckdb_version()} "
                f"({duckdb_platform()})",
            )
        )
    if named.suffix in {".whl", ".zip"}:
        return HttpfsSource(f"the wheel {named}", _unpack(named, f"the wheel {named}"))
    if named.suffix == ".gz":
        return HttpfsSource(f"the file {named}", _unpack(named, f"the file {named}"))
    return HttpfsSource(f"the file {named}", named)


def _folder_candidates(folder: Path) -> list[Path]:
    layout = Path(f"v{duckdb_version()}") / duckdb_platform()
    places = [folder, folder / layout, folder / "extensions" / layout]
    return [place / name for place in places for name in (EXTENSION_FILE, f"{EXTENSION_FILE}.gz")]


def _unpack(archive: Path, what: str) -> Path:
    """The extension inside a wheel or ``.gz``, copied (at most MAX_EXTENSION_BYTES) to a
    private folder kept until the program ends, once per archive version."""
    stat = archive.stat()
    key = (str(archive.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _unpacked and _unpacked[key].is_file():
        return _unpacked[key]
    folder = Path(tempfile.mkdtemp(prefix="contactload-httpfs-"))
    target = folder / EXTENSION_FILE
    open_member = _gzip_member if archive.suffix == ".gz" else _wheel_member
    try:
        with open_member(archive, what) as member, target.open("wb") as out:
            copied = 0
            while chunk := member.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_EXTENSION_BYTES:
                    raise EncryptionError(_named_problem(what, _too_large()))
                out.write(chunk)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise EncryptionError(
            _named_problem(what, f"which cannot be unpacked ({error})")
        ) from error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(shutil.rmtree, folder, True)
    _unpacked[key] = target
    return target


def _forget_unpacked(source: HttpfsSource) -> None:
    """Remove the unpacked copy of an extension that did not load: nothing is left behind."""
    for key, path in list(_unpacked.items()):
        if path == source.path:
            del _unpacked[key]
            shutil.rmtree(path.parent, ignore_errors=True)


def _too_large() -> str:
    return (
        f"whose {EXTENSION_FILE} unpacks to more than {MAX_EXTENSION_BYTES >> 20} MB, more "
        "than any real extension"
    )


@contextmanager
def _wheel_member(wheel: Path, what: str) -> Iterator[_Reader]:
    """The wheel's ``httpfs.duckdb_extension`` for this DuckDB version, open for reading."""
    try:
        bundle = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as error:
        raise EncryptionError(
            _named_problem(what, "which is not a readable wheel (zip) file")
        ) from error
    with bundle:
        members = [
            info
            for info in bundle.infolist()
            if info.filename.rsplit("/", 1)[-1] == EXTENSION_FILE and not info.is_dir()
        ]
        versions = {
            part[1:]
            for info in members
            for part in info.filename.split("/")
            if re.fullmatch(r"v\d+\.\d+\.\d+\S*", part)
        }
        wanted = f"v{duckdb_version()}"
        matching = [info for info in members if wanted in info.filename.split("/")]
        if not members:
            raise EncryptionError(_named_problem(what, f"which holds no {EXTENSION_FILE}"))
        if not matching and versions:
            found = ", ".join(sorted(versions))
            raise EncryptionError(
                _named_problem(what, f"which holds httpfs only for DuckDB {found}")
            )
        chosen = (matching or members)[0]
        if chosen.file_size > MAX_EXTENSION_BYTES:  # the size the zip declares; checked again
            raise EncryptionError(_named_problem(what, _too_large()))
        with bundle.open(chosen) as member:
            yield member


@contextmanager
def _gzip_member(path: Path, what: str) -> Iterator[_Reader]:
    """A ``.gz`` extension (as DuckDB's repository serves it), open for reading."""
    with gzip.open(path, "rb") as member:
        yield member


def _named_problem(what: str, reason: str) -> str:
    """One sentence: what ``CONTACTLOAD_HTTPFS`` names, why it cannot serve, what will."""
    return (
        f"{HTTPFS_ENV_VAR} names {what}, {reason}; set it to an {EXTENSION_FILE} file for "
        f"DuckDB {duckdb_version()} on {duckdb_platform()} (or a folder or .whl holding one), "
        "or unset it."
    )


NOT_HTTPFS = "which is a DuckDB extension, but not httpfs"


def _reason(problem: str) -> str:
    """DuckDB's reason for refusing an extension file, in the user's words."""
    built_for = re.search(r"built specifically for DuckDB version '([^']+)'", problem)
    if built_for:
        version = built_for.group(1).lstrip("v")
        return f"which is httpfs for DuckDB {version}, not {duckdb_version()}"
    platform = re.search(r"built for the platform '([^']+)'", problem)
    if platform:
        return f"which is built for {platform.group(1)}, not {duckdb_platform()}"
    if "signature" in problem:
        return "which is damaged or not signed by DuckDB"
    if "is not a DuckDB extension" in problem:
        return "which is not a DuckDB extension file"
    if problem == NOT_HTTPFS:
        return problem
    return f"which DuckDB could not load ({problem.rstrip('.')})"
