#!/usr/bin/env bash
# Step 7 end to end, as docs/benchmarks.md records it: the quick bootstrap demo's world and models in a
# fresh folder, then the host (`labeling serve`) with the `retrain` job scheduled every EVERY minutes,
# until two scheduled retrains have finished and the workers have relabelled; then the registry, the
# per-class diff of each generation against the one before, and the host's model swaps and failures.
# With KILL=1 the host is killed (SIGKILL) once the first retrain has written a checkpoint and started again:
# the new host resumes that run from its checkpoint (docs/retraining.md, "Crash safety").
# Usage: infra/local/retrain-twice.sh [WORK_FOLDER]   (env: EVERY=5 STEPS=600 PORT=5095 KILL=0)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d /tmp/labeling-retrain-XXXXXX)}"
every="${EVERY:-5}" steps="${STEPS:-600}" port="${PORT:-5095}" kill_once="${KILL:-0}"
mkdir -p "$work" && cd "$work"
echo "work folder: $work"

"$root/labeling" demo --quick --no-oracle --json > demo.json
echo "demo done: $(python3 -c 'import json; d=json.load(open("demo.json")); print(", ".join("%s AP-novel %.3f" % (r["version"], r["metrics"]["APnovel"]) for r in d["rounds"]))')"

export LABELING_Server__Demo__RunOnFreshStart=false
export LABELING_Server__Jobs__Retrain="*/$every * * * *"
export LABELING_Server__Jobs__Relabel=never
export LABELING_Retraining__Steps="$steps"
"$root/labeling" serve --urls "http://127.0.0.1:$port" > serve.log 2>&1 &
host=$!
trap 'kill $host 2>/dev/null || true; wait $host 2>/dev/null || true' EXIT

# Two finished runs (promoted or rejected), nothing left to label.
started=$(date +%s)
while :; do
  if [ "$kill_once" = 1 ] && step=$(cat data/retraining/*/checkpoints/step.txt 2>/dev/null | head -1) && [ -n "$step" ]; then
    kill -KILL $host; wait $host 2>/dev/null || true
    echo "killed the host (pid $host) during the first retrain, after its checkpoint of step $step; starting it again"
    "$root/labeling" models runs
    "$root/labeling" serve --urls "http://127.0.0.1:$port" >> serve.log 2>&1 &
    host=$!
    kill_once=done
  fi
  state=$(curl -sf "http://127.0.0.1:$port/api/progress" 2>/dev/null || true)
  models=$(curl -sf "http://127.0.0.1:$port/api/models" 2>/dev/null || true)
  if [ -n "$state" ] && [ -n "$models" ] && python3 - "$state" "$models" <<'PY'
import json, sys
progress, models = json.loads(sys.argv[1]), json.loads(sys.argv[2])
runs = [m for m in models if m["version"].startswith("auto-") and m["status"] != "candidate"]
retrain = progress.get("retrain") or {}
idle = progress["pending"] + progress["queued"] == 0 and (progress.get("queueDepth") or 0) == 0
sys.exit(0 if len(runs) >= 2 and not retrain.get("running") and idle else 1)
PY
  then break; fi
  if [ $(( $(date +%s) - started )) -gt 3600 ]; then echo "no two finished retrains within an hour; see $work/serve.log" >&2; exit 1; fi
  if [ "$kill_once" = 1 ]; then sleep 1; else sleep 15; fi
done
echo "two scheduled retrains finished after $(( ($(date +%s) - started) / 60 )) min"

kill $host; wait $host 2>/dev/null || true; trap - EXIT
"$root/labeling" models list --json > models.json
"$root/labeling" models list
"$root/labeling" status
# Each promoted generation against the one it replaced (a rejected candidate never labelled anything).
chain=$(python3 -c 'import json; print(" ".join(["demo-r1"] + [m["version"] for m in json.load(open("models.json")) if m["version"].startswith("auto-") and m["status"] in ("active", "retired")]))')
previous=""
for v in $chain; do
  if [ -n "$previous" ]; then "$root/labeling" diff --from "$previous" --to "$v" --dataset demo-tagged; fi
  previous="$v"
done
"$root/labeling" models runs
echo "model swaps in the host:"; grep -o "Active model is now [^ ]* (was [^)]*)" serve.log || true
echo "images failed: $("$root/labeling" status --json | python3 -c 'import json,sys; print(sum(d["failed"] for d in json.load(sys.stdin)["datasets"]))')"
