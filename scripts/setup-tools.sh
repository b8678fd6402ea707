#!/usr/bin/env bash
# Build the external tools the harness drives when they are not installed:
#   mongodump, mongorestore, bsondump  from github.com/mongodb/mongo-tools (pinned in tools/mongo-tools/go.mod)
# into .tools/bin (or $HARNESS_TOOLS_DIR). Needs Go. Idempotent: existing binaries are kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HARNESS_TOOLS_DIR:-$root/.tools/bin}
mkdir -p "$bin"
export GOFLAGS=-mod=mod
# mongo-tools pseudo-versions are not in the public checksum database; go.sum pins them instead.
export GONOSUMDB=github.com/mongodb/mongo-tools

for tool in mongodump mongorestore bsondump; do
  if command -v "$tool" >/dev/null 2>&1 || [ -x "$bin/$tool" ]; then continue; fi
  pin=$(awk '/mongo-tools/{print $NF}' "$root/tools/mongo-tools/go.mod" | tail -1)
  echo "building $tool from mongo-tools $pin"
  # stamp the pinned pseudo-version (vX-date-commit) so `--version` says which build this is
  (cd "$root/tools/mongo-tools" && GOSUMDB=off go build \
      -ldflags "-X main.VersionStr=$pin -X main.GitCommit=${pin##*-}" \
      -o "$bin/$tool" "github.com/mongodb/mongo-tools/$tool/main")
done

ls -1 "$bin"
