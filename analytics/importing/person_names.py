"""How the names in a file become stored practice, therapist and client names.

Split from ``pipeline`` because every importer stores names the same way: composed,
without invisible characters, spaces folded (``name_sql``); placeholders such as "Me"
never become a therapist (``is_placeholder``); names mixing alphabets are pointed out
(``mixed_script_warnings``); and what a stored name still hides is shown (``shown_name``).
"""

from __future__ import annotations

import re

import duckdb

PLACEHOLDER_NAMES = (
    "me", "myself", "i", "ich", "moi", "yo", "io", "unknown", "unbekannt", "user", "users",
    "no user", "(no user)", "without user", "anonymous", "anon", "n/a", "na", "none", "null",
    "nobody", "default", "-", "--", "?", "unassigned", "test",
)  # fmt: skip
"""Names exports write where there is no real person ("Me" is how some trackers and this
program's own old default named the account's owner): never stored as a therapist."""


def placeholder_sql(name: str) -> str:
    """SQL for a stored name (``name_sql``'s result), NULL when it is a placeholder."""
    listed = ", ".join(f"'{word}'" for word in PLACEHOLDER_NAMES)
    return f"CASE WHEN lower({name}) IN ({listed}) THEN NULL ELSE {name} END"


def is_placeholder(name: str | None) -> bool:
    """True for no name, or one of ``PLACEHOLDER_NAMES`` (any case, spaces around)."""
    return not name or not name.strip() or name.strip().lower() in PLACEHOLDER_NAMES


_INVISIBLE = (
    r"[\x{00AD}\x{034F}\x{061C}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}"
    r"\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{206F}\x{3164}\x{FE00}-\x{FE0F}"
    r"\x{FEFF}\x{FFA0}\x{FFF9}-\x{FFFB}]"
)
"""Characters that show nothing: zero-width spaces and joiners, soft hyphens, direction
marks, embeddings, overrides and isolates, variation selectors, fillers (RE2 syntax)."""

INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]"
)
"""``_INVISIBLE`` for Python, to show what a name stored before this rule still holds."""


def shown_name(name: str) -> str:
    """A name with each invisible character written out (``⟨U+202E⟩``), so two names that
    look alike on screen can be told apart and a direction override cannot turn the text
    around."""
    return INVISIBLE.sub(lambda found: f"⟨U+{ord(found.group()):04X}⟩", name)


_SPACES = r"[\s\x{00A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+"
"""Runs of white space of any kind, no-break spaces included."""


def name_sql(column: str) -> str:
    """SQL for a client's, therapist's or practice's name as stored: composed (NFC), with
    invisible characters taken out and every run of spaces (no-break ones too) one space,
    trimmed; NULL when nothing is left. Two names that look the same are then one name,
    not two clients. ASCII names without double spaces (nearly all) skip the regexps."""
    cleaned = (
        f"regexp_replace(regexp_replace(nfc_normalize({column}), '{_INVISIBLE}', '', 'g'), "
        f"'{_SPACES}', ' ', 'g')"
    )
    return (
        f"nullif(trim(CASE WHEN strlen({column}) = length({column}) "
        f"AND NOT contains({column}, '  ') AND NOT contains({column}, chr(9)) "
        f"AND NOT contains({column}, chr(10)) AND NOT contains({column}, chr(13)) "
        f"THEN {column} ELSE {cleaned} END), '')"
    )


_SCRIPTS = ("Latin", "Cyrillic", "Greek")
"""Alphabets whose look-alike letters (Latin a, Cyrillic а, Greek α) make names that look
the same and are not."""

MIXED_SCRIPT_LIMIT = 20
"""How many names mixing alphabets a report lists."""


def mixed_script_warnings(cursor: duckdb.DuckDBPyConnection, table: str = "incoming") -> list[str]:
    """One sentence per client name in the staged ``table`` (``incoming``) mixing letters
    of two alphabets, e.g. a Cyrillic 'а' in "Аnna": such a name looks like another client's
    and is not the same name, so the user should check it."""
    has = {script: f"regexp_matches(client, '\\p{{{script}}}')" for script in _SCRIPTS}
    scripts = " || ".join(
        f"CASE WHEN {test} THEN '{name},' ELSE '' END" for name, test in has.items()
    )
    rows = cursor.execute(
        f"""
        SELECT client, min(row_number) AS row_number, {scripts} AS scripts
        FROM {table}
        WHERE strlen(client) <> length(client)
        GROUP BY client
        HAVING ({" + ".join(f"CAST({test} AS INTEGER)" for test in has.values())}) > 1
        ORDER BY row_number
        LIMIT ?
        """,  # noqa: S608 - fixed text; the table name is the caller's constant
        [MIXED_SCRIPT_LIMIT],
    ).fetchall()
    return [
        f"Row {row}: the client name '{client}' mixes "
        f"{' and '.join(scripts.rstrip(',').split(','))} letters, so it can look like another "
        "client's name and be a different client; check how it is spelt."
        for client, row, scripts in rows
    ]
