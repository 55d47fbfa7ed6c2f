"""Loading DuckDB's httpfs extension for encrypted databases: each way a user can name it
(file, folder, wheel, ``.gz``) that cannot serve gets one sentence saying why, refuses the
key, and leaves no database and no unpacked copy behind; a silent extension repository
is given up after the timeout.

The extension files here are built the way DuckDB's build writes them (the binary, then a
512-byte footer: 256 bytes of metadata, eight 32-byte fields in reverse order, then a
256-byte signature), so DuckDB reads their version and platform and checks their signature
as it would a real download's. None is signed by DuckDB, so none can load.
"""

from __future__ import annotations

import gzip
import socket
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from analytics.storage import httpfs
from analytics.storage.database import Database
from analytics.storage.encryption import KEY_ENV_VAR, EncryptionError, httpfs_loadable
from analytics.storage.httpfs import (
    EXTENSION_FILE,
    HTTPFS_ENV_VAR,
    duckdb_platform,
    duckdb_version,
    install_httpfs,
)
from tests.conftest import DATA
from tests.test_cli import assert_one_line_error, run

KEY = "correct horse battery staple"
VERSION = f"v{duckdb_version()}"
OTHER_PLATFORM = "linux_arm64" if duckdb_platform() != "linux_arm64" else "linux_amd64"


def unpacked(temp: Path) -> list[Path]:
    """What is left in the temp folder besides the processes' turn-taking lock files."""
    return [entry for entry in temp.iterdir() if not entry.name.startswith("contactload-locks")]


def extension_bytes(version: str = VERSION, platform: str | None = None) -> bytes:
    """An unsigned extension file: a stand-in binary, DuckDB's metadata footer, an empty
    signature."""
    fields = [b"4", (platform or duckdb_platform()).encode(), version.encode(), b"6b7d3e0"]
    fields += [b"CPP", b"", b"", b""]  # ABI type, then three unused fields
    metadata = b"".join(field.ljust(32, b"\0") for field in reversed(fields))
    return b"\x7fELF" + bytes(4092) + metadata + bytes(256)


def wheel(path: Path, members: dict[str, bytes]) -> Path:
    """A wheel laid out like PyPI's duckdb-extension-httpfs (package, dist-info)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("duckdb_extension_httpfs/__init__.py", "")
        for name, data in members.items():
            bundle.writestr(name, data)
        bundle.writestr(
            "duckdb_extension_httpfs-0.0.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: duckdb-extension-httpfs\nVersion: 0.0.0\n",
        )
    return path


def in_package(version: str) -> str:
    return f"duckdb_extension_httpfs/extensions/{version}/{EXTENSION_FILE}"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# (name, how to make what CONTACTLOAD_HTTPFS names in a folder, the reason in the sentence)
CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing", lambda d: d / "nowhere" / EXTENSION_FILE, "which does not exist"),
    (
        "empty folder",
        lambda d: (d / "extensions").resolve(),
        f"which holds no {EXTENSION_FILE} for DuckDB {duckdb_version()} ({duckdb_platform()})",
    ),
    (
        "folder in DuckDB's layout, unsigned",
        lambda d: write(
            d / "ext" / VERSION / duckdb_platform() / EXTENSION_FILE, extension_bytes()
        ).parents[2],
        "which is damaged or not signed by DuckDB",
    ),
    (
        "too short to be an extension",
        lambda d: write(d / EXTENSION_FILE, b"not an extension"),
        "which is not a DuckDB extension file",
    ),
    (
        "built for DuckDB 1.5.5",
        lambda d: write(d / EXTENSION_FILE, extension_bytes("v1.5.5")),
        f"which is httpfs for DuckDB 1.5.5, not {duckdb_version()}",
    ),
    (
        "built for another platform",
        lambda d: write(d / EXTENSION_FILE, extension_bytes(platform=OTHER_PLATFORM)),
        f"which is built for {OTHER_PLATFORM}, not {duckdb_platform()}",
    ),
    (
        "wheel without the extension",
        lambda d: wheel(d / "empty-0.0.0-py3-none-any.whl", {}),
        f"which holds no {EXTENSION_FILE}",
    ),
    (
        "wheel for DuckDB 1.5.5 only",
        lambda d: wheel(
            d / "duckdb_extension_httpfs-1.5.5-py3-none-any.whl",
            {in_package("v1.5.5"): extension_bytes("v1.5.5")},
        ),
        "which holds httpfs only for DuckDB 1.5.5",
    ),
    (
        "wheel for this DuckDB, unsigned",
        lambda d: wheel(
            d / "duckdb_extension_httpfs-2.0.1-py3-none-any.whl",
            {in_package(VERSION): extension_bytes()},
        ),
        "which is damaged or not signed by DuckDB",
    ),
    (
        "a .whl that is not a zip",
        lambda d: write(d / "broken-0.0.0-py3-none-any.whl", b"PK\x03\x04 cut short"),
        "which is not a readable wheel (zip) file",
    ),
    (
        "a .gz from the repository, unsigned",
        lambda d: write(d / f"{EXTENSION_FILE}.gz", gzip.compress(extension_bytes())),
        "which is damaged or not signed by DuckDB",
    ),
    (
        "a damaged .gz",
        lambda d: write(d / f"{EXTENSION_FILE}.gz", gzip.compress(extension_bytes())[:-12]),
        "which cannot be unpacked",
    ),
]


@pytest.fixture
def private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Unpacked copies go here, so a test can see that none is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


@pytest.mark.parametrize(
    ("make", "reason"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_a_named_extension_that_cannot_serve_is_one_sentence(
    make: Callable[[Path], Path],
    reason: str,
    tmp_path: Path,
    private_temp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = tmp_path / "given"
    given.mkdir()
    (given / "extensions").mkdir()
    named = make(given)
    monkeypatch.setenv(HTTPFS_ENV_VAR, str(named))
    database = tmp_path / "new" / "secret.duckdb"
    with pytest.raises(EncryptionError) as caught:
        Database(database, key=KEY)
    sentence = str(caught.value)
    assert sentence.startswith(f"{HTTPFS_ENV_VAR} names "), sentence
    assert str(named) in sentence  # what it names (for a folder: the file found in it)
    assert f", {reason}" in sentence
    assert sentence.endswith(
        f"; set it to an {EXTENSION_FILE} file for DuckDB {duckdb_version()} on "
        f"{duckdb_platform()} (or a folder or .whl holding one), or unset it."
    )
    assert "\n" not in sentence
    assert not database.parent.exists()  # no database, not even its folder
    assert unpacked(private_temp) == []  # no unpacked copy either


@pytest.mark.parametrize("archive", ["wheel", "gz"])
def test_an_archive_that_unpacks_too_large_is_refused_while_unpacking(
    archive: str, tmp_path: Path, private_temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the limit is lowered so the bomb stays small: 2 MiB of zeros against 1 MiB
    monkeypatch.setattr(httpfs, "MAX_EXTENSION_BYTES", 1 << 20)
    bomb = bytes(2 << 20) + extension_bytes()
    if archive == "wheel":
        named = wheel(tmp_path / "bomb-2.0.1-py3-none-any.whl", {in_package(VERSION): bomb})
    else:
        named = write(tmp_path / f"{EXTENSION_FILE}.gz", gzip.compress(bomb))
    assert named.stat().st_size < 64 * 1024  # it is a bomb: small packed, large unpacked
    monkeypatch.setenv(HTTPFS_ENV_VAR, str(named))
    with pytest.raises(EncryptionError, match="unpacks to more than 1 MB"):
        Database(tmp_path / "secret.duckdb", key=KEY)
    assert not (tmp_path / "secret.duckdb").exists()
    assert unpacked(private_temp) == []


def test_a_silent_extension_repository_is_given_up_after_the_timeout() -> None:
    # a real server that accepts the connection and never answers
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        started = time.monotonic()
        reason = install_httpfs(timeout=1.0, repository=f"http://127.0.0.1:{port}")
        waited = time.monotonic() - started
    assert reason == "no answer from the extension repository within 1 seconds"
    assert waited < 3.0


def test_an_unreachable_extension_repository_says_why() -> None:
    # a port nobody listens on: refused at once, and DuckDB's reason comes back
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reason = install_httpfs(timeout=10.0, repository=f"http://127.0.0.1:{port}")
    assert reason is not None and 'Failed to download extension "httpfs"' in reason


def test_cli_with_a_damaged_named_extension_is_one_line(tmp_path: Path) -> None:
    named = write(tmp_path / "ext" / EXTENSION_FILE, extension_bytes())
    database = tmp_path / "new" / "secret.duckdb"
    result = run(
        "import",
        DATA / "fixture_contacts.csv",
        "--db",
        database,
        cwd=tmp_path,
        env={KEY_ENV_VAR: KEY, HTTPFS_ENV_VAR: str(named)},
    )
    line = assert_one_line_error(result)
    assert f"{named}, which is damaged or not signed by DuckDB" in line
    assert not database.parent.exists()


def test_an_offline_machine_waits_for_the_repository_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HTTPFS_ENV_VAR, raising=False)
    source = httpfs_loadable()  # the first try asks the repository (bounded by the timeout)
    if source is not None:
        pytest.skip(f"httpfs loads here (from {source.description}), so no key is refused")
    started = time.monotonic()
    with pytest.raises(EncryptionError, match="cannot be loaded"):
        Database(tmp_path / "secret.duckdb", key=KEY)
    assert time.monotonic() - started < 1.0  # refused at once, no second wait
