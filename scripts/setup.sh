#!/usr/bin/env bash
# One-time setup on a fresh machine: a virtualenv with the harness and its test dependencies,
# the Go-built tools (mongodump/mongorestore/bsondump), the reference server (PostgreSQL 15 +
# DocumentDB + FerretDB 2, when root with apt and Go: scripts/setup-documentdb.sh) and, where
# apt is available and we are root, Debian's Prometheus Pushgateway for the metrics tests.
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

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v prometheus-pushgateway >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus-pushgateway >/dev/null) \
    || echo "note: could not install prometheus-pushgateway (metrics push tests will say so)" >&2
fi
echo "setup complete: $(.venv/bin/harness --version)"
