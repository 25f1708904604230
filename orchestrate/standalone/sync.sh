#!/usr/bin/env bash
# One incremental run of tap-ninox into any Singer target, without an orchestrator:
#
#   bash orchestrate/standalone/sync.sh tap-config.json state.json -- TARGET [ARGS...]
#   e.g. ... -- target-duckdb-sdk --config duckdb.json
#        ... -- target-ninox --config target.json
#
# The first run (no state file yet) reads everything; later runs read only the
# changes since the bookmarks in state.json. The target prints a state line
# once the records before it are committed; the last one becomes the new
# state.json. A run that fails (tap or target) leaves state.json as it was, and a
# run that brings no state line (nothing new) keeps it too: never truncated.
set -euo pipefail
if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: sync.sh TAP_CONFIG STATE_FILE -- TARGET [TARGET_ARGS...]" >&2
  exit 2
fi
tap_config=$1 state=$2
shift 3

state_args=()
[ -s "$state" ] && state_args=(--state "$state")
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
tap-ninox --config "$tap_config" "${state_args[@]}" | "$@" > "$lines"
last=$(tail -n 1 "$lines")
if [ -n "$last" ]; then
  printf '%s\n' "$last" > "$state.tmp"
  mv "$state.tmp" "$state"
fi
