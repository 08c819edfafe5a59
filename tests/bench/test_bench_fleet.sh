#!/usr/bin/env bash
# Fleet throughput benchmark (opt-in: -DARENA_BENCH=ON, ctest -L bench): the five services on
# arena-devbroker with four sim models at zero model latency; prints battles/s end to end
# (ingest start -> N battles counted by the rater and the curator caught up) and each
# service's peak RSS (VmHWM). Figures only, no timing assertion.
#   ARENA_BENCH_BATTLES (default 30000)   ARENA_BENCH_PARTITIONS (default 48)
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
[ -x "$BIN/arena-rater" ] || { echo "SKIP: binaries not built in $BIN"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
BATTLES=${ARENA_BENCH_BATTLES:-30000}
PARTS=${ARENA_BENCH_PARTITIONS:-48}
PORT_BASE=${ARENA_BENCH_PORT_BASE:-22400}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-bench-fleet-XXXXXX")
RUN_PID=
cleanup() {
    [ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# unique prompts (6 battles each with 4 models), dedup stages off: this measures the fleet
python3 - "$WORK/prompts.jsonl" "$(( BATTLES / 6 + 1 ))" <<'PY'
import json, random, sys
rng = random.Random(7)
words = "alpha beta gamma delta river mountain logic proof circuit poem market cell orbit theorem garden engine signal ledger canyon harbor".split()
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        text = f"Task {i}: " + " ".join(rng.choice(words) for _ in range(12)) + f". Explain it in {rng.randint(2, 9)} steps."
        f.write(json.dumps({"prompt": text}) + "\n")
PY

export ARENA_BIN_DIR="$BIN" ARENA_PORT_BASE="$PORT_BASE" ARENA_WAIT_TIMEOUT_S=900
export ARENA_SAMPLER_DEDUP_MINHASH=false ARENA_SAMPLER_DEDUP_PREFIX=false
export ARENA_SAMPLER_MAX_IN_FLIGHT=${ARENA_BENCH_MAX_IN_FLIGHT:-6000}
export ARENA_LOG_LEVEL=warn
"$ROOT/deploy/local/run.sh" --battles "$BATTLES" --prompts "$WORK/prompts.jsonl" \
    --partitions "$PARTS" --keep-running --workdir "$WORK/run" >"$WORK/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1 3600); do
    grep -q "fleet is running" "$WORK/run.log" 2>/dev/null && break
    kill -0 "$RUN_PID" 2>/dev/null || { tail -30 "$WORK/run.log"; exit 1; }
    sleep 0.5
done
grep -q "fleet is running" "$WORK/run.log" || { tail -30 "$WORK/run.log"; exit 1; }
secs=$(grep -o "battles rated in [0-9.]* s" "$WORK/run.log" | awk '{print $4}')
echo "fleet benchmark: $BATTLES battles, 4 sim models (zero latency), $PARTS partitions, $(nproc) cores"
awk -v n="$BATTLES" -v s="$secs" 'BEGIN { printf "  end to end: %.1f s -> %.0f battles/s\n", s, n / s }'
echo "  per process: peak RSS (VmHWM) and CPU time (user+system) over the run"
tck=$(getconf CLK_TCK)
while read -r svc pid; do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    cpu=$(awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    printf "    %-10s %8.1f MiB  %6.1f s CPU\n" "$svc" "$(awk -v k="$hwm" 'BEGIN{print k/1024}')" "$cpu"
done <"$WORK/run/pids"
