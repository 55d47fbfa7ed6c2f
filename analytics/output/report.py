"""The supervision report: one self-contained HTML file for a period, ready to print.

A supervisor takes it to a meeting or files it, so it must open anywhere, offline and
years later: no script, no font, no stylesheet or image fetched from anywhere, charts drawn
as inline SVG from aggregated rows. It shows what the dashboard shows (the same measures
from ``metrics``, ``compliance`` and ``compare``), under the viewer's scope: client labels
only where ``scope.shows_labels``, pseudonymous keys otherwise, and comparisons with small
groups suppressed and the reason shown.

Every string that came from a user or a file (client labels, therapist and practice names,
identities) goes through ``html.escape``; everything else is fixed text from this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.access import names
from analytics.access.filters import ContactFilter
from analytics.access.names import UnknownNameError
from analytics.access.scope import Scope
from analytics.domain import (
    CATEGORIES,
    CATEGORY_COLOURS,
    CATEGORY_LABELS,
    CHANNEL_COLOURS,
    CHANNEL_LABELS,
    CHANNELS,
)
from analytics.errors import ContactLoadError, InvalidFilterError
from analytics.importing.message_minutes import estimated_minutes_note
from analytics.measures import caps, compare, compliance, drift, metrics, out_of_policy
from analytics.output.wording import hours_text, minutes_text, missing, share_text
from analytics.storage.audit import record
from analytics.storage.database import Database
from analytics.storage.sql import TRUE, all_of, in_list, query

SHORT_HEADERS = {
    "minutes_per_client_week": "per active client per week",
    "minutes_per_8_session_hours": "per 8 scheduled session hours",
    "after_hours_share": "after hours",
    "crisis_share": "crisis",
    "top_client_share": "top 10 % clients",
    "response_median_hours": "reply time, median",
    "cap_compliance": "client-weeks within cap",
}
"""Comparison column headers short enough for an A4 page (cells carry their units)."""
assert set(SHORT_HEADERS) == {measure.column for measure in compare.MEASURES}

LISTED_ROWS = 25
"""Rows listed per alert table; the rest are counted, so a printed report stays short."""


class EmptyReportError(InvalidFilterError):
    """The period and selection hold no contacts: a report would be empty."""


class ReportWriteError(ContactLoadError):
    """The report file could not be written (missing folder, no permission, disk full)."""


# --- choosing what the report covers ---------------------------------------------------------


def report_filter(
    db: Database,
    scope: Scope,
    start: date,
    end: date,
    therapist: str | None = None,
    practice: str | None = None,
) -> ContactFilter:
    """The filter for a report on one period and optionally one therapist or practice,
    named as people know them (the command line's ``--therapist`` / ``--practice``)."""
    filters = ContactFilter(start=start, end=end, scope=scope)
    if therapist is not None:
        return replace(filters, therapist_ids=names.therapist_ids(db, [therapist], scope))
    if practice is not None:
        return replace(filters, practice_ids=names.practice_ids(db, [practice], scope))
    return filters


def _names(db: Database, filters: ContactFilter) -> tuple[list[str], list[str]]:
    """The therapists and practices the filter selects (all the viewer sees when none)."""
    selected = all_of(
        filters.scope.fragment("t"),
        in_list("t.therapist_id", "report_therapists", filters.therapist_ids)
        if filters.therapist_ids
        else TRUE,
        in_list("t.practice_id", "report_practices", filters.practice_ids)
        if filters.practice_ids
        else TRUE,
    )
    statement = query(
        """SELECT t.name AS therapist, p.name AS practice FROM therapists AS t
        JOIN practices AS p ON p.practice_id = t.practice_id
        WHERE {selected} ORDER BY p.name, t.name""",
        selected=selected,
    )
    rows = db.frame(statement)
    return list(rows["therapist"]), sorted(set(rows["practice"]))


def _client_names(db: Database, filters: ContactFilter) -> dict[str, str]:
    """Client key -> what the viewer may see of that client (label, or the key itself)."""
    if not filters.scope.shows_labels:
        return {}
    statement = query(
        "SELECT cl.client_key, cl.label FROM clients AS cl WHERE {in_scope}",
        in_scope=filters.scope.fragment("cl"),
    )
    rows = db.frame(statement)
    return dict(zip(rows["client_key"], rows["label"], strict=True))


# --- formatting ------------------------------------------------------------------------------


_missing = missing


def _change(current: float | None, previous: float | None, unit: str, digits: int = 1) -> str:
    if _missing(current) or _missing(previous) or not previous:
        return "–"
    assert current is not None and previous is not None
    difference = current - previous
    return f"{difference:+,.{digits}f}{unit} ({difference / previous * 100:+.0f} %)"


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: range | None = None,
    css_class: str = "",
) -> str:
    """An HTML table; cells must already be escaped. ``numeric`` columns (default: all but
    the first) align right."""
    numbers = numeric if numeric is not None else range(1, len(headers))
    head = "".join(
        f'<th class="num">{header}</th>' if index in numbers else f"<th>{header}</th>"
        for index, header in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if index in numbers else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --- charts as inline SVG --------------------------------------------------------------------


def _bar_chart(title: str, bars: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars (label, minutes, colour), labelled with their minutes."""
    row_height, label_width, bar_width, width = 24, 170, 320, 660
    height = row_height * len(bars) + 30
    top = max((value for _, value, _ in bars), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for index, (label, value, colour) in enumerate(bars):
        y = 26 + index * row_height
        length = max(bar_width * value / top, 1 if value else 0)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'fill="{colour}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">'
            f"{escape(minutes_text(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _weekly_chart(trend: pd.DataFrame) -> str:
    """Minutes per local week, stacked by category, with a minutes axis and a legend."""
    weekly = trend.pivot_table(
        index="period", columns="key", values="minutes", aggfunc="sum", fill_value=0
    ).sort_index()
    keys = [key for key in CATEGORIES if key in weekly.columns]
    width, height, left, bottom, top_margin = 760, 320, 56, 60, 30
    plot_width, plot_height = width - left - 10, height - bottom - top_margin
    totals = weekly[keys].sum(axis=1) if keys else pd.Series(dtype=float)
    peak = float(totals.max()) if len(totals) else 0.0
    tick = _nice_ceiling(peak / 5)
    ticks = max(1, math.ceil(peak / tick))
    scale_top = tick * ticks
    slot = plot_width / max(len(weekly), 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="Minutes per week by category" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<text x="0" y="16" class="chart-title">Minutes per week (local weeks from Monday), '
        "by category</text>",
    ]
    for step in range(ticks + 1):
        value = tick * step
        y = top_margin + plot_height - plot_height * step / ticks
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    parts.append(
        f'<text x="12" y="{top_margin + plot_height / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top_margin + plot_height / 2:.0f})">minutes</text>'
    )
    label_every = max(1, math.ceil(len(weekly) / 12))
    for index, (week, row) in enumerate(weekly.iterrows()):  # one row per week, not per contact
        x = left + index * slot + slot * 0.15
        base = float(top_margin + plot_height)
        day = pd.Timestamp(str(week))
        for key in keys:
            value = float(row[key])
            if value <= 0:
                continue
            bar = plot_height * value / scale_top
            base -= bar
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" '
                f'fill="{CATEGORY_COLOURS[key]}"><title>{day:%d %b %Y} '
                f"{escape(CATEGORY_LABELS[key])}: {escape(minutes_text(value))}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{top_margin + plot_height + 14}" '
                f'text-anchor="middle">{day:%d %b}</text>'
            )
    for index, key in enumerate(keys):
        x = left + (index % 4) * 175
        y = height - 26 + (index // 4) * 14
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{CATEGORY_COLOURS[key]}"/>'
            f'<text x="{x + 14}" y="{y}">{escape(CATEGORY_LABELS[key])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_ceiling(value: float) -> float:
    """The next round number at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


# --- sections --------------------------------------------------------------------------------


def _totals_section(db: Database, filters: ContactFilter, summary: Any) -> str:
    headline = metrics.headline(db, filters)
    now, before = headline.current, headline.previous
    concentration = metrics.concentration(db, filters)
    rows = [
        (
            "Time with clients between sessions",
            escape(hours_text(now.hours)),
            escape(hours_text(before.hours) if before else "–"),
            escape(_change(now.hours, before.hours if before else None, " h")),
        ),
        (
            "Minutes",
            escape(minutes_text(now.minutes)),
            escape(minutes_text(before.minutes) if before else "–"),
            escape(_change(now.minutes, before.minutes if before else None, " min", 0)),
        ),
        (
            "Contacts",
            f"{now.contacts:,}",
            f"{before.contacts:,}" if before else "–",
            escape(_change(now.contacts, before.contacts if before else None, "", 0)),
        ),
        (
            "Active clients",
            f"{now.active_clients:,}",
            f"{before.active_clients:,}" if before else "–",
            escape(_change(now.active_clients, before.active_clients if before else None, "", 0)),
        ),
        (
            "Minutes per active client per week",
            escape(minutes_text(now.minutes_per_active_client_week)),
            escape(minutes_text(before.minutes_per_active_client_week) if before else "–"),
            escape(
                _change(
                    now.minutes_per_active_client_week,
                    before.minutes_per_active_client_week if before else None,
                    " min",
                )
            ),
        ),
        (
            "Minutes per contact",
            escape(minutes_text(now.minutes_per_contact)),
            escape(minutes_text(before.minutes_per_contact) if before else "–"),
            "",
        ),
        (
            "After hours (working hours in force)",
            escape(share_text(summary.after_hours_share)),
            "",
            "",
        ),
        (
            "Crisis",
            escape(minutes_text(now.crisis_minutes)),
            escape(minutes_text(before.crisis_minutes) if before else "–"),
            escape(share_text(now.crisis_minutes / now.minutes if now.minutes else None))
            + " of minutes",
        ),
        (
            f"Top {concentration.top_fraction:.0%} of clients' share",
            escape(share_text(concentration.top_minutes_share)),
            "",
            f"busiest {concentration.top_clients:,} of {concentration.clients:,} clients",
        ),
    ]
    previous = (
        f"previous period ({before.period.start:%d %b %Y} – {before.period.end:%d %b %Y})"
        if before and before.period
        else "previous period"
    )
    untimed = (
        f"<p class='note'>{escape(minutes_text(now.untimed_minutes))} have a date but no time "
        "of day and are left out of after-hours figures.</p>"
        if now.untimed_minutes
        else ""
    )
    return (
        '<section id="totals"><h2>Totals</h2>'
        + _table(("figure", "this period", escape(previous), "change"), rows)
        + untimed
        + "</section>"
    )


def _breakdown_section(db: Database, filters: ContactFilter) -> str:
    parts = ['<section id="breakdowns"><h2>Breakdowns by channel and category</h2>']
    for by, labels, colours, order in (
        ("channel", CHANNEL_LABELS, CHANNEL_COLOURS, CHANNELS),
        ("category", CATEGORY_LABELS, CATEGORY_COLOURS, CATEGORIES),
    ):
        table = metrics.breakdown(db, filters, by)
        by_key = {str(key): row for key, row in zip(table["key"], _rows(table), strict=True)}
        shown = [key for key in order if key in by_key]
        parts.append(f'<div class="pair"><h3>By {by}</h3>')
        parts.append(
            _bar_chart(
                f"Minutes by {by}",
                [(labels[key], float(by_key[key].minutes), colours[key]) for key in shown],
            )
        )
        parts.append(
            _table(
                (by, "contacts", "minutes", "share of minutes"),
                (
                    (
                        escape(labels[key]),
                        f"{int(by_key[key].contacts):,}",
                        escape(minutes_text(float(by_key[key].minutes))),
                        escape(share_text(float(by_key[key].share))),
                    )
                    for key in shown
                ),
            )
        )
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _weekly_section(db: Database, filters: ContactFilter) -> str:
    trend = metrics.trend(db, filters, "category", "week")
    weekly = trend.groupby("period", as_index=False).agg(
        minutes=("minutes", "sum"), contacts=("contacts", "sum")
    )
    rows = (
        (
            f"{pd.Timestamp(week):%d %b %Y}",
            f"{int(contacts):,}",
            escape(minutes_text(float(minutes))),
        )
        for week, minutes, contacts in zip(
            weekly["period"], weekly["minutes"], weekly["contacts"], strict=True
        )
    )
    return (
        '<section id="weekly"><h2>Load per week</h2>'
        + _weekly_chart(trend)
        + _table(("week starting (Monday)", "contacts", "minutes"), rows)
        + "<p class='note'>Weeks are each therapist's local calendar weeks; the first and last "
        "week may be partly outside the period.</p></section>"
    )


def _rows(frame: pd.DataFrame) -> list[Any]:
    """The rows of a small aggregated frame as named tuples."""
    return list(frame.itertuples(index=False))


def _who(key: Any, names: dict[str, str]) -> str:
    return escape(str(names.get(str(key), key)))


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return f"<p class='note'>{total - shown:,} more {what} not listed.</p>"


def _compliance_section(db: Database, filters: ContactFilter, summary: Any) -> str:
    names = _client_names(db, filters)
    response = summary.response
    figures = [
        ("Clients with a cap", f"{summary.clients_with_cap:,}"),
        ("Clients over their cap at least once", f"{summary.clients_over_cap:,}"),
        ("Client-weeks over a cap", f"{summary.breach_weeks:,}"),
        ("Minutes above weekly caps", escape(minutes_text(summary.over_by_minutes))),
        (
            "Out-of-policy contacts",
            f"{summary.out_of_policy_contacts:,} contacts, "
            f"{escape(minutes_text(summary.out_of_policy_minutes))}",
        ),
        (
            "After hours",
            f"{escape(minutes_text(summary.after_hours_minutes))}, "
            f"{escape(share_text(summary.after_hours_share))} of minutes",
        ),
        ("Reply time, median", escape(hours_text(response.median_hours))),
        ("Reply time, 90th percentile", escape(hours_text(response.p90_hours))),
        ("Replies within the agreed target", escape(share_text(response.share_within_target))),
        ("Drift alerts", f"{summary.alerts:,}"),
    ]
    parts = [
        '<section id="compliance"><h2>Boundary compliance and alerts</h2>',
        _table(("figure", "value"), figures),
    ]

    weeks = caps.weekly_caps(db, filters)
    over = weeks[weeks["over"]].sort_values(["week", "over_by"], ascending=[False, False])
    parts.append("<h3>Weeks over the weekly cap</h3>")
    if over.empty:
        parts.append("<p>No client-week went over its agreed weekly cap.</p>")
    else:
        listed = over.head(LISTED_ROWS)
        parts.append(
            _table(
                ("client", "therapist", "week", "counted", "cap", "over by"),
                (
                    (
                        _who(row.client_key, names),
                        escape(str(row.therapist)),
                        f"{pd.Timestamp(row.week):%d %b %Y}",
                        escape(minutes_text(float(row.counted_minutes))),
                        escape(minutes_text(float(row.cap_minutes))),
                        escape(minutes_text(float(row.over_by))),
                    )
                    for row in _rows(listed)
                ),
                numeric=range(3, 6),
            )
            + _more(len(listed), len(over), "weeks over cap")
            + "<p class='note'>Listed: weeks over the weekly cap. The client-weeks over a cap "
            "counted above include weeks over a per-category cap.</p>"
        )

    outside = out_of_policy.out_of_policy(db, filters)
    parts.append("<h3>Out-of-policy contacts</h3>")
    if outside.empty:
        parts.append("<p>Every contact used an agreed channel for an agreed purpose.</p>")
    else:
        listed = outside.iloc[::-1].head(LISTED_ROWS)
        parts.append(
            _table(
                ("when (local)", "client", "therapist", "channel", "category", "minutes", "why"),
                (
                    (
                        f"{pd.Timestamp(row.local_started_at):%d %b %Y %H:%M}",
                        _who(row.client_key, names),
                        escape(str(row.therapist)),
                        escape(CHANNEL_LABELS.get(str(row.channel), str(row.channel))),
                        escape(CATEGORY_LABELS.get(str(row.category), str(row.category))),
                        escape(minutes_text(float(row.minutes))),
                        escape(str(row.reason)),
                    )
                    for row in _rows(listed)
                ),
                numeric=range(5, 6),
            )
            + _more(len(listed), len(outside), "out-of-policy contacts")
        )

    alerts = drift.drift_alerts(db, filters).sort_values("week", ascending=False)
    parts.append("<h3>Drift alerts</h3>")
    if alerts.empty:
        parts.append(
            "<p>No week rose more than "
            f"{drift.DRIFT_THRESHOLD:.0%} above its {drift.DRIFT_BASELINE_WEEKS}-week "
            "median.</p>"
        )
    else:
        listed = alerts.head(LISTED_ROWS)
        parts.append(
            _table(
                ("who", "therapist", "week", "minutes", "baseline median", "rise"),
                (
                    (
                        (_who(row.who, names) if row.level == "client" else escape(str(row.who)))
                        + f" <span class='muted'>({escape(str(row.level))})</span>",
                        escape(str(row.therapist)),
                        f"{pd.Timestamp(row.week):%d %b %Y}",
                        escape(minutes_text(float(row.minutes))),
                        escape(minutes_text(float(row.baseline_median))),
                        "from 0" if _missing(row.rise_pct) else f"+{float(row.rise_pct):,.0f} %",
                    )
                    for row in _rows(listed)
                ),
                numeric=range(3, 6),
            )
            + _more(len(listed), len(alerts), "drift alerts")
        )
    parts.append(
        "<p class='note'>A drift alert is a week whose minutes rose more than "
        f"{drift.DRIFT_THRESHOLD:.0%} above the median of the previous "
        f"{drift.DRIFT_BASELINE_WEEKS} weeks (at least "
        f"{drift.DRIFT_MIN_MINUTES:.0f} min). Caps are judged per client's local week by "
        "the agreement in force on its Monday; crisis minutes count only where agreed.</p>"
    )
    parts.append("</section>")
    return "".join(parts)


def _comparison_table(report: dict[str, Any]) -> str:
    by = report["by"]
    headers = (
        by,
        "clients",
        *(SHORT_HEADERS[m.column] for m in compare.MEASURES),
        "percentile",
        "note",
    )

    def cell(value: Any, kind: str) -> str:
        if _missing(value):
            return "–"
        if kind == "share":
            return share_text(float(value))
        if kind == "hours":
            return hours_text(float(value))
        return minutes_text(float(value))

    rows = []
    for group in [*report["groups"], *([report["total"]] if report["total"] else [])]:
        is_total = group is report["total"]
        name = escape(str(group[by])) + (
            f" <span class='muted'>({escape(str(group['practice']))})</span>"
            if by == "therapist" and group.get("practice")
            else ""
        )
        reason = group.get("suppressed_reason")
        values = (
            ["–" if _missing(group["clients"]) else f"{int(group['clients']):,}"]
            + [escape(cell(group[m.column], m.kind)) for m in compare.MEASURES]
            + ["" if _missing(group.get("percentile_rank")) else f"{group['percentile_rank']:.0f}"]
            + [f"<span class='suppressed'>hidden: {escape(str(reason))}</span>" if reason else ""]
        )
        rows.append([f"<strong>{name}</strong>" if is_total else name, *values])
    return _table(headers, rows, numeric=range(1, len(headers) - 1), css_class="compare")


def _comparison_section(db: Database, filters: ContactFilter) -> str:
    parts = ['<section id="comparison"><h2>Comparisons</h2>']
    k = None
    for by in ("therapist", "practice"):
        report = compare.comparison_report(db, filters, by)
        k = report["min_group_clients"]
        parts.append(f"<h3>By {by}</h3>")
        parts.append(_comparison_table(report))
    parts.append(
        "<p class='note'>Figures are normalised by caseload: minutes per active client (any "
        "contact or session) per week, per 8 hours of sessions attended, late-cancelled or "
        "missed, and shares of minutes; the percentile ranks a group's minutes per active "
        "client per week among the groups shown (0 lowest, 100 highest). "
        f"A group with fewer than {k} "
        "active clients is hidden, and so is any figure that would give a hidden one away "
        "(a total or a practice less the groups shown); each hidden cell says why. "
        "Comparisons hold no client rows.</p></section>"
    )
    return "".join(parts)


# --- the document ----------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 18mm 15mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       color: #1f2328; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #4C78A8; padding-bottom: .2rem; }
.meta, .note, .muted { color: #57606a; } .note { font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; } td.num, th.num { text-align: right; } td.num { white-space: nowrap; }
table.compare { font-size: .8rem; } table.compare th { font-weight: 600; }
tr { break-inside: avoid; } thead { display: table-header-group; }
.suppressed { color: #9a6700; font-style: italic; display: inline-block; min-width: 10em; }
svg.chart { display: block; max-width: 100%; height: auto; margin: .5rem 0; }
svg.chart text { font-size: 11px; fill: #1f2328; font-family: inherit; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; }
svg.chart .grid { stroke: #d0d7de; stroke-width: 1; }
.notes { border: 1px solid #d0d7de; background: #f6f8fa; padding: .5rem 1rem; }
section { margin-top: 2rem; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  table { font-size: 9pt; } table.compare { font-size: 7.5pt; }
  th, td { padding: .15rem .3rem; }
  .suppressed { display: inline; min-width: 0; }
  section { break-before: page; margin-top: 0; }
  section#totals { break-before: auto; }
  h2, h3 { break-after: avoid; } svg.chart, table { break-inside: auto; }
  svg.chart { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  rect { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def supervision_report(
    db: Database, filters: ContactFilter, generated_at: datetime | None = None
) -> str:
    """The supervision report for ``filters`` (a period, optionally one therapist or
    practice), as one self-contained HTML document under the filter's scope."""
    period = metrics.data_period(db, filters)
    totals = metrics.totals(db, filters)
    if period is None or totals.contacts == 0:
        when = f" between {filters.start} and {filters.end}" if filters.start else ""
        raise EmptyReportError(
            f"No contacts match{when} for this selection, so there is nothing to report; "
            "choose another period or selection."
        )
    summary = compliance.compliance_summary(db, filters)
    therapists, practices = _names(db, filters)
    scope = filters.scope
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    if filters.therapist_ids:
        covers = "Therapist: " + escape(", ".join(therapists))
    elif filters.practice_ids:
        covers = "Practice: " + escape(", ".join(practices))
    else:
        covers = f"All {len(therapists)} therapists in " + escape(", ".join(practices))
    narrowed = [
        label
        for label, values in (
            ("clients", filters.client_keys),
            ("channels", filters.channels),
            ("categories", filters.categories),
        )
        if values
    ]
    narrowed_text = (
        f" Only some {', '.join(narrowed)} are included (dashboard filters)." if narrowed else ""
    )
    texts_note = estimated_minutes_note(db, filters)
    who = (
        "Client labels are shown because the viewer may see them."
        if scope.shows_labels
        else "Clients appear only under pseudonymous keys: this viewer does not see labels."
    )
    title = f"Supervision report, {period.start:%d %b %Y} – {period.end:%d %b %Y}"
    body = [
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>{covers}. Period {period.start:%d %b %Y} – {period.end:%d %b %Y} "
        f"({period.days} days, each therapist's local calendar).{escape(narrowed_text)}</p>",
        f"<p class='meta'>Generated {moment:%Y-%m-%d %H:%M} UTC for {escape(scope.identity)} "
        f"({escape(scope.role)}) by Contact Load.</p>",
        "<div class='notes'><p><strong>Estimates.</strong> Minutes are the durations logged "
        "or imported for each contact; "
        + (escape(texts_note) + "; " if texts_note else "")
        + "contacts without a time of day are left out of after-hours "
        "figures. Treat them as estimates of between-session load, not as billing records.</p>"
        "<p><strong>Privacy.</strong> This report holds metadata only (who, when, how long, "
        f"which channel and category), never message bodies or phone numbers. {who} Keep "
        "and share it like any other clinical document.</p></div>",
        "</header>",
        _totals_section(db, filters, summary),
        _breakdown_section(db, filters),
        _weekly_section(db, filters),
        _compliance_section(db, filters, summary),
        _comparison_section(db, filters),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_report(db: Database, filters: ContactFilter, out: Path) -> int:
    """Write the report for ``filters`` to ``out`` and record it in the audit log; the
    number of bytes written."""
    document = supervision_report(db, filters).encode("utf-8")
    try:
        out.write_bytes(document)
    except OSError as error:
        raise ReportWriteError(
            f"The report could not be written to {out}: {error.strerror or error}; "
            "choose a folder that exists and that you may write to."
        ) from error
    record(db, filters.scope, "report", report_detail(filters, out.name))
    return len(document)


def report_detail(filters: ContactFilter, file_name: str) -> str:
    """The audit log's description of one report: period, selection and file, no client data."""
    selection = (
        f"therapists {list(filters.therapist_ids)}"
        if filters.therapist_ids
        else f"practices {list(filters.practice_ids)}"
        if filters.practice_ids
        else "all visible"
    )
    return f"supervision report {filters.start} to {filters.end}, {selection}, {file_name}"


def report_file_name(filters: ContactFilter) -> str:
    """A file name that says what the report covers: ``supervision-START-END.html``."""
    start = filters.start.isoformat() if filters.start else "start"
    end = filters.end.isoformat() if filters.end else "end"
    return f"supervision-{start}-{end}.html"


__all__ = [
    "EmptyReportError",
    "ReportWriteError",
    "UnknownNameError",
    "report_detail",
    "report_file_name",
    "report_filter",
    "supervision_report",
    "write_report",
]
