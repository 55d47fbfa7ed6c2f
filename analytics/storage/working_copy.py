"""Hidden working copies beside a database file, and the leftovers of killed ones.

A restore (``care.restore``) and a rewrite (``Database.rewrite``) fill a full copy of the
data beside the database before moving it into place; a crash leaves that copy behind.
These helpers name, lock and remove those copies. They live apart from ``database`` because
both the connection code and data care use them, and neither needs the other for it.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

try:  # advisory locks mark a restore or rewrite in progress (POSIX; elsewhere none)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_LEFTOVER = "restoring|rewriting"
"""Hidden working copies beside a database: ``.NAME.restoring-*`` (care.restore) and
``.NAME.rewriting-*`` (Database.rewrite); a restore's own rewrite nests one in the other."""


def working_copy_path(path: Path, purpose: str) -> Path:
    """A new hidden file beside ``path`` for a restore or rewrite in progress
    (``purpose``: ``restoring`` or ``rewriting``), removed at the next start if left."""
    return path.with_name(f".{path.name}.{purpose}-{uuid.uuid4().hex[:8]}")


def hold_working_copy(path: Path) -> int:
    """Hold an advisory lock (``PATH.lock``) while a restore fills and checks ``path``, so
    a start meanwhile does not take its files for leftovers; release with
    ``release_working_copy``."""
    descriptor = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def release_working_copy(path: Path, descriptor: int) -> None:
    """Remove a working copy's files and its lock (after it was moved into place or not)."""
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)
    Path(f"{path}.lock").unlink(missing_ok=True)
    os.close(descriptor)


def remove_leftovers(path: Path) -> list[Path]:
    """Delete the hidden working copies a killed restore or rewrite left beside ``path``
    (each a full copy of the data) unless a running restore still holds them; return them."""
    name = re.escape(path.name)
    leftover = re.compile(rf"^\.+{name}\.(?:{_LEFTOVER})-")
    restoring = re.compile(rf"^\.+{name}\.restoring-([0-9a-f]+)")
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for candidate in sorted(path.parent.iterdir()):
        if not leftover.match(candidate.name) or not candidate.is_file():
            continue
        restore = restoring.match(candidate.name)
        lock = (
            path.with_name(f".{path.name}.restoring-{restore.group(1)}.lock") if restore else None
        )
        if lock is not None and _locked(lock):
            continue  # a restore running now (in another process) holds it
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _locked(lock: Path) -> bool:
    """Whether a running restore holds the lock file ``lock``."""
    if fcntl is None or not lock.exists():
        return False
    try:
        descriptor = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # also releases the probe's own lock
    return False
