#!/usr/bin/env bash
# TPC-H SF1 benchmark: tpchgen-cli's Parquet files COPYed into Shale tables,
# the 22 queries over the wire, and DuckDB and DataFusion (Python) running the
# same queries over the same files in the same run. Builds nothing: build
# Shale first (cargo build --release -p shale) and `cargo install tpchgen-cli`.
#
#   bench/tpch.sh                 # Shale and the anchors
#   ANCHORS=0 bench/tpch.sh       # Shale only
#
# Environment (defaults in brackets):
#   SHALE_BIN   [$HOME/.cache/shale-target/release/shale]
#   WORK        [$HOME/.cache/shale-bench]  generated data (kept between runs)
#   SCALE [1]  RUNS [3]  ANCHORS [1]  UNLOAD [1] (also UNLOAD lineitem, both formats)
#   SORTKEYS [1] (0: orders and lineitem without their date SORTKEYs)
#   PYTHON      [$HOME/.cache/shale-bench-venv/bin/python; created if missing]
#   RESULTS_DIR [bench/results]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SHARED="${SHARED:-$HERE/../../shared/bench}"
SHALE_BIN="${SHALE_BIN:-$HOME/.cache/shale-target/release/shale}"
WORK="${WORK:-$HOME/.cache/shale-bench}"
SCALE="${SCALE:-1}"
RUNS="${RUNS:-3}"
ANCHORS="${ANCHORS:-1}"
UNLOAD="${UNLOAD:-1}"
SORTKEYS="${SORTKEYS:-1}"
VENV="$HOME/.cache/shale-bench-venv"
PYTHON="${PYTHON:-$VENV/bin/python}"
RESULTS_DIR="${RESULTS_DIR:-$HERE/results}"
PG_PORT=47639 AWS_PORT=47640 HTTP_PORT=47641
PASSWORD=Bench-Passw0rd

say() { echo "== $(date -u +%H:%M:%S) $*"; }
[[ -x "$SHALE_BIN" ]] || { echo "tpch.sh: no Shale binary at $SHALE_BIN (cargo build --release)" >&2; exit 1; }
command -v tpchgen-cli >/dev/null || { echo "tpch.sh: tpchgen-cli missing (cargo install tpchgen-cli)" >&2; exit 1; }
if [[ ! -x "$PYTHON" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q boto3 psycopg2-binary duckdb datafusion pyarrow
fi

data="$WORK/tpch-sf$SCALE"
if [[ ! -f "$data/lineitem.parquet" ]]; then
    say "generating TPC-H SF$SCALE"
    mkdir -p "$data"
    tpchgen-cli parquet -s "$SCALE" --output-dir="$data"
fi

tmp="$(mktemp -d)"
cleanup() {
    [[ -n "${shale_pid:-}" ]] && kill "$shale_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

say "starting shale"
SHALE_ADMIN_PASSWORD="$PASSWORD" "$SHALE_BIN" serve --data-dir "$tmp/shale" \
    --pg-port "$PG_PORT" --aws-port "$AWS_PORT" --http-port "$HTTP_PORT" >"$tmp/shale.log" 2>&1 &
shale_pid=$!
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$PG_PORT) 2>/dev/null && break
    sleep 0.2
done

anchor_flag=()
[[ "$ANCHORS" == 1 ]] && anchor_flag=(--anchors)
[[ "$UNLOAD" == 1 ]] && anchor_flag+=(--unload)
[[ "$SORTKEYS" == 1 ]] || anchor_flag+=(--no-sortkeys)
"$PYTHON" "$HERE/tpch.py" --parquet "$data" --pg-port "$PG_PORT" --aws-port "$AWS_PORT" \
    --password "$PASSWORD" --credentials "$tmp/shale/credentials" --pid "$shale_pid" \
    --runs "$RUNS" --anchors-dir "$SHARED/anchors" "${anchor_flag[@]}" \
    --out "$RESULTS_DIR/tpch.json" || { cp "$tmp/shale.log" "$RESULTS_DIR/shale-tpch-last.log"; exit 1; }
cp "$tmp/shale.log" "$RESULTS_DIR/shale-tpch-last.log"
