"""Suppression across views: nothing hidden may be worked out from what is shown.

Two kinds of test. Hand-worked ones give ``suppression.decide`` a few cells (active
clients per cell, k) and check which cells it hides and why. The property test builds real
databases with hypothesis, reads every comparison view a viewer can reach (therapists,
practices, both total rows, both monthly trends), writes down every sum a viewer can use
(the total is the sum of the practices, a practice the sum of its therapists, the period
the sum of its months) and checks with linear algebra, independently of the library's own
check, that no hidden cell's value follows from the shown ones.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.access import suppression
from analytics.access.filters import ContactFilter
from analytics.access.suppression import Cell
from analytics.measures import compare
from analytics.storage.database import Database
from analytics.storage.store import add_contacts
from tests.test_compare import ZONES, _contact

K = 11
SMALL = "fewer than 11 clients"


def cells(**clients: int) -> dict[Cell, int]:
    """Cells from short names: ``T3`` therapist 3, ``P1`` practice 1, ``total``; a month
    after two underscores (``T3__2026-01``), else the period."""
    found: dict[Cell, int] = {}
    for name, count in clients.items():
        group, _, month = name.partition("__")
        bucket = month.replace("_", "-") or suppression.PERIOD
        if group == "total":
            found[Cell(bucket, "total", 0)] = count
        else:
            level = "therapist" if group[0] == "T" else "practice"
            found[Cell(bucket, level, int(group[1:]))] = count  # type: ignore[arg-type]
    return found


def names(hidden: dict[Cell, str]) -> dict[str, str]:
    """The hidden cells under their short names, as ``cells`` writes them."""
    short = {"therapist": "T", "practice": "P"}
    named = {}
    for cell, reason in hidden.items():
        group = "total" if cell.level == "total" else f"{short[cell.level]}{cell.group_id}"
        month = "" if cell.bucket == suppression.PERIOD else "__" + cell.bucket.replace("-", "_")
        named[group + month] = reason
    return named


# Practice 1 holds therapists 1, 2 and 3; practice 2 holds therapist 4.
PRACTICE_OF = {1: 1, 2: 1, 3: 1, 4: 2}

HAND_WORKED = [
    pytest.param(
        # T1 (5) is under 11; P1 = T1 + T2 + T3 shows, so a sibling goes too: the smaller of
        # T2 (20) and T3 (15), i.e. T3. The total (= P1) has one shown member and nothing
        # hidden, so it stays.
        cells(T1=5, T2=20, T3=15, P1=40, total=40),
        {"T1": SMALL, "T3": suppression.GROUPS_REASON},
        id="a lone hidden therapist takes its smallest sibling",
    ),
    pytest.param(
        # T4 (5) is P2's only therapist, so P2 (= T4) must go; then total = P1 + P2 gives
        # P2 away unless P1 goes too (a child before the parent: the total stays); then
        # P1 = T1 + T2 gives itself away unless a therapist goes: T1 (12) is smaller than
        # T2 (30). Shown: T2, the total; T1 + P1 and P2 + T4 are pairs of unknowns.
        cells(T1=12, T2=30, P1=42, T4=5, P2=5, total=47),
        {
            "T4": SMALL,
            "P2": SMALL,
            "P1": suppression.GROUPS_REASON,
            "T1": suppression.GROUPS_REASON,
        },
        id="a practice of one hides the other practice and one of its therapists",
    ),
    pytest.param(
        # Two small therapists in one practice need no complement: T1 + T2 = P1 - T3 is one
        # sum of two unknowns.
        cells(T1=5, T2=6, T3=20, P1=31, total=31),
        {"T1": SMALL, "T2": SMALL},
        id="two hidden siblings need no complement",
    ),
    pytest.param(
        # T1 has 15 clients in the period, 4 in January and 11 in February. January is
        # hidden, so T1's February goes too (a month before the period, which stays). Then
        # January's P1 = T1 + T2 gives T1's January away unless T2's January goes (a child
        # before the parent), and T2's period = January + February then hides T2's
        # February. Four unknowns, four sums (two rows, two columns) of rank 3: none is
        # fixed, and every period figure and P1 in each month stay shown.
        cells(
            T1=15,
            T1__2026_01=4,
            T1__2026_02=11,
            T2=30,
            T2__2026_01=15,
            T2__2026_02=15,
            P1=45,
            P1__2026_01=19,
            P1__2026_02=26,
        ),
        {
            "T1__2026_01": SMALL,
            "T1__2026_02": suppression.MONTHS_REASON,
            "T2__2026_01": suppression.GROUPS_REASON,
            "T2__2026_02": suppression.MONTHS_REASON,
        },
        id="a small month hides another month, never the period",
    ),
]


@pytest.mark.parametrize(("clients", "expected"), HAND_WORKED)
def test_hidden_cells_by_hand(clients: dict[Cell, int], expected: dict[str, str]) -> None:
    hidden = suppression.decide(clients, PRACTICE_OF, K)
    assert names(hidden) == expected
    assert suppression.pinned_down(suppression.relations(clients, PRACTICE_OF), hidden) is None


def test_a_hidden_cell_pinned_down_by_a_chain_of_sums_is_covered() -> None:
    # One practice (P1 = total) with therapists 1..4 over four months. Hidden for being
    # small: T1 and T2 in January and February (a 2 x 2 block), T3 and T4 in March and
    # April (another block) and T1's March, which joins them. Every sum holds 0 or at least
    # 2 hidden cells, yet T1's March is pinned down: (T1's months + T2's months) minus
    # (January's and February's therapists) leaves exactly T1's March.
    months = ("2026_01", "2026_02", "2026_03", "2026_04")
    small = {"T1__2026_01", "T1__2026_02", "T2__2026_01", "T2__2026_02",
             "T3__2026_03", "T3__2026_04", "T4__2026_03", "T4__2026_04", "T1__2026_03"}  # fmt: skip
    counts = {
        f"T{t}__{m}": 3 if f"T{t}__{m}" in small else 20 for t in (1, 2, 3, 4) for m in months
    }
    counts |= {f"T{t}": 50 for t in (1, 2, 3, 4)}
    counts |= {f"P1__{m}": 50 for m in months} | {f"total__{m}": 50 for m in months}
    counts |= {"P1": 200, "total": 200}
    clients = cells(**counts)
    one_practice = {1: 1, 2: 1, 3: 1, 4: 1}
    rules = suppression.relations(clients, one_practice)
    primary = {cell: SMALL for cell, count in clients.items() if count < K}
    assert all(
        sum(member in primary for member in rule.members) != 1 for rule in rules
    )  # the one-hidden-member rule alone sees nothing wrong
    pinned = suppression.pinned_down(rules, primary)
    assert pinned is not None and names({pinned[0]: ""}) == {"T1__2026_03": ""}

    hidden = suppression.decide(clients, one_practice, K)
    extra = names({cell: reason for cell, reason in hidden.items() if cell not in primary})
    # One more cell breaks the chain: a month (not a period), of a therapist (not the
    # practice or total), opening no new sum with one hidden member, 20 clients like every
    # candidate, the lowest therapist id: T1, whose only shown month left is April.
    assert extra == {"T1__2026_04": suppression.COMBINED_REASON}
    assert suppression.pinned_down(rules, hidden) is None


def test_every_view_reads_the_one_pattern(tmp_path: Path) -> None:
    # Dee's 5 clients: the pattern hides Dee and Cy (South Clinic = Cy + Dee) in the period
    # and in March, and the comparison and trend rows say exactly what the pattern says.
    from tests.test_compare import PERIOD, build_fixture

    db = build_fixture(tmp_path / "four.duckdb", small_group=True)
    try:
        pattern = compare.suppression_pattern(db, PERIOD)
        hidden = pattern[pattern["suppressed"]]
        names_of = dict(db.frame("SELECT therapist_id, name FROM therapists", []).values)
        assert sorted(
            (row.bucket, names_of[row.group_id], row.suppressed_reason)
            for row in hidden.itertuples()
        ) == [
            ("2026-03", "Cy", suppression.MONTHS_REASON),
            ("2026-03", "Dee", SMALL),
            ("period", "Cy", suppression.GROUPS_REASON),
            ("period", "Dee", SMALL),
        ]
        assert set(hidden["level"]) == {"therapist"}
        table = compare.comparison(db, PERIOD, "therapist", pattern=pattern)
        trend = compare.monthly_trend(db, PERIOD, "therapist", pattern=pattern)
        for frame in (table, trend):
            assert sorted(frame.loc[frame["suppressed"], "group"]) == ["Cy", "Dee"]
        # clients per cell agree with the comparison's own count
        shown = table[~table["suppressed"]]
        period = pattern[
            (pattern["bucket"] == "period") & pattern["level"].isin(["therapist", "total"])
        ]
        assert dict(zip(shown["group_id"], shown["clients"], strict=True)) == {
            group_id: clients
            for group_id, clients in zip(period["group_id"], period["clients"], strict=True)
            if group_id in set(shown["group_id"])
        }
    finally:
        db.close()


# --- the property: nothing hidden can be worked out across views -----------------------------

MONTHS = ("2026-01", "2026-02", "2026-03")
WHOLE = ContactFilter(start=date(2026, 1, 1), end=date(2026, 3, 31))


@st.composite
def workloads(draw: Any) -> tuple[dict[tuple[str, str], int], int]:
    """Active clients per therapist and month (each client in one month only), and k."""
    therapists = draw(st.lists(st.sampled_from(list(ZONES)), min_size=1, max_size=4, unique=True))
    sizes = {
        (therapist, month): draw(st.integers(min_value=0, max_value=9))
        for therapist in sorted(therapists)
        for month in MONTHS
    }
    if not any(sizes.values()):
        sizes[next(iter(sizes))] = 1
    return sizes, draw(st.integers(min_value=2, max_value=9))


def _views(db: Database, k: int) -> tuple[dict[tuple[str, str, str], Any], dict[str, str]]:
    """Every cell of every comparison view: minutes where shown (any view showing it makes
    it known), None where hidden; and each therapist's practice as the views show it."""
    known: dict[tuple[str, str, str], Any] = {}
    practice_of: dict[str, str] = {}
    for by in ("therapist", "practice"):
        table = compare.comparison(db, WHOLE, by, k)
        trend = compare.monthly_trend(db, WHOLE, by, k)
        frames = [("period", table), *((month, trend[trend["month"] == month]) for month in MONTHS)]
        for bucket, frame in frames:
            for row in frame.to_dict("records"):
                level = "total" if row["is_total"] else by
                key = (bucket, level, "all" if row["is_total"] else str(row["group"]))
                if row["suppressed"]:
                    known.setdefault(key, None)
                else:
                    assert row["clients"] >= k, f"{key} shows {row['clients']} clients"
                    known[key] = float(row["minutes"])
                if by == "therapist" and not row["is_total"]:
                    practice_of[str(row["group"])] = str(row["practice"])
    return known, practice_of


def _sums(
    known: dict[tuple[str, str, str], Any], practice_of: dict[str, str]
) -> list[tuple[tuple[str, str, str], list[tuple[str, str, str]]]]:
    """Every sum a viewer can use: (parent, children); a cell no view lists is zero."""
    sums = []
    for bucket in ("period", *MONTHS):
        practices = sorted({practice for practice in practice_of.values()})
        sums.append(((bucket, "total", "all"), [(bucket, "practice", p) for p in practices]))
        for practice in practices:
            members = sorted(t for t, p in practice_of.items() if p == practice)
            sums.append(
                ((bucket, "practice", practice), [(bucket, "therapist", t) for t in members])
            )
    groups = [("total", "all"), *(("practice", p) for p in set(practice_of.values())),
              *(("therapist", t) for t in practice_of)]  # fmt: skip
    for level, name in groups:
        sums.append((("period", level, name), [(month, level, name) for month in MONTHS]))
    return sums


def _determined(known: dict[tuple[str, str, str], Any], sums: list[Any]) -> list[Any]:
    """Hidden cells whose value the sums fix: those whose unit vector lies in the row space
    of the sums' coefficients over the hidden cells (the rank does not grow when added)."""
    hidden = sorted(key for key, value in known.items() if value is None)
    if not hidden:
        return []
    column = {key: j for j, key in enumerate(hidden)}
    rows = []
    for parent, children in sums:
        row = np.zeros(len(hidden))
        for key, sign in [(parent, 1.0), *((child, -1.0) for child in children)]:
            if key in column:
                row[column[key]] += sign
        rows.append(row)
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    return [
        key
        for key, j in column.items()
        if np.linalg.matrix_rank(np.vstack([matrix, np.eye(len(hidden))[j]])) == rank
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_no_hidden_cell_can_be_worked_out_across_views(
    workload: tuple[dict[tuple[str, str], int], int],
) -> None:
    sizes, k = workload
    contacts = [
        _contact(therapist, f"{therapist}-{month}-{n}", f"{month}-15T10:00", 5 + n)
        for (therapist, month), size in sizes.items()
        for n in range(size)
    ]
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "views.duckdb")
        try:
            add_contacts(db, pd.DataFrame(contacts), source="test")
            known, practice_of = _views(db, k)
        finally:
            db.close()
    sums = _sums(known, practice_of)
    # the sums are real: wherever every member is shown, the parent is their sum
    for parent, children in sums:
        members = [parent, *children]
        if all(known.get(key, 0.0) is not None for key in members):
            assert known.get(parent, 0.0) == pytest.approx(
                sum(known.get(child, 0.0) for child in children)
            ), parent
    assert _determined(known, sums) == []
