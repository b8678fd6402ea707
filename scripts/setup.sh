#!/usr/bin/env bash
# One-time setup on a fresh machine: a virtualenv with the harness and its test dependencies,
# the Go-built tools (mongodump/mongorestore/bsondump), the reference server (PostgreSQL 15 +
# DocumentDB + FerretDB 2, when root with apt and Go: scripts/setup-documentdb.sh) and, where
# apt is available and we are root, Debian's Prometheus, promtool and Pushgateway for the
# metrics and dashboard tests.
# Idempotent: a second run only checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

if command -v go >/dev/null 2>&1; then
  bash scripts/setup-tools.sh
else
  echo "note: Go not found: mongodump/mongorestore not built (backup tests will say so)" >&2
fi
bash scripts/setup-documentdb.sh

# Prometheus (with promtool) and the Pushgateway: the metrics and dashboard tests run them.
prom_missing=()
command -v prometheus >/dev/null 2>&1 || prom_missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || prom_missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || prom_missing+=(prometheus-pushgateway)
if [ ${#prom_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install ${prom_missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $(printf '%s\n' "${prom_missing[@]}" | sort -u) >/dev/null) \
      || echo "note: could not install ${prom_missing[*]} (the metrics tests will say so)" >&2
  else
    echo "note: ${prom_missing[*]} not installed and not root with apt: the metrics tests will be skipped" >&2
  fi
fi
echo "setup complete: $(.venv/bin/harness --version)"
