#!/usr/bin/env bash
# The demo: a local Ninox (ninox-emulator with its sample CRM) → tap-ninox →
# an embedded DuckDB database, output/demo.duckdb (one table per stream).
#
#   bash demo/run.sh                # full load into a new output/demo.duckdb
#   bash demo/run.sh --incremental  # edit 2 records and delete 1 in the local Ninox,
#                                   # then load only those changes
#   bash demo/run.sh --api public   # the same from a local Ninox 4 workspace (the Public
#                                   # API flavour of ninox-emulator, module crm; full loads only)
#   uv run python demo/query.py "SELECT ..."   # query the database
#
# NINOX_API=public does what --api public does.
# The local Ninox keeps its data in output/ninox-data.json between runs, so the
# incremental run sees the same database; the bookmarks are in output/state.json.
# NINOX_DEMO_OUTPUT=DIR puts everything in DIR instead of output/ (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
api=${NINOX_API:-classic}
usage="usage: bash demo/run.sh [--incremental] [--api classic|public]"
while [ $# -gt 0 ]; do
  case $1 in
    --incremental) mode=incremental ;;
    --api) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; api=$2; shift ;;
    --api=*) api=${1#--api=} ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
case $api in
  classic | public) ;;
  *) echo "demo/run.sh: --api must be classic or public, not '$api'; $usage" >&2; exit 2 ;;
esac
if [ "$api" = public ] && [ "$mode" = incremental ]; then
  echo "demo/run.sh: --incremental needs the classic demo (the Public API emulator keeps" \
    "no data between runs); run 'bash demo/run.sh --incremental' without --api public" >&2
  exit 2
fi

# uv: from PATH, ~/.local/bin, ~/.cargo/bin, or a private copy installed
# without touching the system Python (scripts/ensure-uv.sh says how).
uv_dir=$(bash scripts/ensure-uv.sh)
export PATH="$uv_dir:$PATH"
export UV_COMPILE_BYTECODE=1
uv sync --frozen -qq
out=${NINOX_DEMO_OUTPUT:-output}
mkdir -p "$out"

if [ "$mode" = full ]; then
  rm -f "$out/demo.duckdb" "$out/state.json" "$out/ninox-data.json"
elif [ ! -f "$out/state.json" ] || [ ! -f "$out/ninox-data.json" ]; then
  echo "No earlier demo run in $out/: run 'bash demo/run.sh' first." >&2
  exit 1
fi

# The local Ninox on a free port; it prints its address once it listens. The
# log exists before the background job starts (its redirect is asynchronous).
: > "$out/emulator.log"
if [ "$api" = public ]; then
  uv run --no-sync ninox-emulator --api public --demo --port 0 --api-key demo-key \
    > "$out/emulator.log" 2>&1 &
else
  uv run --no-sync ninox-emulator --demo --port 0 --api-key demo-key \
    --data "$out/ninox-data.json" > "$out/emulator.log" 2>&1 &
fi
emulator=$!
trap 'kill "$emulator" 2>/dev/null; wait "$emulator" 2>/dev/null || true' EXIT
base_url=
for _ in $(seq 300); do
  base_url=$(sed -n 's/^ninox-emulator\( (Public API)\)\{0,1\} listening on \([^ ]*\) .*/\2/p' \
    "$out/emulator.log")
  [ -n "$base_url" ] && break
  kill -0 "$emulator" 2>/dev/null || { cat "$out/emulator.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base_url" ] || { echo "ninox-emulator did not start; see $out/emulator.log" >&2; exit 1; }

if [ "$api" = public ]; then
  echo "Local Ninox 4: $base_url (workspace 5rdco4s18swu, module crm)"
  cat > "$out/tap-config.json" <<JSON
{"api_key": "demo-key", "base_url": "$base_url",
 "workspace_id": "5rdco4s18swu", "modules": ["crm"]}
JSON
else
  echo "Local Ninox: $base_url (team mnPLY6DMsvq9wz4id, database gt5k36w957yt)"
  cat > "$out/tap-config.json" <<JSON
{"api_key": "demo-key", "base_url": "$base_url",
 "team_id": "mnPLY6DMsvq9wz4id", "database_ids": ["gt5k36w957yt"]}
JSON
fi
cat > "$out/duckdb-config.json" <<JSON
{"path": "$out/demo.duckdb", "add_record_metadata": true}
JSON

state_args=()
if [ "$mode" = incremental ]; then
  uv run --no-sync python demo/change.py "$base_url"
  state_args=(--state "$out/state.json")
fi

# tap → loader. The loader prints a STATE line only once the records before it
# are committed; the last one is the new state. A run with nothing new may
# print none, so the old state file is kept then (never truncated).
if ! uv run --no-sync tap-ninox --config "$out/tap-config.json" "${state_args[@]}" 2> "$out/tap.log" \
  | uv run --no-sync target-duckdb-sdk --config "$out/duckdb-config.json" \
      > "$out/state-lines.jsonl" 2> "$out/loader.log"; then
  echo "The load failed; the state file is unchanged. Last lines of $out/tap.log and $out/loader.log:" >&2
  tail -n 3 "$out/tap.log" "$out/loader.log" >&2
  exit 1
fi
new_state=$(tail -n 1 "$out/state-lines.jsonl")
if [ -n "$new_state" ]; then
  printf '%s\n' "$new_state" > "$out/state.json.tmp" && mv "$out/state.json.tmp" "$out/state.json"
fi
# Stop the local Ninox: it saves its data (for --incremental) on the way out.
kill "$emulator" && wait "$emulator" || true
trap - EXIT

uv run --no-sync python demo/report.py "$out/demo.duckdb" "$out/loader.log"
if [ "$api" = public ]; then
  cat <<'TXT'

Next:
  uv run python demo/query.py "SELECT first_name, last_name, email FROM contacts LIMIT 5"
TXT
elif [ "$mode" = full ]; then
  cat <<'TXT'

Next:
  bash demo/run.sh --incremental   # edit 2 records, delete 1, load only the changes
  uv run python demo/query.py "SELECT first_name, last_name, email FROM contact LIMIT 5"
TXT
fi
