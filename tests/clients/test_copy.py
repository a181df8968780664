"""COPY from the embedded S3, as the pipelines in shared/seeds/ run it.

Files are put with boto3 (the way Airflow's S3Hook and a Firehose-style
delivery leave them), then loaded with the clients' own COPY texts:
PostgresHook through psycopg2 (U2), S3ToRedshiftOperator's templates through
redshift_connector, and a partitioned gzip JSON re-import (U4).
"""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal

import psycopg2
import pytest
import redshift_connector

from shale_support import unique_name


def pg_connect(server):
    return psycopg2.connect(**server.psycopg2_kwargs())


def test_postgres_hook_copy_csv_with_access_keys(shale_server, s3_bucket):
    """U2: list keys under a prefix, CREATE TABLE, COPY with access keys."""
    s3, name = s3_bucket
    rows = "\n".join(f"{i},trip {i},{i * 1.5:.2f}" for i in range(1, 201))
    s3.put_object(Bucket=name, Key="trips/2024/01/part-0.csv", Body=f"id,name,fare\n{rows}\n")
    s3.put_object(Bucket=name, Key="trips/2024/01/part-1.csv", Body="id,name,fare\n201,last,9.99\n")
    listed = s3.list_objects_v2(Bucket=name, Prefix="trips/2024/")
    assert [o["Key"] for o in listed["Contents"]] == [
        "trips/2024/01/part-0.csv",
        "trips/2024/01/part-1.csv",
    ]

    key_id, secret = shale_server.aws_keys()
    table = unique_name("trips")
    conn = pg_connect(shale_server)
    try:
        cur = conn.cursor()  # psycopg2 opens a transaction block first, as PostgresHook does
        cur.execute(f"CREATE TABLE {table} (id int, name varchar(20), fare decimal(8,2))")
        cur.execute(
            f"COPY {table} FROM 's3://{name}/trips/2024/' "
            f"ACCESS_KEY_ID '{key_id}' SECRET_ACCESS_KEY '{secret}' CSV IGNOREHEADER 1"
        )
        conn.commit()
        assert any(
            f"Load into table '{table}' completed, 201 record(s) loaded successfully." in n
            for n in conn.notices
        ), conn.notices
        cur.execute(f"SELECT count(*), sum(fare) FROM {table}")
        count, total = cur.fetchone()
        assert count == 201
        expected = sum(Decimal(f"{i * 1.5:.2f}") for i in range(1, 201)) + Decimal("9.99")
        assert total == expected
        cur.execute("SELECT pg_last_copy_count()")
        assert cur.fetchone()[0] == 201
    finally:
        conn.close()


def test_bad_rows_fail_the_load_and_are_explained(shale_server, s3_bucket):
    s3, name = s3_bucket
    s3.put_object(Bucket=name, Key="bad/rows.txt", Body="1|ok\nnope|bad\n3|ok\n")
    table = unique_name("bad")
    conn = pg_connect(shale_server)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int, v varchar(10))")
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(f"COPY {table} FROM 's3://{name}/bad/' IAM_ROLE default")
        assert err.value.pgcode == "XX000"
        assert (
            f"Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
            in err.value.pgerror
        )
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone()[0] == 0
        cur.execute(
            "SELECT trim(filename), line_number, trim(colname), err_code, trim(err_reason) "
            "FROM stl_load_errors WHERE query = pg_last_copy_id()"
        )
        filename, line, column, code, reason = cur.fetchone()
        assert filename == f"s3://{name}/bad/rows.txt"
        assert (line, column, code) == (2, "id", 1207)
        assert reason.startswith("Invalid digit, Value 'n'")
        # The server keeps serving after a failed load.
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def _operator_copy(schema_table, bucket, key, creds, options):
    """S3ToRedshiftOperator's COPY template, whitespace as the operator emits it."""
    joined = "\n\t\t\t".join(options)
    return f"""
                    COPY {schema_table}
                    FROM 's3://{bucket}/{key}'
                    credentials
                    '{creds}'
                    {joined};
        """


def test_s3_to_redshift_operator_upsert(shale_server, s3_bucket):
    """The UPSERT method: COPY into #tmp LIKE the target, then delete+insert in a block."""
    s3, name = s3_bucket
    s3.put_object(Bucket=name, Key="users/users.csv", Body="1,alice\n2,bob-new\n3,carol\n")
    key_id, secret = shale_server.aws_keys()
    creds = f"aws_access_key_id={key_id};aws_secret_access_key={secret}"
    conn = redshift_connector.connect(**shale_server.redshift_kwargs())
    try:
        cur = conn.cursor()
        schema = unique_name("s")
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(
            f"CREATE TABLE {schema}.users (id int, name varchar(20) DEFAULT 'unknown')"
        )
        cur.execute(f"INSERT INTO {schema}.users VALUES (2, 'bob-old'), (9, 'zed')")
        conn.commit()
        statements = [
            f"CREATE TABLE #users (LIKE {schema}.users INCLUDING DEFAULTS);",
            _operator_copy("#users", name, "users/users.csv", creds, ["csv"]),
            "BEGIN;",
            f"DELETE FROM {schema}.users USING #users WHERE users.id = #users.id;",
            f"INSERT INTO {schema}.users SELECT * FROM #users;",
            "COMMIT",
        ]
        for sql in statements:
            cur.execute(sql)
        conn.commit()
        cur.execute(f"SELECT id, name FROM {schema}.users ORDER BY id")
        assert [tuple(r) for r in cur.fetchall()] == [
            (1, "alice"),
            (2, "bob-new"),
            (3, "carol"),
            (9, "zed"),
        ]
    finally:
        conn.close()


def test_partitioned_gzip_json_reimport(shale_server, s3_bucket):
    """U4: hourly YYYY/MM/DD/HH partitions of gzip JSON; one partition re-imported."""
    s3, name = s3_bucket
    events = []
    for hour in (10, 11):
        for part in range(3):
            lines = []
            for i in range(100):
                event = {
                    "event_id": f"{hour}-{part}-{i}",
                    "event_type": "click" if i % 2 else "view",
                    "ts": f"2024-05-01 {hour:02d}:{i % 60:02d}:00",
                    "props": {"page": f"/p/{i}"},
                }
                lines.append(json.dumps(event))
                events.append(event)
            body = gzip.compress(("\n".join(lines) + "\n").encode())
            s3.put_object(Bucket=name, Key=f"events/2024/05/01/{hour:02d}/part-{part}.json.gz", Body=body)
    table = unique_name("events")
    conn = pg_connect(shale_server)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE TABLE {table} (event_id varchar(32), event_type varchar(16), "
            "ts timestamp, props super)"
        )
        for hour in (10, 11):
            cur.execute(
                f"COPY {table} FROM 's3://{name}/events/2024/05/01/{hour:02d}/' "
                "IAM_ROLE 'arn:aws:iam::123456789012:role/service-role/AmazonRedshift-CommandsAccessRole-shale' FORMAT AS JSON 'auto' GZIP"
            )
        cur.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {table}")
        assert cur.fetchone() == (600, 600)
        # Re-import hour 10 idempotently: delete the partition's rows, load again, in one block.
        conn.autocommit = False
        cur.execute(f"DELETE FROM {table} WHERE ts >= '2024-05-01 10:00:00' AND ts < '2024-05-01 11:00:00'")
        cur.execute(
            f"COPY {table} FROM 's3://{name}/events/2024/05/01/10/' "
            "IAM_ROLE default JSON 'auto' GZIP"
        )
        conn.commit()
        cur.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {table}")
        assert cur.fetchone() == (600, 600)
        cur.execute(f"SELECT props FROM {table} WHERE event_id = '10-0-7'")
        assert json.loads(cur.fetchone()[0]) == {"page": "/p/7"}
    finally:
        conn.close()


def test_copy_from_stdin_is_refused_cleanly(shale_server):
    """PostgresHook.bulk_load sends COPY ... FROM STDIN; Redshift refuses it."""
    table = unique_name("stdin")
    conn = pg_connect(shale_server)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int)")
        with pytest.raises(psycopg2.errors.SyntaxError):
            cur.copy_expert(f"COPY {table} FROM STDIN", io.StringIO("1\n"))
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()
