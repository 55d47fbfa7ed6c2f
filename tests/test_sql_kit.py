"""The query kit (``analytics.storage.sql``): fragments carry their own named parameters,
join safely, and run on a real DuckDB connection with the values they were built with."""

from datetime import date

import duckdb
import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.storage.sql import (
    FALSE,
    TRUE,
    Fragment,
    ParameterClash,
    all_of,
    any_of,
    identifier,
    in_list,
    query,
    sql,
)


@pytest.fixture
def cursor() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE contacts AS SELECT * FROM (VALUES "
        "(1, 10, 100, 'text', 'scheduling', TIMESTAMP '2026-03-01 09:00', 5.0), "
        "(1, 11, 101, 'phone', 'support', TIMESTAMP '2026-03-02 20:00', 12.0), "
        "(2, 20, 200, 'email', 'homework', TIMESTAMP '2026-03-03 10:00', 3.0)) "
        "AS t(practice_id, therapist_id, client_id, channel, category, local_started_at, minutes)"
    )
    connection.execute(
        "CREATE TABLE clients AS SELECT 100 AS client_id, 'c-a' AS client_key, "
        "1 AS practice_id, 10 AS therapist_id"
    )
    connection.execute("CREATE TABLE sessions (client_id INT, practice_id INT, therapist_id INT)")
    return connection


def minutes(cursor: duckdb.DuckDBPyConnection, where: Fragment) -> float:
    statement = query("SELECT coalesce(sum(minutes), 0) FROM contacts AS c WHERE {w}", w=where)
    row = cursor.execute(statement.text, statement.values).fetchone()
    assert row is not None
    return float(row[0])


def test_fragments_join_with_their_own_parameters(cursor: duckdb.DuckDBPyConnection) -> None:
    texts = in_list("c.channel", "channels", ["text", "phone"])
    late = sql("hour(c.local_started_at) >= $late", late=18)
    assert minutes(cursor, texts) == 17.0
    assert minutes(cursor, texts & late) == 12.0
    assert minutes(cursor, any_of(late, sql("c.minutes < $short", short=4.0))) == 15.0
    assert minutes(cursor, all_of()) == 20.0
    assert minutes(cursor, texts & FALSE) == 0.0


def test_one_name_with_two_values_is_refused() -> None:
    with pytest.raises(ParameterClash, match=r"\$n"):
        all_of(sql("a = $n", n=1), sql("b = $n", n=2))
    # the same value under the same name is one parameter, not a clash
    assert all_of(sql("a = $n", n=1), sql("b = $n", n=1)).values == {"n": 1}


def test_slots_take_fragments_and_allowed_names_only() -> None:
    with pytest.raises(TypeError, match="Fragment or an Identifier"):
        query("SELECT * FROM t WHERE {w}", w="1 = 1; DROP TABLE t")
    with pytest.raises(ValueError, match="not an allowed SQL name"):
        identifier("minutes; DROP TABLE contacts", {"minutes"})
    with pytest.raises(ValueError, match="not an allowed SQL name"):
        identifier("hours", {"minutes"})
    statement = query("SELECT sum({column}) FROM t", column=identifier("minutes", {"minutes"}))
    assert statement.text == "SELECT sum(minutes) FROM t"
    with pytest.raises(TypeError, match="no fragment for w"):
        query("SELECT * FROM t WHERE {w}")


def test_values_lists_only_the_parameters_the_text_uses() -> None:
    statement = query("SELECT $a + 1", a=1, unused=2)
    assert statement.values == {"a": 1}
    assert TRUE.always and not FALSE.always


def test_filter_and_scope_fragments_select_the_rows(cursor: duckdb.DuckDBPyConnection) -> None:
    therapist = Scope.therapist("t@example.org", (11,))
    assert minutes(cursor, ContactFilter(scope=therapist).fragment()) == 12.0
    supervisor = Scope.supervisor("s@example.org", (1,))
    assert minutes(cursor, ContactFilter(scope=supervisor).fragment()) == 17.0
    assert minutes(cursor, ContactFilter(scope=Scope.nobody("x")).fragment()) == 0.0
    period = ContactFilter(start=date(2026, 3, 2), end=date(2026, 3, 2))
    assert minutes(cursor, period.fragment()) == 12.0  # the end day is included whole
    assert minutes(cursor, ContactFilter(client_keys=("c-a",)).fragment()) == 5.0
    both = ContactFilter(channels=("text", "email"), categories=("homework",))
    assert minutes(cursor, both.fragment()) == 3.0


def test_a_client_fragment_joins_two_scoped_subqueries(cursor: duckdb.DuckDBPyConnection) -> None:
    therapist = Scope.therapist("t@example.org", (10,))
    statement = query(
        "SELECT count(*) FROM clients AS k WHERE {w}", w=therapist.client_fragment("k")
    )
    assert statement.values == {"scope_therapists": [10]}
    row = cursor.execute(statement.text, statement.values).fetchone()
    assert row == (1,)  # client 100 is listed under therapist 10
    colleague = Scope.therapist("u@example.org", (11,))  # had no contact with client 100
    statement = query(
        "SELECT count(*) FROM clients AS k WHERE {w}", w=colleague.client_fragment("k")
    )
    row = cursor.execute(statement.text, statement.values).fetchone()
    assert row == (0,)


def test_catalog_names_are_quoted_whole(cursor: duckdb.DuckDBPyConnection) -> None:
    from analytics.storage.sql import quoted_name

    cursor.execute('CREATE TABLE "odd ""name"" 2" AS SELECT 7 AS n')
    counting = query("SELECT n FROM {table}", table=quoted_name('odd "name" 2'))
    assert counting.text == 'SELECT n FROM "odd ""name"" 2"'
    assert cursor.execute(counting.text).fetchall() == [(7,)]


def test_numbers_enter_the_text_only_as_integers() -> None:
    from analytics.storage.sql import number

    assert query("SELECT {n} + 1", n=number(41)).text == "SELECT 41 + 1"
    with pytest.raises(TypeError):
        number("1; DROP TABLE contacts")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        number(True)
