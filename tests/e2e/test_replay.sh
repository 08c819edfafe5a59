#!/usr/bin/env bash
# End-to-end replay: the three real Arena-Hard v0.1 answer files (gpt-3.5-turbo-0125,
# gpt-4-0314, gpt-4-0613: ../shared/data/arena_hard_v0.1/model_answer) as `backend: replay`
# models, judged by a sim judge through the whole fleet (devbroker + five services).
# Train mode: target gpt-3.5-turbo-0125, competitors the two gpt-4 models = 3 battles per
# prompt. question.jsonl (500 prompts) is ingested with `arenactl ingest --format arena-hard`;
# the expected battle count is 3 x the sampler's pool (prompts its de-duplication kept). Checks:
#   - every question has an answer in every file (so no GENERATION_ERROR is legitimate);
#   - every issued battle has exactly one result; none is GENERATION_ERROR;
#   - each result's answers are the recorded answers of its two models for that question;
#   - the rater counted every battle once; the leaderboard has exactly the three models.
# Skips (77) when ../shared/data is absent.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
SHARED=${ARENA_SHARED_DIR:-$ROOT/../shared}
DATA=$SHARED/data/arena_hard_v0.1
fleet_need_exec "$BIN/arena-generator"
[ -f "$DATA/question.jsonl" ] && [ -d "$DATA/model_answer" ] ||
    { echo "SKIP: shared data absent ($DATA/question.jsonl, model_answer/)"; exit 77; }
fleet_need_cmd python3

fleet_workdir e2e-replay
fail_logs() {
    echo "FAIL: $*"
    tail -n 8 "$WORK"/logs/*.log
    exit 1
}

TARGET=gpt-3.5-turbo-0125
{
    fleet_config_head "test_replay.sh: recorded Arena-Hard answers, simulated judge"
    cat <<YAML
models:
  - name: gpt-3.5-turbo-0125
    backend: replay
    answers: $DATA/model_answer
  - name: gpt-4-0314
    backend: replay
    answers: $DATA/model_answer
  - name: gpt-4-0613
    backend: replay
    answers: $DATA/model_answer
  - name: sim-judge
    backend: sim
    skill: 9.0
    judge_noise: 0.7
    position_bias: 0.3
    seed: 99
sampler:
  mode: train
  target: $TARGET
  competitors: [gpt-4-0314, gpt-4-0613]
  max_in_flight: 3000
  round: 1
generator:
  max_in_flight: 512
judge:
  model: sim-judge
  template: wizardarena
rater:
  bootstrap: 20
  every_battles: 500
  every_ms: 1000
curator:
  flush_ms: 1000
YAML
} >"$WORK/arena.yaml"

# 1. the data: every question answered in every file
python3 - "$DATA" <<'PY'
import json, os, sys
d = sys.argv[1]
uids = [json.loads(l)["uid"] for l in open(f"{d}/question.jsonl") if l.strip()]
for m in ("gpt-3.5-turbo-0125", "gpt-4-0314", "gpt-4-0613"):
    have = {json.loads(l)["uid"] for l in open(f"{d}/model_answer/{m}.jsonl") if l.strip()}
    missing = [u for u in uids if u not in have]
    if missing:
        print(f"FAIL: {m} has no answer for {len(missing)} questions, e.g. {missing[:3]}")
        sys.exit(1)
print(f"data: {len(uids)} questions, each answered by the 3 models")
PY

mkdir -p "$WORK/shards"
export ARENA_CONFIG="$WORK/arena.yaml"
export ARENA_CURATOR_SHARD_DIR="$WORK/shards"
fleet_start "${ARENA_E2E_PORT_BASE:-23640}" 4 || fail_logs "the fleet did not start"

CTL=("$BIN/arenactl" --set log_level=warn)
start=$(date +%s.%N)
"${CTL[@]}" ingest "$DATA/question.jsonl" --format arena-hard --source arena-hard-v0.1 \
    >"$WORK/ingest.out" 2>&1 || { cat "$WORK/ingest.out"; fail_logs "ingest failed"; }

# 2. the sampler's pool once it has seen all 500 prompts
POOL=
for _ in $(seq 1 600); do
    "${CTL[@]}" ctl sampler '{"cmd":"status"}' >"$WORK/sampler_status.json" 2>/dev/null || true
    POOL=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
seen = sum(s["prompts"].values())
print(s["pool"] if seen >= 500 else "")' "$WORK/sampler_status.json" 2>/dev/null || true)
    [ -n "$POOL" ] && break
    sleep 0.1
done
[ -n "$POOL" ] || fail_logs "the sampler did not see the 500 prompts"
BATTLES=$((POOL * 3))
echo "sampler: pool $POOL of 500 prompts ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prompts"])' "$WORK/sampler_status.json")), expecting $BATTLES battles"

"${CTL[@]}" wait --battles "$BATTLES" --timeout-s 180 2>"$WORK/wait.log" ||
    { "${CTL[@]}" status || true; fail_logs "the fleet did not reach $BATTLES battles"; }
end=$(date +%s.%N)
awk -v n="$BATTLES" -v s="$start" -v e="$end" 'BEGIN { printf "%d battles in %.1f s from ingest to the last rated\n", n, e - s }'

"${CTL[@]}" tail arena.battles.requested --timeout-ms 4000 >"$WORK/requested.jsonl"
"${CTL[@]}" tail arena.battles.results --timeout-ms 4000 >"$WORK/results.jsonl"
"${CTL[@]}" ctl rater '{"cmd":"status"}' >"$WORK/rater_status.json"
"${CTL[@]}" ctl generator '{"cmd":"status"}' >"$WORK/generator_status.json"
sleep 1.5 # one more rater publication period
"${CTL[@]}" leaderboard --output json >"$WORK/leaderboard.json"
"${CTL[@]}" leaderboard

python3 - "$WORK" "$DATA" "$BATTLES" <<'PY'
import json, sys
work, data, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
models = ("gpt-3.5-turbo-0125", "gpt-4-0314", "gpt-4-0613")
fail = []

def lines(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

def norm(t):  # ingest's normalisation: no NUL, CRLF/CR -> LF, ASCII whitespace trimmed
    return t.replace("\0", "").replace("\r\n", "\n").replace("\r", "\n").strip(" \t\n\v\f")

prompt_uid = {norm(q["prompt"]): q["uid"] for q in lines(f"{data}/question.jsonl")}
answers = {}
for m in models:
    for a in lines(f"{data}/model_answer/{m}.jsonl"):
        c = [x for x in a["messages"] if x["role"] == "assistant"][-1]["content"]
        answers[(m, a["uid"])] = c["answer"] if isinstance(c, dict) else c

requested = lines(f"{work}/requested.jsonl")
results = lines(f"{work}/results.jsonl")
issued = {r["battle_id"] for r in requested}
ids = [r["battle_id"] for r in results]
print(f"issued {len(issued)} battles, {len(results)} result records")
if len(issued) != want:
    fail.append(f"{len(issued)} battles issued, expected {want} (3 x pool)")
if len(ids) != len(set(ids)):
    fail.append(f"duplicate results: {len(ids)} records, {len(set(ids))} ids")
if set(ids) != issued:
    fail.append(f"results != issued: missing {len(issued - set(ids))}, extra {len(set(ids) - issued)}")

outcomes, per_prompt, checked = {}, {}, 0
for r in results:
    o = r.get("outcome")
    outcomes[o] = outcomes.get(o, 0) + 1
    per_prompt.setdefault(r["prompt_id"], set()).add(frozenset((r["model_a"], r["model_b"])))
    if o == "OUTCOME_GENERATION_ERROR":
        continue
    uid = prompt_uid.get(norm(r["messages"][0]["content"])) if r.get("messages") else None
    if uid is None:
        fail.append(f"{r['battle_id']}: prompt not from question.jsonl")
        continue
    for side, model in (("response_a", r["model_a"]), ("response_b", r["model_b"])):
        got = r[side].get("content", "")
        if got != answers[(model, uid)]:
            fail.append(f"{r['battle_id']}: {side} is not {model}'s recorded answer to {uid}")
        if r[side].get("backend") != "replay":
            fail.append(f"{r['battle_id']}: {side} backend {r[side].get('backend')!r}")
    checked += 1
print("outcomes:", json.dumps(outcomes, sort_keys=True))
print(f"answers verified against the files: {checked} battles")
gen_err = [r for r in results if r.get("outcome") == "OUTCOME_GENERATION_ERROR"]
if gen_err:
    fail.append(f"{len(gen_err)} GENERATION_ERROR, e.g. {gen_err[0].get('error')!r}")
incomplete = [p for p, pairs in per_prompt.items() if len(pairs) != 3]
if incomplete:
    fail.append(f"{len(incomplete)} prompts without their 3 pairs")

rater = json.load(open(f"{work}/rater_status.json"))
print("rater:", {k: rater.get(k) for k in ("battles_seen", "rated", "skipped", "duplicates")})
if rater.get("battles_seen") != want:
    fail.append(f"rater battles_seen {rater.get('battles_seen')} != {want}")
gen = json.load(open(f"{work}/generator_status.json"))
print("generator:", {k: gen.get(k) for k in ("model_calls", "cache_hits", "generation_errors")})

lb = json.load(open(f"{work}/leaderboard.json"))
names = sorted(m["model"] for m in lb["models"])
if names != sorted(models):
    fail.append(f"leaderboard models {names} != {sorted(models)}")
# the sim judge scores a real answer by its length: gpt-3.5's shorter answers lose, as in the
# published Arena-Hard v0.1 results (gpt-4-0314 > gpt-4-0613 > gpt-3.5-turbo-0125)
if lb["models"] and max(lb["models"], key=lambda m: -m["rating"])["model"] != "gpt-3.5-turbo-0125":
    fail.append("gpt-3.5-turbo-0125 is not last on the leaderboard")
if lb.get("battles") != rater.get("rated"):
    fail.append(f"leaderboard battles {lb.get('battles')} != rater rated {rater.get('rated')}")

if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("PASS: replay of the real Arena-Hard answers through the fleet")
PY
