#!/usr/bin/env bash
# COPY benchmark: 2,000,000 events (shared/bench/gen_events.py) as 8 gzip NDJSON
# files and as 8 gzip CSV files, loaded by Shale's COPY from its embedded S3,
# with DuckDB, DataFusion and PostgreSQL loading the same files in the same run.
# Builds nothing: build Shale first (cargo build --release).
#
#   bench/copy_load.sh                 # Shale and the anchors
#   ANCHORS=0 bench/copy_load.sh       # Shale only
#
# Environment (defaults in brackets):
#   SHALE_BIN   [$HOME/.cache/shale-target/release/shale]
#   WORK        [$HOME/.cache/shale-bench]  generated data (kept between runs)
#   ROWS [2000000]  FILES [8]  RUNS [3]  ANCHORS [1]
#   PGBIN       [/usr/lib/postgresql/15/bin] for the PostgreSQL anchor (skipped if absent)
#   PYTHON      [$HOME/.cache/shale-bench-venv/bin/python; created if missing]
#   RESULTS_DIR [bench/results]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SHARED="${SHARED:-$HERE/../../shared/bench}"
SHALE_BIN="${SHALE_BIN:-$HOME/.cache/shale-target/release/shale}"
WORK="${WORK:-$HOME/.cache/shale-bench}"
ROWS="${ROWS:-2000000}"
FILES="${FILES:-8}"
RUNS="${RUNS:-3}"
ANCHORS="${ANCHORS:-1}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
VENV="$HOME/.cache/shale-bench-venv"
PYTHON="${PYTHON:-$VENV/bin/python}"
RESULTS_DIR="${RESULTS_DIR:-$HERE/results}"
PG_PORT=47539 AWS_PORT=47540 HTTP_PORT=47541 POSTGRES_PORT=47532
PASSWORD=Bench-Passw0rd

say() { echo "== $(date -u +%H:%M:%S) $*"; }
[[ -x "$SHALE_BIN" ]] || { echo "copy_load.sh: no Shale binary at $SHALE_BIN (cargo build --release)" >&2; exit 1; }
if [[ ! -x "$PYTHON" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q boto3 psycopg2-binary duckdb datafusion pyarrow
fi

data="$WORK/events-$ROWS-$FILES"
if [[ ! -d "$data/ndjson" ]]; then
    say "generating $ROWS events"
    python3 "$SHARED/gen_events.py" --rows "$ROWS" --files "$FILES" --seed 42 --out "$data/ndjson"
    python3 "$SHARED/gen_events.py" --rows "$ROWS" --files "$FILES" --seed 42 --format csv --out "$data/csv"
fi

tmp="$(mktemp -d)"
pg_pid=""
cleanup() {
    [[ -n "${shale_pid:-}" ]] && kill "$shale_pid" 2>/dev/null || true
    if [[ -n "$pg_pid" ]]; then as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

say "starting shale"
SHALE_ADMIN_PASSWORD="$PASSWORD" "$SHALE_BIN" serve --data-dir "$tmp/shale" \
    --pg-port "$PG_PORT" --aws-port "$AWS_PORT" --http-port "$HTTP_PORT" >"$tmp/shale.log" 2>&1 &
shale_pid=$!
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$PG_PORT) 2>/dev/null && break
    sleep 0.2
done

pg_args=()
if [[ "$ANCHORS" == 1 && -x "$PGBIN/initdb" ]]; then
    say "starting a throwaway PostgreSQL"
    mkdir -p "$tmp/pg" && chmod 777 "$tmp"
    [ "$(id -u)" = 0 ] && chown postgres "$tmp/pg"
    as_pg "$PGBIN/initdb" -D "$tmp/pg" -U postgres >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -o "-p $POSTGRES_PORT -k $tmp -c wal_level=minimal -c max_wal_senders=0" -l "$tmp/pg.log" start >/dev/null
    pg_pid=1
    pg_args=(--pg-dsn "host=$tmp port=$POSTGRES_PORT user=postgres dbname=postgres")
fi

anchor_flag=()
[[ "$ANCHORS" == 1 ]] && anchor_flag=(--anchors)
"$PYTHON" "$HERE/copy_load.py" --ndjson "$data/ndjson" --csv "$data/csv" \
    --pg-port "$PG_PORT" --aws-port "$AWS_PORT" --password "$PASSWORD" \
    --credentials "$tmp/shale/credentials" --pid "$shale_pid" --runs "$RUNS" \
    --anchors-dir "$SHARED/anchors" "${anchor_flag[@]}" "${pg_args[@]}" \
    --out "$RESULTS_DIR/copy_load.json"
