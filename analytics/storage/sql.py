"""The query kit: SQL built from fragments that carry their own named parameters.

A ``Fragment`` is SQL text with ``$name`` placeholders and the values those names stand for.
Fragments combine without anyone counting question marks:

- ``all_of(a, b)`` / ``a & b`` and ``any_of(a, b)`` / ``a | b`` join conditions;
- ``query(TEMPLATE, where=fragment, ...)`` fills a template's ``{slot}``s with fragments
  (or allow-listed identifiers) and gathers every fragment's parameters.

Parameters merge by name. One name bound to two different values is a programming error
raised at once (``ParameterClash``), never a silent overwrite, so two fragments cannot
capture each other's values. Values never enter the text: the text is literal SQL written in
this code base, and the only other thing a slot takes is an ``Identifier`` that passed an
allow-list. This module is therefore the one place that fills SQL text; callers write
literal templates and fragments, never f-strings of SQL around values (and need no
``noqa: S608``).

In the style of Datasette's filters (each filter a ``(sql, params)`` with its own names) and
sqlite-utils' ``where=``/``where_args=``, with DuckDB's ``$name`` parameters.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, LiteralString

_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParameterClash(ValueError):
    """Two fragments bind one parameter name to different values (a bug, not user input)."""


class Identifier(str):
    """A column, table or alias name that passed an allow-list (see ``identifier``)."""

    __slots__ = ()


def identifier(name: str, allowed: Collection[str] | None = None) -> Identifier:
    """``name`` as an identifier a template may take, when it is in ``allowed`` (and in any
    case a plain SQL name: letters, digits and underscores)."""
    if not _IDENTIFIER.fullmatch(name) or (allowed is not None and name not in allowed):
        raise ValueError(f"{name!r} is not an allowed SQL name here")
    return Identifier(name)


def quoted_name(name: str) -> Identifier:
    """Any catalog name (a table or database name read from DuckDB's own catalog, a file's
    database name) double-quoted as one SQL identifier, so it cannot end the name early."""
    return Identifier('"' + name.replace('"', '""') + '"')


def _merged(parts: Iterable[Mapping[str, object]]) -> dict[str, object]:
    params: dict[str, object] = {}
    for part in parts:
        for name, value in part.items():
            if name in params and not _same(params[name], value):
                raise ParameterClash(
                    f"SQL parameter ${name} is bound to {params[name]!r} and to {value!r}"
                )
            params[name] = value
    return params


def _same(left: object, right: object) -> bool:
    try:
        return bool(left == right) and type(left) is type(right)
    except (TypeError, ValueError):  # arrays and frames compare element-wise
        return left is right


@dataclass(frozen=True)
class Fragment:
    """SQL text and the values of the ``$name`` parameters it uses."""

    text: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __and__(self, other: Fragment) -> Fragment:
        return all_of(self, other)

    def __or__(self, other: Fragment) -> Fragment:
        return any_of(self, other)

    @property
    def values(self) -> dict[str, object]:
        """The parameters as the plain dict DuckDB's ``execute`` takes, only those the text
        uses (DuckDB refuses a named parameter the statement does not mention)."""
        used = set(_PLACEHOLDER.findall(self.text))
        return {name: value for name, value in self.params.items() if name in used}

    @property
    def always(self) -> bool:
        """True for the condition that keeps every row."""
        return self.text == "TRUE"


def sql(text: LiteralString, **params: object) -> Fragment:
    """A fragment of literal SQL and the values of its ``$name`` parameters."""
    return Fragment(text, params)


TRUE = Fragment("TRUE")
FALSE = Fragment("FALSE")


def _joined(separator: str, fragments: Iterable[Fragment], neutral: Fragment) -> Fragment:
    kept = [fragment for fragment in fragments if fragment.text != neutral.text]
    if not kept:
        return neutral
    if len(kept) == 1:
        return kept[0]
    text = separator.join(f"({fragment.text})" for fragment in kept)
    return Fragment(text, _merged(fragment.params for fragment in kept))


def all_of(*fragments: Fragment) -> Fragment:
    """The conditions joined with AND (``TRUE`` when there are none)."""
    if any(fragment.text == "FALSE" for fragment in fragments):
        return Fragment("FALSE", _merged(fragment.params for fragment in fragments))
    return _joined(" AND ", fragments, TRUE)


def any_of(*fragments: Fragment) -> Fragment:
    """The conditions joined with OR (``FALSE`` when there are none)."""
    return _joined(" OR ", fragments, FALSE)


def query(template: LiteralString, /, **slots: Fragment | Identifier | object) -> Fragment:
    """``template`` with each ``{slot}`` filled: a ``Fragment`` by its text (its parameters
    join the query's), an ``Identifier`` by its name; any other keyword is a parameter
    value for a ``$name`` the template itself uses."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    texts: dict[str, str] = {}
    parts: list[Mapping[str, object]] = []
    own: dict[str, object] = {}
    for name, value in slots.items():
        if name in fields:
            if isinstance(value, Fragment):
                texts[name] = value.text
                parts.append(value.params)
            elif isinstance(value, Identifier):
                texts[name] = value
            else:
                raise TypeError(f"slot {{{name}}} takes a Fragment or an Identifier")
        else:
            own[name] = value
    missing = fields - texts.keys()
    if missing:
        raise TypeError(f"no fragment for {', '.join(sorted(missing))}")
    text = template.format_map(texts)  # fragments and allow-listed names only
    return Fragment(text, _merged([own, *parts]))


def in_list(column: LiteralString, name: str, values: Iterable[object]) -> Fragment:
    """``column`` is one of ``values`` (bound as one list parameter ``$name``)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a parameter name")
    return Fragment(f"list_contains(${name}, {column})", {name: list(values)})


def number(value: int) -> Fragment:
    """An integer constant of this code base written into the text, where the query plan
    must see a constant rather than a parameter (a hash draw's number, say)."""
    if type(value) is not int:
        raise TypeError(f"{value!r} is not an integer")
    return Fragment(str(value))


def execute(cursor: Any, fragment: Fragment) -> Any:
    """Run ``fragment`` on a DuckDB cursor with its parameters (by name)."""
    return cursor.execute(fragment.text, fragment.values)
