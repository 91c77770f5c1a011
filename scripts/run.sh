#!/usr/bin/env bash
# make run: the main job on embedded defaults. Grows with the dev stack.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/provenant dev --data-dir "${PROVENANT_DATA:-.data}" --demo
