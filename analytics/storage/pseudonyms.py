"""Pseudonymous client keys: a keyed hash per distinct client, never reversible.

The key is HMAC-SHA256 over the practice and the client's label with a per-installation
secret that is created on first use beside the database and kept out of the repository.
The same client therefore gets the same key in every file imported here, while someone
holding only the database (or an export) cannot recompute or reverse it.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE_NAME = ".contactload-secret"


def secret_path(db_path: Path) -> Path:
    """Where the installation secret for the database at ``db_path`` lives."""
    return db_path.parent / SECRET_FILE_NAME


def load_or_create_secret(db_path: Path) -> bytes:
    """The installation secret, created (readable by the owner only) when missing."""
    path = secret_path(db_path)
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    secret = secrets.token_bytes(32)
    write_secret(db_path, secret)
    return secret


def read_secret(path: Path) -> bytes | None:
    """The secret kept in the file ``path`` (hex text), or None when missing or unreadable."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        return None


def write_secret(db_path: Path, secret: bytes) -> None:
    """Keep ``secret`` beside the database at ``db_path`` (a new file, owner-only)."""
    path = secret_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret.hex())


def client_key(secret: bytes, practice: str, label: str) -> str:
    """The stable pseudonymous key of one client of one practice, e.g. ``c-3f9a0b12c4d5``."""
    message = f"{practice}\x1f{label.strip()}".encode()
    return "c-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:12]


def erasure_ref(secret: bytes, key: str) -> str:
    """What the list of erased clients keeps of the client ``key``, e.g. ``e-1a2b…``: a
    keyed hash of the key, so the database holds neither key nor label after an erasure,
    yet an import naming the client again (same practice and label) is recognised."""
    message = f"erased\x1f{key}".encode()
    return "e-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]


def number_key(secret: bytes, number: str) -> str:
    """The stable keyed hash of one phone number in its E.164 form, e.g. ``n-1a2b…``.

    Callers pass the form ``importing.phone_numbers.read_number`` gives (``+390612345678``),
    so the same line has one key however it was written. Only this key and the number's
    last two digits are stored, never the number: the key matches the same number in every
    later log, and cannot be reversed without the secret.
    """
    message = f"phone\x1f{number.strip()}".encode()
    return "n-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]


def number_hint(normalised: str) -> str:
    """The last two characters of a normalised number, for the user to recognise it."""
    return normalised[-2:]
