#!/usr/bin/env bash
# Run the Shale client-compatibility suite (psql, psycopg2, redshift_connector, pgjdbc).
#
#   SHALE_BIN    shale binary (default ~/.cache/shale-target/debug/shale)
#   SHALE_VENV   virtualenv to create/reuse (default ~/.cache/shale-venv)
#   PYTHON       interpreter used to create the venv (default python3)
# Extra arguments are passed to pytest, e.g. tests/clients/run.sh -k psycopg2 -x
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHALE_VENV:-$HOME/.cache/shale-venv}"

if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cd "$repo"
set +e
"$venv/bin/python" -m pytest tests/clients -q -p no:cacheprovider "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "run.sh: pytest collected no tests; treating as failure" >&2
    exit 1
fi
exit $rc
