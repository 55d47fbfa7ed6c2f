"""Schema migrations: each is a version, a one-line reason and the SQL that gets there.

Opening a database applies the migrations it lacks, in order, in one transaction, so an
older file is upgraded completely or not at all. A file whose version is newer than the
last migration here is refused (see ``db.Database``).
"""

from dataclasses import dataclass

import duckdb

from analytics.domain import CATEGORIES, CHANNELS, DIRECTIONS
from analytics.errors import SchemaTooNewError


@dataclass(frozen=True)
class Migration:
    """One step of the schema's history."""

    version: int
    description: str
    statements: tuple[str, ...]


def _one_of(column: str, keys: tuple[str, ...]) -> str:
    """A CHECK constraint built from the domain's fixed keys (constants, never user input)."""
    quoted = ", ".join(f"'{key}'" for key in keys)
    return f"CHECK ({column} IN ({quoted}))"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="practices, therapists, clients, import batches and contacts",
        statements=(
            "CREATE SEQUENCE practice_id_seq START 1",
            "CREATE SEQUENCE therapist_id_seq START 1",
            "CREATE SEQUENCE client_id_seq START 1",
            "CREATE SEQUENCE batch_id_seq START 1",
            """
            CREATE TABLE practices (
                practice_id INTEGER PRIMARY KEY DEFAULT nextval('practice_id_seq'),
                name VARCHAR NOT NULL UNIQUE
            )
            """,
            """
            CREATE TABLE therapists (
                therapist_id INTEGER PRIMARY KEY DEFAULT nextval('therapist_id_seq'),
                practice_id INTEGER NOT NULL,
                name VARCHAR NOT NULL,
                time_zone VARCHAR NOT NULL,
                UNIQUE (practice_id, name)
            )
            """,
            # client_key is a keyed hash (see pseudonyms.py): stable, not reversible, and
            # the only client identifier supervisor views and exports ever show.
            """
            CREATE TABLE clients (
                client_id INTEGER PRIMARY KEY DEFAULT nextval('client_id_seq'),
                client_key VARCHAR NOT NULL UNIQUE,
                label VARCHAR NOT NULL,
                practice_id INTEGER NOT NULL,
                therapist_id INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE import_batches (
                batch_id INTEGER PRIMARY KEY DEFAULT nextval('batch_id_seq'),
                source VARCHAR NOT NULL,
                file_name VARCHAR,
                sha256 VARCHAR,
                preset VARCHAR,
                rows_read BIGINT NOT NULL DEFAULT 0,
                rows_imported BIGINT NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """,
            # No primary key or foreign keys on contacts: DuckDB maintains an index per key,
            # which would cost more than the table itself at ten million rows. The store
            # module is the only writer and resolves every id before inserting.
            # local_started_at is the wall-clock time in the therapist's zone, derived in SQL
            # when the row is written, so weekday, hour and after-hours need no per-query
            # time-zone conversion.
            f"""
            CREATE TABLE contacts (
                practice_id INTEGER NOT NULL,
                therapist_id INTEGER NOT NULL,
                client_id INTEGER NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                local_started_at TIMESTAMP NOT NULL,
                minutes DOUBLE NOT NULL CHECK (minutes >= 0),
                channel VARCHAR NOT NULL {_one_of("channel", CHANNELS)},
                category VARCHAR NOT NULL {_one_of("category", CATEGORIES)},
                direction VARCHAR NOT NULL DEFAULT 'unknown' {_one_of("direction", DIRECTIONS)},
                batch_id INTEGER NOT NULL
            )
            """,
            # data_version changes with every write, so cached results know when to expire.
            """
            CREATE TABLE meta (
                key VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )
            """,
            "INSERT INTO meta VALUES ('data_version', '0')",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        version=2,
        description="imports: contact fingerprints, date-only contacts, rules, saved mappings",
        statements=(
            # fingerprint identifies a contact across files (therapist, client, start,
            # minutes and its occurrence among identical entries), so re-importing a file
            # or an overlapping export adds nothing.
            "ALTER TABLE contacts ADD COLUMN fingerprint UHUGEINT",
            # Some sources (Harvest) give a date but no time of day; such contacts carry
            # local midnight and time_known = false, and time-of-day measures leave them out.
            "ALTER TABLE contacts ADD COLUMN time_known BOOLEAN DEFAULT true",
            "UPDATE contacts SET time_known = true",
            "ALTER TABLE import_batches ADD COLUMN rows_duplicate BIGINT DEFAULT 0",
            "ALTER TABLE import_batches ADD COLUMN rows_rejected BIGINT DEFAULT 0",
            "ALTER TABLE import_batches ADD COLUMN undone_at TIMESTAMPTZ",
            "CREATE SEQUENCE rule_id_seq START 1",
            """
            CREATE TABLE classification_rules (
                rule_id INTEGER PRIMARY KEY DEFAULT nextval('rule_id_seq'),
                target VARCHAR NOT NULL CHECK (target IN ('category', 'channel')),
                keyword VARCHAR NOT NULL,
                value VARCHAR NOT NULL,
                priority INTEGER NOT NULL DEFAULT 100,
                language VARCHAR NOT NULL DEFAULT 'en',
                UNIQUE (target, keyword)
            )
            """,
            """
            CREATE TABLE saved_mappings (
                name VARCHAR PRIMARY KEY,
                mapping VARCHAR NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        version=3,
        description="boundaries: agreed limits per therapist and client, dated, with history",
        statements=(
            "CREATE SEQUENCE boundary_id_seq START 1",
            # One row is one agreement in force from effective_from (the therapist's local
            # date) until the next row for the same scope. client_id NULL is the therapist's
            # default; a client row overrides it field by field: a NULL field (or, for the
            # list fields, NULL) inherits the default in force on the same date.
            """
            CREATE TABLE boundaries (
                boundary_id INTEGER PRIMARY KEY DEFAULT nextval('boundary_id_seq'),
                therapist_id INTEGER NOT NULL,
                client_id INTEGER,
                effective_from DATE NOT NULL,
                weekly_cap_minutes DOUBLE CHECK (weekly_cap_minutes >= 0),
                -- per-category weekly caps, e.g. {'support': 60}; NULL inherits, {} = none
                category_caps MAP(VARCHAR, DOUBLE),
                -- channels the client may use; NULL inherits (and a default of NULL means
                -- every channel is allowed)
                allowed_channels VARCHAR[],
                -- which categories a channel may carry, e.g. {'text': ['scheduling',
                -- 'reminder']}; channels not listed carry any category; NULL inherits
                channel_categories MAP(VARCHAR, VARCHAR[]),
                response_target_hours DOUBLE CHECK (response_target_hours > 0),
                -- count response time in working hours (true) or calendar hours (false)
                response_in_working_hours BOOLEAN,
                -- whether crisis minutes count toward the caps (by default they don't)
                crisis_counts_toward_cap BOOLEAN,
                UNIQUE (therapist_id, client_id, effective_from)
            )
            """,
            # Working hours belong to the therapist (not to a client), per weekday
            # (0 = Monday), in the therapist's own zone, dated like boundaries. A weekday
            # without a row on a date is a day off; several rows make split shifts.
            """
            CREATE TABLE working_hours (
                therapist_id INTEGER NOT NULL,
                effective_from DATE NOT NULL,
                weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
                starts TIME NOT NULL,
                ends TIME NOT NULL,
                CHECK (starts < ends)
            )
            """,
            "CREATE SEQUENCE boundary_change_id_seq START 1",
            # Every change to boundaries or working hours: who, when, before and after.
            """
            CREATE TABLE boundary_changes (
                change_id INTEGER PRIMARY KEY DEFAULT nextval('boundary_change_id_seq'),
                changed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                changed_by VARCHAR NOT NULL,
                therapist_id INTEGER,
                client_id INTEGER,
                what VARCHAR NOT NULL,
                before_value VARCHAR,
                after_value VARCHAR
            )
            """,
        ),
    ),
)

SESSION_STATUSES = ("attended", "cancelled", "late_cancelled", "no_show")
"""Session outcomes, as calendars and practice systems record them."""

SCHEDULED_STATUSES = ("attended", "late_cancelled", "no_show")
"""Sessions that held their place in the schedule (everything but a timely cancellation):
their hours are the "scheduled session hours" that load per session hour divides by."""

MIGRATIONS += (
    Migration(
        version=4,
        description="sessions, phone-number mapping, settings and the audit log",
        statements=(
            # Scheduled sessions, shaped like contacts (same keys, instant and therapist-local
            # wall time) so the same filters and scope apply. fingerprint identifies a session
            # across imports: the calendar event's UID and instance start where the source
            # has one, else therapist, client, start and length.
            f"""
            CREATE TABLE sessions (
                practice_id INTEGER NOT NULL,
                therapist_id INTEGER NOT NULL,
                client_id INTEGER NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                local_started_at TIMESTAMP NOT NULL,
                minutes DOUBLE NOT NULL CHECK (minutes > 0),
                status VARCHAR NOT NULL {_one_of("status", SESSION_STATUSES)},
                fingerprint UHUGEINT NOT NULL,
                batch_id INTEGER NOT NULL
            )
            """,
            # What a batch brought: contacts (time trackers, phone logs) or sessions.
            "ALTER TABLE import_batches ADD COLUMN kind VARCHAR DEFAULT 'contacts'",
            "UPDATE import_batches SET kind = 'contacts'",
            # Phone numbers are never stored: number_key is a keyed hash of the normalised
            # number (see pseudonyms.py), number_hint its last digits for the user to
            # recognise it in the mapping editor.
            """
            CREATE TABLE phone_numbers (
                therapist_id INTEGER NOT NULL,
                number_key VARCHAR NOT NULL,
                number_hint VARCHAR,
                client_id INTEGER NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                PRIMARY KEY (therapist_id, number_key)
            )
            """,
            # Installation settings a user can change (minutes per text, minimum group size).
            """
            CREATE TABLE settings (
                key VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )
            """,
            "CREATE SEQUENCE audit_id_seq START 1",
            # Who did what, when: sign-ins, imports, undos, boundary edits, exports, erasures.
            """
            CREATE TABLE audit_log (
                entry_id INTEGER PRIMARY KEY DEFAULT nextval('audit_id_seq'),
                logged_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                identity VARCHAR NOT NULL,
                role VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                detail VARCHAR
            )
            """,
        ),
    ),
)

BILLING_FAMILIES = ("online", "telephone")
"""Kinds of billable between-session work: cumulative online work over a window, and
single telephone calls (DOMAIN.md, "Billing codes for between-session work")."""

BILLING_DIRECTIONS = ("client", "client_or_unknown")
"""Which contacts may count: client-initiated only (CPT's condition, the default), or also
those whose source did not record who started them."""


def _default_rule(code: str, family: str, description: str, low: int, high: int | None) -> str:
    """One seeded rule row (constants from DOMAIN.md, never user input)."""
    online = family == "online"
    channels = "['portal']" if online else "['phone']"
    window = "7" if online else "NULL"
    after_hours = "168" if online else "24"
    top = "NULL" if high is None else str(high)
    return (
        "INSERT INTO billing_rules VALUES "  # noqa: S608 (constants from DOMAIN.md)
        f"('{code}', '{family}', '{description}', {channels}, 'client', "
        "['check_in', 'support', 'crisis', 'homework'], ['scheduling', 'reminder', 'other'], "
        f"{low}, {top}, {window}, 7, {after_hours}, true)"
    )


MIGRATIONS += (
    Migration(
        version=5,
        description="billing: rules for billable between-session work and a fee schedule",
        statements=(
            # One row per billing code (CPT 98970-98972 online digital assessment, 98966-98968
            # telephone assessment by a non-physician; DOMAIN.md). Every threshold and
            # exclusion is data, editable on the Billing page, because payers and years
            # differ. Codes of one family share channels, direction, categories, window and
            # exclusions (billing.py checks this); each has its own band of minutes.
            # window_days NULL: each contact is its own episode (a telephone call).
            # prior_session_days: an attended session this many days before the start
            # excludes; session_after_hours: one this many hours after the start excludes
            # (a visit within the online period absorbs the time; a call leading to a
            # session within 24 hours).
            f"""
            CREATE TABLE billing_rules (
                code VARCHAR PRIMARY KEY,
                family VARCHAR NOT NULL {_one_of("family", BILLING_FAMILIES)},
                description VARCHAR NOT NULL DEFAULT '',
                channels VARCHAR[] NOT NULL,
                direction VARCHAR NOT NULL DEFAULT 'client'
                    {_one_of("direction", BILLING_DIRECTIONS)},
                counting_categories VARCHAR[] NOT NULL,
                excluded_categories VARCHAR[] NOT NULL,
                min_minutes DOUBLE NOT NULL CHECK (min_minutes >= 0),
                max_minutes DOUBLE CHECK (max_minutes >= min_minutes),
                window_days INTEGER CHECK (window_days BETWEEN 1 AND 31),
                prior_session_days INTEGER NOT NULL CHECK (prior_session_days >= 0),
                session_after_hours INTEGER NOT NULL CHECK (session_after_hours >= 0),
                active BOOLEAN NOT NULL DEFAULT true
            )
            """,
            _default_rule("98970", "online", "Online digital assessment, 5-10 min", 5, 10),
            _default_rule("98971", "online", "Online digital assessment, 11-20 min", 11, 20),
            _default_rule("98972", "online", "Online digital assessment, 21+ min", 21, None),
            _default_rule("98966", "telephone", "Telephone assessment, 5-10 min", 5, 10),
            _default_rule("98967", "telephone", "Telephone assessment, 11-20 min", 11, 20),
            _default_rule("98968", "telephone", "Telephone assessment, 21-30 min", 21, 30),
            # The fee a practice expects per code, entered by the user (no defaults: fees
            # differ by payer and region).
            """
            CREATE TABLE billing_fees (
                code VARCHAR PRIMARY KEY,
                fee DOUBLE NOT NULL CHECK (fee >= 0),
                currency VARCHAR NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        version=6,
        description="erasure: erased clients are remembered by a keyed hash, imports skip them",
        statements=(
            # One row per erased client: erasure_ref is a keyed hash of the client's key
            # (pseudonyms.erasure_ref), so neither the label nor the key stays in the file,
            # while an import that names the client again recognises it and skips its rows.
            """
            CREATE TABLE erased_clients (
                erasure_ref VARCHAR PRIMARY KEY,
                erased_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """,
            "ALTER TABLE import_batches ADD COLUMN rows_erased BIGINT DEFAULT 0",
            "UPDATE import_batches SET rows_erased = 0",
        ),
    ),
    Migration(
        version=7,
        description="audit log: the identity provider and its subject id beside the identity",
        statements=(
            # Team mode: which provider (the ID token's iss) vouched for the person, and its
            # id for them (sub), so an entry names an account, not only an address anyone
            # could type. NULL for local mode and entries made before.
            "ALTER TABLE audit_log ADD COLUMN issuer VARCHAR",
            "ALTER TABLE audit_log ADD COLUMN subject VARCHAR",
        ),
    ),
    Migration(
        version=8,
        description="phone numbers keyed by their E.164 form (libphonenumber); older keys marked",
        statements=(
            # Keys were made from a written form that split some lines in two (Italy's
            # 06 ... written nationally and internationally). Only keyed hashes are stored,
            # so they cannot be re-keyed here: they are marked 'legacy', and an import or a
            # mapping that meets the number again re-keys it (importing/phone_log.py).
            "ALTER TABLE phone_numbers ADD COLUMN key_form VARCHAR DEFAULT 'e164'",
            "UPDATE phone_numbers SET key_form = 'legacy'",
        ),
    ),
    Migration(
        version=10,
        description="dismissed drift alerts: hidden from the digest, by whom and when",
        statements=(
            # One row per dismissed alert: a therapist's week (client_id NULL) or a client's.
            # client_id lets erasing a client remove its dismissals with everything else.
            """
            CREATE TABLE dismissed_alerts (
                therapist_id INTEGER NOT NULL,
                client_id INTEGER,
                week DATE NOT NULL,
                dismissed_by VARCHAR NOT NULL,
                dismissed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """,
        ),
    ),
)


MIGRATIONS += (
    Migration(
        version=16,
        description="the inbox folder's history: each file taken, where it went, what it stored",
        statements=(
            "CREATE SEQUENCE inbox_entry_seq START 1",
            # File names and counts only: never the file's contents, nor the error's text
            # (it may quote a cell); ``reason`` is one of analytics.importing.inbox.REASONS.
            f"""
            CREATE TABLE inbox_files (
                entry_id INTEGER PRIMARY KEY DEFAULT nextval('inbox_entry_seq'),
                taken_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                file_name VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                outcome VARCHAR NOT NULL {_one_of("outcome", ("done", "failed"))},
                moved_to VARCHAR NOT NULL,
                rows_read INTEGER,
                stored INTEGER,
                already_stored INTEGER,
                problems INTEGER,
                batch_id INTEGER,
                reason VARCHAR
            )
            """,
        ),
    ),
)

MIGRATIONS += (
    Migration(
        version=17,
        description="e-mail addresses and chat names mapped to clients, as keyed hashes",
        statements=(
            # Like phone_numbers: address_key is a keyed hash of the normalised address or
            # chat name (importing/conversations.py), address_hint a letter or two for the
            # user to recognise it; the address or name itself is never stored.
            f"""
            CREATE TABLE message_addresses (
                therapist_id INTEGER NOT NULL,
                kind VARCHAR NOT NULL {_one_of("kind", ("email", "chat"))},
                address_key VARCHAR NOT NULL,
                address_hint VARCHAR,
                client_id INTEGER NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                PRIMARY KEY (therapist_id, address_key)
            )
            """,
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the open database, 0 for a new file."""
    exists = cursor.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or exists[0] == 0:
        return 0
    row = cursor.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(
    cursor: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Bring the schema up to the last of ``migrations``; return the versions applied.

    Runs in one transaction: a failing step leaves the file exactly as it was.
    """
    latest = migrations[-1].version if migrations else 0
    cursor.execute("BEGIN TRANSACTION")
    try:
        cursor.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version INTEGER PRIMARY KEY,
                description VARCHAR NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """
        )
        version = current_version(cursor)
        if version > latest:
            raise SchemaTooNewError(
                f"This database has schema version {version}, newer than the {latest} this "
                "version of Contact Load understands; upgrade Contact Load to open it."
            )
        applied = []
        for migration in migrations:
            if migration.version <= version:
                continue
            for statement in migration.statements:
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                [migration.version, migration.description],
            )
            applied.append(migration.version)
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return applied
