#!/usr/bin/env bash
# Chaos: nothing lost, nothing counted twice (ARCHITECTURE.md section 4).
#
# The whole fleet as real processes on arena-devbroker (2 brokers, 48 partitions), sim models,
# a seeded set of CHAOS_PROMPTS (3,600) unique prompts x 6 model pairs = 21,600 battles.
#   1. reference: the same battles fault-free (its own devbroker, fresh state) -> leaderboard;
#   2. chaos: every service is SIGKILLed at random moments (>= 12 kills, each service at least
#      twice) and restarted on its state dir, and broker 2 is taken down and up again;
# then, against the topics and the services' state:
#   - the rater counted exactly the set of battle ids the sampler issued (battles_seen ==
#     unique issued ids; replays only show up as `duplicates`);
#   - every issued battle has a result; no battle id issued twice with different content;
#   - the curator's shards hold no duplicate prompt per kind and miss no qualifying SFT
#     prompt (recomputed from arena.battles.results per services/curator/README.md);
#   - the leaderboard equals the reference run's (BT rating within 1e-6, same CIs and ranks).
# Knobs (env): CHAOS_PROMPTS, CHAOS_KILLS, CHAOS_SEED, CHAOS_KEEP=1 keeps the work dir.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export ARENA_BIN_DIR=${ARENA_BIN_DIR:-$ROOT/build/services}
[ -x "$ARENA_BIN_DIR/arena-rater" ] || { echo "SKIP: binaries not built in $ARENA_BIN_DIR"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
# shellcheck source=../support/devbroker.sh
. "$ROOT/tests/support/devbroker.sh"
# shellcheck source=../support/chaos_lib.sh
. "$ROOT/tests/support/chaos_lib.sh"

PROMPTS=${CHAOS_PROMPTS:-3600}
KILLS=${CHAOS_KILLS:-12}
SEED=${CHAOS_SEED:-20240715}
PAIRS=6 # 4 models in train mode: every pair
BATTLES=$((PROMPTS * PAIRS))
PORT_BASE=${CHAOS_PORT_BASE:-25000} # below the ephemeral range (32768-60999)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-chaos-XXXXXX")

cleanup() {
    chaos_stop_all 2>/dev/null || true
    devbroker_stop 2>/dev/null || true
    if [ "${CHAOS_KEEP:-0}" = 1 ]; then
        echo "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---- seeded prompts: unique, long enough, no shared prefixes ----
python3 - "$WORK/prompts.jsonl" "$PROMPTS" "$SEED" <<'PY'
import json, random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
verbs = ["Explain", "Compare", "Summarise", "Critique", "Design", "Prove", "Describe", "Plan",
         "Analyse", "Outline", "Debug", "Estimate", "Translate", "Optimise", "Sketch"]
nouns = ["a hash table", "the French revolution", "photosynthesis", "a TCP handshake",
         "monetary policy", "a binary heap", "plate tectonics", "the Krebs cycle", "a compiler",
         "impressionism", "quantum tunnelling", "a REST API", "supply chains", "glaciers",
         "the Byzantine empire", "garbage collection", "vaccines", "jazz harmony", "a B-tree",
         "wind turbines", "game theory", "sourdough", "black holes", "a mutex"]
seen = set()
with open(path, "w") as f:
    i = 0
    while len(seen) < n:
        words = " ".join(rng.choice(["quickly", "carefully", "briefly", "in depth", "for a child",
                                     "for an expert", "with examples", "step by step"])
                         for _ in range(3))
        text = f"[{i:05d}] {rng.choice(verbs)} {rng.choice(nouns)} {words}; variant {rng.randrange(10**9)}."
        i += 1
        if text in seen:
            continue
        seen.add(text)
        f.write(json.dumps({"prompt": text}) + "\n")
PY

# ---- the fleet's configuration (sim models of deploy/local/arena.yaml) ----
# The chaos run slows the models down (latency_ms, fewer calls in flight) so that the run lasts
# long enough for the kills to land mid-stream; latency does not change any answer or verdict
# (sim models are deterministic per seed), so the fast reference run rates the same battles.
sed 's/^\( *\)backend: sim$/\1backend: sim\n\1latency_ms: '"${CHAOS_LATENCY_MS:-30}"'/' \
    "$ROOT/deploy/local/arena.yaml" >"$WORK/arena-slow.yaml"
grep -q latency_ms "$WORK/arena-slow.yaml" || { echo "FAIL: could not derive the slow config"; exit 1; }
export ARENA_LOG_LEVEL=info
export ARENA_SAMPLER_DEDUP_MINHASH=false ARENA_SAMPLER_DEDUP_PREFIX=false
export ARENA_SAMPLER_MAX_BATTLES=$BATTLES
export ARENA_RATER_EVERY_MS=1000
for s in SAMPLER GENERATOR JUDGE RATER CURATOR; do export "ARENA_${s}_GRACE_MS=5000"; done

# run_fleet NAME FAULTS: a fresh devbroker and fleet in $WORK/NAME; leaves results in there
run_fleet() {
    local name=$1 faults=$2
    local dir="$WORK/$name"
    if [ "$faults" = 1 ]; then
        export ARENA_CONFIG="$WORK/arena-slow.yaml"
        export ARENA_GENERATOR_MAX_IN_FLIGHT=${CHAOS_IN_FLIGHT:-16}
        export ARENA_JUDGE_MAX_IN_FLIGHT=${CHAOS_IN_FLIGHT:-16}
    else
        export ARENA_CONFIG="$ROOT/deploy/local/arena.yaml"
        unset ARENA_GENERATOR_MAX_IN_FLIGHT ARENA_JUDGE_MAX_IN_FLIGHT
    fi
    mkdir -p "$dir/shards"
    chaos_init "$dir" "$PORT_BASE"
    export ARENA_CURATOR_SHARD_DIR="$dir/shards"
    devbroker_start "$dir/broker" 48 --brokers 2 --control "$(chaos_broker_control)" || return 1
    chaos_start_all || return 1
    chaos_ctl ingest "$WORK/prompts.jsonl" --source chaos-prompts >"$dir/ingest.log" 2>&1 || {
        cat "$dir/ingest.log"
        return 1
    }
    local t0
    t0=$(date +%s.%N)
    if [ "$faults" = 1 ]; then
        chaos_faults "$dir" || return 1
    fi
    if ! chaos_ctl wait --battles "$BATTLES" --timeout-s 240 >"$dir/wait.log" 2>&1; then
        echo "FAIL: $name run did not reach $BATTLES battles" >&2
        tail -n 3 "$dir/wait.log" >&2
        chaos_ctl status >&2 || true
        return 1
    fi
    local t1
    t1=$(date +%s.%N)
    # the leaderboard snapshot covering every battle (published every rater.every_ms)
    for _ in $(seq 1 100); do
        curl -s "http://$(chaos_http rater)/leaderboard.json" >"$dir/leaderboard.json" || true
        python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["battles"] >= int(sys.argv[2]) else 1)' \
            "$dir/leaderboard.json" "$BATTLES" 2>/dev/null && break
        sleep 0.2
    done
    chaos_status rater >"$dir/rater_status.json"
    chaos_ctl ctl "$(chaos_control rater)" "{\"cmd\":\"battle_ids\",\"path\":\"$dir/rater_ids.txt\"}" >/dev/null
    chaos_ctl tail arena.battles.requested --timeout-ms 4000 >"$dir/requested.jsonl"
    chaos_ctl tail arena.battles.results --timeout-ms 4000 >"$dir/results.jsonl"
    # SIGTERM: the curator cuts its last shards; each must exit 0 within its grace period
    local svc
    for svc in "${CHAOS_SERVICES[@]}"; do
        if ! chaos_stop "$svc" 15; then
            echo "FAIL: $svc did not stop cleanly on SIGTERM" >&2
            tail -n 5 "$dir/logs/$svc.log" >&2
            return 1
        fi
    done
    devbroker_stop || true
    awk -v s="$t0" -v e="$t1" -v n="$name" 'BEGIN { printf "%s: %.1f s to rate every battle\n", n, e - s }' |
        tee "$dir/duration.txt"
}

# chaos_faults DIR: SIGKILL + restart KILLS times (progress-gated so they spread over the run),
# broker 2 down for 4 s at half way. Runs in the foreground until the last fault is done.
chaos_faults() {
    local dir=$1
    RANDOM=$SEED
    local order=() svc k
    for k in $(seq 1 "$KILLS"); do
        order+=("${CHAOS_SERVICES[$(((k - 1) % 5))]}")
    done
    # seeded shuffle (Fisher-Yates)
    for ((k = ${#order[@]} - 1; k > 0; k--)); do
        local j=$((RANDOM % (k + 1)))
        local tmp=${order[$k]}
        order[k]=${order[$j]}
        order[j]=$tmp
    done
    local broker_at=$((KILLS / 2)) seen=0 target
    : >"$dir/faults.log"
    for k in "${!order[@]}"; do
        svc=${order[$k]}
        target=$((BATTLES * (k + 1) / (KILLS + 3)))
        local deadline=$(($(date +%s) + 120))
        while :; do
            seen=$(chaos_field rater battles_seen)
            [ -n "$seen" ] && [ "$seen" -ge "$target" ] && break
            [ "$(date +%s)" -ge "$deadline" ] && {
                echo "FAIL: no progress to $target battles before kill $((k + 1))" >&2
                return 1
            }
            sleep 0.2
        done
        sleep "0.$((RANDOM % 10))"
        echo "$(date +%T.%N) kill -9 $svc (pid ${CHAOS_PID[$svc]}) at battles_seen=$seen" |
            tee -a "$dir/faults.log"
        chaos_kill "$svc" KILL
        sleep "0.$((RANDOM % 10))"
        chaos_start "$svc" || return 1
        if [ "$k" = "$broker_at" ]; then
            echo "$(date +%T.%N) broker 2 down" | tee -a "$dir/faults.log"
            chaos_ctl devbroker --control "$(chaos_broker_control)" down 2 >/dev/null
            sleep 4
            chaos_ctl devbroker --control "$(chaos_broker_control)" up 2 >/dev/null
            echo "$(date +%T.%N) broker 2 up" | tee -a "$dir/faults.log"
        fi
    done
}

echo "==> reference run: $BATTLES battles, no faults"
run_fleet reference 0
echo "==> chaos run: $BATTLES battles, $KILLS SIGKILLs, broker 2 down/up"
run_fleet chaos 1

python3 - "$WORK" "$BATTLES" "$KILLS" <<'PY'
import json, os, sys
work, want, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fail = []

def lines(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

def check_run(name):
    d = f"{work}/{name}"
    requested = lines(f"{d}/requested.jsonl")
    results = lines(f"{d}/results.jsonl")
    issued = {}
    for r in requested:
        key = (r["prompt_id"], r["model_a"], r["model_b"], r.get("sample_index", 0))
        if issued.setdefault(r["battle_id"], key) != key:
            fail.append(f"{name}: battle id {r['battle_id']} issued for two different battles")
    ids = set(issued)
    if len(ids) != want:
        fail.append(f"{name}: {len(ids)} unique battles issued, want {want}")
    status = json.load(open(f"{d}/rater_status.json"))
    seen = status.get("battles_seen")
    if seen != len(ids):
        fail.append(f"{name}: rater battles_seen={seen} != {len(ids)} issued (counted twice or lost)")
    rater_ids = [l.strip() for l in open(f"{d}/rater_ids.txt") if l.strip()]
    if len(rater_ids) != len(set(rater_ids)):
        fail.append(f"{name}: rater lists {len(rater_ids) - len(set(rater_ids))} id(s) twice")
    if set(rater_ids) != ids:
        fail.append(f"{name}: rater ids != issued: missing {len(ids - set(rater_ids))}, "
                    f"extra {len(set(rater_ids) - ids)}")
    by_id = {}
    for r in results:
        by_id.setdefault(r["battle_id"], r)
    if set(by_id) != ids:
        fail.append(f"{name}: result ids != issued: missing {len(ids - set(by_id))}, "
                    f"extra {len(set(by_id) - ids)}")
    bad = [r for r in by_id.values() if r["outcome"] not in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B", "OUTCOME_TIE")]
    if bad:
        fail.append(f"{name}: {len(bad)} error outcome(s), e.g. {bad[0].get('error')}")
    print(f"{name}: issued {len(ids)} unique ({len(requested)} records), results {len(results)} "
          f"records ({len(results) - len(by_id)} replayed duplicates), rater duplicates ignored "
          f"{status.get('duplicates')}, skipped {status.get('skipped')}")
    return by_id

def check_shards(name, by_id):
    d = f"{work}/{name}"
    K, target = 3.0, "target-7b"
    by_prompt = {}
    for r in by_id.values():
        by_prompt.setdefault(r["prompt_id"], []).append(r)
    expected = set()
    for pid, battles in by_prompt.items():
        for b in battles:
            if b["outcome"] not in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B") or b.get("eval"):
                continue
            if target not in (b["model_a"], b["model_b"]):
                continue
            t_is_a = b["model_a"] == target
            ts, os_ = (b["score_a"], b["score_b"]) if t_is_a else (b["score_b"], b["score_a"])
            lost = b["outcome"] == ("OUTCOME_MODEL_B" if t_is_a else "OUTCOME_MODEL_A")
            if lost and os_ - ts >= K - 1e-9:
                expected.add(pid)
    rows = {}
    for fn in sorted(os.listdir(f"{d}/shards")):
        if not fn.endswith(".jsonl"):
            continue
        kind = fn.split("-")[0]
        for l in open(f"{d}/shards/{fn}"):
            if l.strip():
                rows.setdefault(kind, []).append(json.loads(l))
    for kind in ("sft", "dpo"):
        pids = [r["prompt_id"] for r in rows.get(kind, [])]
        if len(pids) != len(set(pids)):
            fail.append(f"{name}: {len(pids) - len(set(pids))} duplicate {kind} prompt(s) in the shards")
    rm = [tuple(r["battle_ids"]) for r in rows.get("rm", [])]
    if len(rm) != len(set(rm)):
        fail.append(f"{name}: {len(rm) - len(set(rm))} duplicate RM pair(s) in the shards")
    sft = {r["prompt_id"] for r in rows.get("sft", [])}
    if sft != expected:
        fail.append(f"{name}: SFT prompts != qualifying: missing {len(expected - sft)}, extra {len(sft - expected)}")
    print(f"{name}: shards sft={len(rows.get('sft', []))} (qualifying {len(expected)}) "
          f"dpo={len(rows.get('dpo', []))} rm={len(rows.get('rm', []))}")
    return {k: sorted(json.dumps(r, sort_keys=True) for r in v) for k, v in rows.items()}

ref = check_run("reference")
cha = check_run("chaos")
ref_rows = check_shards("reference", ref)
cha_rows = check_shards("chaos", cha)
if ref_rows != cha_rows:
    fail.append("chaos shards' rows differ from the reference run's: " +
                ", ".join(f"{k}: {len(ref_rows.get(k, []))} vs {len(cha_rows.get(k, []))}" for k in ("sft", "dpo", "rm")))
# the same battles, the same verdicts (sim models are deterministic per seed)
for bid, r in ref.items():
    c = cha.get(bid)
    if c and (c["outcome"], c["score_a"], c["score_b"]) != (r["outcome"], r["score_a"], r["score_b"]):
        fail.append(f"battle {bid}: chaos verdict differs from the reference")
        break

lb_ref = json.load(open(f"{work}/reference/leaderboard.json"))
lb_cha = json.load(open(f"{work}/chaos/leaderboard.json"))
def table(lb):
    return {m["model"]: m for m in lb["models"]}
tr, tc = table(lb_ref), table(lb_cha)
if lb_ref["battles"] != want or lb_cha["battles"] != want:
    fail.append(f"leaderboard battles: reference {lb_ref['battles']}, chaos {lb_cha['battles']}, want {want}")
if set(tr) != set(tc):
    fail.append(f"leaderboard models differ: {sorted(tr)} vs {sorted(tc)}")
for m in sorted(set(tr) & set(tc)):
    a, b = tr[m], tc[m]
    for k in ("rating", "ci_low", "ci_high"):
        if abs(a[k] - b[k]) > 1e-6:
            fail.append(f"leaderboard {m}.{k}: reference {a[k]!r} != chaos {b[k]!r}")
    for k in ("rank", "games", "wins", "losses", "ties"):
        if a[k] != b[k]:
            fail.append(f"leaderboard {m}.{k}: reference {a[k]} != chaos {b[k]}")
print("leaderboard:", ", ".join(f'{m["model"]} {m["rating"]:.6f} [{m["ci_low"]:.3f}, {m["ci_high"]:.3f}] #{m["rank"]}'
                                for m in lb_cha["models"]))
faults = open(f"{work}/chaos/faults.log").read().splitlines()
killed = [l.split()[3] for l in faults if " kill -9 " in l]
print(f"faults: {len(killed)} SIGKILLs ({', '.join(f'{s} x{killed.count(s)}' for s in sorted(set(killed)))}), "
      f"broker outages {sum(1 for l in faults if 'down' in l)}")
if len(killed) < min(kills, 10) or len(set(killed)) < 5:
    fail.append(f"only {len(killed)} kills over {len(set(killed))} services")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("PASS: nothing lost, nothing counted twice, leaderboard equals the fault-free run")
PY
cat "$WORK/reference/duration.txt" "$WORK/chaos/duration.txt"
