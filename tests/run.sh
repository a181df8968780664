#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit tests, .slt files over the wire,
# wire-protocol and robustness tests), then the real clients (psql, psycopg2,
# redshift_connector, pgjdbc) against the built binary.
#
#   CARGO_TARGET_DIR  build cache (default ~/.cache/shale-target, shared across clones)
#   SHALE_VENV        Python venv for the client tests (default ~/.cache/shale-venv)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shale-target}"

missing=()
command -v psql >/dev/null || missing+=(postgresql-client)
command -v javac >/dev/null || missing+=(default-jdk-headless)
[[ -f /usr/share/java/postgresql.jar ]] || missing+=(libpostgresql-jdbc-java)
if (( ${#missing[@]} )); then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "tests/run.sh: please install: ${missing[*]}" >&2
        exit 1
    fi
fi

# `cargo test` also builds the `shale` binary the client tests run (the
# integration tests of its package need it), with the same features as the
# tests: a separate `cargo build` would unify features without the
# dev-dependencies and compile DataFusion a second time.
cargo test --locked --workspace
SHALE_BIN="$CARGO_TARGET_DIR/debug/shale" bash tests/clients/run.sh
