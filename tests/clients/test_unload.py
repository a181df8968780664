"""UNLOAD to the embedded S3, as shared/seeds/004 and Airflow's RedshiftToS3Operator run it.

The parts are listed with boto3, the manifest is read, and every part is
parsed the way the seed's loader feeds them to PostgreSQL's COPY (tab
delimited text).
"""

from __future__ import annotations

import gzip
import json

import psycopg2
import pytest
import redshift_connector

from shale_support import unique_name


def test_seed_004_tab_delimited_parts_and_manifest(shale_server, s3_bucket):
    s3, name = s3_bucket
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs())
    conn.autocommit = True
    cur = conn.cursor()
    table = unique_name("zipcode_us")
    cur.execute(f"CREATE TABLE {table} (zip char(5), city varchar(40), state char(2), population int)")
    rows = [(f"{10000 + i:05d}", f"City {i}", "NY" if i % 2 else "CA", i * 10) for i in range(1, 2001)]
    values = ", ".join(f"('{z}', '{c}', '{s}', {p})" for z, c, s, p in rows)
    cur.execute(f"INSERT INTO {table} VALUES {values}")
    unload = (
        f"UNLOAD ('SELECT * FROM public.{table}')\n"
        f"TO 's3://{name}/us_zipcode/us_'\n"
        "iam_role 'arn:aws:iam::123456789012:role/service-role/AmazonRedshift-CommandsAccessRole-shale'\n"
        "DELIMITER AS '\\t'\n"
        "MANIFEST ALLOWOVERWRITE"
    )
    cur.execute(unload)
    assert any("UNLOAD completed, 2000 record(s) unloaded successfully." in n for n in conn.notices), conn.notices
    # Again: ALLOWOVERWRITE replaces the parts and the manifest.
    cur.execute(unload)

    exports = s3.list_objects_v2(Bucket=name, Prefix="us_zipcode/us_")
    keys = sorted(o["Key"] for o in exports["Contents"])
    parts = [k for k in keys if not k.endswith("manifest")]
    assert "us_zipcode/us_manifest" in keys
    assert parts and all(k.startswith("us_zipcode/us_") and k[len("us_zipcode/us_"):][4:12] == "_part_00" for k in parts), parts
    assert parts[0] == "us_zipcode/us_0000_part_00"

    manifest = json.loads(s3.get_object(Bucket=name, Key="us_zipcode/us_manifest")["Body"].read())
    urls = [e["url"] for e in manifest["entries"]]
    assert urls == [f"s3://{name}/{k}" for k in parts]
    got = []
    for entry, key in zip(manifest["entries"], parts):
        body = s3.get_object(Bucket=name, Key=key)["Body"].read()
        assert entry["meta"]["content_length"] == len(body)
        for line in body.decode().splitlines():
            zip_, city, state, population = line.split("\t")
            got.append((zip_, city, state, int(population)))
    assert sorted(got) == sorted(rows)
    conn.close()


def test_redshift_to_s3_operator_template(shale_server, s3_bucket):
    """RedshiftToS3Operator: dollar-quoted query, credentials string, HEADER, key {s3_key}/{table}_."""
    s3, name = s3_bucket
    key_id, secret = shale_server.aws_keys()
    conn = redshift_connector.connect(**shale_server.redshift_kwargs())
    cur = conn.cursor()
    schema = unique_name("s")
    cur.execute(f"CREATE SCHEMA {schema}")
    cur.execute(f"CREATE TABLE {schema}.orders (id int, note varchar(20))")
    cur.execute(f"INSERT INTO {schema}.orders VALUES (1, 'it''s'), (2, 'plain')")
    conn.commit()
    options = ["HEADER", "PARALLEL OFF", "GZIP"]
    sql = f"""
                    UNLOAD ($$SELECT * FROM {schema}.orders WHERE note <> 'x'$$)
                    TO 's3://{name}/exports/orders_'
                    credentials
                    'aws_access_key_id={key_id};aws_secret_access_key={secret}'
                    {chr(10).join(options)};
        """
    cur.execute(sql)
    conn.commit()
    listed = s3.list_objects_v2(Bucket=name, Prefix="exports/")
    assert [o["Key"] for o in listed["Contents"]] == ["exports/orders_000.gz"]
    text = gzip.decompress(s3.get_object(Bucket=name, Key="exports/orders_000.gz")["Body"].read()).decode()
    assert text.splitlines() == ["id|note", "1|it's", "2|plain"]
    conn.close()


def test_unload_errors_keep_the_server_serving(shale_server, s3_bucket):
    s3, name = s3_bucket
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs())
    conn.autocommit = True
    cur = conn.cursor()
    s3.put_object(Bucket=name, Key="taken/x_000", Body=b"old")
    with pytest.raises(psycopg2.Error) as err:
        cur.execute(f"UNLOAD ('select 1') TO 's3://{name}/taken/x_' IAM_ROLE default PARALLEL OFF")
    assert "Specified unload destination on S3 is not empty" in err.value.pgerror
    assert s3.get_object(Bucket=name, Key="taken/x_000")["Body"].read() == b"old"
    # A query that fails halfway leaves no parts behind.
    nums = unique_name("nums")
    cur.execute(f"CREATE TABLE {nums} AS SELECT value AS g FROM generate_series(1, 200000)")
    with pytest.raises(psycopg2.errors.DivisionByZero):
        cur.execute(f"UNLOAD ('select g, 1 / (g - 150000) from {nums}') TO 's3://{name}/failed/p_' IAM_ROLE default")
    assert s3.list_objects_v2(Bucket=name, Prefix="failed/").get("KeyCount", 0) == 0
    cur.execute("SELECT 1")
    assert cur.fetchone()[0] == 1
    conn.close()


def test_partition_by_writes_hive_folders(shale_server, s3_bucket):
    """PARTITION BY (region, day): `region=v/day=v/` folders (NULL in
    Redshift's __HIVE_DEFAULT_PARTITION__), keys left out of the files
    unless INCLUDE, one manifest at the root, CLEANPATH per folder."""
    s3, name = s3_bucket
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs())
    conn.autocommit = True
    cur = conn.cursor()
    t = unique_name("sales")
    cur.execute(f"CREATE TABLE {t} (id int, region varchar(10), day date, amount decimal(8,2), ratio float8)")
    cur.execute(
        f"INSERT INTO {t} VALUES (1, 'east', '2024-05-01', 10.50, 0.5), (2, 'west', '2024-05-01', 3.00, 1),"
        f" (3, 'east', '2024-05-02', 7.25, 2), (4, NULL, '2024-05-01', 1.00, 3), (5, 'east', '2024-05-01', 2.00, 4)"
    )
    role = "IAM_ROLE default"
    cur.execute(f"UNLOAD ('select id, region, day, amount from {t}') TO 's3://{name}/sales' {role} PARTITION BY (region, day) MANIFEST")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="sales/")["Contents"])
    assert keys == [
        "sales/manifest",
        "sales/region=__HIVE_DEFAULT_PARTITION__/day=2024-05-01/0000_part_00",
        "sales/region=east/day=2024-05-01/0000_part_00",
        "sales/region=east/day=2024-05-02/0000_part_00",
        "sales/region=west/day=2024-05-01/0000_part_00",
    ], keys
    body = s3.get_object(Bucket=name, Key="sales/region=east/day=2024-05-01/0000_part_00")["Body"].read().decode()
    assert sorted(body.splitlines()) == ["1|10.50", "5|2.00"]
    manifest = json.loads(s3.get_object(Bucket=name, Key="sales/manifest")["Body"].read())
    assert sorted(e["url"] for e in manifest["entries"]) == [f"s3://{name}/{k}" for k in keys if not k.endswith("manifest")]

    # INCLUDE keeps the keys in the files; Parquet parts end in .parquet.
    cur.execute(f"UNLOAD ('select id, region from {t} where id < 3') TO 's3://{name}/inc/' {role} PARTITION BY (region) INCLUDE")
    body = s3.get_object(Bucket=name, Key="inc/region=west/0000_part_00")["Body"].read().decode()
    assert body.splitlines() == ["2|west"]
    cur.execute(f"UNLOAD ('select id, region from {t}') TO 's3://{name}/pq/' {role} FORMAT AS PARQUET PARTITION BY (region)")
    assert "pq/region=east/0000_part_00.parquet" in [o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="pq/")["Contents"]]

    # CLEANPATH empties only the folders that receive new files.
    s3.put_object(Bucket=name, Key="sales/region=east/day=2024-05-01/stale", Body=b"old")
    s3.put_object(Bucket=name, Key="sales/region=north/day=2024-01-01/0000_part_00", Body=b"kept")
    cur.execute(f"UNLOAD ('select id, region, day from {t} where region = ''east''') TO 's3://{name}/sales/' {role} PARTITION BY (region, day) CLEANPATH")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="sales/")["Contents"]}
    assert "sales/region=east/day=2024-05-01/stale" not in keys
    assert "sales/region=north/day=2024-01-01/0000_part_00" in keys

    for bad, message in [
        (f"select id, region from {t}' ) TO 's3://{name}/x/' {role} PARTITION BY (nope", "nope"),
        (f"select id, ratio from {t}' ) TO 's3://{name}/x/' {role} PARTITION BY (ratio", "partition keys are"),
        (f"select region from {t}' ) TO 's3://{name}/x/' {role} PARTITION BY (region", "at least one column"),
    ]:
        with pytest.raises(psycopg2.Error) as e:
            cur.execute(f"UNLOAD ('{bad})")
        assert message in str(e.value), e.value
    assert s3.list_objects_v2(Bucket=name, Prefix="x/").get("KeyCount", 0) == 0
    conn.close()


def test_seed_004_parts_load_into_a_real_postgresql(shale_server, s3_bucket, real_postgres):
    """Seed 004 end to end: UNLOAD tab-delimited parts with a manifest, then
    load each part the manifest lists into a real PostgreSQL with COPY (text
    format). ESCAPE and NULL AS '\\N' make the bytes PostgreSQL's own text
    format, so tabs, newlines, backslashes and NULLs survive."""
    s3, name = s3_bucket
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs())
    conn.autocommit = True
    cur = conn.cursor()
    table = unique_name("zipcode_us")
    cur.execute(f"CREATE TABLE {table} (zip char(5), city varchar(40), state char(2), population int)")
    rows = [(f"{10000 + i:05d}", f"City {i}", "NY" if i % 2 else "CA", i * 10) for i in range(1, 3001)]
    cur.execute(f"INSERT INTO {table} VALUES " + ", ".join(f"('{z}', '{c}', '{st}', {p})" for z, c, st, p in rows))
    tricky = [("99901", "Tab\there", "AK", None), ("99902", "Line\nbreak \\ slash", None, 5)]
    cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", tricky)
    rows += tricky
    cur.execute(
        f"UNLOAD ('SELECT * FROM public.{table}') TO 's3://{name}/us_zipcode/us_' IAM_ROLE default "
        "DELIMITER AS '\\t' ESCAPE NULL AS '\\\\N' MANIFEST ALLOWOVERWRITE"
    )
    cur.execute(f"SELECT zip, city, state, population FROM {table}")
    expected = cur.fetchall()
    # What psycopg2 sent is what the warehouse holds, backslashes included.
    assert sorted(expected, key=str) == sorted(rows, key=str)
    conn.close()

    host, port = real_postgres
    pg = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
    pg.autocommit = True
    pcur = pg.cursor()
    pcur.execute(f"CREATE TABLE {table} (zip char(5), city varchar(40), state char(2), population int)")
    manifest = json.loads(s3.get_object(Bucket=name, Key="us_zipcode/us_manifest")["Body"].read())
    assert manifest["entries"]
    for entry in manifest["entries"]:
        key = entry["url"].split(f"s3://{name}/", 1)[1]
        body = s3.get_object(Bucket=name, Key=key)["Body"].read()
        assert entry["meta"]["content_length"] == len(body)
        import io

        pcur.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(body))
    pcur.execute(f"SELECT zip, city, state, population FROM {table}")
    assert sorted(pcur.fetchall(), key=str) == sorted(expected, key=str)
    pg.close()
