"""A therapist's month at a glance: period presets, paid and unpaid time, the busiest
clients, a fair ranking of therapists, and drift alerts as a short digest.

Everything the Overview's top rows show is computed here (the pages only draw it):

* **Period presets** (this week ... last 12 months) are local calendar dates; weeks start
  on Monday, quarters in January, April, July and October.
* **Billable and unpaid time**: billable minutes are the minutes of billing episodes that
  qualify for a code under the billing rules (``billing.summary``; episodes are counted in
  the period they start in); unpaid minutes are all contact minutes of the period minus
  those. The rules themselves live in ``analytics.measures.billing`` only.
* **Ranking**: ``compare.comparison`` per therapist (small groups left out), flagged
  above a threshold in minutes per active client per week: the ``load_flag_minutes``
  setting, or where that is 0 (the default) the 90th percentile of the therapist's
  practice.
* **Alert digest**: ``compliance``'s drift alerts of the last four weeks of the period,
  largest excess first, without those someone dismissed (``dismissed_alerts``, schema 10;
  each dismissal is also an audit entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from analytics.access.filters import ContactFilter, Period
from analytics.access.scope import Scope
from analytics.errors import ContactLoadError, PermissionDeniedError
from analytics.measures import billing, compare, drift
from analytics.measures.caps import clients_against_caps
from analytics.measures.metrics import data_period, totals
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.settings import get_setting
from analytics.storage.sql import Fragment, execute, query, sql

PRESETS: dict[str, str] = {
    "all": "All data",
    "this_week": "This week",
    "last_week": "Last week",
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
    "last_12_months": "Last 12 months",
    "custom": "Custom",
}
"""Period presets (URL value -> label), in the order the sidebar offers them. "all" is the
whole span of the data and "custom" the dates picked by hand; neither has fixed dates."""

TOP_CLIENTS = 5
"""How many of the busiest clients the Overview names."""

FLAG_PERCENTILE = 0.90
"""Without a practice-set threshold, therapists above this percentile of their practice's
minutes per active client per week are flagged."""

DIGEST_WEEKS = 4
"""The alert digest lists the drift alerts of the period's last this many weeks."""


class UnknownPresetError(ContactLoadError):
    """A period preset that does not exist (a hand-edited URL, say)."""


class UnknownAlertError(ContactLoadError):
    """An alert key that names no alert the viewer may see."""


# --- period presets ------------------------------------------------------------------------


def local_today(time_zones: tuple[str, ...] = ()) -> date:
    """Today in the therapists' own calendar when they share one time zone, else the
    machine's date."""
    if len(set(time_zones)) == 1:
        try:
            return datetime.now(ZoneInfo(time_zones[0])).date()
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone name falls back to the machine's calendar
    return date.today()


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def preset_period(preset: str, today: date) -> Period | None:
    """The local dates a preset covers on ``today`` (None for "all" and "custom")."""
    if preset not in PRESETS:
        raise UnknownPresetError(f"There is no period {preset!r}; use one of {', '.join(PRESETS)}.")
    monday = today - timedelta(days=today.weekday())
    this_month = _month_start(today)
    if preset == "this_week":
        return Period(monday, monday + timedelta(days=6))
    if preset == "last_week":
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    if preset == "this_month":
        return Period(this_month, _month_start(today, -1) - timedelta(days=1))
    if preset == "last_month":
        return Period(_month_start(today, 1), this_month - timedelta(days=1))
    if preset == "this_quarter":
        start = _month_start(today, (today.month - 1) % 3)
        return Period(start, _month_start(start, -3) - timedelta(days=1))
    if preset == "last_12_months":
        return Period(_month_start(today, 11), _month_start(today, -1) - timedelta(days=1))
    return None


# --- billable and unpaid time --------------------------------------------------------------


@dataclass(frozen=True)
class PaidSplit:
    """Contact minutes of one period, split into billable under the rules and unpaid."""

    period: Period | None
    minutes: float
    billable_minutes: float

    @property
    def unpaid_minutes(self) -> float:
        """Minutes no billing code covers (never below 0: an online episode's later
        contacts may fall after the period it starts in)."""
        return max(self.minutes - self.billable_minutes, 0.0)

    @property
    def billable_share(self) -> float | None:
        """Billable minutes / all minutes (0 to 1), None without minutes."""
        return min(self.billable_minutes / self.minutes, 1.0) if self.minutes else None


@dataclass(frozen=True)
class Glance:
    """This period's paid split beside the previous period of the same length."""

    current: PaidSplit
    previous: PaidSplit | None


def paid_split(db: Database, filters: ContactFilter) -> PaidSplit:
    """All contact minutes under ``filters`` and how many of them are billable under the
    billing rules (qualifying episodes starting in the period)."""
    shown = totals(db, filters)
    billable = billing.summary(db, filters).qualifying_minutes if shown.minutes else 0.0
    return PaidSplit(period=shown.period, minutes=shown.minutes, billable_minutes=billable)


def glance(db: Database, filters: ContactFilter) -> Glance:
    """The paid split of the filter's period and of the period just before it."""
    current = paid_split(db, filters)
    if current.period is None:
        return Glance(current=current, previous=None)
    before = current.period.previous()
    return Glance(current, paid_split(db, filters.with_period(before.start, before.end)))


# --- the busiest clients -------------------------------------------------------------------

TOP_CLIENT_COLUMNS = ["client_key", "label", "therapist", "minutes", "share", "breach_weeks",
                      "over_cap"]  # fmt: skip


def top_clients(
    db: Database,
    filters: ContactFilter,
    limit: int = TOP_CLIENTS,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``limit`` clients with most minutes: their share of all minutes and whether any
    week went over their agreed cap (``table``: ``caps.clients_against_caps`` when
    the caller already has it). Labels are keys for viewers who see no labels."""
    if table is None:
        table = clients_against_caps(db, filters)
    top = table.head(limit).reset_index(drop=True)
    top = top.assign(over_cap=top["breach_weeks"] > 0)
    return top[TOP_CLIENT_COLUMNS]


# --- ranking therapists --------------------------------------------------------------------

RANKING_COLUMNS = [
    "therapist",
    "practice",
    "clients",
    "minutes_per_client_week",
    "minutes_per_8_session_hours",
    "threshold",
    "flagged",
]


def flag_threshold_text(db: Database) -> str:
    """What the ranking flags above, in words (the setting, or the percentile rule)."""
    minutes = get_setting(db, "load_flag_minutes")
    if minutes:
        return f"{minutes:,.0f} min per active client per week"
    return f"the {FLAG_PERCENTILE * 100:.0f}th percentile of each practice"


def therapist_ranking(
    db: Database, filters: ContactFilter, threshold: float | None = None
) -> pd.DataFrame:
    """Therapists by minutes per active client per week, highest first, with minutes per 8
    session hours, and flagged above ``threshold`` (default: the ``load_flag_minutes``
    setting, or the 90th percentile of their practice where it is 0). No client appears;
    therapists with too few clients are left out, as the Compare page hides them."""
    if threshold is None:
        threshold = get_setting(db, "load_flag_minutes") or None
    table = compare.comparison(db, filters, "therapist", with_total=False)
    table = table.rename(columns={"group": "therapist"})
    rate = pd.to_numeric(table["minutes_per_client_week"], errors="coerce")
    if threshold is None:
        by_practice = rate.groupby(table["practice"])
        limit = by_practice.transform(lambda rates: rates.quantile(FLAG_PERCENTILE))
    else:
        limit = pd.Series(float(threshold), index=table.index)
    table = table.assign(
        minutes_per_client_week=rate,
        minutes_per_8_session_hours=pd.to_numeric(
            table["minutes_per_8_session_hours"], errors="coerce"
        ),
        threshold=limit,
        flagged=(rate > limit).fillna(False).astype(bool),
    )
    shown = table[~table["suppressed"].astype(bool)]
    ranked = shown.sort_values(["minutes_per_client_week", "therapist"], ascending=[False, True])
    return ranked[RANKING_COLUMNS].reset_index(drop=True)


# --- drift alerts as a digest --------------------------------------------------------------


@dataclass(frozen=True)
class AlertDigest:
    """The recent drift alerts still to look at, and how many others there are."""

    recent: pd.DataFrame
    """alert_key, therapist_id, level, who, therapist, week, minutes, baseline_median, rise_pct,
    excess_minutes; largest excess first."""
    older: int
    """Alerts (not dismissed) of weeks before the last four."""
    dismissed: int
    """Alerts of the period someone dismissed."""
    since: date | None
    """The Monday the digest's weeks start on."""


_DIGEST_SQL = """{ctes}, keyed AS (
    SELECT a.*, a.level || ':' || a.entity_id || ':' || strftime(a.week, '%Y-%m-%d')
               AS alert_key,
           EXISTS (
               SELECT 1 FROM dismissed_alerts AS d
               WHERE d.week = a.week AND CASE a.level
                   WHEN 'client' THEN d.client_id = a.entity_id
                   ELSE d.client_id IS NULL AND d.therapist_id = a.entity_id END
           ) AS dismissed
    FROM alerts AS a
)
SELECT k.alert_key, coalesce(t.therapist_id, ct.therapist_id) AS therapist_id, k.level,
       CASE k.level WHEN 'therapist' THEN t.name ELSE {client} END AS who,
       coalesce(t.name, ct.name) AS therapist, k.week, k.minutes, k.baseline_median,
       (k.minutes / nullif(k.baseline_median, 0) - 1) * 100 AS rise_pct,
       k.minutes - k.baseline_median AS excess_minutes, k.dismissed
FROM keyed AS k
LEFT JOIN therapists AS t ON k.level = 'therapist' AND t.therapist_id = k.entity_id
LEFT JOIN clients AS cl ON k.level = 'client' AND cl.client_id = k.entity_id
LEFT JOIN therapists AS ct ON ct.therapist_id = cl.therapist_id
ORDER BY k.minutes - k.baseline_median DESC, k.week DESC, k.alert_key
"""


def alert_digest(db: Database, filters: ContactFilter) -> AlertDigest:
    """Drift alerts (``drift.drift_alerts``'s rule) of the period's last four weeks,
    largest excess over the usual level first, leaving out dismissed ones."""
    period = data_period(db, filters)
    statement = query(
        _DIGEST_SQL,
        ctes=drift.drift_ctes(
            filters,
            drift.DRIFT_THRESHOLD,
            drift.DRIFT_BASELINE_WEEKS,
            drift.DRIFT_MIN_MINUTES,
        ),
        client=Fragment(filters.scope.client_name("cl")),  # the one label-or-key rule
    )
    alerts = db.frame(statement)
    if period is None:
        since = None
        recent_rows = alerts.iloc[0:0]
    else:
        since = period.end - timedelta(days=period.end.weekday() + 7 * (DIGEST_WEEKS - 1))
        recent_rows = alerts[pd.to_datetime(alerts["week"]).dt.date >= since]
    live = ~alerts["dismissed"].astype(bool)
    recent = recent_rows[~recent_rows["dismissed"].astype(bool)]
    return AlertDigest(
        recent=recent.drop(columns=["dismissed"]).reset_index(drop=True),
        older=int(live.sum()) - len(recent),
        dismissed=int((~live).sum()),
        since=since,
    )


def _parse_alert_key(alert_key: str) -> tuple[str, int, date]:
    parts = str(alert_key).split(":")
    try:
        level, entity, week = parts
        if level not in ("therapist", "client"):
            raise ValueError(level)
        return level, int(entity), date.fromisoformat(week)
    except ValueError:
        raise UnknownAlertError(f"{alert_key!r} is not an alert this page listed.") from None


def dismiss_alert(db: Database, scope: Scope, alert_key: str, dismissed_by: str) -> None:
    """Hide one drift alert from the digest for everyone, recorded in the audit log (local
    mode, admins, and a therapist for their own alerts and their clients')."""
    level, entity_id, week = _parse_alert_key(alert_key)
    refused = PermissionDeniedError(
        f"{scope.identity} ({scope.role}) may not dismiss this alert: local mode, admins and "
        "the therapist it concerns may."
    )
    if scope.sees_nothing:
        raise refused
    with db.transaction() as cursor:
        if level == "therapist":
            found = execute(
                cursor,
                sql(
                    "SELECT t.therapist_id, NULL, t.name FROM therapists AS t "
                    "WHERE t.therapist_id = $entity_id",
                    entity_id=entity_id,
                ),
            ).fetchone()
        else:
            found = execute(
                cursor,
                sql(
                    "SELECT c.therapist_id, c.client_id, t.name FROM clients AS c "
                    "JOIN therapists AS t ON t.therapist_id = c.therapist_id "
                    "WHERE c.client_id = $entity_id",
                    entity_id=entity_id,
                ),
            ).fetchone()
        if found is None and scope.sees_everything:
            raise UnknownAlertError(f"{alert_key!r} is not an alert this page listed.")
        # Whom an alert concerns decides, as for boundaries: supervisors only read.
        if found is None or not scope.may_edit_boundaries(int(found[0])):
            raise refused
        therapist_id, client_id, therapist = found
        alert = {"therapist_id": therapist_id, "client_id": client_id, "week": week}
        execute(
            cursor,
            sql(
                "DELETE FROM dismissed_alerts WHERE therapist_id = $therapist_id "
                "AND client_id IS NOT DISTINCT FROM $client_id AND week = $week",
                **alert,
            ),
        )
        execute(
            cursor,
            sql(
                "INSERT INTO dismissed_alerts (therapist_id, client_id, week, dismissed_by) "
                "VALUES ($therapist_id, $client_id, $week, $dismissed_by)",
                **alert,
                dismissed_by=dismissed_by,
            ),
        )
        whose = f"{therapist}" if level == "therapist" else f"a client of {therapist}"
        audit.record(
            cursor, scope, "alert_dismiss", f"drift alert for {whose}, week of {week} dismissed"
        )
