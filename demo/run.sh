#!/usr/bin/env bash
# One-command demo: install, start the local Ninox server with its sample CRM,
# run tap-ninox against it into output/demo.singer.jsonl, then stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
uv sync --frozen --quiet

mkdir -p output
port=$(uv run python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
uv run ninox-emulator --demo --port "$port" --api-key demo-key > output/emulator.log 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs -H "Authorization: Bearer demo-key" "http://127.0.0.1:$port/v1/teams" >/dev/null 2>&1 && break
  sleep 0.1
done

cat > output/tap-config.json <<JSON
{"api_key": "demo-key", "base_url": "http://127.0.0.1:$port/v1",
 "team_id": "mnPLY6DMsvq9wz4id", "database_ids": ["gt5k36w957yt"]}
JSON

uv run tap-ninox --config output/tap-config.json > output/demo.singer.jsonl
echo "Wrote $(grep -c '"type":"RECORD"' output/demo.singer.jsonl) records to output/demo.singer.jsonl"
# A state file holds the value of the last STATE message.
grep '"type":"STATE"' output/demo.singer.jsonl | tail -n 1 \
  | uv run python -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["value"]))' > output/state.json
echo "Final state in output/state.json; run again incrementally with:"
echo "  uv run tap-ninox --config output/tap-config.json --state output/state.json"
