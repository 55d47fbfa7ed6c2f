"""Which comparison cells are hidden: one decision for every view a viewer can reach.

A viewer who sees the therapist comparison, the practice comparison, their total rows and
the monthly trends can add and subtract them. Suppression decided per table leaks: the
total minus the shown practices gives a hidden practice, a practice minus its shown
therapists a hidden therapist, the period minus the shown months a hidden month. So the
cells of all those views are judged together here (pure Python over a few hundred
aggregated cells; the per-row work happens in SQL in ``analytics.measures.compare``).

**Cells.** One per bucket (``"period"`` or a local month ``"YYYY-MM"``), level
(``"total"``, ``"practice"``, ``"therapist"``) and group id (0 for the total). A cell with
no row is zero, and a viewer knows it.

**Relations a viewer can use** (exact sums for minutes, hours and the minutes behind each
share; distinct clients are treated the same way, which is cautious):

* ``groups``: in every bucket, the total is the sum of the practices and each practice the
  sum of its therapists;
* ``months``: for every group, the period is the sum of its months.

**The rule** (DOMAIN.md, "Comparing fairly": counts from 1 to 10 are suppressed, and any
cell from which one can be worked out):

1. every cell with fewer than k active clients is hidden ("fewer than 11 clients");
2. until nothing changes: a relation with exactly one hidden member gives it away, so one
   more of its members is hidden; when no such relation is left, linear algebra checks
   whether some combination of relations still pins a hidden cell down (two groups of
   hidden cells joined by one cell can do that) and, if so, hides one more member of a
   relation in that combination.

Which member is hidden is deterministic: a child before the parent (another therapist
before the practice, a month before the period), then a month before a period figure and
a group before the total, then the member whose hiding leaves the fewest relations with a
single hidden member (so one hidden cell does not spread), then the fewest clients, then
the lowest id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Level = Literal["total", "practice", "therapist"]
PERIOD = "period"
"""The bucket of the whole period; months are ``YYYY-MM``."""

LEVELS: tuple[Level, ...] = ("therapist", "practice", "total")
"""Levels from the smallest groups up (the order complements are preferred in)."""

GROUPS_REASON = "suppressed so a hidden group cannot be worked out from the total"
MONTHS_REASON = "suppressed so a hidden figure cannot be worked out by adding up months"
COMBINED_REASON = "suppressed so a hidden figure cannot be worked out from the others"

_TOLERANCE = 1e-9


@dataclass(frozen=True, order=True)
class Cell:
    """One figure's place: its bucket, its level and its group (0 for the total)."""

    bucket: str
    level: Level
    group_id: int


@dataclass(frozen=True)
class Relation:
    """``parent`` = sum of ``children``: a sum a viewer can check with the views."""

    kind: Literal["groups", "months"]
    parent: Cell
    children: tuple[Cell, ...]

    @property
    def members(self) -> tuple[Cell, ...]:
        """The parent and its children."""
        return (self.parent, *self.children)


def small_reason(k: int) -> str:
    """The reason a cell under the group size is hidden: "fewer than 11 clients"."""
    return f"fewer than {k} clients"


def relations(cells: Iterable[Cell], practice_of: Mapping[int, int]) -> list[Relation]:
    """Every sum over ``cells`` a viewer can use: groups within a bucket, months within the
    period. ``practice_of`` maps each therapist id to its practice id."""
    present = set(cells)
    by_bucket: dict[str, list[Cell]] = defaultdict(list)
    months_of: dict[tuple[Level, int], list[Cell]] = defaultdict(list)
    for cell in sorted(present):
        by_bucket[cell.bucket].append(cell)
        if cell.bucket != PERIOD:
            months_of[(cell.level, cell.group_id)].append(cell)
    found: list[Relation] = []
    for bucket, members in sorted(by_bucket.items()):
        practices = tuple(cell for cell in members if cell.level == "practice")
        total = Cell(bucket, "total", 0)
        if total in present and practices:
            found.append(Relation("groups", total, practices))
        for practice in practices:
            therapists = tuple(
                cell
                for cell in members
                if cell.level == "therapist" and practice_of.get(cell.group_id) == practice.group_id
            )
            if therapists:
                found.append(Relation("groups", practice, therapists))
    for (level, group_id), months in sorted(months_of.items()):
        period = Cell(PERIOD, level, group_id)
        if period in present:
            found.append(Relation("months", period, tuple(months)))
    return found


def decide(clients: Mapping[Cell, int], practice_of: Mapping[int, int], k: int) -> dict[Cell, str]:
    """The hidden cells, each with its reason, for cells with these active-client counts."""
    rules = relations(clients, practice_of)
    rules.sort(key=_relation_order)
    rules_of: dict[Cell, list[int]] = defaultdict(list)
    for index, rule in enumerate(rules):
        for member in rule.members:
            rules_of[member].append(index)
    hidden = {cell: small_reason(k) for cell, count in sorted(clients.items()) if count < k}
    hidden_members = [sum(member in hidden for member in rule.members) for rule in rules]

    def hide(cell: Cell, reason: str) -> None:
        hidden[cell] = reason
        for index in rules_of[cell]:
            hidden_members[index] += 1

    def choose(candidates: Iterable[Cell], parent: Cell | None) -> Cell:
        return min(
            candidates,
            key=lambda cell: (
                cell == parent,
                cell.bucket == PERIOD,
                cell.level == "total",
                sum(hidden_members[index] == 0 for index in rules_of[cell]),
                clients[cell],
                LEVELS.index(cell.level),
                cell.group_id,
                cell.bucket,
            ),
        )

    while True:
        giving_away = next((i for i, count in enumerate(hidden_members) if count == 1), None)
        if giving_away is not None:
            rule = rules[giving_away]
            shown = [member for member in rule.members if member not in hidden]
            reason = GROUPS_REASON if rule.kind == "groups" else MONTHS_REASON
            hide(choose(shown, rule.parent), reason)
            continue
        pinned = pinned_down(rules, hidden)
        if pinned is None:
            return hidden
        _, used = pinned
        shown = [m for index in used for m in rules[index].members if m not in hidden]
        if not shown:  # cannot happen for sums over a tree; hide something rather than leak
            shown = [cell for cell in clients if cell not in hidden]
        hide(choose(shown, None), COMBINED_REASON)


def pinned_down(rules: list[Relation], hidden: Iterable[Cell]) -> tuple[Cell, list[int]] | None:
    """The first hidden cell whose value the relations determine from the shown cells, and
    the relations (indexes) that determine it; None when no hidden cell is determined.

    With the shown values substituted, the relations are A x = b over the hidden cells x.
    Cell j is determined exactly when its unit vector lies in the row space of A, that is
    when every vector of A's null space is zero at j.
    """
    columns = sorted(set(hidden))
    if not columns or not rules:
        return None
    matrix = relation_matrix(rules, columns)
    _, singular, right = np.linalg.svd(matrix)
    rank = int((singular > _TOLERANCE * max(1.0, float(singular.max(initial=0.0)))).sum())
    free = right[rank:]
    for j, cell in enumerate(columns):
        if np.all(np.abs(free[:, j]) < 1e-7):
            unit = np.zeros(len(columns))
            unit[j] = 1.0
            weights = np.linalg.lstsq(matrix.T, unit, rcond=None)[0]
            return cell, [i for i, weight in enumerate(weights) if abs(weight) > 1e-7]
    return None


def relation_matrix(rules: list[Relation], columns: list[Cell]) -> np.ndarray:
    """One row per relation, one column per cell of ``columns``: +1 parent, -1 child."""
    position = {cell: j for j, cell in enumerate(columns)}
    matrix = np.zeros((len(rules), len(columns)))
    for i, rule in enumerate(rules):
        if rule.parent in position:
            matrix[i, position[rule.parent]] += 1.0
        for child in rule.children:
            if child in position:
                matrix[i, position[child]] -= 1.0
    return matrix


def _relation_order(rule: Relation) -> tuple[int, str, int, int]:
    # The period's groups first (the main comparison), then months against the period,
    # then each month's groups; within each, from the total down.
    stage = 0 if rule.kind == "groups" and rule.parent.bucket == PERIOD else 1
    if rule.kind == "groups" and rule.parent.bucket != PERIOD:
        stage = 2
    return (stage, rule.parent.bucket, -LEVELS.index(rule.parent.level), rule.parent.group_id)


__all__ = [
    "COMBINED_REASON",
    "GROUPS_REASON",
    "LEVELS",
    "MONTHS_REASON",
    "PERIOD",
    "Cell",
    "Relation",
    "decide",
    "pinned_down",
    "relation_matrix",
    "relations",
    "small_reason",
]
