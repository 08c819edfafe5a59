#!/usr/bin/env bash
# Garbage in: 1,000 undecodable or invalid records on each input topic (random bytes, truncated
# records, empty values, valid records of another message type; tests/support/produce_raw.c),
# interleaved with a normal batch of battles. Then:
#   - arena.dlq holds exactly one dead letter per garbage record and consuming service group,
#     each with source topic/partition/offset, the service and a reason:
#       arena.prompts            -> sampler   1000
#       arena.battles.requested  -> generator 1000
#       arena.battles.generated  -> judge     1000
#       arena.battles.results    -> rater     1000 and curator 1000 (both dead-letter)
#     (the sampler also reads arena.battles.results to track completion: it only skips them, a
#     DLQ copy from it would be a third duplicate) -> 5,000 dead letters, nothing else;
#   - every service is still up (pid alive, /healthz 200);
#   - no battle lost: every issued battle id is counted once by the rater.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
PRODUCE_RAW=$ARENA_BINARY_DIR/tests/produce-raw
fleet_need_exec "$BIN/arena-rater" "$PRODUCE_RAW"
fleet_need_cmd python3 curl

N=1000
PROMPTS=120
BATTLES=$((PROMPTS * 6))
fleet_workdir garbage

python3 - "$WORK" "$PROMPTS" <<'PY'
import json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
topics = ["sorting", "rainbows", "inflation", "DNS", "tides", "enzymes", "chess openings", "RAID"]
with open(f"{work}/a.jsonl", "w") as a, open(f"{work}/b.jsonl", "w") as b:
    for i in range(n):
        t = f"Question {i}: explain {rng.choice(topics)} to a {rng.choice(['student', 'chef', 'pilot'])}, nonce {rng.randrange(10**9)}."
        (a if i % 2 == 0 else b).write(json.dumps({"prompt": t}) + "\n")
PY

export ARENA_CONFIG="$ROOT/deploy/local/arena.yaml"
export ARENA_SAMPLER_MAX_BATTLES=$BATTLES
export ARENA_CURATOR_SHARD_DIR="$WORK/shards"
export ARENA_SAMPLER_DEDUP_MINHASH=false ARENA_SAMPLER_DEDUP_PREFIX=false
mkdir -p "$WORK/shards"
fleet_start 29000 12 || { echo "FAIL: the fleet did not start"; exit 1; }

# garbage on the four input topics while prompts are ingested in two halves
GEN_PIDS=()
chaos_ctl ingest "$WORK/a.jsonl" --source garbage-a >/dev/null 2>&1
seed=1
for topic in arena.prompts arena.battles.requested arena.battles.generated arena.battles.results; do
    "$PRODUCE_RAW" --topic "$topic" --count "$N" --seed "$seed" --mode mixed \
        --key-prefix "garbage-$seed-" >"$WORK/produce-$seed.log" 2>&1 &
    GEN_PIDS+=($!)
    fleet_track $!
    seed=$((seed + 1))
done
chaos_ctl ingest "$WORK/b.jsonl" --source garbage-b >/dev/null 2>&1
for p in "${GEN_PIDS[@]}"; do
    wait "$p" || { cat "$WORK"/produce-*.log; echo "FAIL: produce-raw failed"; exit 1; }
done
fleet_untrack "${GEN_PIDS[@]}"
cat "$WORK"/produce-*.log

if ! chaos_ctl wait --battles "$BATTLES" --timeout-s 120 >"$WORK/wait.log" 2>&1; then
    tail -n 3 "$WORK/wait.log"
    chaos_ctl status || true
    echo "FAIL: the interleaved battles did not complete"
    exit 1
fi

# dead letters are produced before the input offset moves: wait until all 5,000 are in
want=$((5 * N))
for i in $(seq 1 60); do
    chaos_ctl dlq --timeout-ms 2000 >"$WORK/dlq.jsonl" 2>"$WORK/dlq.err" || true
    got=$(wc -l <"$WORK/dlq.jsonl")
    [ "$got" -ge "$want" ] && break
    sleep 1
done
sleep 2 # anything beyond the expected count would show up now
chaos_ctl dlq --timeout-ms 3000 >"$WORK/dlq.jsonl" 2>"$WORK/dlq.err" || true

alive=0
for svc in "${CHAOS_SERVICES[@]}"; do
    if chaos_alive "$svc" && [ "$(chaos_healthz "$svc")" = 200 ]; then
        alive=$((alive + 1))
    else
        echo "FAIL: $svc is not up after the garbage (healthz $(chaos_healthz "$svc"))"
        tail -n 10 "$WORK/logs/$svc.log"
    fi
done
chaos_status rater >"$WORK/rater_status.json"
chaos_ctl ctl "$(chaos_control rater)" "{\"cmd\":\"battle_ids\",\"path\":\"$WORK/rater_ids.txt\"}" >/dev/null
chaos_ctl tail arena.battles.requested --timeout-ms 3000 >"$WORK/requested.jsonl" 2>/dev/null
for svc in sampler generator judge rater curator; do
    echo "$svc: $(chaos_status "$svc" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("dlq", d.get("dlq", d.get("dead_lettered")), "dead_lettered", d.get("dead_lettered"))')"
done

python3 - "$WORK" "$N" "$BATTLES" "$alive" <<'PY'
import collections, json, sys
work, n, battles, alive = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fail = []
dl = [json.loads(l) for l in open(f"{work}/dlq.jsonl") if l.strip()]
expect = {("arena.prompts", "sampler"): ("garbage-1-", n),
          ("arena.battles.requested", "generator"): ("garbage-2-", n),
          ("arena.battles.generated", "judge"): ("garbage-3-", n),
          ("arena.battles.results", "rater"): ("garbage-4-", n),
          ("arena.battles.results", "curator"): ("garbage-4-", n)}
groups = collections.defaultdict(list)
for d in dl:
    groups[(d.get("source_topic"), d.get("service"))].append(d)
for k, v in sorted(groups.items()):
    kinds = collections.Counter(x["error"].split(":")[0] for x in v)
    print(f"dlq {k[0]} <- {k[1]}: {len(v)} ({', '.join(f'{e} {c}' for e, c in sorted(kinds.items()))})")
for k, (prefix, cnt) in expect.items():
    v = groups.get(k, [])
    keys = collections.Counter(x.get("key", "") for x in v)
    want_keys = {f"{prefix}{i}" for i in range(cnt)}
    if len(v) != cnt:
        fail.append(f"{k}: {len(v)} dead letters, want {cnt}")
    if set(keys) != want_keys or any(c != 1 for c in keys.values()):
        fail.append(f"{k}: keys differ from the garbage sent: missing {len(want_keys - set(keys))}, "
                    f"unexpected {len(set(keys) - want_keys)}, repeated {sum(1 for c in keys.values() if c > 1)}")
    for x in v:
        if not x.get("error") or x.get("source_partition") is None or x.get("source_offset") is None:
            fail.append(f"{k}: dead letter without reason/partition/offset: {x}")
            break
for k in groups:
    if k not in expect:
        fail.append(f"unexpected dead letters from {k}: {len(groups[k])}")
if alive != 5:
    fail.append(f"only {alive} of 5 services up")
issued = {json.loads(l)["battle_id"] for l in open(f"{work}/requested.jsonl") if l.strip()}
st = json.load(open(f"{work}/rater_status.json"))
ids = [l.strip() for l in open(f"{work}/rater_ids.txt") if l.strip()]
print(f"battles: issued {len(issued)}, rater battles_seen {st.get('battles_seen')}, ids {len(ids)}")
if len(issued) != battles or st.get("battles_seen") != battles or set(ids) != issued or len(ids) != len(set(ids)):
    fail.append(f"battles lost or double counted: issued {len(issued)}, seen {st.get('battles_seen')}, ids {len(ids)}/{len(set(ids))}")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print(f"PASS: {len(dl)} dead letters, exactly one per garbage record and consuming group; fleet up; {battles} battles complete")
PY
