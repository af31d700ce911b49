#!/usr/bin/env bash
# The README's main command as a new user runs it: `labeling serve` in an empty folder (so ./data is fresh), left
# alone until its bootstrap demo ends. Prints a line every 10 s (demo stage, images labelled / failed, dead letters,
# the workers' state), then the demo's table, the wall-clock time and the log's line counts, and stops the host.
# Exits 0 only when the demo finished with 0 images failed and 0 messages dead-lettered.
# Usage: infra/local/fresh-start.sh [FOLDER]   (default: a new temp folder; the log is FOLDER/serve.log)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d -t labeling-fresh-XXXX)}"
mkdir -p "$work" && cd "$work" || exit 2
[ -e data ] && { echo "$work/data exists: a fresh start needs an empty folder" >&2; exit 2; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s)
echo "fresh start in $work on port $port, $(date -u +%FT%TZ)"
"$root/labeling" serve --urls "http://127.0.0.1:$port" >serve.log 2>&1 &
pid=$!
state=""
while kill -0 "$pid" 2>/dev/null; do
  sleep 10
  p=$(curl -s "http://127.0.0.1:$port/api/progress") || continue
  [ -n "$p" ] || continue
  line=$(python3 -c '
import json, sys
p = json.loads(sys.argv[1]); d = p.get("demo") or {}; w = p.get("workers") or {}
print(d.get("state"), "|", d.get("stage"), "|", d.get("detail"), "| labelled", p["labelled"], "of", p["images"],
      "failed", p["failed"], "dead-lettered", p.get("deadLettered"), "| workers", w.get("name"), w.get("reason") or "")' "$p")
  echo "$(( $(date +%s) - start ))s $line"
  state=${line%% *}
  case "$state" in finished|failed) break ;; esac
done
kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
echo "wall-clock: $(( $(date +%s) - start )) s from the command to the demo's end (the CLI build included)"
[ -f data/demo/report.md ] && cat data/demo/report.md
echo "log: $(wc -l <serve.log) lines; $(grep -c '^warn:' serve.log) warnings, $(grep -c '^fail:\|^crit:' serve.log) errors, $(grep -c '^ *at ' serve.log) stack-trace lines"
case "$line" in finished*"failed 0 dead-lettered 0 "*) exit 0 ;; *) exit 1 ;; esac
