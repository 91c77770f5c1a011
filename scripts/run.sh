#!/usr/bin/env bash
# make run: the whole system on loopback, on embedded defaults, with the
# example package (examples/hello-provenance) published with provenance as a
# simulated GitHub Actions job. Prints the package page, badge and log-entry
# URLs and serves until Ctrl-C. State (and dev.json, for scripts) lives in
# $PROVENANT_DATA (default .data); running again publishes the next patch
# version. Extra arguments to this script go to `provenant dev`, e.g.
#   ./scripts/run.sh --public-good-root trusted_root.json
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/provenant dev --data-dir "${PROVENANT_DATA:-.data}" --demo "$@"
