#!/usr/bin/env bash
# The demo: a local Ninox (ninox-emulator with its sample CRM) → tap-ninox →
# an embedded DuckDB database, output/demo.duckdb (one table per stream).
#
#   bash demo/run.sh                # full load into a new output/demo.duckdb
#   bash demo/run.sh --incremental  # edit 2 records and delete 1 in the local Ninox,
#                                   # then load only those changes
#   uv run python demo/query.py "SELECT ..."   # query the database
#
# The local Ninox keeps its data in output/ninox-data.json between runs, so the
# incremental run sees the same database; the bookmarks are in output/state.json.
# NINOX_DEMO_OUTPUT=DIR puts everything in DIR instead of output/ (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  "") ;;
  --incremental) mode=incremental ;;
  *) echo "usage: bash demo/run.sh [--incremental]" >&2; exit 2 ;;
esac

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
uv run --no-sync ninox-emulator --demo --port 0 --api-key demo-key \
  --data "$out/ninox-data.json" > "$out/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null; wait "$emulator" 2>/dev/null || true' EXIT
base_url=
for _ in $(seq 300); do
  base_url=$(sed -n 's/^ninox-emulator listening on \([^ ]*\) .*/\1/p' "$out/emulator.log")
  [ -n "$base_url" ] && break
  kill -0 "$emulator" 2>/dev/null || { cat "$out/emulator.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base_url" ] || { echo "ninox-emulator did not start; see $out/emulator.log" >&2; exit 1; }
echo "Local Ninox: $base_url (team mnPLY6DMsvq9wz4id, database gt5k36w957yt)"

cat > "$out/tap-config.json" <<JSON
{"api_key": "demo-key", "base_url": "$base_url",
 "team_id": "mnPLY6DMsvq9wz4id", "database_ids": ["gt5k36w957yt"]}
JSON
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
if [ "$mode" = full ]; then
  cat <<'TXT'

Next:
  bash demo/run.sh --incremental   # edit 2 records, delete 1, load only the changes
  uv run python demo/query.py "SELECT first_name, last_name, email FROM contact LIMIT 5"
TXT
fi
