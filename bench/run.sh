#!/usr/bin/env bash
# Wire-protocol benchmark driver: starts a Shale server and a throwaway PostgreSQL 15
# cluster on local TCP ports, runs wire.py against both in the same run, stops both.
# It builds nothing: build Shale first (cargo build --release).
#
#   bench/run.sh                      # both engines, defaults
#   ENGINES=postgres bench/run.sh     # PostgreSQL only (no Shale binary needed)
#   RUNS=5 SECONDS_PER_POINT=10 bench/run.sh
#   bench/run.sh --tests select1 --concurrency 1,16   # extra args go to wire.py
#
# Environment (defaults in brackets):
#   SHALE_BIN        [$HOME/.cache/shale-target/release/shale; falls back to .../debug/shale with a warning]
#   PGBIN            [/usr/lib/postgresql/15/bin]
#   PYTHON           [$HOME/.cache/shale-bench-venv/bin/python; the venv is created if missing]
#   ENGINES          [shale,postgres]
#   PG_PORT          [47432]   SHALE_PG_PORT [47439]  SHALE_AWS_PORT [47440]  SHALE_HTTP_PORT [47441]
#   SHALE_PASSWORD   [Bench-Passw0rd]  password of the admin user awsuser (database dev)
#   SHALE_SSLMODE    [disable] libpq sslmode for Shale (PostgreSQL has no TLS configured here)
#   RUNS [3]  SECONDS_PER_POINT [5]  WARMUP [1]  ROWS [1000000]  CONCURRENCY [1,16,64]
#   RESULTS_DIR      [bench/results]  JSON + markdown table + server logs go here
#   WAIT_QUIET       [0] if >0: wait (up to 10 min) until the CPU is at least this % idle
#   KEEP_WORK        [0] 1 keeps the temporary data directories
#   TIMEOUT          [3600] overall limit for wire.py, seconds
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
VENV="$HOME/.cache/shale-bench-venv"
PYTHON="${PYTHON:-$VENV/bin/python}"
ENGINES="${ENGINES:-shale,postgres}"
PG_PORT="${PG_PORT:-47432}"
SHALE_PG_PORT="${SHALE_PG_PORT:-47439}"
SHALE_AWS_PORT="${SHALE_AWS_PORT:-47440}"
SHALE_HTTP_PORT="${SHALE_HTTP_PORT:-47441}"
SHALE_PASSWORD="${SHALE_PASSWORD:-Bench-Passw0rd}"
SHALE_SSLMODE="${SHALE_SSLMODE:-disable}"
RUNS="${RUNS:-3}"
SECONDS_PER_POINT="${SECONDS_PER_POINT:-5}"
WARMUP="${WARMUP:-1}"
ROWS="${ROWS:-1000000}"
CONCURRENCY="${CONCURRENCY:-1,16,64}"
RESULTS_DIR="${RESULTS_DIR:-$HERE/results}"
WAIT_QUIET="${WAIT_QUIET:-0}"
KEEP_WORK="${KEEP_WORK:-0}"
TIMEOUT="${TIMEOUT:-3600}"

has_engine() { [[ ",$ENGINES," == *",$1,"* ]]; }
say() { echo "== $(date -u +%H:%M:%S) $*"; }
die() { echo "run.sh: $*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- Shale binary
SHALE_BUILD=""
if has_engine shale; then
  if [ -n "${SHALE_BIN:-}" ]; then
    [ -x "$SHALE_BIN" ] || die "SHALE_BIN=$SHALE_BIN is not an executable file"
    case "$SHALE_BIN" in */debug/*) SHALE_BUILD=debug ;; */release/*) SHALE_BUILD=release ;; *) SHALE_BUILD=unknown ;; esac
  elif [ -x "$HOME/.cache/shale-target/release/shale" ]; then
    SHALE_BIN="$HOME/.cache/shale-target/release/shale"; SHALE_BUILD=release
  elif [ -x "$HOME/.cache/shale-target/debug/shale" ]; then
    SHALE_BIN="$HOME/.cache/shale-target/debug/shale"; SHALE_BUILD=debug
  else
    die "no Shale binary: build it (cargo build --release) or set SHALE_BIN, or run with ENGINES=postgres"
  fi
  if [ "$SHALE_BUILD" = debug ]; then
    cat >&2 <<EOF
################################################################################
##  WARNING: using the DEBUG Shale binary $SHALE_BIN
##  Debug figures are NOT meaningful: they only show that the harness works.
##  Build with 'cargo build --release' for numbers worth reporting.
################################################################################
EOF
  fi
fi
if has_engine postgres; then
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found in $PGBIN (apt-get install postgresql)"
fi
PSQL="$PGBIN/psql"; [ -x "$PSQL" ] || PSQL="$(command -v psql || true)"
[ -n "$PSQL" ] || die "psql not found"

# ---- Python with psycopg2
if [ ! -x "$PYTHON" ]; then
  [ "$PYTHON" = "$VENV/bin/python" ] || die "PYTHON=$PYTHON not found"
  say "creating venv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q psycopg2-binary
fi
"$PYTHON" -c 'import psycopg2' || die "$PYTHON cannot import psycopg2 (pip install psycopg2-binary)"

# ---- ports must be free
for p in $( (has_engine postgres && echo "$PG_PORT"); (has_engine shale && echo "$SHALE_PG_PORT $SHALE_AWS_PORT $SHALE_HTTP_PORT"); true); do
  if port_open "$p"; then die "port $p is already in use (set PG_PORT / SHALE_*_PORT)"; fi
done

mkdir -p "$RESULTS_DIR"
WORK="$(mktemp -d /tmp/shale-wire-bench.XXXXXX)"
chmod 755 "$WORK"
SHALE_PID=""
PG_STARTED=0
PGDATA="$WORK/pg/data"

cleanup() {
  local rc=$?
  set +e
  if [ -n "$SHALE_PID" ] && kill -0 "$SHALE_PID" 2>/dev/null; then
    say "stopping Shale (pid $SHALE_PID)"
    kill -TERM "$SHALE_PID"
    for _ in $(seq 50); do kill -0 "$SHALE_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SHALE_PID" 2>/dev/null && { echo "Shale did not stop on SIGTERM; sending SIGKILL"; kill -KILL "$SHALE_PID"; }
    wait "$SHALE_PID" 2>/dev/null
  fi
  if [ "$PG_STARTED" = 1 ]; then
    say "stopping PostgreSQL"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  [ -f "$WORK/pg/server.log" ] && cp "$WORK/pg/server.log" "$RESULTS_DIR/postgres-last.log"
  if [ "$KEEP_WORK" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$WAIT_QUIET" -gt 0 ] 2>/dev/null; then
  say "waiting for >= $WAIT_QUIET% idle CPU (max 10 min)"
  t_end=$(( $(date +%s) + 600 ))
  while :; do
    read -r _ a b c d e f g h _ < /proc/stat; tot1=$((a+b+c+d+e+f+g+h)); idl1=$((d+e))
    sleep 5
    read -r _ a b c d e f g h _ < /proc/stat; tot2=$((a+b+c+d+e+f+g+h)); idl2=$((d+e))
    idle=$(( 100 * (idl2 - idl1) / (tot2 - tot1 + 1) ))
    [ "$idle" -ge "$WAIT_QUIET" ] && { say "CPU ${idle}% idle"; break; }
    [ "$(date +%s)" -ge "$t_end" ] && { say "still only ${idle}% idle; going ahead anyway"; break; }
  done
fi

ARGS=()

# ---- PostgreSQL 15 throwaway cluster (TCP on 127.0.0.1, trust auth, no durability)
if has_engine postgres; then
  say "initdb $PGDATA"
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N >"$WORK/pg/initdb.log" 2>&1 \
    || { cat "$WORK/pg/initdb.log"; die "initdb failed"; }
  cat >>"$PGDATA/postgresql.conf" <<EOF
# wire benchmark settings
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pg'
max_connections = 120
shared_buffers = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
EOF
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg/server.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
  PG_STARTED=1
  PG_PID="$(head -n 1 "$PGDATA/postmaster.pid")"
  ARGS+=(--pg-dsn "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=disable gssencmode=disable connect_timeout=10"
         --pg-pid "$PG_PID")
fi

# ---- Shale
if has_engine shale; then
  mkdir -p "$WORK/shale"
  SHALE_LOG="$RESULTS_DIR/shale-last.log"
  say "starting Shale ($SHALE_BUILD) on 127.0.0.1:$SHALE_PG_PORT: $SHALE_BIN"
  SHALE_ADMIN_PASSWORD="$SHALE_PASSWORD" "$SHALE_BIN" serve --data-dir "$WORK/shale" --bind 127.0.0.1 \
      --pg-port "$SHALE_PG_PORT" --aws-port "$SHALE_AWS_PORT" --http-port "$SHALE_HTTP_PORT" \
      >"$SHALE_LOG" 2>&1 </dev/null &
  SHALE_PID=$!
  t_end=$(( $(date +%s) + 120 ))
  until port_open "$SHALE_PG_PORT"; do
    if ! kill -0 "$SHALE_PID" 2>/dev/null; then
      wait "$SHALE_PID"; rc=$?; SHALE_PID=""
      tail -n 40 "$SHALE_LOG" >&2
      die "Shale exited with status $rc before listening (log: $SHALE_LOG)"
    fi
    [ "$(date +%s)" -ge "$t_end" ] && { tail -n 40 "$SHALE_LOG" >&2; die "Shale not listening on $SHALE_PG_PORT after 120 s"; }
    sleep 0.2
  done
  say "Shale is listening (pid $SHALE_PID)"
  ARGS+=(--shale-dsn "host=127.0.0.1 port=$SHALE_PG_PORT user=awsuser dbname=dev password=$SHALE_PASSWORD sslmode=$SHALE_SSLMODE gssencmode=disable connect_timeout=10"
         --shale-pid "$SHALE_PID" --shale-build "$SHALE_BUILD" --shale-bin "$SHALE_BIN")
fi

say "running wire.py"
set +e
timeout --foreground -k 30 "$TIMEOUT" "$PYTHON" "$HERE/wire.py" "${ARGS[@]}" --psql "$PSQL" \
  --runs "$RUNS" --seconds "$SECONDS_PER_POINT" --warmup "$WARMUP" --rows "$ROWS" \
  --concurrency "$CONCURRENCY" --out-dir "$RESULTS_DIR" "$@"
rc=$?
set -e
[ "$SHALE_BUILD" = debug ] && echo "REMINDER: Shale was a DEBUG build; its figures are not meaningful." >&2
exit $rc
