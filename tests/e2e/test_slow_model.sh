#!/usr/bin/env bash
# Slow model: the model server (fake-openai, every model and the judge on the openai backend)
# stalls for STALL_S (30) seconds - the process is stopped with SIGSTOP, so connections hang
# mid-request exactly like a wedged inference server - while new prompts keep arriving.
#   - back-pressure: the generator holds at most generator.max_in_flight battles; its memory
#     stays flat while the backlog in arena.battles.requested grows (VmRSS sampled every
#     second; bounds below);
#   - nothing is lost to the stall: the per-request timeout (60 s) is above the stall, and
#     after SIGCONT every issued battle completes with a judged (not *_ERROR) result, counted
#     once by the rater.
# Prints the RSS curve (min/max/first/last) and the backlog growth.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
fleet_need_exec "$BIN/arena-generator" "$ARENA_BINARY_DIR/tests/fake-openai"
[ -r /proc/self/status ] || { echo "SKIP: no /proc (VmRSS)"; exit 77; }
fleet_need_cmd python3 curl

STALL_S=${SLOW_STALL_S:-30}
IN_FLIGHT=64
WARM_PROMPTS=40   # before the stall
CHUNK_PROMPTS=40  # ingested every 5 s during the stall
CHUNKS=$((STALL_S / 5))
PROMPTS=$((WARM_PROMPTS + CHUNKS * CHUNK_PROMPTS))
BATTLES=$((PROMPTS * 6))
fleet_workdir slow
fleet_fake_openai_start --latency-ms 20 --seed 5 || { echo "FAIL: fake-openai did not start"; exit 1; }
URL="$FAKE_URL/v1"

{
    fleet_config_head
    echo "models:"
    for m in target-7b alpha-70b beta-34b gamma-13b judge-70b; do
        printf '  - name: %s\n    backend: openai\n    base_url: %s\n    timeout_ms: 60000\n    max_concurrency: 64\n' "$m" "$URL"
    done
    cat <<YAML
sampler:
  mode: train
  target: target-7b
  competitors: [alpha-70b, beta-34b, gamma-13b]
  max_in_flight: 100000
  dedup_prefix: false
  dedup_minhash: false
generator:
  max_in_flight: $IN_FLIGHT
judge:
  model: judge-70b
  template: wizardarena
  max_in_flight: $IN_FLIGHT
rater:
  every_ms: 1000
YAML
} >"$WORK/arena.yaml"
python3 - "$WORK" "$WARM_PROMPTS" "$CHUNK_PROMPTS" "$CHUNKS" <<'PY'
import json, sys
work, warm, chunk, chunks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
i = 0
def write(name, n):
    global i
    with open(f"{work}/{name}.jsonl", "w") as f:
        for _ in range(n):
            f.write(json.dumps({"prompt": f"Slow-model prompt {i}: describe item {i * 7919 % 10007} with care."}) + "\n")
            i += 1
write("warm", warm)
for c in range(chunks):
    write(f"chunk{c}", chunk)
PY

export ARENA_CONFIG="$WORK/arena.yaml"
export ARENA_CURATOR_SHARD_DIR="$WORK/shards"
mkdir -p "$WORK/shards"
fleet_start 29040 12 || { echo "FAIL: the fleet did not start"; exit 1; }
chaos_ctl ingest "$WORK/warm.jsonl" >/dev/null 2>&1
chaos_ctl wait --battles $((WARM_PROMPTS * 6)) --timeout-s 60 >/dev/null 2>&1 || {
    chaos_ctl status || true
    echo "FAIL: warm-up battles did not complete"
    exit 1
}
GEN_PID=${CHAOS_PID[generator]}

echo "==> model server stalled (SIGSTOP) for ${STALL_S} s; $CHUNKS chunks of $CHUNK_PROMPTS prompts arrive meanwhile"
kill -STOP "$FAKE_PID"
: >"$WORK/rss.tsv"
INGEST_PIDS=()
t0=$(date +%s)
for s in $(seq 0 "$STALL_S"); do
    if [ $((s % 5)) = 0 ] && [ $((s / 5)) -lt "$CHUNKS" ]; then
        chaos_ctl ingest "$WORK/chunk$((s / 5)).jsonl" >/dev/null 2>&1 &
        INGEST_PIDS+=($!)
    fi
    # backlog = battles issued by the sampler and not yet taken by the generator (the
    # generator's own lag figure is not refreshed while its partitions are paused)
    issued=$(chaos_field sampler issued)
    consumed=$(chaos_field generator consumed)
    printf '%s\t%s\t%s\t%s\n' "$s" "$(chaos_rss_kb "$GEN_PID")" \
        "$(chaos_field generator in_flight)" "$((${issued:-0} - ${consumed:-0}))" >>"$WORK/rss.tsv"
    # one sample per second
    while [ "$(date +%s)" -lt $((t0 + s + 1)) ]; do sleep 0.1; done
done
for p in "${INGEST_PIDS[@]}"; do wait "$p"; done
kill -CONT "$FAKE_PID"
echo "==> model server resumed"

if ! chaos_ctl wait --battles "$BATTLES" --timeout-s 120 >"$WORK/wait.log" 2>&1; then
    tail -n 3 "$WORK/wait.log"
    chaos_ctl status || true
    echo "FAIL: not every battle completed after the stall"
    exit 1
fi
chaos_status rater >"$WORK/rater_status.json"
chaos_status generator >"$WORK/generator_status.json"
chaos_ctl tail arena.battles.requested --timeout-ms 3000 >"$WORK/requested.jsonl" 2>/dev/null
chaos_ctl tail arena.battles.results --timeout-ms 3000 >"$WORK/results.jsonl" 2>/dev/null
kill -0 "$GEN_PID" || { echo "FAIL: the generator died"; exit 1; }

python3 - "$WORK" "$BATTLES" "$IN_FLIGHT" <<'PY'
import json, sys
work, battles, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fail = []
rows = [l.split("\t") for l in open(f"{work}/rss.tsv").read().splitlines()]
rss = [int(r[1]) for r in rows if r[1]]
infl = [int(r[2]) for r in rows if r[2]]
lag = [int(r[3]) for r in rows if r[3]]
print("t(s)  VmRSS(KiB)  in_flight  backlog")
for r in rows:
    print(f"{r[0]:>4}  {r[1]:>10}  {r[2]:>9}  {r[3]:>5}")
# Bounds. The in-flight jobs (<= max_in_flight battles, 2 pending HTTP calls each) are
# allocated in the first seconds of the stall; after that nothing may be retained per waiting
# battle. Settled = from second 5 on (the partitions pause 0.5 s after the limit is reached,
# which frees librdkafka's prefetch). Without back-pressure every one of the ~1,000 waiting
# battles would hold a job, its decoded request and two curl handles (tens of KiB each).
settled = rss[5:]
grow_settled = max(settled) - settled[0]
grow_total = max(rss) - rss[0]
print(f"RSS: start {rss[0]} KiB, min {min(rss)}, max {max(rss)}, end {rss[-1]}; growth after "
      f"second 5: {grow_settled} KiB; over the whole stall: {grow_total} KiB")
print(f"backlog (issued - taken by the generator): {lag[0]} -> {max(lag)}; in_flight max {max(infl)}")
if grow_settled > 4096:
    fail.append(f"generator RSS grew {grow_settled} KiB while the backlog grew (bound 4096 KiB)")
if grow_total > 32768:
    fail.append(f"generator RSS grew {grow_total} KiB during the stall (bound 32 MiB)")
if max(infl) > in_flight + 1:
    fail.append(f"in_flight {max(infl)} above max_in_flight {in_flight}")
if max(lag) - lag[0] < 500:
    fail.append(f"the backlog did not grow during the stall ({lag[0]} -> {max(lag)}): test is void")
issued = {json.loads(l)["battle_id"] for l in open(f"{work}/requested.jsonl") if l.strip()}
results = {}
for l in open(f"{work}/results.jsonl"):
    if l.strip():
        r = json.loads(l)
        results.setdefault(r["battle_id"], r)
st = json.load(open(f"{work}/rater_status.json"))
errors = [r for r in results.values() if r["outcome"] in ("OUTCOME_GENERATION_ERROR", "OUTCOME_JUDGE_ERROR")]
print(f"battles: issued {len(issued)}, results {len(results)}, error outcomes {len(errors)}, "
      f"rater battles_seen {st.get('battles_seen')}")
if len(issued) != battles or set(results) != issued or st.get("battles_seen") != battles:
    fail.append(f"battles lost: issued {len(issued)} (want {battles}), results {len(results)}, seen {st.get('battles_seen')}")
if errors:
    fail.append(f"{len(errors)} battle(s) turned into errors, e.g. {errors[0].get('error')}")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("PASS: memory flat under back-pressure, every battle completed after the stall")
PY
