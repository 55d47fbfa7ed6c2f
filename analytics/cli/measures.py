"""Commands that show measures: ``summary``, ``compliance``, ``compare``, ``sessions`` and
``report`` (the supervision report as an HTML file).

Each reads under the run's scope and, where it takes data out to the terminal, records so
in the audit log under the run's identity.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.cli.command import (
    DB,
    JSON,
    KEYS,
    OUTPUT,
    PERIOD,
    command,
    iso_date,
    option,
    positive,
)
from analytics.cli.output import emit, plain_rows, print_json, shown_client
from analytics.domain import BREAKDOWNS

if TYPE_CHECKING:
    from analytics.access.filters import ContactFilter
    from analytics.cli.context import Context
    from analytics.storage.database import Database

NO_CONTACTS = "No contacts match; widen the dates or add data (contactload demo)."


# --- contactload summary ---------------------------------------------------------------------


@command(
    "summary",
    help="contacts and minutes broken down by one dimension",
    shared=(DB, KEYS, PERIOD, OUTPUT),
)
@option("--by", choices=BREAKDOWNS, required=True)
@option(
    "--per-session-hour",
    action="store_true",
    help="add scheduled session hours and contact minutes per session hour and per 8 "
    "session hours (by therapist, practice, client, week or month)",
)
def summary(ctx: Context) -> int:
    """``contactload summary``: one row per key with contacts and minutes."""
    import pandas as pd

    from analytics.measures import metrics

    by = ctx.args.by
    if ctx.args.per_session_hour:
        return _session_load(ctx, by)
    table = metrics.breakdown(ctx.db, ctx.filters(), by)
    rows = [
        {"key": str(key), **_named(by, key, label), "contacts": int(contacts),
         "minutes": float(minutes)}
        for key, label, contacts, minutes in zip(
            table["key"], table["label"], table["contacts"], table["minutes"], strict=True
        )
    ]  # fmt: skip
    emit(
        ctx,
        rows,
        lambda: pd.DataFrame(
            {
                by: _shown_key(table, by, ctx.keys),
                "contacts": table["contacts"],
                "minutes": table["minutes"].round(1),
                "hours": (table["minutes"] / 60).round(2),
                "share %": (table["share"] * 100).round(1),
            }
        ),
        empty=NO_CONTACTS,
    )
    return 0


def _named(by: str, key: object, label: object) -> dict[str, str]:
    """A client row's names for JSON: ``client`` as the dashboard shows it, ``client_key``."""
    return {"client": str(label), "client_key": str(key)} if by == "client" else {}


def _shown_key(table: Any, by: str, keys: bool) -> Any:
    """The first column of a summary table: clients by label (or key with ``--keys``)."""
    return table["label"] if by == "client" and not keys else table["key"]


def _known(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _session_load(ctx: Context, by: str) -> int:
    """``summary --per-session-hour``: contact minutes beside scheduled session hours."""
    import pandas as pd

    from analytics.measures.session_load import session_load_by

    table = session_load_by(ctx.db, ctx.filters(), by)
    rows = [
        {
            "key": str(key),
            **_named(by, key, label),
            "contacts": int(contacts),
            "minutes": float(minutes),
            "scheduled_session_hours": float(hours),
            "minutes_per_session_hour": _known(per_hour),
            "minutes_per_8_session_hours": _known(per_8),
        }
        for key, label, contacts, minutes, hours, per_hour, per_8 in zip(
            table["key"],
            table["label"],
            table["contacts"],
            table["contact_minutes"],
            table["scheduled_hours"],
            table["per_session_hour"],
            table["per_8_session_hours"],
            strict=True,
        )
    ]

    def rate(value: float) -> str:
        number = _known(value)
        return "—, no sessions" if number is None else f"{number:,.1f}"

    emit(
        ctx,
        rows,
        lambda: pd.DataFrame(
            {
                by: _shown_key(table, by, ctx.keys),
                "contacts": table["contacts"],
                "minutes": table["contact_minutes"].round(1),
                "session h": table["scheduled_hours"].round(2),
                "min per session h": table["per_session_hour"].map(rate),
                "min per 8 session h": table["per_8_session_hours"].map(rate),
            }
        ),
        empty="No contacts or sessions match; widen the dates or add data (contactload demo).",
    )
    return 0


# --- contactload compliance --------------------------------------------------------------------


@command(
    "compliance",
    help="weekly use against caps, breaches, out-of-policy, after hours, response times",
    shared=(DB, KEYS, PERIOD, JSON),
)
@option("--by", choices=("client", "therapist"), default="client")
def compliance(ctx: Context) -> int:
    """``contactload compliance``: each client's (or therapist's) use against the agreement."""
    import pandas as pd

    from analytics.measures import compliance

    filters = ctx.filters()
    by = ctx.args.by
    rows = compliance_rows(ctx.db, filters, by, compliance.compliance_report(ctx.db, filters, by))

    def text() -> pd.DataFrame | str:
        table = pd.DataFrame(rows).drop(columns=["weeks", "out_of_policy"])
        if by == "client":
            table = table.drop(columns=["client", "client_key"]).rename(columns={"key": "client"})
            table["client"] = shown_client(pd.DataFrame(rows), ctx.keys)
        return table.to_string(index=False, float_format=lambda value: f"{value:,.1f}")

    emit(ctx, rows, text, empty=NO_CONTACTS)
    return 0


def compliance_rows(
    db: Database, filters: ContactFilter, by: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``compliance_report`` rows with client rows named as the dashboard names them
    (``client`` and ``client_key``) and each row's out-of-policy contacts (``out_of_policy``:
    date, local time, client, client_key, therapist, channel and category in words, minutes,
    reason), oldest first."""
    from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
    from analytics.measures.metrics import with_client_labels
    from analytics.measures.out_of_policy import out_of_policy

    outside = out_of_policy(db, filters)
    if not outside.empty:
        outside = with_client_labels(db, filters.scope, outside)
    contacts: dict[str, list[dict[str, Any]]] = {}
    for contact in outside.to_dict("records"):  # out-of-policy contacts, listed in full
        owner = str(contact["client_key"] if by == "client" else contact["therapist"])
        contacts.setdefault(owner, []).append(
            {
                "date": f"{contact['local_started_at']:%Y-%m-%d}",
                "time": f"{contact['local_started_at']:%H:%M}",
                "client": contact["client"],
                "client_key": contact["client_key"],
                "therapist": contact["therapist"],
                "channel": CHANNEL_LABELS[contact["channel"]],
                "category": CATEGORY_LABELS[contact["category"]],
                "minutes": float(contact["minutes"]),
                "reason": contact["reason"],
            }
        )
    names: dict[str, str] = {}
    if by == "client" and rows:
        import pandas as pd

        keys = pd.DataFrame({"client_key": pd.Series([row["key"] for row in rows], dtype=str)})
        named = with_client_labels(db, filters.scope, keys)
        names = dict(zip(named["client_key"], named["client"], strict=True))
    detailed = []
    for row in rows:  # one per client or therapist
        naming = {"client": names.get(row["key"]), "client_key": row["key"]} if names else {}
        detailed.append({**row, **naming, "out_of_policy": contacts.get(row["key"], [])})
    return detailed


# --- contactload compare ---------------------------------------------------------------------


@command(
    "compare",
    help="therapists or practices side by side on normalised measures, small groups hidden",
    shared=(DB, PERIOD, JSON),
)
@option("--by", choices=("therapist", "practice"), required=True)
@option(
    "--min-clients",
    type=positive,
    default=None,
    help="smallest group shown (default: the min_group_clients setting, 11)",
)
@option("--months", action="store_true", help="also each local month (hidden where needed)")
def compare(ctx: Context) -> int:
    """``contactload compare``: the normalised measures per group, suppression applied."""
    from analytics.measures import compare

    by = ctx.args.by
    report = compare.comparison_report(
        ctx.db, ctx.filters(), by, ctx.args.min_clients, ctx.args.months
    )
    ctx.record_shown(f"comparison by {by}: {len(report['groups'])} groups")
    if ctx.output == "json":
        print_json(report)
        return 0
    if report["total"] is None:
        print(NO_CONTACTS)
        return 0
    print(
        f"{report['from']} to {report['to']} ({report['days']} days); groups with fewer than "
        f"{report['min_group_clients']} clients are suppressed, and so is any figure that "
        "would give a hidden one away."
    )
    print(_compare_table([*report["groups"], report["total"]], by))
    for month in report.get("months", []):
        print(f"\n{month['month']}")
        print(_compare_table([*month["groups"], month["total"]], by))
    return 0


COMPARE_HEADERS = {
    "clients": "clients",
    "minutes_per_client_week": "min/client/week",
    "minutes_per_8_session_hours": "min/8 session h",
    "after_hours_share": "after hours %",
    "crisis_share": "crisis %",
    "top_client_share": "top 10% share %",
    "response_median_hours": "reply median h",
    "cap_compliance": "weeks within cap %",
    "percentile_rank": "percentile",
}
"""Text-table headers of the comparison's columns."""


def _compare_table(rows: list[dict[str, Any]], by: str) -> str:
    """Rows of ``compare.comparison_report`` as a text table; hidden cells say so."""
    import pandas as pd

    table = pd.DataFrame(rows)
    shown = pd.DataFrame({by: table[by]})
    for column, header in COMPARE_HEADERS.items():
        scale = 100 if column.endswith("_share") or column == "cap_compliance" else 1
        digits = 0 if column == "clients" else 1
        shown[header] = [
            "suppressed"
            if hidden
            else "–"
            if value is None or value != value
            else f"{value * scale:,.{digits}f}"
            for value, hidden in zip(table[column], table["suppressed"], strict=True)
        ]  # one value per group: a handful of rows
    shown["suppressed"] = table["suppressed_reason"].fillna("")
    return shown.to_string(index=False)


# --- contactload sessions --------------------------------------------------------------------


@command(
    "sessions",
    help="list scheduled sessions: local date and start, minutes, client, therapist, status",
    shared=(DB, KEYS, OUTPUT, PERIOD),
)
@option("--therapist", action="append", default=[], help="repeatable")
@option("--practice", action="append", default=[], help="repeatable")
@option("--client", action="append", default=[], help="label or pseudonymous key; repeatable")
def sessions(ctx: Context) -> int:
    """``contactload sessions``: one row per stored session, oldest first, audited."""
    import pandas as pd

    from analytics.access import names
    from analytics.storage.sessions import session_list

    db = ctx.db
    listed = session_list(
        db,
        ctx.filters(
            practice_ids=names.practice_ids(db, ctx.args.practice, ctx.scope),
            therapist_ids=names.therapist_ids(db, ctx.args.therapist, ctx.scope),
            client_keys=names.client_keys(db, ctx.args.client, ctx.scope),
        ),
    )
    ctx.record_shown(f"sessions: {len(listed)} listed")
    emit(
        ctx,
        plain_rows(listed),
        lambda: pd.DataFrame(
            {
                "date": listed["date"],
                "start": listed["start"],
                "minutes": listed["minutes"].map(lambda minutes: f"{minutes:g}"),
                "client": shown_client(listed, ctx.keys),
                "therapist": listed["therapist"],
                "practice": listed["practice"],
                "status": listed["status"],
            }
        ),
        empty="No sessions match; widen the dates or import a calendar (contactload import).",
    )
    return 0


# --- contactload report ----------------------------------------------------------------------


@command(
    "report",
    help="write the supervision report for a period as one self-contained HTML file",
    shared=(DB,),
)
@option("--from", dest="start", type=iso_date, required=True)
@option("--to", dest="end", type=iso_date, required=True)
@option("--therapist", default=None, help="only this therapist", exclusive="selection")
@option("--practice", default=None, help="only this practice", exclusive="selection")
@option("--out", type=Path, required=True, metavar="FILE.html")
def report(ctx: Context) -> int:
    """``contactload report``: the supervision report as one HTML file, audited."""
    from analytics.output.report import report_filter, write_report

    args = ctx.args
    filters = report_filter(ctx.db, ctx.scope, args.start, args.end, args.therapist, args.practice)
    out: Path = args.out
    written = write_report(ctx.db, filters, out)
    print(
        f"Wrote the supervision report for {args.start} to {args.end} to {out} "
        f"({written / 1024:,.0f} KB)."
    )
    return 0
