#!/usr/bin/env python3
"""Wire-protocol benchmark: Shale against PostgreSQL, side by side in one run.

Measurements (each engine given by its libpq DSN; either may be left out):

  select1   `SELECT 1` round trips per second with 1, 16 and 64 concurrent
            connections (--concurrency). Every connection lives in its own OS
            process (multiprocessing, fork), autocommit on. All workers connect,
            then run a warm-up (--warmup seconds) and a measured window
            (--seconds) that start at the same instant in every worker. Result:
            queries completed in the window / window length.
  fetch     A 1,000,000-row result (--rows): `SELECT i, j, s FROM bench_rows`,
            identical text on both engines, read (a) by psycopg2 with
            cursor.execute() + fetchall() and (b) by
            `psql -X -A -o /dev/null -c <query>`. Result: rows / wall seconds.

Every figure is the median of --runs repetitions. Runs alternate between the
engines (A B, B A, A B, ...) so that drift in machine load hits both alike.
Ratios are Shale / PostgreSQL of throughput: >= 1.0 means Shale is at least as
fast as PostgreSQL.

The table bench_rows(i bigint, j double precision, s varchar(32)) is created and
filled in each engine before the fetch test. Each engine has its own fill
statements (PostgreSQL: generate_series(...) AS t(i); Shale: DataFusion's
generate_series()/range(), which yield a column named `value`); the data are the
same: i = 1..N, j = i + 0.5, s = md5(i as text) (or a zero-padded i when md5 is
unavailable). Shale's fill is tried first; whatever data variant it accepts,
PostgreSQL is filled with the same. Every statement Shale rejects is recorded
with its exact error text in the JSON and printed.

Example:
  wire.py --pg-dsn "host=127.0.0.1 port=47432 user=postgres dbname=postgres sslmode=disable" \\
          --shale-dsn "host=127.0.0.1 port=47439 user=awsuser dbname=dev password=... sslmode=disable" \\
          --psql /usr/lib/postgresql/15/bin/psql --out-dir results/
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import time
import traceback

import psycopg2

ENGINE_NAMES = {"postgres": "PostgreSQL", "shale": "Shale"}
FETCH_SQL = "SELECT i, j, s FROM bench_rows"
CREATE_SQL = "CREATE TABLE bench_rows (i bigint, j double precision, s varchar(32))"

# Shale fill attempts, in order. (data variant, label, statements). {n} = row count.
SHALE_FILLS = [
    ("md5", "create + insert from generate_series()", [
        "DROP TABLE IF EXISTS bench_rows", CREATE_SQL,
        "INSERT INTO bench_rows SELECT CAST(value AS BIGINT), CAST(value AS DOUBLE PRECISION) + 0.5, "
        "md5(CAST(value AS VARCHAR)) FROM generate_series(1, {n})"]),
    ("md5", "create + insert from range()", [
        "DROP TABLE IF EXISTS bench_rows", CREATE_SQL,
        "INSERT INTO bench_rows SELECT CAST(value AS BIGINT), CAST(value AS DOUBLE PRECISION) + 0.5, "
        "md5(CAST(value AS VARCHAR)) FROM range(1, {n1})"]),
    ("md5", "CTAS from generate_series()", [
        "DROP TABLE IF EXISTS bench_rows",
        "CREATE TABLE bench_rows AS SELECT CAST(value AS BIGINT) AS i, "
        "CAST(value AS DOUBLE PRECISION) + 0.5 AS j, CAST(md5(CAST(value AS VARCHAR)) AS VARCHAR(32)) AS s "
        "FROM generate_series(1, {n})"]),
    ("lpad", "create + insert from generate_series(), lpad instead of md5", [
        "DROP TABLE IF EXISTS bench_rows", CREATE_SQL,
        "INSERT INTO bench_rows SELECT CAST(value AS BIGINT), CAST(value AS DOUBLE PRECISION) + 0.5, "
        "lpad(CAST(value AS VARCHAR), 32, '0') FROM generate_series(1, {n})"]),
    ("md5", "create + multi-row INSERT ... VALUES built by the client", "values"),
]

PG_FILLS = {
    "md5": ["DROP TABLE IF EXISTS bench_rows", CREATE_SQL,
            "INSERT INTO bench_rows SELECT i, i + 0.5, md5(i::text) FROM generate_series(1, {n}) AS t(i)",
            "VACUUM ANALYZE bench_rows"],
    "lpad": ["DROP TABLE IF EXISTS bench_rows", CREATE_SQL,
             "INSERT INTO bench_rows SELECT i, i + 0.5, lpad(i::text, 32, '0') FROM generate_series(1, {n}) AS t(i)",
             "VACUUM ANALYZE bench_rows"],
}

CHECK_SQL = "SELECT count(*), sum(i), sum(j), min(s), max(s) FROM bench_rows"


# --------------------------------------------------------------------------- helpers

def log(msg=""):
    print(msg, flush=True)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def cpu_idle_sample(seconds=1.0):
    """Percentage of idle CPU over a short sample (whole machine)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v), v[3] + v[4]
    try:
        t1, i1 = read()
        time.sleep(seconds)
        t2, i2 = read()
        return round(100.0 * (i2 - i1) / max(1, t2 - t1), 1)
    except OSError:
        return None


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def tree_cpu_seconds(root_pid):
    """CPU seconds (user+system) of a process, its live descendants, and its reaped children.

    For PostgreSQL the root is the postmaster: backends are its children. For Shale it is
    the server process itself (threads are counted in its own figures)."""
    if not root_pid:
        return None
    tck = os.sysconf("SC_CLK_TCK")
    try:
        f = _stat_fields(root_pid)
    except OSError:
        return None
    total = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            sf = _stat_fields(d)
        except OSError:
            continue
        children.setdefault(int(sf[1]), []).append((int(d), int(sf[11]) + int(sf[12])))
    todo = [int(root_pid)]
    while todo:
        p = todo.pop()
        for c, ticks in children.get(p, []):
            total += ticks
            todo.append(c)
    return total / tck


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_num(x):
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def connect(dsn):
    con = psycopg2.connect(dsn)
    con.autocommit = True
    return con


def err_text(e):
    """Exact error as the server (or libpq) reported it."""
    code = getattr(e, "pgcode", None)
    msg = str(e).strip()
    return f"{type(e).__name__}{' [' + code + ']' if code else ''}: {msg}"


# --------------------------------------------------------------------------- SELECT 1

def _select1_worker(dsn, times, go, done, ready_q, result_q, idx):
    try:
        con = connect(dsn)
        cur = con.cursor()
        cur.execute("SELECT 1")
        first = cur.fetchall()
        if first != [(1,)]:
            raise RuntimeError(f"SELECT 1 returned {first!r}")
    except Exception as e:  # noqa: BLE001 - reported to the parent verbatim
        ready_q.put((idx, err_text(e)))
        return
    ready_q.put((idx, None))
    if not go.wait(300) or times[0] == 0.0:
        con.close()
        return
    warm_until, end_at = times[0], times[1]
    n = warm = 0
    err = None
    try:
        while True:
            now = time.monotonic()
            if now >= end_at:
                break
            cur.execute("SELECT 1")
            cur.fetchall()
            if now >= warm_until:
                n += 1
            else:
                warm += 1
    except Exception as e:  # noqa: BLE001
        err = err_text(e)
    finished = time.monotonic()
    result_q.put((idx, n, warm, finished, err))
    # keep the connection (and its server backend) alive until the parent has read the
    # server's CPU counters: a backend that has exited may not be accounted yet
    done.wait(300)
    try:
        con.close()
    except Exception:  # noqa: BLE001
        pass


def run_select1(dsn, conns, seconds, warmup, server_pid):
    ctx = mp.get_context("fork")
    times = ctx.Array("d", 2, lock=False)
    go, done = ctx.Event(), ctx.Event()
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    c_before = os.times()
    procs = [ctx.Process(target=_select1_worker, args=(dsn, times, go, done, ready_q, result_q, i), daemon=True)
             for i in range(conns)]
    for p in procs:
        p.start()
    errors = []
    for _ in range(conns):
        try:
            idx, e = ready_q.get(timeout=300)
        except queue.Empty:
            errors.append("a worker neither connected nor failed within 300 s")
            break
        if e:
            errors.append(f"connection {idx}: {e}")
    if errors:
        go.set()  # times[0] == 0 tells the workers to quit
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
        return {"error": errors[0], "errors": errors[:5]}
    cpu0 = tree_cpu_seconds(server_pid)
    start = time.monotonic() + 0.05
    times[0] = start + warmup
    times[1] = start + warmup + seconds
    load0 = loadavg()
    go.set()
    results = []
    try:
        for _ in range(conns):
            results.append(result_q.get(timeout=seconds + warmup + 300))
    except queue.Empty:
        pass
    cpu1 = tree_cpu_seconds(server_pid)
    done.set()
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()
    if len(results) < conns:
        return {"error": f"only {len(results)} of {conns} workers reported (crashed or hung)"}
    c_after = os.times()
    errors = [f"connection {r[0]}: {r[4]}" for r in results if r[4]]
    total = sum(r[1] for r in results)
    warm_total = sum(r[2] for r in results)
    window = max(r[3] for r in results) - times[0]
    out = {
        "connections": conns, "queries": total, "window_s": window,
        "qps": total / window if window > 0 else None,
        "mean_latency_us": conns * window / total * 1e6 if total else None,
        "per_connection_min_max": [min(r[1] for r in results), max(r[1] for r in results)],
        "client_cpu_s": (c_after.children_user + c_after.children_system)
        - (c_before.children_user + c_before.children_system),
        "load_before": load0, "load_after": loadavg(),
    }
    if cpu0 is not None and cpu1 is not None and total + warm_total:
        out["server_cpu_s"] = cpu1 - cpu0
        out["server_cpu_us_per_query"] = (cpu1 - cpu0) / (total + warm_total) * 1e6
    if errors:
        out["error"] = errors[0]
        out["errors"] = errors[:5]
    return out


# --------------------------------------------------------------------------- fill + fetch

def run_statements(dsn, stmts, n, attempts_log):
    """Run statements in order on one connection; return None or the failing statement's error."""
    con = connect(dsn)
    try:
        cur = con.cursor()
        for s in stmts:
            sql = s.format(n=n, n1=n + 1)
            t0 = time.perf_counter()
            try:
                cur.execute(sql)
            except Exception as e:  # noqa: BLE001
                attempts_log.append({"sql": sql, "error": err_text(e)})
                return err_text(e)
            attempts_log.append({"sql": sql, "ok": True, "seconds": round(time.perf_counter() - t0, 3)})
        return None
    finally:
        con.close()


def md5_rows(lo, hi):
    return [(i, i + 0.5, hashlib.md5(str(i).encode()).hexdigest()) for i in range(lo, hi)]


def fill_with_values(dsn, n, attempts_log, batch=2000):
    err = run_statements(dsn, ["DROP TABLE IF EXISTS bench_rows", CREATE_SQL], n, attempts_log)
    if err:
        return err
    con = connect(dsn)
    cur = con.cursor()
    t0 = time.perf_counter()
    try:
        for lo in range(1, n + 1, batch):
            rows = md5_rows(lo, min(n + 1, lo + batch))
            values = ",".join(f"({i},{j!r},'{s}')" for i, j, s in rows)
            sql = f"INSERT INTO bench_rows VALUES {values}"
            try:
                cur.execute(sql)
            except Exception as e:  # noqa: BLE001
                attempts_log.append({"sql": sql[:200] + " ...", "error": err_text(e)})
                return err_text(e)
    finally:
        con.close()
    attempts_log.append({"sql": f"INSERT INTO bench_rows VALUES (...) x {batch} rows per statement",
                         "ok": True, "seconds": round(time.perf_counter() - t0, 3)})
    return None


def check_table(dsn, n):
    """Row count plus a cheap checksum; returns (ok, summary or error)."""
    try:
        con = connect(dsn)
        cur = con.cursor()
        cur.execute(CHECK_SQL)
        row = cur.fetchone()
        con.close()
    except Exception as e:  # noqa: BLE001
        return False, f"{CHECK_SQL}: {err_text(e)}"
    cnt, si, sj, mn, mx = row
    summary = {"count": int(cnt), "sum_i": int(si) if si is not None else None,
               "sum_j": float(sj) if sj is not None else None, "min_s": mn, "max_s": mx}
    return int(cnt) == n, summary


def fill_shale(dsn, n):
    attempts = []
    for variant, label, stmts in SHALE_FILLS:
        log(f"  shale fill: trying {label}")
        t0 = time.perf_counter()
        if stmts == "values":
            err = fill_with_values(dsn, n, attempts)
        else:
            err = run_statements(dsn, stmts, n, attempts)
        if err:
            log(f"    rejected: {err}")
            continue
        ok, summary = check_table(dsn, n)
        if not ok:
            attempts.append({"check": CHECK_SQL, "error": str(summary)})
            log(f"    check failed: {summary}")
            continue
        return {"variant": variant, "method": label, "seconds": time.perf_counter() - t0,
                "check": summary, "attempts": attempts}
    return {"error": "no fill method worked", "attempts": attempts}


def fill_pg(dsn, n, variant):
    attempts = []
    t0 = time.perf_counter()
    err = run_statements(dsn, PG_FILLS[variant], n, attempts)
    if err:
        return {"error": err, "attempts": attempts}
    ok, summary = check_table(dsn, n)
    if not ok:
        return {"error": f"check failed: {summary}", "attempts": attempts}
    return {"variant": variant, "method": "create + insert from generate_series(...) AS t(i)",
            "seconds": time.perf_counter() - t0, "check": summary, "attempts": attempts}


def fetch_psycopg2(dsn, n, server_pid):
    con = connect(dsn)
    cur = con.cursor()
    cpu0 = tree_cpu_seconds(server_pid)
    c0 = time.process_time()
    t0 = time.perf_counter()
    try:
        cur.execute(FETCH_SQL)
        rows = cur.fetchall()
    except Exception as e:  # noqa: BLE001
        con.close()
        return {"error": err_text(e)}
    wall = time.perf_counter() - t0
    c1 = time.process_time()
    cpu1 = tree_cpu_seconds(server_pid)
    got = len(rows)
    sample = [list(map(repr, r)) for r in rows[:1]]
    del rows
    con.close()
    out = {"wall_s": wall, "rows": got, "rows_per_s": got / wall, "client_cpu_s": c1 - c0,
           "first_row": sample, "load": loadavg()}
    if cpu0 is not None and cpu1 is not None:
        out["server_cpu_s"] = cpu1 - cpu0
    if got != n:
        out["error"] = f"expected {n} rows, got {got}"
    return out


def fetch_psql(psql, dsn, n, server_pid):
    cmd = [psql, "-X", "-q", "-A", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-d", dsn, "-c", FETCH_SQL]
    cpu0 = tree_cpu_seconds(server_pid)
    c0 = os.times()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    c1 = os.times()
    time.sleep(0.2)  # let the server account for the backend/session that just ended
    cpu1 = tree_cpu_seconds(server_pid)
    if p.returncode != 0:
        return {"error": f"psql exit {p.returncode}: {p.stderr.strip() or p.stdout.strip()}"}
    out = {"wall_s": wall, "rows": n, "rows_per_s": n / wall,
           "client_cpu_s": (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system),
           "load": loadavg()}
    if cpu0 is not None and cpu1 is not None:
        out["server_cpu_s"] = cpu1 - cpu0
    if p.stderr.strip():
        out["stderr"] = p.stderr.strip()[:2000]
    return out


# --------------------------------------------------------------------------- driver

def server_info(dsn):
    info = {}
    try:
        con = psycopg2.connect(dsn)
        info["server_version_param"] = con.get_parameter_status("server_version")
        info["protocol_version"] = con.protocol_version
        con.autocommit = True
        cur = con.cursor()
        try:
            cur.execute("SELECT version()")
            info["version"] = cur.fetchone()[0]
        except Exception as e:  # noqa: BLE001
            info["version_error"] = err_text(e)
        con.close()
    except Exception as e:  # noqa: BLE001
        info["connect_error"] = err_text(e)
    return info


def summarize(runs, key):
    ok = [r[key] for r in runs if "error" not in r and r.get(key) is not None]
    if not ok or len(ok) < len(runs):
        return None
    return median(ok)


def order_for(run_idx, engines):
    return engines if run_idx % 2 == 0 else list(reversed(engines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shale-dsn", help="libpq DSN of the Shale server")
    ap.add_argument("--pg-dsn", help="libpq DSN of the PostgreSQL server")
    ap.add_argument("--shale-pid", type=int, help="Shale server pid (for server CPU figures)")
    ap.add_argument("--pg-pid", type=int, help="postmaster pid (for server CPU figures)")
    ap.add_argument("--shale-build", default="unknown", help="label: release / debug / ...")
    ap.add_argument("--shale-bin", default="", help="recorded in the results only")
    ap.add_argument("--psql", default=shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql")
    ap.add_argument("--concurrency", default="1,16,64")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured window per SELECT 1 point")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up before each SELECT 1 window")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tests", default="select1,fetch", help="comma separated: select1,fetch")
    ap.add_argument("--out-dir", default="results")
    args = ap.parse_args()

    engines = [e for e, d in (("shale", args.shale_dsn), ("postgres", args.pg_dsn)) if d]
    if not engines:
        ap.error("give --shale-dsn and/or --pg-dsn")
    dsn = {"shale": args.shale_dsn, "postgres": args.pg_dsn}
    pid = {"shale": args.shale_pid, "postgres": args.pg_pid}
    tests = set(args.tests.split(","))
    conc = [int(c) for c in args.concurrency.split(",") if c]

    started = dt.datetime.now(dt.timezone.utc)
    res = {
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                    "psycopg2": psycopg2.__version__, "libpq": psycopg2.extensions.libpq_version(),
                    "cpu_idle_pct_at_start": cpu_idle_sample(), "load_at_start": loadavg()},
        "params": {"concurrency": conc, "seconds": args.seconds, "warmup": args.warmup, "rows": args.rows,
                   "runs": args.runs, "fetch_sql": FETCH_SQL, "psql": args.psql},
        "shale": {"build": args.shale_build, "bin": args.shale_bin},
        "servers": {},
        "select1": {}, "fetch": {}, "fill": {},
    }
    if args.shale_build == "debug" and "shale" in engines:
        log("!" * 78)
        log("!! WARNING: Shale is a DEBUG build. Its figures only prove the harness works;")
        log("!! they say nothing about Shale's speed. Use a release build for real numbers.")
        log("!" * 78)
    for e in engines:
        res["servers"][e] = server_info(dsn[e])
        log(f"{ENGINE_NAMES[e]}: {res['servers'][e]}")
    for e in list(engines):
        if "connect_error" in res["servers"][e]:
            log(f"!! cannot connect to {ENGINE_NAMES[e]}: {res['servers'][e]['connect_error']}")
    live = [e for e in engines if "connect_error" not in res["servers"][e]]

    if "select1" in tests:
        for c in conc:
            key = f"c{c}"
            runs = {e: [] for e in live}
            for r in range(args.runs):
                for e in order_for(r, live):
                    out = run_select1(dsn[e], c, args.seconds, args.warmup, pid[e])
                    runs[e].append(out)
                    if "error" in out and "qps" not in out:
                        log(f"SELECT 1 x{c:<3} {ENGINE_NAMES[e]:<10} run {r + 1}: ERROR {out['error']}")
                    else:
                        log(f"SELECT 1 x{c:<3} {ENGINE_NAMES[e]:<10} run {r + 1}: {out['qps']:>10,.0f} q/s"
                            f"  client cpu {out['client_cpu_s']:.1f}s"
                            + (f"  server {out['server_cpu_us_per_query']:.0f} us cpu/query"
                               if "server_cpu_us_per_query" in out else "")
                            + (f"  ERROR {out['error']}" if "error" in out else ""))
            res["select1"][key] = {e: {"runs": runs[e], "median_qps": summarize(runs[e], "qps")} for e in live}

    if "fetch" in tests:
        variant = "md5"
        fetchable = []
        if "shale" in live:
            log("filling bench_rows in Shale")
            f = fill_shale(dsn["shale"], args.rows)
            res["fill"]["shale"] = f
            if "error" in f:
                log(f"!! Shale: bench_rows could not be filled; fetch test skipped for Shale")
            else:
                variant = f["variant"]
                fetchable.append("shale")
                log(f"  shale fill: {f['method']} in {f['seconds']:.1f}s, check {f['check']}")
        if "postgres" in live:
            log(f"filling bench_rows in PostgreSQL (data variant {variant})")
            f = fill_pg(dsn["postgres"], args.rows, variant)
            res["fill"]["postgres"] = f
            if "error" in f:
                log(f"!! PostgreSQL fill failed: {f['error']}")
            else:
                fetchable.append("postgres")
                log(f"  postgres fill: {f['seconds']:.1f}s, check {f['check']}")
        if len(fetchable) == 2 and res["fill"]["shale"]["check"] != res["fill"]["postgres"]["check"]:
            msg = (f"table contents differ: shale {res['fill']['shale']['check']} "
                   f"vs postgres {res['fill']['postgres']['check']}")
            res["fill"]["mismatch"] = msg
            log(f"!! {msg}")
        fetchable = [e for e in live if e in fetchable]
        kinds = (("psycopg2_fetchall", lambda e: fetch_psycopg2(dsn[e], args.rows, pid[e])),
                 ("psql", lambda e: fetch_psql(args.psql, dsn[e], args.rows, pid[e])))
        for kind, fn in kinds:
            runs = {e: [] for e in fetchable}
            for e in fetchable:  # one warm-up pass per engine, not counted
                w = fn(e)
                log(f"fetch {kind:<17} {ENGINE_NAMES[e]:<10} warm-up: "
                    + (f"ERROR {w['error']}" if "error" in w else f"{w['wall_s']:.2f}s"))
                res["fetch"].setdefault(kind, {}).setdefault(e, {})["warmup"] = w
            for r in range(args.runs):
                for e in order_for(r, fetchable):
                    out = fn(e)
                    runs[e].append(out)
                    if "error" in out and "rows_per_s" not in out:
                        log(f"fetch {kind:<17} {ENGINE_NAMES[e]:<10} run {r + 1}: ERROR {out['error']}")
                    else:
                        log(f"fetch {kind:<17} {ENGINE_NAMES[e]:<10} run {r + 1}: {out['wall_s']:.2f}s "
                            f"{out['rows_per_s']:>10,.0f} rows/s  client cpu {out['client_cpu_s']:.2f}s"
                            + (f"  server cpu {out['server_cpu_s']:.2f}s" if "server_cpu_s" in out else "")
                            + (f"  ERROR {out['error']}" if "error" in out else ""))
            for e in fetchable:
                d = res["fetch"][kind][e]
                d["runs"] = runs[e]
                d["median_rows_per_s"] = summarize(runs[e], "rows_per_s")
                d["median_wall_s"] = summarize(runs[e], "wall_s")

    res["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    res["machine"]["load_at_end"] = loadavg()

    # ---- table
    rows = []
    for c in conc:
        d = res["select1"].get(f"c{c}")
        if d is not None:
            rows.append((f"SELECT 1, {c} connection{'s' if c > 1 else ''}", "queries/s",
                         {e: d[e]["median_qps"] for e in d},
                         {e: next((r["error"] for r in d[e]["runs"] if "error" in r), None) for e in d}))
    for kind, label in (("psycopg2_fetchall", "psycopg2 fetchall()"), ("psql", "psql -A -o /dev/null")):
        if "fetch" in tests:
            vals, errs = {}, {}
            for e in live:
                d = res["fetch"].get(kind, {}).get(e)
                vals[e] = d.get("median_rows_per_s") if d else None
                if d is None:
                    errs[e] = res["fill"].get(e, {}).get("error", "not run")
                else:
                    errs[e] = next((r["error"] for r in d.get("runs", []) if "error" in r), None)
            rows.append((f"{args.rows:,} rows, {label}", "rows/s", vals, errs))
    table = []
    hdr = ["Measurement", "unit"] + [ENGINE_NAMES[e] for e in ("postgres", "shale") if e in engines]
    if "shale" in engines and "postgres" in engines:
        hdr.append("Shale/PostgreSQL")
    table.append("| " + " | ".join(hdr) + " |")
    table.append("|" + "---|" * len(hdr))
    summary = []
    for name, unit, vals, errs in rows:
        cells = [name, unit]
        for e in ("postgres", "shale"):
            if e in engines:
                cells.append(fmt_num(vals.get(e)) if vals.get(e) is not None else "error" if errs.get(e) else "n/a")
        ratio = None
        if "shale" in engines and "postgres" in engines:
            if vals.get("shale") and vals.get("postgres"):
                ratio = vals["shale"] / vals["postgres"]
            cells.append(f"{ratio:.3f}" if ratio is not None else "n/a")
        table.append("| " + " | ".join(cells) + " |")
        summary.append({"measurement": name, "unit": unit, "values": vals, "ratio_shale_over_pg": ratio,
                        "errors": {k: v for k, v in errs.items() if v}})
    res["summary"] = summary
    res["table_markdown"] = "\n".join(table)

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, f"wire-{stamp}.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=2, default=str)
    with open(os.path.join(args.out_dir, f"wire-{stamp}.md"), "w") as f:
        f.write(res["table_markdown"] + "\n")

    log("")
    if args.shale_build == "debug" and "shale" in engines:
        log("NOTE: Shale is a DEBUG build: its figures and the ratios are NOT meaningful.")
    log(f"medians of {args.runs} runs; ratio = Shale / PostgreSQL throughput (>= 1.0: Shale at least as fast)")
    log(res["table_markdown"])
    for s in summary:
        for e, msg in s["errors"].items():
            log(f"  {s['measurement']} / {ENGINE_NAMES[e]}: {msg}")
    for e, f in res["fill"].items():
        if e in ENGINE_NAMES:
            for a in f.get("attempts", []):
                if "error" in a:
                    log(f"  fill {ENGINE_NAMES[e]} rejected: {a.get('sql', a.get('check'))}\n      -> {a['error']}")
    log(f"results: {path}")
    failed = any(s["values"].get(e) is None for s in summary for e in engines)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
