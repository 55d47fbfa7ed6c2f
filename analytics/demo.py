"""Deterministic demo data: three practices, twelve therapists in several zones, a year.

Small tables (practices, therapists, clients and the shape of the week) are drawn in
Python from a seeded ``random.Random``; the contacts themselves are generated in one SQL
statement from ``range(N)``, each random draw a hash of (row, seed, draw), so the same
seed gives the same data at any scale and on any number of threads.

The shape follows published figures (DOMAIN.md): load is heavy-tailed (a few clients make
most contacts), mostly in working hours with some evenings and weekends, every channel and
category present, crisis rare.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Literal

from analytics.access.scope import LOCAL, Scope
from analytics.storage.database import Database
from analytics.storage.sessions import StoredSessions, add_sessions_from_query
from analytics.storage.sql import Fragment, execute, identifier, query, sql
from analytics.storage.sql import number as sql_number
from analytics.storage.store import StoredBatch, add_contacts_from_query

if TYPE_CHECKING:  # pandas loads when demo data is made, not whenever the CLI starts
    import pandas as pd

DEFAULT_CONTACTS = 12_000
DEFAULT_CLIENTS = 150
DEFAULT_SEED = 7
DAYS = 365

PRACTICES: dict[str, list[tuple[str, str]]] = {
    "Northside Psychology": [
        ("Dana Whitfield", "America/New_York"),
        ("Marcus Ortega", "America/Chicago"),
        ("Priya Raman", "America/Los_Angeles"),
        ("Elena Brooks", "America/Denver"),
    ],
    "Lindenhof Praxis": [
        ("Jonas Weber", "Europe/Berlin"),
        ("Sophie Keller", "Europe/Zurich"),
        ("Amelia Hughes", "Europe/London"),
        ("Luca Moretti", "Europe/Rome"),
    ],
    "Southern Cross Therapy": [
        ("Grace Nguyen", "Australia/Sydney"),
        ("Oliver Grant", "Australia/Perth"),
        ("Aroha Ngata", "Pacific/Auckland"),
        ("Kenji Sato", "Asia/Tokyo"),
    ],
}

# (category, channel, weight): which channel carries which kind of contact, and how often.
CATEGORY_CHANNELS: tuple[tuple[str, str, float], ...] = (
    ("scheduling", "email", 8),
    ("scheduling", "phone", 5),
    ("scheduling", "portal", 5),
    ("scheduling", "text", 7),
    ("reminder", "text", 13),
    ("reminder", "email", 7),
    ("check_in", "text", 7),
    ("check_in", "email", 4),
    ("check_in", "portal", 5),
    ("support", "phone", 8),
    ("support", "portal", 6),
    ("support", "email", 4),
    ("support", "video", 3),
    ("crisis", "phone", 1.6),
    ("crisis", "text", 0.4),
    ("homework", "email", 6),
    ("homework", "portal", 5),
    ("other", "other", 1),
    ("other", "email", 1),
    ("other", "phone", 0.5),
)

# category: (shortest, longest, share started by the client)
CATEGORY_SHAPE: dict[str, tuple[float, float, float]] = {
    "scheduling": (2, 10, 0.55),
    "reminder": (1, 3, 0.05),
    "check_in": (3, 12, 0.35),
    "support": (8, 45, 0.60),
    "crisis": (15, 90, 0.95),
    "homework": (5, 25, 0.30),
    "other": (2, 15, 0.50),
}

# Relative load per local hour of the day: working hours heavy, evenings tapering.
HOUR_WEIGHTS: tuple[float, ...] = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2, 6, 9, 9, 8,
    6, 8, 9, 8, 8, 6, 4, 3, 2.5, 2, 1, 0.5,
)  # fmt: skip

FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin", "Avery",
    "Noor", "Mina", "Lena", "Tomas", "Ines", "Yuki", "Mateo", "Freya", "Kofi", "Leila",
)  # fmt: skip
SURNAME_INITIALS = "ABCDEFGHJKLMNPRSTVW"

# One uniform draw in [0, 1) per (row, draw): a single-argument hash of a unique integer.
# (DuckDB's multi-argument hash combines its inputs too weakly: draws made that way are
# correlated.) The seed occupies the bits above 2**40, the draw number the low four bits.
_UNIFORM = "(hash({row} * 16 + {draw} + $seed * 1099511627776) >> 11) / 9007199254740992.0"


_ROW = sql("i")


def _uniform(draw: int, row: Fragment = _ROW) -> Fragment:
    """Uniform draw number ``draw`` of the row numbered ``row``."""
    return query(_UNIFORM, row=row, draw=sql_number(draw))


_CONTACTS_SQL = """
WITH draws AS (
    SELECT i,
           {u1} AS u_client,
           {u2} AS u_day,
           {u3} AS u_weekend,
           {u4} AS u_hour,
           {u5} AS u_minute,
           {u6} AS u_kind,
           {u7} AS u_length,
           {u8} AS u_direction
    FROM range($contacts) AS r(i)
),
placed AS (
    SELECT d.*, cl.practice, cl.therapist, cl.time_zone, cl.client,
           CAST($first_day AS DATE)
               + CAST(cl.span_start + floor(d.u_day * cl.span_days) AS INTEGER) AS raw_day
    FROM draws AS d ASOF JOIN demo_clients AS cl ON d.u_client >= cl.cumulative
),
dated AS (
    -- Four in five weekend contacts move to a weekday of the same week; the rest stay.
    -- (Clamped to the period, which a weekend at either end could otherwise leave.)
    SELECT *,
           least(greatest(
               CASE WHEN isodow(raw_day) >= 6 AND u_weekend < 0.8
                    THEN raw_day - CAST(isodow(raw_day) - 1 - floor(u_weekend / 0.8 * 5) AS INTEGER)
                    ELSE raw_day END,
               CAST($first_day AS DATE)), CAST($first_day AS DATE) + 364) AS contact_day
    FROM placed
),
timed AS (
    SELECT d.*, h.hour FROM dated AS d ASOF JOIN demo_hours AS h ON d.u_hour >= h.cumulative
),
kinds AS (
    SELECT t.*, k.category, k.channel, k.shortest, k.longest, k.client_share
    FROM timed AS t ASOF JOIN demo_kinds AS k ON t.u_kind >= k.cumulative
)
SELECT practice, therapist, time_zone, client,
       timezone(time_zone, CAST(contact_day AS TIMESTAMP)
                + to_hours(hour) + to_minutes(CAST(floor(u_minute * 60) AS INTEGER))
       ) AS started_at,
       greatest(1, round(shortest + (longest - shortest) * u_length * u_length)) AS minutes,
       channel, category,
       CASE WHEN u_direction < client_share THEN 'client' ELSE 'therapist' END AS direction
FROM kinds
"""


# Session cadence (days between sessions) and how often each is drawn; weekly clients are
# most common, and fortnightly and monthly ones leave room for billable online work.
CADENCES: tuple[tuple[int, float], ...] = ((7, 0.5), (14, 0.3), (28, 0.2))
SESSION_MINUTES = 50
# (status, cumulative share below which a draw gets it)
SESSION_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("attended", 0.85),
    ("cancelled", 0.91),
    ("late_cancelled", 0.95),
    ("no_show", 1.0),
)

_SESSIONS_SQL = """
WITH plan AS (
    SELECT cl.*,
           CAST($first_day AS DATE) + CAST(cl.span_start AS INTEGER) AS course_start,
           CAST($first_day AS DATE) + CAST(cl.span_start + cl.span_days AS INTEGER) AS course_end
    FROM demo_sessions_plan AS cl
),
slots AS (
    SELECT p.*, w.k,
           course_start + CAST(((p.weekday - (isodow(course_start) - 1)) % 7 + 7) % 7
                               + w.k * p.cadence_days AS INTEGER) AS session_day,
           {u} AS u_outcome
    FROM plan AS p, range(0, 60) AS w(k)
)
SELECT practice, therapist, time_zone, client,
       timezone(time_zone, CAST(session_day AS TIMESTAMP) + to_hours(hour)) AS started_at,
       $minutes AS minutes,
       -- the first outcome whose cumulative share is above the draw
       $outcome_statuses[1 + len(list_filter($outcome_shares, lambda share: share <= u_outcome))]
           AS status,
       NULL AS identity
FROM slots
WHERE session_day < course_end AND session_day <= CAST($last_day AS DATE)
"""


def demo_clients(clients: int, seed: int) -> pd.DataFrame:
    """The demo caseload: who each client sees, how heavy they are, when they are active."""
    import pandas as pd

    rng = random.Random(seed)
    therapists = [
        (practice, name, zone) for practice, staff in PRACTICES.items() for name, zone in staff
    ]
    rows = []
    for number in range(1, clients + 1):
        practice, therapist, zone = therapists[(number - 1) % len(therapists)]
        # Pareto weights give the published heavy tail: about a tenth of clients make
        # half of the contacts.
        weight = min(rng.paretovariate(1.3), 25.0)
        # A steady caseload: two in five clients are seen all year, the rest either started
        # during the year (and continue) or finished during it.
        course = rng.random()
        span_days = DAYS if course < 0.4 else rng.randint(90, DAYS - 30)
        span_start = DAYS - span_days if course < 0.7 else 0
        label = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAME_INITIALS)}. ({number:03d})"
        rows.append((practice, therapist, zone, label, weight * span_days, span_start, span_days))
    frame = pd.DataFrame(
        rows,
        columns=[
            "practice", "therapist", "time_zone", "client", "intensity", "span_start", "span_days"
        ],
    )  # fmt: skip
    frame["cumulative"] = frame["intensity"].cumsum().shift(fill_value=0) / frame["intensity"].sum()
    return frame


def demo_sessions_plan(caseload: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each demo client's session rhythm: cadence, weekday and hour (a generator of its own,
    so the caseload drawn for contacts stays the same)."""
    rng = random.Random(seed * 7919 + 1)
    plan = caseload[["practice", "therapist", "time_zone", "client", "span_start", "span_days"]]
    plan = plan.copy()
    plan["number"] = range(1, len(plan) + 1)
    days, weights = zip(*CADENCES, strict=True)
    plan["cadence_days"] = rng.choices(days, weights=weights, k=len(plan))
    plan["weekday"] = [rng.randint(0, 4) for _ in range(len(plan))]
    plan["hour"] = [rng.randint(9, 16) for _ in range(len(plan))]
    return plan


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    running, cumulative = 0.0, []
    for weight in weights:
        cumulative.append(running / total)
        running += weight
    return cumulative


def generate_demo(
    db: Database,
    *,
    contacts: int = DEFAULT_CONTACTS,
    clients: int | None = None,
    seed: int = DEFAULT_SEED,
    end: date | None = None,
    sessions: bool = True,
    scope: Scope = LOCAL,
) -> StoredBatch:
    """Add ``contacts`` demo contacts over the 365 days ending ``end`` (default: today),
    and (``sessions``) the scheduled sessions of the same caseload as a second batch.

    ``clients`` defaults to 150, or one client per 80 contacts for large benchmark sets.
    Only a viewer who may import adds demo data.
    """
    scope.require_import()
    if contacts < 1:
        raise ValueError("contacts must be at least 1")
    import pandas as pd

    clients = clients or max(DEFAULT_CLIENTS, contacts // 80)
    last_day = end or date.today()
    first_day = last_day - timedelta(days=DAYS - 1)
    caseload = demo_clients(clients, seed)
    hours = pd.DataFrame({"hour": range(24), "cumulative": _cumulative(list(HOUR_WEIGHTS))})
    kinds = pd.DataFrame(
        [
            (category, channel, *CATEGORY_SHAPE[category])
            for category, channel, _ in CATEGORY_CHANNELS
        ],
        columns=["category", "channel", "shortest", "longest", "client_share"],
    )
    kinds["cumulative"] = _cumulative([weight for _, _, weight in CATEGORY_CHANNELS])
    stored = add_contacts_from_query(
        db,
        query(
            _CONTACTS_SQL,
            **{f"u{draw}": _uniform(draw) for draw in range(1, 9)},
            seed=seed,
            contacts=contacts,
            first_day=first_day,
        ),
        source="demo",
        lookups={"demo_clients": caseload, "demo_hours": hours, "demo_kinds": kinds},
        scope=scope,
    )
    if sessions:
        generate_demo_sessions(
            db, caseload, seed=seed, first_day=first_day, last_day=last_day, scope=scope
        )
    return stored


def generate_demo_sessions(
    db: Database,
    caseload: pd.DataFrame,
    *,
    seed: int,
    first_day: date,
    last_day: date,
    scope: Scope = LOCAL,
) -> StoredSessions:
    """Scheduled sessions for the demo caseload: each client at a fixed weekday and local
    hour every one, two or four weeks during their course, 50 minutes, with some
    cancellations and no-shows (only a viewer who may import)."""
    return add_sessions_from_query(
        db,
        query(
            _SESSIONS_SQL,
            u=_uniform(0, row=sql("(number * 64 + k)")),
            seed=seed,
            first_day=first_day,
            last_day=last_day,
            minutes=SESSION_MINUTES,
            outcome_statuses=[status for status, _ in SESSION_OUTCOMES],
            outcome_shares=[share for _, share in SESSION_OUTCOMES],
        ),
        source="demo",
        lookups={"demo_sessions_plan": demo_sessions_plan(caseload, seed)},
        scope=scope,
    )


def is_empty(db: Database, scope: Scope) -> bool:
    """True when the database holds no contacts the viewer may see (local mode: none)."""
    (count,) = db.row(
        query("SELECT count(*) FROM contacts AS c WHERE {in_scope}", in_scope=scope.fragment("c"))
    )
    return count == 0


@dataclass(frozen=True)
class DemoRemoval:
    """What removing the demo data took out."""

    batches: int
    contacts: int
    sessions: int
    therapists: int
    """Demo therapists removed with their boundaries, working hours and phone mappings."""

    def describe(self) -> str:
        """One sentence for the CLI and the Data care page."""
        if not self.batches:
            return "There is no demo data to remove."
        return (
            f"Demo data removed: {self.contacts:,} contacts and {self.sessions:,} sessions from "
            f"{self.batches:,} demo batches, and {self.therapists:,} demo therapists with "
            "their boundary settings."
        )


# Therapists every one of whose contacts and sessions came from demo batches: their
# boundary settings, working hours, phone mappings and dismissed alerts go with them.
_DEMO_BATCHES = sql(
    "SELECT batch_id FROM import_batches WHERE source = 'demo' AND undone_at IS NULL"
)
"""The demo batches not undone yet."""

_DEMO_THERAPISTS_SQL = """
WITH demo AS (
    {demo_batches}
), rows AS (
    SELECT therapist_id, batch_id FROM contacts
    UNION ALL
    SELECT therapist_id, batch_id FROM sessions
)
SELECT r.therapist_id
FROM rows AS r LEFT JOIN demo AS d USING (batch_id)
GROUP BY r.therapist_id
HAVING bool_and(d.batch_id IS NOT NULL)
"""

_THERAPIST_TABLES = ("boundaries", "working_hours", "boundary_changes", "phone_numbers",
                     "dismissed_alerts", "message_addresses")  # fmt: skip


def remove_demo(db: Database, *, scope: Scope = LOCAL) -> DemoRemoval:
    """Remove every demo batch (``import_batches.source = 'demo'``): its contacts and
    sessions, the demo therapists' boundary settings, and the clients, therapists and
    practices only demo data brought; in one transaction, audited. Imported data stays."""
    from analytics.storage import audit
    from analytics.storage.store import drop_unreferenced

    scope.require_import()
    with db.transaction() as cursor:
        batches = [int(row[0]) for row in execute(cursor, _DEMO_BATCHES).fetchall()]
        if not batches:
            return DemoRemoval(0, 0, 0, 0)
        demo_therapists = query(_DEMO_THERAPISTS_SQL, demo_batches=_DEMO_BATCHES)
        therapists = [int(row[0]) for row in execute(cursor, demo_therapists).fetchall()]
        contacts = cursor.execute(
            "DELETE FROM contacts WHERE list_contains($batches, batch_id) RETURNING 1",
            {"batches": batches},
        ).fetchall()
        sessions = cursor.execute(
            "DELETE FROM sessions WHERE list_contains($batches, batch_id) RETURNING 1",
            {"batches": batches},
        ).fetchall()
        for table in _THERAPIST_TABLES:
            execute(
                cursor,
                query(
                    "DELETE FROM {table} WHERE list_contains($ids, therapist_id)",
                    table=identifier(table, _THERAPIST_TABLES),
                    ids=therapists,
                ),
            )
        drop_unreferenced(cursor)
        cursor.execute(
            "UPDATE import_batches SET undone_at = current_timestamp "
            "WHERE list_contains($batches, batch_id)",
            {"batches": batches},
        )
        removal = DemoRemoval(len(batches), len(contacts), len(sessions), len(therapists))
        audit.record(
            cursor,
            scope,
            "undo",
            f"demo data removed: batches {', '.join(map(str, batches))}; "
            f"{removal.contacts} contacts, {removal.sessions} sessions",
        )
    return removal


def demo_status(db: Database, scope: Scope) -> Literal["present", "removed", "none"]:
    """Whether the database holds demo data, had it removed (so ``demo --if-empty`` does not
    bring it back), or never had any. Viewers who may not import see "none"."""
    if not scope.may_import:
        return "none"
    with db.cursor() as cursor:
        row = cursor.execute(
            "SELECT count(*) FILTER (WHERE undone_at IS NULL), count(*) "
            "FROM import_batches WHERE source = 'demo'"
        ).fetchone()
    present, ever = row if row else (0, 0)
    return "present" if present else "removed" if ever else "none"


# --- boundaries ----------------------------------------------------------------------------


def _monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def demo_boundaries(db: Database, changed_by: str = "demo", *, scope: Scope = LOCAL) -> int:
    """Give every demo therapist a plausible policy and a few clients overrides.

    Defaults vary per therapist (weekly cap 60 to 120 minutes per client, text for
    scheduling and reminders only, replies within 24 working hours for most, crisis not
    counted, working hours 09-17, 08-18 or split shifts); the heaviest clients get
    overrides, one of them a cap lowered halfway through the year, so a first run shows
    compliance, breaches and alerts. Touches only the boundary tables; running it again
    changes nothing. Returns the number of settings and working weeks stored. Only a
    viewer who may import (local mode, admins) may seed them.
    """
    from analytics.policy.agreements import (
        BoundarySetting,
        WorkingWeek,
        check_setting,
        check_working_hours,
    )
    from analytics.policy.lookup import find_therapist
    from analytics.policy.writes import store_setting, store_working_hours
    from analytics.storage import audit

    scope.require_import()
    demo_names = [(practice, name) for practice, staff in PRACTICES.items() for name, _ in staff]
    with db.cursor() as cursor:
        therapists = cursor.execute(
            """
            SELECT p.name, t.name
            FROM therapists AS t JOIN practices AS p ON p.practice_id = t.practice_id
            WHERE list_contains($names, p.name || chr(31) || t.name)
              AND EXISTS (SELECT 1 FROM contacts AS c WHERE c.therapist_id = t.therapist_id)
            """,
            {"names": [f"{practice}\x1f{name}" for practice, name in demo_names]},
        ).fetchall()
        period = cursor.execute(
            "SELECT CAST(min(local_started_at) AS DATE), CAST(max(local_started_at) AS DATE) "
            "FROM contacts"
        ).fetchone()
        if not therapists or period is None or period[0] is None:
            return 0
        # One policy date for everyone (the Monday the data starts), one change halfway.
        start = _monday_on_or_before(period[0])
        halfway = _monday_on_or_before(period[0] + (period[1] - period[0]) / 2)
        # Each therapist's two heaviest clients with contacts on both sides of the halfway
        # date (a few rows; the work over contacts is all here in SQL).
        heavy = cursor.execute(
            """
            WITH per_client AS (
                SELECT therapist_id, client_id, sum(minutes) AS minutes
                FROM contacts
                GROUP BY ALL
                HAVING min(local_started_at) < $halfway AND max(local_started_at) >= $halfway
            ),
            ranked AS (
                SELECT *, row_number() OVER (
                    PARTITION BY therapist_id ORDER BY minutes DESC, client_id
                ) AS rank
                FROM per_client
            )
            SELECT p.name, t.name, cl.label, r.rank
            FROM ranked AS r
            JOIN therapists AS t ON t.therapist_id = r.therapist_id
            JOIN practices AS p ON p.practice_id = t.practice_id
            JOIN clients AS cl ON cl.client_id = r.client_id
            WHERE r.rank <= 2
            """,
            {"halfway": halfway},
        ).fetchall()
    present = set(therapists)
    heaviest = {(practice, name, rank): label for practice, name, label, rank in heavy}
    settings: list[BoundarySetting] = []
    weeks: list[tuple[str, str, WorkingWeek]] = []
    nine_to_five = {weekday: [(time(9), time(17))] for weekday in range(5)}
    eight_to_six = {weekday: [(time(8), time(18))] for weekday in range(5)}
    split_shift = {weekday: [(time(8), time(12)), (time(13), time(18))] for weekday in range(4)}
    split_shift[4] = [(time(8), time(13))]
    for number, (practice, name) in enumerate(demo_names):
        if (practice, name) not in present:
            continue
        calendar_replies = number % 4 == 3
        settings.append(
            BoundarySetting(
                therapist=name,
                practice=practice,
                client=None,
                effective_from=start,
                weekly_cap_minutes=(60.0, 90.0, 120.0, 75.0)[number % 4],
                category_caps={"support": 30.0} if number % 3 == 2 else None,
                allowed_channels=("phone", "email", "text", "portal", "video"),
                channel_categories={"text": ("scheduling", "reminder")},
                response_target_hours=48.0 if calendar_replies else 24.0,
                response_in_working_hours=not calendar_replies,
                crisis_counts_toward_cap=False,
            )
        )
        week = (nine_to_five, eight_to_six, split_shift)[number % 3]
        weeks.append((practice, name, WorkingWeek(start, week)))
        if number == 1:  # one therapist starts taking Fridays off halfway through
            shorter = {weekday: hours for weekday, hours in week.items() if weekday != 4}
            weeks.append((practice, name, WorkingWeek(halfway, shorter)))
        top = heaviest.get((practice, name, 1))
        if top and number % 2 == 0:
            # Agreed extra support for the heaviest client, tapered halfway through.
            settings.append(BoundarySetting(name, practice, top, start, weekly_cap_minutes=180.0))
            if number % 4 == 0:
                settings.append(
                    BoundarySetting(name, practice, top, halfway, weekly_cap_minutes=90.0)
                )
        second = heaviest.get((practice, name, 2))
        if second and number % 3 == 0:
            # Texts may also carry check-ins for this client; no phone.
            settings.append(
                BoundarySetting(
                    name,
                    practice,
                    second,
                    start,
                    allowed_channels=("email", "text", "portal", "video"),
                    channel_categories={"text": ("scheduling", "reminder", "check_in")},
                )
            )
    for setting in settings:
        check_setting(setting)
    for _, _, hours in weeks:
        check_working_hours(hours)
    with db.transaction() as cursor:
        changed = 0
        for setting in settings:
            changed += store_setting(cursor, setting, changed_by, scope)
        for practice, name, hours in weeks:
            found = find_therapist(cursor, name, practice)
            changed += store_working_hours(cursor, found, hours, changed_by)
        if changed:
            audit.record(cursor, scope, "boundary_edit", f"{changed} demo boundary entries")
    return len(settings) + len(weeks)
