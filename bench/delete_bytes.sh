#!/usr/bin/env bash
# Storage benchmark: DELETE of 1% of a 10,000,000-row table must write a
# deletion vector, not a copy of the table. Starts a Shale server with a fresh
# data directory, fills `big`, deletes every 100th row, and reports the bytes
# the server process wrote for the DELETE (/proc/<pid>/io write_bytes) against
# the size of the table's files. Bytes do not depend on the build type.
#
#   SHALE_BIN   [$HOME/.cache/shale-target/release/shale, else .../debug/shale]
#   ROWS        [10000000]
#   PORT        [47539]
set -euo pipefail
BIN="${SHALE_BIN:-$HOME/.cache/shale-target/release/shale}"
[[ -x "$BIN" ]] || BIN="$HOME/.cache/shale-target/debug/shale"
ROWS="${ROWS:-10000000}"
PORT="${PORT:-47539}"
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

SHALE_ADMIN_PASSWORD=Bench-Passw0rd SHALE_LOG=warn "$BIN" serve --data-dir "$WORK/data" \
    --pg-port "$PORT" --aws-port $((PORT + 1)) --http-port $((PORT + 2)) &
PID=$!
export PGPASSWORD=Bench-Passw0rd
PSQL=(psql -X -q -t -A -h 127.0.0.1 -p "$PORT" -U awsuser dev -v ON_ERROR_STOP=1)
for _ in $(seq 100); do "${PSQL[@]}" -c 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done

"${PSQL[@]}" -c "create table big (id bigint, v double precision, s varchar(32))"
"${PSQL[@]}" -c "insert into big select value, value * 0.5, md5(cast(value as varchar)) from generate_series(1, $ROWS)"
table_bytes=$(du -sb "$WORK/data/warehouse/tables" | cut -f1)
written() { awk '/^write_bytes/ {print $2}' "/proc/$PID/io"; }
before=$(written)
start=$(date +%s.%N)
"${PSQL[@]}" -c "delete from big where id % 100 = 0"
end=$(date +%s.%N)
after=$(written)
left=$("${PSQL[@]}" -c "select count(*) from big")
echo "rows=$ROWS table_files_bytes=$table_bytes delete_write_bytes=$((after - before)) rows_left=$left delete_seconds=$(echo "$end - $start" | bc)"
