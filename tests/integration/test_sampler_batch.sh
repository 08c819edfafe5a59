#!/usr/bin/env bash
# The sampler decides prompts with sampler_pipeline_offer_batch (one call per consumer poll,
# flushed before an eval item is registered; the stored pool re-offered in batches on restart).
# Two real samplers consume the same single-partition stream - training prompts with exact,
# prefix and near duplicates, eval items (arenactl ingest --eval) in the middle, then training
# copies of those eval items - one with sampler.batch_size 1 (every poll one prompt: exactly one
# offer per prompt, as before batching) and one with 500 (the whole stream in a few batches).
# Both must reach the same decisions per stage and the same pool, also after a restart (the
# pipeline rebuilt from the store in batches) followed by more copies, and the pool size must
# survive the restart (big-endian state).
set -uo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh" # BIN, WORK and its cleanup, devbroker
fleet_need_exec "$BIN/arena-sampler" "$BIN/arena-devbroker"
fleet_need_cmd python3
fleet_workdir sampler-batch
PORT_BASE=${ARENA_SAMPLER_BATCH_PORT_BASE:-27100}
declare -A PID
FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}

devbroker_start "$WORK/broker" 1 || { echo "FAIL: devbroker did not start"; exit 1; }

cat >"$WORK/arena.yaml" <<YAML
log_level: info
models:
  - name: target-7b
    backend: sim
  - name: alpha-70b
    backend: sim
sampler:
  mode: train
  target: target-7b
  competitors: [alpha-70b]
  rounds: 2
YAML
export ARENA_CONFIG="$WORK/arena.yaml"

# train1: 40 distinct prompts, an exact repeat, 5 prefix copies (same first 10 words), 5 near
#         copies (a word changed at the start), and copies of the coming eval items
# eval:   6 eval items
# train2: copies / paraphrase-level edits of the eval items, repeats of train1, 20 new prompts
# train3 (after the restart): more copies of train1 and of the eval items, 10 new prompts
python3 - "$WORK" <<'PY'
import json, random, sys
rnd = random.Random(11)
syll = ["ka", "lo", "mi", "tu", "re", "sa", "no", "vi", "de", "po", "gu", "fe", "zo", "ba", "xi"]
words = sorted({"".join(rnd.choice(syll) for _ in range(3)) for _ in range(800)})
def text(n=16):
    return " ".join(rnd.sample(words, n))
base = [text() for _ in range(40)]
evals = [text() for _ in range(6)]
def near(t):  # one word changed near the start: prefix differs, MinHash close
    w = t.split(); w[1] = "zzz" + w[1]; return " ".join(w)
def prefix(t):  # same first 10 words, different ending
    return " ".join(t.split()[:12] + ["extra", "tail", "words", "here"])
def write(name, texts):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        for t in texts:
            f.write(json.dumps({"prompt": t}) + "\n")
t1 = base + [base[0]] + [prefix(t) for t in base[1:6]] + [near(t) for t in base[6:11]]
t1 += [evals[0] + " thanks", near(evals[1])]  # before the eval items exist: kept
write("train1", t1)
write("eval", evals)
write("train2", [evals[2] + " thanks", near(evals[3]), prefix(evals[4]), evals[5], base[12]]
      + [near(t) for t in base[13:16]] + [text() for _ in range(20)])
write("train3", [base[20], near(base[21]), prefix(base[22]), near(evals[0]), evals[1] + " ok"]
      + [text() for _ in range(10)])
PY
ingest() {
    "$BIN/arenactl" ingest "$@" >>"$WORK/ingest.out" 2>&1 ||
        { echo "FAIL: ingest $*: $(cat "$WORK/ingest.out")"; exit 1; }
}
ingest "$WORK/train1.jsonl" --source batch-test
ingest "$WORK/eval.jsonl" --source batch-test-eval --eval
ingest "$WORK/train2.jsonl" --source batch-test

# start NAME BATCH_SIZE INDEX
start() {
    ARENA_SAMPLER_STATE_DIR="$WORK/state-$1" ARENA_SAMPLER_GROUP_ID="batch-$1" \
        ARENA_SAMPLER_BATCH_SIZE="$2" ARENA_SAMPLER_CONTROL="tcp://127.0.0.1:$((PORT_BASE + 2 * $3))" \
        ARENA_SAMPLER_HTTP_LISTEN="127.0.0.1:$((PORT_BASE + 2 * $3 + 1))" \
        "$BIN/arena-sampler" >>"$WORK/sampler-$1.log" 2>&1 &
    PID[$1]=$!
    fleet_track "${PID[$1]}"
}
stop() {
    kill -TERM "${PID[$1]}"
    wait "${PID[$1]}" 2>/dev/null
    fleet_untrack "${PID[$1]}"
}
# status INDEX: {"pool": N, "prompts": {...}} of the sampler at control port INDEX
status() {
    ARENA_SAMPLER_CONTROL="tcp://127.0.0.1:$((PORT_BASE + 2 * $1))" "$BIN/arenactl" ctl sampler \
        '{"cmd":"status"}' 2>/dev/null |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({"pool": s["pool"], "prompts": s["prompts"]}, sort_keys=True))' 2>/dev/null
}
# wait_for INDEX TOTAL: until the sampler decided TOTAL prompts
wait_for() {
    local n=0
    for _ in $(seq 1 150); do
        n=$(status "$1" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["prompts"].values()))' 2>/dev/null || echo 0)
        [ "$n" -ge "$2" ] && return 0
        sleep 0.2
    done
    echo "FAIL: sampler $1 decided $n of $2 prompts"
    tail -n 20 "$WORK"/sampler-*.log
    exit 1
}
N1=$(cat "$WORK"/train1.jsonl "$WORK"/eval.jsonl "$WORK"/train2.jsonl | wc -l)
start one 1 0
start many 500 1
wait_for 0 "$N1"
wait_for 1 "$N1"
s1=$(status 0)
sm=$(status 1)
echo "batch_size 1:   $s1"
echo "batch_size 500: $sm"
[ "$s1" = "$sm" ] || fail "decisions differ between one offer per poll and batches"
python3 - "$s1" <<'PY' || fail "the stream did not exercise every stage: $s1"
import json, sys
p = json.loads(sys.argv[1])["prompts"]
# at least one drop per stage the stream plants (exact repeats reach the store or the pipeline)
need = ["prefix_dup", "minhash_dup", "decontam"]
sys.exit(0 if all(p.get(k, 0) > 0 for k in need) and p["exact_dup"] + p.get("prefix_dup", 0) > 0 else 1)
PY
grep -q "event=state_migrated" "$WORK"/sampler-*.log && fail "a fresh store was reported as migrated"

# restart both: the pipeline is rebuilt from the stored pool (in batches), the pool size read
# back (the per-stage counts of status are per process: they start again from 0)
pool_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pool"])' "$1"; }
pool_before=$(pool_of "$sm")
stop one
stop many
start one 1 0
start many 500 1
for i in 0 1; do
    p=
    for _ in $(seq 1 150); do
        p=$(pool_of "$(status $i)" 2>/dev/null) && [ -n "$p" ] && break
        sleep 0.2
    done
    [ "$p" = "$pool_before" ] || fail "sampler $i: pool $p after a restart, $pool_before before"
done
ingest "$WORK/train3.jsonl" --source batch-test
N3=$(wc -l <"$WORK/train3.jsonl")
wait_for 0 "$N3"
wait_for 1 "$N3"
s1=$(status 0)
sm=$(status 1)
echo "after restart + train3: $s1"
[ "$s1" = "$sm" ] || fail "decisions after the restart differ: batch_size 1 $s1, 500 $sm"
# train3's 5 copies (of train1 and of the eval items) are dropped by the rebuilt indexes, its 10
# new prompts enter the pool
pool_after=$(pool_of "$s1")
[ $((pool_after - pool_before)) = 10 ] ||
    fail "train3 added $((pool_after - pool_before)) prompts to the pool, expected its 10 new ones"

if [ "$FAILS" -gt 0 ]; then
    echo "$FAILS check(s) failed"
    tail -n 5 "$WORK"/sampler-*.log
    exit 1
fi
echo "PASS: batched decisions equal one offer per prompt, through a restart"
