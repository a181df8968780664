#!/usr/bin/env python3
"""TPC-H SF1 benchmark: the 22 queries over Shale tables, side by side.

Shale's tables are loaded the way a Redshift user loads them: the Parquet
files tpchgen-cli wrote are uploaded to Shale's embedded S3 (boto3, not
timed), the tables are created with Redshift DDL and filled with
COPY ... FORMAT AS PARQUET (timed, commit and fsync included). Then every
query runs over the wire (psycopg2, client-side cursor, fetchall) once per
pass, --runs passes, and per-query medians are reported with their sum.

In the same invocation shared/bench/anchors/bench_tpch.py runs the same query
texts in DuckDB and DataFusion (Python) over the Parquet files, and the
results of all engines are cross-checked (numbers rounded to 2 decimals).

Usage (bench/tpch.sh sets this up):
  tpch.py --parquet DIR --pg-port P --aws-port A --password PW --credentials FILE
          --pid PID [--runs 3] [--anchors] [--out FILE]
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import statistics
import subprocess
import sys
import time

import boto3
import psycopg2
from botocore.config import Config

# Redshift's own TPC-H DDL shape: fixed-width text as CHAR, keys as the
# files' int64, money as DECIMAL(15,2); the big tables sorted by date.
DDL = {
    "region": "r_regionkey BIGINT NOT NULL, r_name CHAR(25) NOT NULL, r_comment VARCHAR(152) NOT NULL",
    "nation": "n_nationkey BIGINT NOT NULL, n_name CHAR(25) NOT NULL, n_regionkey BIGINT NOT NULL, "
              "n_comment VARCHAR(152) NOT NULL",
    "supplier": "s_suppkey BIGINT NOT NULL, s_name CHAR(25) NOT NULL, s_address VARCHAR(40) NOT NULL, "
                "s_nationkey BIGINT NOT NULL, s_phone CHAR(15) NOT NULL, s_acctbal DECIMAL(15,2) NOT NULL, "
                "s_comment VARCHAR(101) NOT NULL",
    "customer": "c_custkey BIGINT NOT NULL, c_name VARCHAR(25) NOT NULL, c_address VARCHAR(40) NOT NULL, "
                "c_nationkey BIGINT NOT NULL, c_phone CHAR(15) NOT NULL, c_acctbal DECIMAL(15,2) NOT NULL, "
                "c_mktsegment CHAR(10) NOT NULL, c_comment VARCHAR(117) NOT NULL",
    "part": "p_partkey BIGINT NOT NULL, p_name VARCHAR(55) NOT NULL, p_mfgr CHAR(25) NOT NULL, "
            "p_brand CHAR(10) NOT NULL, p_type VARCHAR(25) NOT NULL, p_size INTEGER NOT NULL, "
            "p_container CHAR(10) NOT NULL, p_retailprice DECIMAL(15,2) NOT NULL, p_comment VARCHAR(23) NOT NULL",
    "partsupp": "ps_partkey BIGINT NOT NULL, ps_suppkey BIGINT NOT NULL, ps_availqty INTEGER NOT NULL, "
                "ps_supplycost DECIMAL(15,2) NOT NULL, ps_comment VARCHAR(199) NOT NULL",
    "orders": "o_orderkey BIGINT NOT NULL, o_custkey BIGINT NOT NULL, o_orderstatus CHAR(1) NOT NULL, "
              "o_totalprice DECIMAL(15,2) NOT NULL, o_orderdate DATE NOT NULL, o_orderpriority CHAR(15) NOT NULL, "
              "o_clerk CHAR(15) NOT NULL, o_shippriority INTEGER NOT NULL, o_comment VARCHAR(79) NOT NULL",
    "lineitem": "l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL, "
                "l_linenumber INTEGER NOT NULL, l_quantity DECIMAL(15,2) NOT NULL, "
                "l_extendedprice DECIMAL(15,2) NOT NULL, l_discount DECIMAL(15,2) NOT NULL, "
                "l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL, l_linestatus CHAR(1) NOT NULL, "
                "l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL, l_receiptdate DATE NOT NULL, "
                "l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL, l_comment VARCHAR(44) NOT NULL",
}
SORTKEY = {"orders": "o_orderdate", "lineitem": "l_shipdate"}


def load(args, cur) -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(args.credentials)
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{args.aws_port}",
        aws_access_key_id=cfg["shale"]["aws_access_key_id"],
        aws_secret_access_key=cfg["shale"]["aws_secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="tpch")
    timings = {}
    for table, columns in DDL.items():
        s3.upload_file(os.path.join(args.parquet, f"{table}.parquet"), "tpch", f"{table}/{table}.parquet")
        sort = f" SORTKEY ({SORTKEY[table]})" if table in SORTKEY and args.sortkeys else ""
        cur.execute(f"CREATE TABLE {table} ({columns}){sort}")
        t0 = time.perf_counter()
        cur.execute(f"COPY {table} FROM 's3://tpch/{table}/' IAM_ROLE default FORMAT AS PARQUET")
        wall = time.perf_counter() - t0
        cur.execute("SELECT pg_last_copy_count()")
        rows = cur.fetchone()[0]
        timings[table] = {"wall": wall, "rows": rows}
        print(f"shale load {table}: {rows} rows in {wall:.2f} s", flush=True)
    return timings, s3


def run_shale(args, anchors_mod) -> dict:
    conn = psycopg2.connect(host="127.0.0.1", port=args.pg_port, user="awsuser",
                            password=args.password, dbname="dev", sslmode="disable")
    conn.autocommit = True
    cur = conn.cursor()
    loads, s3 = load(args, cur)
    qs = anchors_mod.load_queries(args.queries)
    times = {n: [] for n in qs}
    first, errors = {}, {}
    for p in range(args.runs):
        for n, sql in qs.items():
            if n in errors:
                continue
            t0 = time.perf_counter()
            try:
                cur.execute(sql)
                rows = cur.fetchall()
            except psycopg2.Error as e:
                errors[n] = f"{e.pgcode}: {str(e).strip()}"
                print(f"shale q{n:02d}: error {errors[n]}", flush=True)
                continue
            wall = time.perf_counter() - t0
            times[n].append(wall)
            if p == 0:
                first[n] = anchors_mod.normalize(rows)
            print(f"shale pass {p + 1} q{n:02d}: {wall:.3f}s rows={len(rows)}", flush=True)
    conn.close()
    unloads = run_unloads(args, s3) if args.unload else {}
    per_q = {n: statistics.median(v) for n, v in times.items() if v}
    with open(f"/proc/{args.pid}/status") as f:
        hwm = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM:"))
    return {"engine": "shale", "loads": loads, "per_query_median_s": per_q,
            "sum_of_medians_s": sum(per_q.values()), "errors": errors,
            "peak_rss_mib": hwm, "results": first, "unloads": unloads,
            "per_query_all": {n: [{"wall": w} for w in v] for n, v in times.items()}}


UNLOADS = {
    "csv_gzip": "UNLOAD ('SELECT * FROM lineitem') TO 's3://tpch/unload/{run}/csv/li_' "
                "IAM_ROLE default CSV GZIP",
    "parquet": "UNLOAD ('SELECT * FROM lineitem') TO 's3://tpch/unload/{run}/parquet/li_' "
               "IAM_ROLE default FORMAT AS PARQUET",
}
# The anchors' exports closest to each UNLOAD (parallel files where the engine has them).
UNLOAD_ANCHORS = {
    "csv_gzip": ["duckdb_csv_gzip_per_thread", "datafusion_csv_gzip_1file"],
    "parquet": ["duckdb_parquet_snappy_per_thread", "datafusion_parquet_1file"],
}


def run_unloads(args, s3) -> dict:
    """UNLOAD lineitem --runs times per format, each into a fresh prefix."""
    conn = psycopg2.connect(host="127.0.0.1", port=args.pg_port, user="awsuser",
                            password=args.password, dbname="dev", sslmode="disable")
    conn.autocommit = True
    cur = conn.cursor()
    out = {}
    for kind, sql in UNLOADS.items():
        walls, size, files = [], 0, 0
        for run in range(args.runs):
            t0 = time.perf_counter()
            cur.execute(sql.format(run=run))
            walls.append(time.perf_counter() - t0)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket="tpch", Prefix=f"unload/0/{kind.split('_')[0]}/")
        for page in pages:
            for o in page.get("Contents", []):
                size += o["Size"]
                files += 1
        out[kind] = {"median_wall_s": statistics.median(walls), "walls": walls,
                     "bytes": size, "files": files}
        print(f"shale unload {kind}: median {statistics.median(walls):.2f} s, {files} files, "
              f"{size / 1e6:.0f} MB", flush=True)
    conn.close()
    return out


def run_unload_anchors(args) -> dict:
    out = f"{args.out}.unload.json"
    variants = ",".join(v for vs in UNLOAD_ANCHORS.values() for v in vs)
    scratch = os.path.join(os.path.dirname(os.path.abspath(args.out)), "unload-scratch")
    subprocess.run([sys.executable, os.path.join(args.anchors_dir, "bench_unload.py"),
                    "--parquet", args.parquet, "--outdir", scratch, "--runs", str(args.runs),
                    "--variants", variants, "--out", out], check=True)
    with open(out) as f:
        return json.load(f)["variants"]


def run_anchor(args, engine: str) -> dict:
    out = f"{args.out}.{engine}.json"
    subprocess.run([sys.executable, os.path.join(args.anchors_dir, "bench_tpch.py"), "--engine", engine,
                    "--parquet", args.parquet, "--runs", str(args.runs), "--out", out], check=True)
    with open(out) as f:
        return json.load(f)


def differences(a: dict, b: dict) -> list[int]:
    return [n for n in range(1, 23)
            if str(n) in a and str(n) in b and a[str(n)] != b[str(n)]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parquet", required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--aws-port", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--anchors", action="store_true")
    ap.add_argument("--unload", action="store_true", help="also UNLOAD lineitem to gzip CSV and Parquet")
    ap.add_argument("--no-sortkeys", dest="sortkeys", action="store_false",
                    help="create orders and lineitem without their date SORTKEYs")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--anchors-dir", default=os.path.join(here, "../../shared/bench/anchors"))
    ap.add_argument("--out", default=os.path.join(here, "results/tpch.json"))
    args = ap.parse_args()
    args.queries = os.path.join(args.anchors_dir, "tpch_queries")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    sys.path.insert(0, args.anchors_dir)
    import bench_tpch  # the anchors' query loader and result normalization

    engines = {"shale": run_shale(args, bench_tpch)}
    if args.anchors:
        for e in ("datafusion", "duckdb"):
            engines[e] = run_anchor(args, e)
    unload_anchors = run_unload_anchors(args) if args.anchors and args.unload else {}
    # JSON keys are strings; compare on one footing.
    results = {e: {str(k): v for k, v in r["results"].items()} for e, r in engines.items()}
    report = {"engines": engines, "unload_anchors": unload_anchors, "mismatches": {
        e: differences(results["shale"], results[e]) for e in engines if e != "shale"}}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, default=str)

    names = list(engines)
    print("\n| query | " + " | ".join(names) + " | shale/datafusion |")
    print("|---|" + "---|" * (len(names) + 1))
    for n in range(1, 23):
        cells = []
        for e in names:
            v = {str(k): x for k, x in engines[e]["per_query_median_s"].items()}.get(str(n))
            cells.append(f"{v:.3f}" if v is not None else "error")
        ratio = "-"
        s = engines["shale"]["per_query_median_s"].get(n)
        d = engines.get("datafusion", {}).get("per_query_median_s", {}).get(str(n))
        if s and d:
            ratio = f"{s / d:.2f}"
        print(f"| q{n:02d} | " + " | ".join(cells) + f" | {ratio} |")
    sums = " | ".join(f"{engines[e]['sum_of_medians_s']:.2f}" for e in names)
    print(f"| sum | {sums} | |")
    for e, bad in report["mismatches"].items():
        print(f"results differing from {e}: {bad or 'none'}")
    if engines["shale"]["errors"]:
        print(f"shale errors: {engines['shale']['errors']}")
    unloads = engines["shale"]["unloads"]
    if unloads:
        print("\n| UNLOAD lineitem | shale s | anchor | its s | ratio (anchor time / shale time) |")
        print("|---|---|---|---|---|")
        for kind, r in unloads.items():
            for v in UNLOAD_ANCHORS[kind]:
                a = unload_anchors.get(v)
                cell = f"{a['median_wall_s']:.2f} | {a['median_wall_s'] / r['median_wall_s']:.2f}" if a else "- | -"
                print(f"| {kind} | {r['median_wall_s']:.2f} | {v} | {cell} |")
    print(f"shale peak RSS {engines['shale']['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
