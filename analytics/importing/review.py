"""Contacts stored as ``other`` reviewed after import and re-classified in place.

No column and no keyword rule placed these contacts. Their descriptions were used to try and
then dropped, so the review can only show what is stored: the date and time, the client,
the channel, the minutes, and that no rule matched. One or many are given a category at
once; the same correction can become a keyword rule for later imports (the keyword is typed
by the person reviewing, since the text it would match is not kept). Both are audited.

A contact is referred to by its row id in the ``contacts`` table (DuckDB's ``rowid``) with
its start time, so a reference that no longer names the same contact (the database was
rewritten in between) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analytics.access.scope import LOCAL, Scope
from analytics.domain import CATEGORIES, CATEGORY_LABELS
from analytics.errors import InvalidRecordError
from analytics.importing.classify import Rule, validated_rule
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sql import execute, query

if TYPE_CHECKING:
    import pandas as pd

REVIEW_LIMIT = 500
"""Most contacts the review lists at once (the oldest first; each correction shortens it)."""

RULE_PRIORITY = 50
"""Priority of rules made from a review: before the built-in rules (100), so the person's
own correction wins over a general keyword."""

NO_RULE = "no rule"
"""What the review's rule column says: nothing placed these contacts."""


@dataclass(frozen=True)
class Reclassified:
    """What a correction did."""

    contacts: int
    category: str
    rule: str | None = None
    """The keyword of the rule added (or changed), if any."""

    def describe(self) -> str:
        """One sentence for the page and the audit log."""
        noun = "contact" if self.contacts == 1 else "contacts"
        text = f"{self.contacts:,} {noun} re-classified as {CATEGORY_LABELS[self.category]}"
        if self.rule:
            text += f"; later imports place text containing '{self.rule}' there too"
        return text + "."


def other_contacts(db: Database, scope: Scope, *, limit: int = REVIEW_LIMIT) -> pd.DataFrame:
    """Contacts stored as ``other``, oldest first: ref, started_at, started (local, as
    text), client, channel, minutes, rule. Reviewing is for viewers who may import."""
    import pandas as pd

    columns = ["ref", "started_at", "started", "client", "channel", "minutes", "rule"]
    if not scope.may_import:
        return pd.DataFrame(columns=columns)
    listing = query(
        """
            SELECT c.rowid AS ref, c.started_at,
                   strftime(c.local_started_at, '%Y-%m-%d %H:%M') AS started,
                   cl.label AS client, c.channel, c.minutes, $no_rule AS rule
            FROM contacts AS c JOIN clients AS cl USING (client_id)
            WHERE c.category = 'other' AND {in_scope}
            ORDER BY c.local_started_at, c.rowid
            LIMIT $limit
            """,
        in_scope=scope.fragment("c"),
        no_rule=NO_RULE,
        limit=limit,
    )
    with db.cursor() as cursor:
        return execute(cursor, listing).df()


def reclassify(
    db: Database,
    contacts: Sequence[tuple[int, object]],
    category: str,
    *,
    rule_keyword: str | None = None,
    scope: Scope = LOCAL,
) -> Reclassified:
    """Give ``contacts`` (``(ref, started_at)`` pairs from ``other_contacts``) the category
    ``category``, and with ``rule_keyword`` add a category rule for later imports; in one
    transaction, audited. Only contacts still stored as ``other`` change."""
    scope.require_import()
    if category not in CATEGORIES or category == "other":
        choices = ", ".join(key for key in CATEGORIES if key != "other")
        raise InvalidRecordError(
            f"'{category}' is not a category to re-classify to; use {choices}."
        )
    if not contacts:
        raise InvalidRecordError("Choose at least one contact to re-classify.")
    rule = validated_rule(Rule("category", rule_keyword, category, RULE_PRIORITY)) if (
        rule_keyword and rule_keyword.strip()
    ) else None  # fmt: skip
    refs = [int(ref) for ref, _ in contacts]
    starts = [started for _, started in contacts]
    with db.transaction() as cursor:
        changed = cursor.execute(
            """
            UPDATE contacts SET category = $category
            FROM (SELECT unnest($refs) AS ref, unnest($starts::TIMESTAMPTZ[]) AS started_at)
                AS chosen
            WHERE contacts.rowid = chosen.ref AND contacts.started_at = chosen.started_at
              AND contacts.category = 'other'
            RETURNING 1
            """,
            {"category": category, "refs": refs, "starts": starts},
        ).fetchall()
        if rule is not None:
            cursor.execute(
                """
                INSERT INTO classification_rules (target, keyword, value, priority, language)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (target, keyword) DO UPDATE SET value = excluded.value,
                    priority = excluded.priority
                """,
                [rule.target, rule.keyword, rule.value, rule.priority, rule.language],
            )
        result = Reclassified(len(changed), category, rule.keyword if rule else None)
        audit.record(cursor, scope, "reclassify", result.describe())
    return result


def review_labels(contacts: pd.DataFrame) -> dict[int, str]:
    """How each listed contact reads in a chooser: "2026-04-13 09:05 · Lena M. · Phone ·
    10 min", by its ref (a few hundred rows at most, from ``other_contacts``)."""
    from analytics.domain import CHANNEL_LABELS

    return {
        int(ref): f"{started} · {client} · {CHANNEL_LABELS.get(channel, channel)} · "
        f"{float(minutes):g} min"
        for ref, started, client, channel, minutes in zip(
            contacts["ref"], contacts["started"], contacts["client"], contacts["channel"],
            contacts["minutes"], strict=True,
        )
    }  # fmt: skip
