"""Installation settings a user can change, with their defaults and units.

Stored in the ``settings`` table as text; each setting is declared here once (key, default,
unit, bounds), so pages and the CLI show the unit and refuse values out of range in one
sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.storage import audit
from analytics.storage.database import Database


class InvalidSettingError(ContactLoadError):
    """A setting value out of range or of the wrong kind."""


@dataclass(frozen=True)
class Setting:
    """One adjustable number: its key, default, unit and the range it must fall in."""

    key: str
    label: str
    default: float
    unit: str
    minimum: float
    maximum: float


SETTINGS: dict[str, Setting] = {
    setting.key: setting
    for setting in (
        # Written messages: minutes from words (analytics.importing.message_minutes).
        # ``minutes_per_text`` once counted every text flatly; it is now the floor of a
        # written contact, which is what a short text still counts.
        Setting(
            "minutes_per_text",
            "Least minutes counted per text or message contact (floor)",
            2,
            "min",
            0,
            60,
        ),
        Setting(
            "writing_words_per_minute",
            "Words a minute the therapist writes a message at",
            20,
            "words/min",
            1,
            200,
        ),
        Setting(
            "reading_words_per_minute",
            "Words a minute a received message is read at",
            240,
            "words/min",
            10,
            1000,
        ),
        Setting(
            "message_ceiling_minutes", "Most minutes counted per written message", 30, "min", 1, 240
        ),
        Setting(
            "message_gap_minutes",
            "Messages of one conversation less than this apart are one contact (0 = never)",
            5,
            "min",
            0,
            240,
        ),
        Setting(
            "min_group_clients",
            "Smallest group shown in comparisons (distinct clients)",
            11,
            "clients",
            2,
            1000,
        ),
        Setting("after_session_days", "Days after a missed session to look at", 3, "days", 1, 30),
        # 0 leaves the threshold to the data: the 90th percentile of each practice.
        Setting(
            "load_flag_minutes",
            "Flag therapists above (minutes per active client per week; 0 = the practice's "
            "90th percentile)",
            0,
            "min",
            0,
            10_000,
        ),
        # Two looks this far apart must find a dropped file the same size and age before
        # the inbox takes it (analytics.importing.inbox): a file still being written waits.
        Setting(
            "inbox_settle_seconds",
            "Seconds a file in the inbox folder must stay unchanged before it is imported",
            5,
            "s",
            1,
            600,
        ),
        # E-mail and chat imports (importing/conversations.py): each message counts this,
        # until a model from word counts takes its place; messages of one thread closer
        # than the gap are one contact.
        Setting("minutes_per_email", "Minutes counted per e-mail", 3, "min", 0, 120),
        Setting(
            "conversation_gap_minutes",
            "Minutes between messages of one conversation that still make one contact",
            10,
            "min",
            0,
            1440,
        ),
    )
}

_SETTING_KEY = re.compile(r"\b(" + "|".join(re.escape(key) for key in SETTINGS) + r")\b")


def settings_in_words(detail: str) -> str:
    """An audit detail with each setting's key replaced by its label, for people to read
    ("minutes_per_text = 1.5 min" reads "Least minutes counted per text or message contact
    (floor) = 1.5 min")."""
    return _SETTING_KEY.sub(lambda match: SETTINGS[match.group(1)].label, detail)


def get_setting(db: Database, key: str) -> float:
    """The stored value of ``key``, or its default."""
    setting = SETTINGS[key]
    (value,) = db.row("SELECT max(value) FROM settings WHERE key = ?", [key])
    return float(value) if value is not None else setting.default


def set_setting(db: Database, key: str, value: float, *, scope: Scope = LOCAL) -> None:
    """Store ``value`` for ``key`` after checking its range (installation-wide: only a
    viewer who may import; recorded in the audit log)."""
    scope.require_import()
    setting = SETTINGS.get(key)
    if setting is None:
        raise InvalidSettingError(f"There is no setting {key!r}; use one of {', '.join(SETTINGS)}.")
    if not setting.minimum <= value <= setting.maximum:
        raise InvalidSettingError(
            f"{setting.label} must be between {setting.minimum:g} and {setting.maximum:g} "
            f"{setting.unit}; {value:g} is outside that."
        )
    with db.transaction() as cursor:
        cursor.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, str(value)]
        )
        audit.record(cursor, scope, "settings", f"{key} = {value:g} {setting.unit}")
