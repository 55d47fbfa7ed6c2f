"""Errors that carry the one sentence a user reads.

Pages and the CLI show ``str(error)``; nothing else is needed to explain what went wrong,
so every message is a complete sentence that says what to do next where it can.
"""


class ContactLoadError(Exception):
    """Base class: anything the user should see as one clear sentence."""


class DatabaseError(ContactLoadError):
    """The database file could not be opened or used."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the database file open for writing."""


class EncryptionError(DatabaseError):
    """An encrypted database cannot be opened (no httpfs extension, no key, wrong key)."""


class DamagedDatabaseError(DatabaseError):
    """The database file is cut short or corrupt: DuckDB cannot read part of it."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer Contact Load than this one."""


class InvalidFilterError(ContactLoadError):
    """A filter value (date range, key) makes no sense."""


class InvalidRecordError(ContactLoadError):
    """A contact record breaks the canonical model (unknown channel, negative minutes...)."""


class PermissionDeniedError(ContactLoadError):
    """The viewer's role or scope does not allow this action."""
