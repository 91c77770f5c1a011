#!/usr/bin/env bash
# Runs every fuzz target in the module briefly: scripts/fuzz.sh [FUZZTIME].
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
n=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
    n=$((n+1))
  done
done
echo "fuzz: ran $n targets"
