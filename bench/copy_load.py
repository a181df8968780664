#!/usr/bin/env python3
"""COPY benchmark: 2M tracking events from S3 into a typed table, side by side.

Shale runs the COPY a Redshift user would run (gzip NDJSON with JSON 'auto',
gzip CSV with IGNOREHEADER 1) from its embedded S3 into the table that
shared/bench/gen_events.py documents (SORTKEY (ts) included). The anchors
(DuckDB, DataFusion, PostgreSQL) run in the same invocation through
shared/bench/anchors/bench_events_load.py, and the ratios are printed.

The files are uploaded with boto3 before timing; each timed COPY loads into
a freshly truncated table and includes its commit (fsync). Shale's peak
resident memory (VmHWM) is read after each format's runs.

Usage (bench/copy_load.sh sets all of this up):
  copy_load.py --ndjson DIR --csv DIR --pg-port P --aws-port A --password PW --pid PID
               [--anchors] [--pg-dsn DSN] [--runs 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import configparser
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import boto3
import psycopg2
from botocore.config import Config

DDL = """
CREATE TABLE events (
    event_id    CHAR(36)      NOT NULL,
    event_type  VARCHAR(32)   NOT NULL,
    ts          TIMESTAMP     NOT NULL,
    user_id     VARCHAR(16),
    session_id  CHAR(16)      NOT NULL,
    page_url    VARCHAR(512)  NOT NULL,
    referrer    VARCHAR(512),
    user_agent  VARCHAR(512),
    country     CHAR(2),
    device      VARCHAR(16)   NOT NULL,
    properties  SUPER,
    revenue     DECIMAL(12,2)
) SORTKEY (ts)
"""

COPIES = {
    "json": "COPY events FROM 's3://bench/ndjson/' IAM_ROLE default FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto'",
    "csv": "COPY events FROM 's3://bench/csv/' IAM_ROLE default CSV GZIP IGNOREHEADER 1 TIMEFORMAT 'auto'",
}

ANCHOR_FOR = {
    "json": ["duckdb_json_typed", "datafusion_json_typed", "pg_json"],
    "csv": ["duckdb_csv", "datafusion_csv", "pg_csv"],
}


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0); needs the same user or root.
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def upload(s3, directory: str, prefix: str) -> int:
    total = 0
    for path in sorted(glob.glob(os.path.join(directory, "*.gz"))):
        s3.upload_file(path, "bench", f"{prefix}/{os.path.basename(path)}")
        total += 1
    return total


def run_shale(args) -> dict:
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
    s3.create_bucket(Bucket="bench")
    formats = {"json": args.ndjson, "csv": args.csv}
    conn = psycopg2.connect(host="127.0.0.1", port=args.pg_port, user="awsuser",
                            password=args.password, dbname="dev", sslmode="disable")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(DDL)
    results = {}
    for kind, directory in formats.items():
        if not directory:
            continue
        upload(s3, directory, "ndjson" if kind == "json" else "csv")
        walls, rows = [], None
        reset_peak(args.pid)
        for _ in range(args.runs):
            cur.execute("TRUNCATE events")
            t0 = time.perf_counter()
            cur.execute(COPIES[kind])
            walls.append(time.perf_counter() - t0)
            cur.execute("SELECT pg_last_copy_count()")
            rows = cur.fetchone()[0]
        results[kind] = {
            "wall_median": statistics.median(walls),
            "walls": walls,
            "rows": rows,
            "rows_per_s": rows / statistics.median(walls),
            "peak_rss_mb": peak_rss_mb(args.pid),
        }
        print(f"shale {kind}: {rows} rows, median {statistics.median(walls):.2f} s, "
              f"{rows / statistics.median(walls):,.0f} rows/s, peak RSS {results[kind]['peak_rss_mb']:.0f} MB",
              flush=True)
    conn.close()
    return results


def run_anchors(args) -> dict:
    script = os.path.join(args.anchors_dir, "bench_events_load.py")
    variants = [v for kind in ("json", "csv") for v in ANCHOR_FOR[kind]
                if args.pg_dsn or not v.startswith("pg_")]
    out = args.out + ".anchors.json"
    cmd = [sys.executable, script, "--ndjson", args.ndjson, "--csv", args.csv,
           "--runs", str(args.runs), "--variants", ",".join(variants), "--out", out]
    if args.pg_dsn:
        cmd += ["--pg-dsn", args.pg_dsn]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        return json.load(f)


def anchor_rate(anchors: dict, variant: str):
    v = anchors.get("variants", {}).get(variant)
    return v["rows_per_s"] if v else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ndjson", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--aws-port", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--anchors", action="store_true")
    ap.add_argument("--anchors-dir", default=os.path.join(os.path.dirname(__file__), "../../shared/bench/anchors"))
    ap.add_argument("--pg-dsn")
    ap.add_argument("--out", default="bench/results/copy_load.json")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    shale = run_shale(args)
    anchors = run_anchors(args) if args.anchors else {}
    report = {"shale": shale, "anchors": anchors}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)

    print("\n| load | Shale rows/s | peak RSS | best anchor | its rows/s | ratio |")
    print("|---|---|---|---|---|---|")
    for kind, res in shale.items():
        best = None
        for v in ANCHOR_FOR[kind]:
            rate = anchor_rate(anchors, v)
            if rate and (best is None or rate > best[1]):
                best = (v, rate)
        if best:
            print(f"| {kind} gzip | {res['rows_per_s']:,.0f} | {res['peak_rss_mb']:.0f} MB | {best[0]} | "
                  f"{best[1]:,.0f} | {res['rows_per_s'] / best[1]:.2f} |")
        else:
            print(f"| {kind} gzip | {res['rows_per_s']:,.0f} | {res['peak_rss_mb']:.0f} MB | - | - | - |")


if __name__ == "__main__":
    main()
