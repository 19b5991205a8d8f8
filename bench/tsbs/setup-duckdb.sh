#!/usr/bin/env bash
# Creates the Python venv that bench/tsbs/duckdb_queries.py runs in: Debian's python3 with DuckDB
# from PyPI, pinned. Idempotent: an existing venv with the right version is left as it is.
#   bench/tsbs/setup-duckdb.sh            # default ~/.cache/canvoy/duckdb-venv
#   CANVOY_CACHE_DIR=/somewhere bench/tsbs/setup-duckdb.sh
set -euo pipefail

readonly duckdb_version="2.0.1"
readonly venv="${CANVOY_CACHE_DIR:-$HOME/.cache/canvoy}/duckdb-venv"

if [[ -x "$venv/bin/python" ]] &&
   "$venv/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
  echo "duckdb $duckdb_version already in $venv"
  exit 0
fi

mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$duckdb_version"
"$venv/bin/python" -c "import duckdb; print('duckdb', duckdb.__version__, 'in', '$venv')"
