"""The domain's fixed vocabulary: category, channel and direction keys from DOMAIN.md.

These keys are stored in the database, accepted by the CLI and shown in charts; the
database enforces them with CHECK constraints built from the same tuples.
"""

from typing import Final

CATEGORIES: Final = (
    "scheduling",
    "reminder",
    "check_in",
    "support",
    "crisis",
    "homework",
    "other",
)
"""Category keys in display order: logistics first, clinical work after, ``other`` last."""

CATEGORY_LABELS: Final = {
    "scheduling": "Scheduling",
    "reminder": "Reminders & confirmations",
    "check_in": "Check-ins",
    "support": "Support",
    "crisis": "Crisis",
    "homework": "Homework",
    "other": "Other (to review)",
}

CHANNELS: Final = ("phone", "email", "text", "portal", "video", "other")
"""Channel keys: ``text`` covers SMS and messaging apps, ``portal`` secure messaging."""

CHANNEL_LABELS: Final = {
    "phone": "Phone",
    "email": "Email",
    "text": "Text / messaging",
    "portal": "Portal",
    "video": "Video",
    "other": "Other",
}

DIRECTIONS: Final = ("client", "therapist", "unknown")
"""Who started the contact; it matters for response times and billing rules."""

BREAKDOWNS: Final = ("client", "therapist", "practice", "channel", "category", "week", "month")
"""The dimensions a summary can be broken down by (an allow-list for SQL identifiers)."""
