"""What a boundary edit would do before it is saved, and stored boundaries in words.

``preview_setting`` saves the proposed agreement inside a transaction that is always rolled
back, and judges every past client-week of that therapist before and after with the very
SQL the Boundaries page uses (``compliance``'s caps CTEs: the weekly cap, or any category
cap, in force on the week's Monday). So the preview cannot disagree with the figures the
change will produce. It also names the later row of the same scope that will replace the
change from its date on.

``settings_in_words`` is the settings table as the page shows it: no empty cell and no
"None", but "therapist's default", "not set" or "inherited from the therapist's default".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
from analytics.measures.fragments import caps_ctes
from analytics.policy import agreements, history, in_force, lookup, writes
from analytics.storage.database import Database
from analytics.storage.sql import execute, query

_VERDICTS_SQL = """{ctes}
, category_weeks AS (
    SELECT client_id, day, bool_or(over) AS category_over
    FROM judged_category_caps GROUP BY ALL
)
SELECT j.client_id, j.day, j.over OR coalesce(cw.category_over, false) AS breach
FROM judged_caps AS j LEFT JOIN category_weeks AS cw USING (client_id, day)
WHERE j.therapist_id = $therapist_id AND j.day < $today
"""


@dataclass(frozen=True)
class ChangePreview:
    """What saving one agreement changes in weeks already judged."""

    effective_from: date
    today: date
    weeks_changed: int
    """Past client-weeks whose verdict (over the cap or not) the change flips."""
    more_over: int
    """Of those, weeks that become over the cap."""
    fewer_over: int
    """Of those, weeks that stop being over the cap."""
    replaced_from: date | None
    """The date of a later row of the same scope that replaces this one from then on."""

    @property
    def past_dated(self) -> bool:
        """True when the agreement starts before today (it would rewrite judged weeks)."""
        return self.effective_from < self.today

    def sentences(self) -> list[str]:
        """The preview in words, e.g. "This rewrites 21 past weeks: 17 more weeks over cap"."""
        said: list[str] = []
        if self.weeks_changed:
            parts = []
            if self.more_over:
                parts.append(f"{self.more_over} more {_weeks(self.more_over)} over cap")
            if self.fewer_over:
                parts.append(f"{self.fewer_over} fewer {_weeks(self.fewer_over)} over cap")
            said.append(
                f"This rewrites {self.weeks_changed} past {_weeks(self.weeks_changed)}: "
                + ", ".join(parts)
                + "."
            )
        elif self.past_dated:
            said.append(
                f"This starts on {self.effective_from}, in the past, but no past week's "
                "verdict changes."
            )
        if self.replaced_from is not None:
            said.append(f"A row from {self.replaced_from} replaces this from that date on.")
        return said


def _weeks(count: int) -> str:
    return "week" if count == 1 else "weeks"


def _verdicts(cursor: object, therapist_id: int, scope: Scope, today: date) -> pd.DataFrame:
    ctes = caps_ctes(ContactFilter(therapist_ids=(therapist_id,), scope=scope))
    statement = query(_VERDICTS_SQL, ctes=ctes, therapist_id=therapist_id, today=today)
    return execute(cursor, statement).df()


def preview_setting(
    db: Database,
    setting: agreements.BoundarySetting,
    *,
    scope: Scope,
    today: date | None = None,
) -> ChangePreview:
    """How saving ``setting`` would change the verdict of past client-weeks (before
    ``today``), and which later row of the same scope would replace it. Stores nothing;
    invalid settings and viewers who may not edit raise as ``save_setting`` does."""
    today = today or date.today()
    agreements.check_setting(setting)
    later = [
        row.effective_from
        for row in in_force.stored_settings(db, scope, setting.therapist, practice=setting.practice)
        if row.client == setting.client and row.effective_from > setting.effective_from
    ]
    with db.transaction(rollback=True) as cursor:
        therapist = lookup.find_therapist(cursor, setting.therapist, setting.practice, scope)
        before = _verdicts(cursor, therapist.therapist_id, scope, today)
        writes.store_setting(cursor, setting, "preview", scope)
        after = _verdicts(cursor, therapist.therapist_id, scope, today)
    both = before.merge(after, on=["client_id", "day"], suffixes=("_before", "_after"))
    flipped = both[both["breach_before"] != both["breach_after"]]
    more = int(flipped["breach_after"].sum())
    return ChangePreview(
        effective_from=setting.effective_from,
        today=today,
        weeks_changed=len(flipped),
        more_over=more,
        fewer_over=len(flipped) - more,
        replaced_from=min(later, default=None),
    )


# --- stored settings in words ---------------------------------------------------------------

DEFAULT_FOR = "therapist's default"
NOT_SET = "not set"
INHERITED = "inherited from the therapist's default"


def _number(value: object, unit: str) -> str | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return f"{float(str(value)):g} {unit}"


def _yes_no(value: object) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _channels_words(channels: Sequence[str] | None) -> str | None:
    """``("phone", "text")`` -> ``"Phone, Text / messaging"``."""
    if channels is None:
        return None
    return ", ".join(CHANNEL_LABELS.get(channel, channel) for channel in channels) or "none"


def _caps_words(caps: Mapping[str, float] | None) -> str | None:
    """``{"support": 45.0}`` -> ``"Support 45 min"``."""
    if caps is None:
        return None
    return (
        "; ".join(f"{CATEGORY_LABELS.get(key, key)} {value:g} min" for key, value in caps.items())
        or "none"
    )


def _carried_words(carried: Mapping[str, Sequence[str]] | None) -> str | None:
    """``{"text": ("scheduling", "check_in")}`` -> ``"Text / messaging: Scheduling, Check-ins"``."""
    if carried is None:
        return None
    return (
        "; ".join(
            f"{CHANNEL_LABELS.get(channel, channel)}: "
            + (", ".join(CATEGORY_LABELS.get(item, item) for item in items) or "nothing")
            for channel, items in carried.items()
        )
        or "none"
    )


_WEEKDAY_WORDS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


def _stored_words(stored: str) -> str:
    """A change-log entry's stored agreement or working hours (JSON) as a sentence:
    ``"from 2025-11-24; weekly cap 60 min; channels: Phone, Email; ..."``; the practice,
    therapist and client have columns of their own, unset fields are left out."""
    try:
        fields = json.loads(stored)
    except (TypeError, ValueError):
        return stored
    if not isinstance(fields, dict):
        return stored
    words: list[str] = []
    for key, value in fields.items():
        if value is None or key in ("practice", "therapist", "client"):
            continue
        if key == "effective_from":
            words.append(f"from {value}")
        elif key == "weekly_cap_minutes":
            words.append(f"weekly cap {float(value):g} min")
        elif key == "category_caps":
            words.append(f"caps per category: {_caps_words(value)}")
        elif key == "allowed_channels":
            words.append(f"channels: {_channels_words(value)}")
        elif key == "channel_categories":
            words.append(f"what each channel may carry: {_carried_words(value)}")
        elif key == "response_target_hours":
            words.append(f"replies within {float(value):g} h")
        elif key == "response_in_working_hours":
            words.append(
                "reply time counted in working hours"
                if value
                else "reply time counted around the clock"
            )
        elif key == "crisis_counts_toward_cap":
            words.append(
                "crisis counts toward the cap" if value else "crisis counted apart from the cap"
            )
        elif key in _WEEKDAY_WORDS:
            hours = ", ".join(value) if isinstance(value, list) else str(value)
            words.append(f"{_WEEKDAY_WORDS[key]} {hours or 'off'}")
        else:
            words.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(words) or "nothing set"


def settings_in_words(
    db: Database, scope: Scope, therapist: str, *, practice: str | None = None
) -> pd.DataFrame:
    """One therapist's stored agreements as text: every empty field says "not set" (a
    default) or "inherited from the therapist's default" (a client's override).

    Columns: client, effective_from and the fields of ``agreements.SETTING_FIELDS``.
    """
    rows = []
    for setting in in_force.stored_settings(db, scope, therapist, practice=practice):
        empty = NOT_SET if setting.client is None else INHERITED
        shown: dict[str, str | None] = {
            "weekly_cap_minutes": _number(setting.weekly_cap_minutes, "min"),
            "category_caps": _caps_words(setting.category_caps),
            "allowed_channels": _channels_words(setting.allowed_channels),
            "channel_categories": _carried_words(setting.channel_categories),
            "response_target_hours": _number(setting.response_target_hours, "h"),
            "response_in_working_hours": _yes_no(setting.response_in_working_hours),
            "crisis_counts_toward_cap": _yes_no(setting.crisis_counts_toward_cap),
        }
        rows.append(
            {
                "client": setting.client or DEFAULT_FOR,
                "effective_from": setting.effective_from,
                **{field: empty if text is None else text for field, text in shown.items()},
            }
        )
    return pd.DataFrame(rows, columns=["client", "effective_from", *agreements.SETTING_FIELDS])


def own_setting_in_force(
    db: Database, scope: Scope, therapist: str, client: str | None, on: date, *, practice: str
) -> agreements.BoundarySetting | None:
    """The stored row of exactly this scope (the default, or one client's override) in
    force on ``on``: what an edit form starts from (None when there is none)."""
    rows = [
        row
        for row in in_force.stored_settings(db, scope, therapist, practice=practice)
        if row.client == client and row.effective_from <= on
    ]
    return max(rows, key=lambda row: row.effective_from, default=None)


def change_log_in_words(db: Database, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """``history.change_log`` with no empty cell and no stored JSON: "therapist's
    default" for no client, each agreement in words, "nothing (added)" before an addition
    and "nothing (deleted)" after a deletion (at most ``limit`` rows, so a loop is fine)."""
    log = history.change_log(db, scope, limit)
    return log.assign(
        client=log["client"].where(log["client"].notna(), DEFAULT_FOR),
        before=[
            "nothing (added)" if pd.isna(value) else _stored_words(value) for value in log["before"]
        ],
        after=[
            "nothing (deleted)" if pd.isna(value) else _stored_words(value)
            for value in log["after"]
        ],
    )
