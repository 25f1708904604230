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
# state.json, WHATEVER the exit code: a run that fails or is stopped (Ctrl-C,
# SIGTERM) midway keeps the progress its target committed, so the next run
# continues from there instead of from zero, and the script still exits
# non-zero (the tap's or target's code). A run whose target printed no state
# line (nothing new, or a failure before any commit) leaves state.json as it
# was: never truncated.
set -uo pipefail
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
# Ctrl-C reaches the whole process group: tap and target stop on their own,
# after their last state line. This shell only notes it and, since a trapped
# signal waits for the running pipeline, saves that line before it exits.
signal=
trap 'signal=INT' INT
trap 'signal=TERM' TERM
tap-ninox --config "$tap_config" "${state_args[@]}" | "$@" > "$lines"
codes=("${PIPESTATUS[@]}")
# The target's code first: a tap that dies of SIGPIPE (141) only followed it.
code=${codes[1]}
[ "$code" -eq 0 ] && code=${codes[0]}
[ "$code" -eq 0 ] && [ "$signal" = INT ] && code=130
[ "$code" -eq 0 ] && [ "$signal" = TERM ] && code=143

last=$(grep -v '^[[:space:]]*$' "$lines" | tail -n 1)
if [ -n "$last" ]; then
  printf '%s\n' "$last" > "$state.tmp"
  mv "$state.tmp" "$state"
fi
if [ "$code" -ne 0 ]; then
  what="failed (exit $code: tap ${codes[0]}, target ${codes[1]})"
  [ -n "$signal" ] && what="was interrupted (SIG$signal; exit $code)"
  if [ -n "$last" ]; then
    echo "sync.sh: the run $what; $state now holds the target's last state (what it committed): the next run continues from it." >&2
  else
    echo "sync.sh: the run $what before the target committed anything; $state is unchanged." >&2
  fi
  exit "$code"
fi
