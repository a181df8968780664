"""psycopg2 (libpq, simple query protocol, client-side parameter substitution)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

psycopg2 = pytest.importorskip("psycopg2")
import psycopg2.errors  # noqa: E402
import psycopg2.extensions  # noqa: E402

from shale_support import TYPE_COLUMNS, TYPE_ROW_EXPECTED, TYPE_ROW_SQL, unique_name  # noqa: E402


@pytest.fixture
def conn(shale_server):
    c = psycopg2.connect(**shale_server.psycopg2_kwargs())
    yield c
    c.close()


@pytest.mark.parametrize("sslmode", ["disable", "require"])
def test_connect_and_version(shale_server, sslmode):
    c = psycopg2.connect(**shale_server.psycopg2_kwargs(sslmode=sslmode))
    try:
        assert c.info.ssl_in_use is (sslmode == "require")
        assert c.server_version == 80002
        assert c.get_parameter_status("server_version") == "8.0.2"
        with c.cursor() as cur:
            cur.execute("select version()")
            (version,) = cur.fetchone()
        assert version.startswith("PostgreSQL 8.0.2 on "), version
        assert "Redshift 1.0." in version, version
    finally:
        c.close()


def test_parameterised_query(conn):
    with conn.cursor() as cur:
        cur.execute("select %s + 1, %s, %s", (41, "it's", None))
        assert cur.fetchone() == (42, "it's", None)


def test_backslashes_and_control_characters_survive_parameters(conn):
    """Literals take backslash escapes, as Redshift's do; the server says
    standard_conforming_strings is off, so psycopg2 sends E'...' with the
    backslashes doubled and every value arrives as written."""
    table = unique_name("pg2_backslash")
    values = ["back\\slash", "C:\\temp\\new", "tab\there", "line\nbreak", "\\N", "quote's"]
    with conn.cursor() as cur:
        cur.execute("show standard_conforming_strings")
        assert cur.fetchone()[0] == "off"
        cur.execute(f"create table {table} (v varchar(40))")
        cur.executemany(f"insert into {table} values (%s)", [(v,) for v in values])
        cur.execute(f"select v from {table} where v = %s", ("C:\\temp\\new",))
        assert cur.fetchall() == [("C:\\temp\\new",)]
        cur.execute(f"select v from {table}")
        assert sorted(r[0] for r in cur.fetchall()) == sorted(values)
    conn.commit()


def test_parameterised_insert_and_where(conn):
    table = unique_name("pg2_params")
    with conn.cursor() as cur:
        cur.execute(f"create table {table} (id integer, name varchar(40), amount decimal(10,2), d date, ts timestamp, ok boolean)")
        rows = [
            (1, "O'Brien", Decimal("12.50"), dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 58, 123456), True),
            (2, "plain", Decimal("-0.01"), dt.date(1999, 12, 31), dt.datetime(2000, 1, 1, 0, 0, 0), False),
            (3, None, None, None, None, None),
        ]
        cur.executemany(f"insert into {table} values (%s, %s, %s, %s, %s, %s)", rows)
        cur.execute(f"select id, name, amount, d, ts, ok from {table} where id >= %s and id <= %s order by id", (1, 3))
        assert cur.fetchall() == rows
        cur.execute(f"select id from {table} where name = %s", ("O'Brien",))
        assert cur.fetchall() == [(1,)]
    conn.commit()


def test_error_sets_pgcode_and_connection_recovers(conn):
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.Error) as excinfo:
            cur.execute("select * from no_such_table")
        assert excinfo.value.pgcode == "42P01"
        assert isinstance(excinfo.value, psycopg2.errors.UndefinedTable)
        assert 'relation "no_such_table" does not exist' in excinfo.value.pgerror
        conn.rollback()
        cur.execute("select 1")
        assert cur.fetchone() == (1,)


def test_division_by_zero_sqlstate(conn):
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.Error) as excinfo:
            cur.execute("select 1/0")
        assert excinfo.value.pgcode == "22012"
        assert "division by zero" in excinfo.value.pgerror
    conn.rollback()


def test_nested_begin_is_a_warning(conn):
    with conn.cursor() as cur:
        cur.execute("select 1")  # psycopg2 sent BEGIN implicitly before this
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        del conn.notices[:]
        cur.execute("BEGIN")  # must be a WARNING notice, not an error
        assert any(n.startswith("WARNING:") and "transaction in progress" in n for n in conn.notices), conn.notices
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        cur.execute("select 2")
        assert cur.fetchone() == (2,)
    conn.rollback()
    assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_failed_statement_aborts_transaction(conn):
    with conn.cursor() as cur:
        cur.execute("select 1")
        with pytest.raises(psycopg2.Error) as first:
            cur.execute("select * from no_such_table")
        assert first.value.pgcode == "42P01"
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INERROR
        for _ in range(2):
            with pytest.raises(psycopg2.Error) as again:
                cur.execute("select 1")
            assert again.value.pgcode == "25P02", again.value.pgerror
            assert isinstance(again.value, psycopg2.errors.InFailedSqlTransaction)
        conn.rollback()
        cur.execute("select 3")
        assert cur.fetchone() == (3,)
    conn.rollback()


def test_commit_is_visible_to_other_connections(shale_server, conn):
    table = unique_name("pg2_commit")
    with conn.cursor() as cur:
        cur.execute(f"create table {table} (id integer)")
        cur.execute(f"insert into {table} values (1), (2)")
    conn.commit()
    other = psycopg2.connect(**shale_server.psycopg2_kwargs())
    try:
        with other.cursor() as cur:
            cur.execute(f"select count(*) from {table}")
            assert cur.fetchone() == (2,)
    finally:
        other.close()


def test_type_round_trip(conn):
    table = unique_name("pg2_types")
    cols = ", ".join(f"{name} {ty}" for name, ty in TYPE_COLUMNS)
    names = ", ".join(name for name, _ in TYPE_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(f"create table {table} (id integer, {cols})")
        cur.execute(f"insert into {table} values (1, {TYPE_ROW_SQL})")
        cur.execute(f"insert into {table} (id) values (2)")
        cur.execute(f"select {names} from {table} order by id")
        rows = cur.fetchall()
    conn.commit()

    assert len(rows) == 2
    got = rows[0]
    for (name, ty), expected, value in zip(TYPE_COLUMNS, TYPE_ROW_EXPECTED, got):
        assert type(value) is type(expected), f"{name} {ty}: {value!r} is {type(value).__name__}"
        assert value == expected, f"{name} {ty}: got {value!r}, expected {expected!r}"
    tstz = got[-1]
    assert tstz.utcoffset() is not None, "timestamptz must come back tz-aware"
    assert got[-2].tzinfo is None, "timestamp must come back naive"
    assert rows[1] == (None,) * len(TYPE_COLUMNS)
