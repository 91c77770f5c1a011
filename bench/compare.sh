#!/usr/bin/env bash
# Benchmarks Provenant's registry against Verdaccio and a bare Go ceiling, on
# loopback, in one alternating run. Entry point of `make bench-compare`;
# see bench/README.md. Idempotent: the peer and the tools are installed once
# into bench/.work/ (git-ignored), every run starts from fresh server state.
#
#   ./bench/compare.sh                 full run (about 10 minutes on 2 cores)
#   QUICK=1 ./bench/compare.sh         short run (about 1 minute), indicative only
#   UPDATE_DOC=1 ./bench/compare.sh    also rewrite the table in BENCHMARKS.md
#   ./bench/compare.sh -rounds 7       extra flags go to the harness (-h lists them)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=bench/.work
VERDACCIO_VERSION="${VERDACCIO_VERSION:-6.10.4}"
export VERDACCIO_VERSION

log() { printf '==> %s\n' "$*" >&2; }

./bench/install-peer.sh

log "building bin/provenant and the harness"
go build -o bin/provenant ./cmd/provenant
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/" ./bench/harness ./bench/ceiling

ARGS=(-verdaccio-version "$VERDACCIO_VERSION")
COMMAND="make bench-compare"
if [ -n "${QUICK:-}" ] && [ "${QUICK}" != 0 ]; then
	ARGS+=(-quick)
	COMMAND="QUICK=1 $COMMAND"
fi
if [ -n "${UPDATE_DOC:-}" ] && [ "${UPDATE_DOC}" != 0 ]; then
	ARGS+=(-update-doc BENCHMARKS.md)
	COMMAND="UPDATE_DOC=1 $COMMAND"
fi
[ "$#" -eq 0 ] || COMMAND="$COMMAND $*"
log "running the harness"
exec "$WORK/bin/harness" "${ARGS[@]}" -command "$COMMAND" "$@"
