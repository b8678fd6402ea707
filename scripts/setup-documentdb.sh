#!/usr/bin/env bash
# Build the reference server: PostgreSQL 15 + the DocumentDB extensions (FerretDB's fork, from
# ../shared/vendor/) + FerretDB 2.5.0 (Go module proxy). Checked steps: ../shared/FIELD-NOTES.md.
#
# Needs root (apt-get, installing extensions into PostgreSQL's directories) and Go. Anything
# missing: one line saying what was skipped and why, exit 0 (the harness then falls back to
# nx-27017). Idempotent: every step checks its result first and is skipped when it is there.
# Progress: one line per step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vendor=${HARNESS_VENDOR_DIR:-$root/../shared/vendor}
bin=${HARNESS_TOOLS_DIR:-$root/.tools/bin}
ferret_version=v2.5.0
service_user=sla-harness

skip() { echo "documentdb: skipped: $*"; exit 0; }
step() { echo "documentdb: $*"; }

if [ ! -d "$vendor" ]; then
  skip "no $vendor (the DocumentDB sources are not in this clone); the same server runs from" \
       "FerretDB's images: docker compose --profile documentdb up -d (see README)"
fi
[ "$(id -u)" = 0 ] || skip "not root (apt-get and installing PostgreSQL extensions need root)"
command -v apt-get >/dev/null 2>&1 || skip "no apt-get (Debian/Ubuntu packages are needed)"
command -v go >/dev/null 2>&1 || skip "no Go toolchain (FerretDB 2 is built from its Go module)"

# 1. Debian packages. Not postgresql-15-cron: its 1.4.2 rejects DocumentDB's `2 seconds` schedules.
pkgs=(postgresql-15 postgresql-server-dev-15 postgresql-15-postgis-3 postgresql-15-rum libbson-dev
      libpcre2-dev libintelrdfpmath-dev libkrb5-dev libicu-dev pkg-config build-essential)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  step "Debian packages present"
fi
pg_config=/usr/lib/postgresql/15/bin/pg_config
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)
pkglib=$("$pg_config" --pkglibdir)
share=$("$pg_config" --sharedir)

# 2. The sources, checked against the sha256 sums in vendor/README.md.
step "checking sha256 of the vendored sources"
(cd "$vendor" && grep -E '^[0-9a-f]{64}  [^ ]+\.tar\.gz$' README.md | sha256sum --check --quiet --strict) \
  || { echo "documentdb: a vendored archive does not match its sha256 in $vendor/README.md" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack() { tar -xzf "$vendor/$1" -C "$work"; }

# 3. Debian's Intel decimal library has no pkg-config file.
pcdir=$work/pkgconfig
mkdir -p "$pcdir"
cat > "$pcdir/intelmathlib.pc" <<'PC'
Name: intelmathlib
Description: Intel(R) Decimal Floating-Point Math Library
Version: 2.0
Libs: -L/usr/lib/x86_64-linux-gnu -lbidgcc000
Cflags: -I/usr/include
PC
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PG_CONFIG=$pg_config

if [ -f "$share/extension/vector--0.8.0.sql" ] && [ -f "$pkglib/vector.so" ]; then
  step "pgvector 0.8.0 installed"
else
  step "building pgvector 0.8.0"
  unpack pgvector-0.8.0.tar.gz
  make -s -C "$work/pgvector-0.8.0" OPTFLAGS="" >/dev/null 2>&1
  make -s -C "$work/pgvector-0.8.0" OPTFLAGS="" install >/dev/null
fi

if grep -qs "default_version = '1.6'" "$share/extension/pg_cron.control" && [ -f "$pkglib/pg_cron.so" ]; then
  step "pg_cron 1.6.3 installed"
else
  step "building pg_cron 1.6.3"
  unpack pg_cron-1.6.3.tar.gz
  make -s -C "$work/pg_cron-1.6.3" with_llvm=no >/dev/null 2>&1
  make -s -C "$work/pg_cron-1.6.3" with_llvm=no install >/dev/null
fi

if [ -f "$share/extension/documentdb.control" ] && [ -f "$pkglib/pg_documentdb.so" ] \
   && [ -f "$pkglib/pg_documentdb_core.so" ]; then
  step "DocumentDB 0.106 installed"
else
  step "building DocumentDB 0.106 (documentdb_core, documentdb; about a minute)"
  unpack documentdb-0.106.0-ferretdb-2.5.0.tar.gz
  src=$work/documentdb-0.106.0-ferretdb-2.5.0
  log=$work/documentdb-build.log
  # Debian's libbson 1.23 lacks BSON_SUBTYPE_SENSITIVE (upstream builds against 1.28).
  if ! { make -C "$src/pg_documentdb_core" with_llvm=no -j"$(nproc)" install \
         && make -C "$src/pg_documentdb" with_llvm=no -j"$(nproc)" \
              COPT="-DBSON_SUBTYPE_SENSITIVE=0x08 -Wno-error=switch" install; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "documentdb: the DocumentDB build failed (last lines above)" >&2
    exit 1
  fi
fi

# 4. FerretDB 2.5.0, pinned in tools/ferretdb2/go.mod. Its main package needs Go < 1.25: the
#    toolchain comes through the module proxy.
if [ -x "$bin/ferretdb2" ] && "$bin/ferretdb2" --version 2>/dev/null | grep -q "${ferret_version#v}"; then
  step "FerretDB ${ferret_version} built"
else
  step "building FerretDB ${ferret_version} (Go; several minutes)"
  mkdir -p "$bin"
  (cd "$root/tools/ferretdb2" && GOTOOLCHAIN=go1.24.6 GOFLAGS=-mod=mod GONOSUMDB=github.com/FerretDB \
     go build -o "$bin/ferretdb2" github.com/FerretDB/FerretDB/v2/cmd/ferretdb)
fi

# 5. PostgreSQL refuses to run as root: the harness runs the cluster as this system user.
if ! id "$service_user" >/dev/null 2>&1; then
  step "creating system user $service_user (runs the embedded PostgreSQL)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$service_user"
fi
step "ready: $("$bin/ferretdb2" --version 2>/dev/null | head -1 | tr -s ' ' | cut -c1-60)"
