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

CATEGORY_COLOURS: Final = {
    "scheduling": "#4C78A8",
    "reminder": "#9ECAE9",
    "check_in": "#54A24B",
    "support": "#F58518",
    "crisis": "#E45756",
    "homework": "#B279A2",
    "other": "#9D9D9D",
}
"""One colour per category on every chart: the dashboard's (ui/charts.py) and the
supervision report's (analytics/output/report.py)."""

CHANNEL_COLOURS: Final = {
    "phone": "#1B9E77",
    "email": "#D95F02",
    "text": "#7570B3",
    "portal": "#E7298A",
    "video": "#66A61E",
    "other": "#A6761D",
}
"""One colour per channel on every chart, like CATEGORY_COLOURS."""

DIRECTIONS: Final = ("client", "therapist", "unknown")
"""Who started the contact; it matters for response times and billing rules."""

BREAKDOWNS: Final = ("client", "therapist", "practice", "channel", "category", "week", "month")
"""The dimensions a summary can be broken down by (an allow-list for SQL identifiers)."""
