"""Out of policy: contacts on a channel not agreed, or carrying a category their channel
may not carry, judged by the agreement in force on each contact's local date."""

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.domain import CATEGORIES, CHANNELS
from analytics.errors import InvalidFilterError
from analytics.measures.fragments import contacts_ctes
from analytics.measures.metrics import with_client_labels
from analytics.output.wording import category_words_sql, channel_words_sql
from analytics.policy.in_force import IN_FORCE_CTES, agreements, resolved
from analytics.storage.database import Database
from analytics.storage.sql import Fragment, query

# The (channel, category) pairs each agreement refuses, with the reason, worked out once
# per agreement (crossed with every channel and category) and joined back to the contacts
# by equality: no per-contact list or map work, however many contacts there are.
_OUT_OF_POLICY_CTES = """WITH {contacts}, {settings},
dated AS (SELECT *, CAST(local_started_at AS DATE) AS day FROM f),
{resolved_contacts},
{contact_agreements},
judged_pairs AS (
    SELECT a.default_id, a.override_id, a.allowed_channels, ch.channel, cat.category,
           coalesce(NOT list_contains(a.allowed_channels, ch.channel), false)
               AS channel_refused,
           a.channel_categories[ch.channel] AS carried
    FROM contact_agreements AS a
    CROSS JOIN unnest($all_channels) AS ch(channel)
    CROSS JOIN unnest($all_categories) AS cat(category)
),
refused_pairs AS (
    SELECT default_id, override_id, channel, category,
           concat_ws('; ',
               CASE WHEN channel_refused THEN format(
                   '{{}} is not an agreed channel (agreed: {{}})', {channel_words},
                   coalesce(nullif(array_to_string(
                       list_transform(list_sort(allowed_channels), lambda c: {c_channel_words}),
                       ', '), ''), 'none'))
               END,
               CASE WHEN NOT list_contains(carried, category) THEN format(
                   '{{}} may carry only {{}}, not {{}}', {channel_words},
                   coalesce(nullif(array_to_string(
                       list_transform(list_sort(carried), lambda c: {c_category_words}),
                       ', '), ''), 'nothing'),
                   {category_words})
               END
           ) AS reason
    FROM judged_pairs
    WHERE channel_refused OR coalesce(NOT list_contains(carried, category), false)
),
refused AS (
    SELECT v.*, r.reason
    FROM judged_contacts AS v
    JOIN refused_pairs AS r USING (default_id, override_id, channel, category)
)
"""

_OUT_OF_POLICY_SQL = """{ctes}
SELECT r.local_started_at, cl.client_key, t.name AS therapist, r.channel, r.category,
       r.direction, r.minutes, r.reason
FROM refused AS r
JOIN clients AS cl ON cl.client_id = r.client_id
JOIN therapists AS t ON t.therapist_id = r.therapist_id
ORDER BY r.local_started_at, cl.client_key
LIMIT $limit
"""


def out_of_policy_ctes(filters: ContactFilter) -> Fragment:
    """The WITH clause of the out-of-policy contacts under ``filters`` (up to ``refused``)."""
    return query(
        _OUT_OF_POLICY_CTES,
        contacts=contacts_ctes(filters),
        settings=IN_FORCE_CTES,
        resolved_contacts=resolved("judged_contacts", "dated"),
        contact_agreements=agreements("contact_agreements", "judged_contacts"),
        # The reason is read by people (page, report, downloads): channels and categories
        # in words.
        channel_words=channel_words_sql("channel"),
        category_words=category_words_sql("category"),
        c_channel_words=channel_words_sql("c"),
        c_category_words=category_words_sql("c"),
        all_channels=list(CHANNELS),
        all_categories=list(CATEGORIES),
    )


def out_of_policy(db: Database, filters: ContactFilter, limit: int | None = None) -> pd.DataFrame:
    """Contacts on a channel not agreed, or carrying a category their channel may not carry.

    Judged by the agreement in force on each contact's local date. Metadata only, oldest
    first, at most ``limit`` rows (all when None). Columns: local_started_at, client_key,
    therapist, channel, category, direction, minutes and reason (one sentence per broken
    rule, joined by "; ").
    """
    if limit is not None and limit < 0:
        raise InvalidFilterError(f"A list cannot hold {limit} rows; ask for 0 or more.")
    return db.frame(query(_OUT_OF_POLICY_SQL, ctes=out_of_policy_ctes(filters), limit=limit))


def out_of_policy_labelled(
    db: Database, filters: ContactFilter, limit: int = 500, outside: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The most recent out-of-policy contacts (at most ``limit``), with client labels
    (``outside``: ``out_of_policy(db, filters)`` when the caller already has it)."""
    if outside is None:
        outside = out_of_policy(db, filters)
    latest = outside.tail(limit).iloc[::-1].reset_index(drop=True)
    return with_client_labels(db, filters.scope, latest)
