"""redshift_connector (extended query protocol, binary results, Redshift startup parameters)."""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal

import pytest

redshift_connector = pytest.importorskip("redshift_connector")

from shale_support import TYPE_COLUMNS, TYPE_ROW_EXPECTED, TYPE_ROW_SQL, unique_name  # noqa: E402

PROTOCOL_VERSIONS = [0, 1, 2]


def _connect(server, **kw):
    return redshift_connector.connect(**server.redshift_kwargs(**kw))


@pytest.fixture
def conn(shale_server):
    c = _connect(shale_server)
    yield c
    c.close()


def _version(c):
    cur = c.cursor()
    cur.execute("select version()")
    (version,) = cur.fetchone()
    return version


def _assert_version(version):
    assert version.startswith("PostgreSQL 8.0.2 on "), version
    assert "Redshift 1.0." in version, version


def test_connect_without_ssl(shale_server):
    c = _connect(shale_server, ssl=False)
    try:
        _assert_version(_version(c))
        assert (b"server_version", b"8.0.2") in c.parameter_statuses
    finally:
        c.close()


@pytest.mark.parametrize("sslmode", ["require", "verify-ca"])
def test_connect_with_ssl(shale_server, trust_server_cert, sslmode):
    c = _connect(shale_server, ssl=True, sslmode=sslmode)
    try:
        assert c._usock.cipher() is not None, "socket is not TLS-wrapped"
        _assert_version(_version(c))
    finally:
        c.close()


def test_parameterised_query(conn):
    table = unique_name("rc_params")
    cur = conn.cursor()
    cur.execute("select %s::integer + 1", (41,))
    assert cur.fetchone()[0] == 42
    cur.execute(f"create table {table} (id integer, name varchar(40), amount decimal(10,2), d date, ok boolean)")
    cur.execute(
        f"insert into {table} values (%s, %s, %s, %s, %s)",
        (1, "O'Brien", Decimal("12.50"), dt.date(2024, 2, 29), True),
    )
    cur.execute(f"insert into {table} values (%s, %s, %s, %s, %s)", (2, "plain", Decimal("-0.01"), dt.date(1999, 12, 31), False))
    cur.execute(f"select id, name, amount, d, ok from {table} where id > %s and name <> %s order by id", (0, "nobody"))
    assert [tuple(r) for r in cur.fetchall()] == [
        (1, "O'Brien", Decimal("12.50"), dt.date(2024, 2, 29), True),
        (2, "plain", Decimal("-0.01"), dt.date(1999, 12, 31), False),
    ]
    conn.commit()


def test_error_raises_programming_error(conn):
    cur = conn.cursor()
    with pytest.raises(redshift_connector.ProgrammingError) as excinfo:
        cur.execute("select * from no_such_table")
    fields = excinfo.value.args[0]
    assert isinstance(fields, dict), fields
    assert fields.get("C") == "42P01", fields
    assert fields.get("M") == 'relation "no_such_table" does not exist', fields
    assert "42P01" in str(excinfo.value) and "no_such_table" in str(excinfo.value)
    conn.rollback()
    cur.execute("select 1")
    assert cur.fetchone()[0] == 1


@pytest.mark.parametrize("protocol", PROTOCOL_VERSIONS)
def test_client_protocol_version(shale_server, protocol):
    c = _connect(shale_server, client_protocol_version=protocol)
    try:
        statuses = dict(c.parameter_statuses)
        if protocol > 0:
            assert statuses.get(b"server_protocol_version") == str(protocol).encode(), statuses
        assert c._client_protocol_version == protocol
        _assert_version(_version(c))
    finally:
        c.close()


@pytest.mark.parametrize("protocol", PROTOCOL_VERSIONS)
def test_type_round_trip(shale_server, protocol):
    c = _connect(shale_server, client_protocol_version=protocol)
    table = unique_name(f"rc_types_p{protocol}")
    cols = ", ".join(f"{name} {ty}" for name, ty in TYPE_COLUMNS)
    names = ", ".join(name for name, _ in TYPE_COLUMNS)
    try:
        assert c._client_protocol_version == protocol
        cur = c.cursor()
        cur.execute(f"create table {table} (id integer, {cols})")
        cur.execute(f"insert into {table} values (1, {TYPE_ROW_SQL})")
        cur.execute(f"insert into {table} (id) values (2)")
        cur.execute(f"select {names} from {table} order by id")
        rows = [tuple(r) for r in cur.fetchall()]
        c.commit()
    finally:
        c.close()

    assert len(rows) == 2
    got = rows[0]
    problems = []
    for (name, ty), expected, value in zip(TYPE_COLUMNS, TYPE_ROW_EXPECTED, got):
        if type(value) is not type(expected) or value != expected:
            problems.append(f"{name} {ty}: got {value!r} ({type(value).__name__}), expected {expected!r}")
    assert not problems, "\n".join(problems)
    assert got[-1].utcoffset() is not None, "timestamptz must come back tz-aware"
    assert got[-2].tzinfo is None, "timestamp must come back naive"
    assert rows[1] == (None,) * len(TYPE_COLUMNS)


def test_autocommit_on(shale_server):
    c = _connect(shale_server)
    table = unique_name("rc_autocommit")
    try:
        c.autocommit = True
        cur = c.cursor()
        cur.execute(f"create table {table} (id integer)")
        cur.execute(f"insert into {table} values (1)")
        assert c.in_transaction is False
        other = _connect(shale_server)
        try:
            ocur = other.cursor()
            ocur.execute(f"select count(*) from {table}")
            assert ocur.fetchone()[0] == 1
            other.rollback()
        finally:
            other.close()
    finally:
        c.close()


def test_autocommit_off(shale_server):
    c = _connect(shale_server)
    table = unique_name("rc_txn")
    try:
        assert c.autocommit is False
        cur = c.cursor()
        cur.execute(f"create table {table} (id integer)")  # driver sends "begin transaction" first
        assert c.in_transaction is True
        cur.execute(f"insert into {table} values (1), (2), (3)")
        c.commit()
        assert c.in_transaction is False
        cur.execute(f"select count(*) from {table}")
        assert cur.fetchone()[0] == 3
        assert c.in_transaction is True
        c.rollback()
        assert c.in_transaction is False
    finally:
        c.close()


def test_fetchmany_10000_rows(conn):
    table = unique_name("rc_many")
    cur = conn.cursor()
    cur.execute(f"create table {table} (id integer, label varchar(16))")
    for start in range(0, 10_000, 1_000):
        values = ", ".join(f"({i}, 'row-{i}')" for i in range(start, start + 1_000))
        cur.execute(f"insert into {table} values {values}")
    conn.commit()

    cur.execute(f"select id, label from {table} order by id")
    seen = 0
    batches = 0
    while True:
        batch = cur.fetchmany(1_000)
        if not batch:
            break
        batches += 1
        assert len(batch) == 1_000
        for row in batch:
            assert row[0] == seen and row[1] == f"row-{seen}", row
            seen += 1
    assert seen == 10_000
    assert batches == 10
    conn.rollback()
