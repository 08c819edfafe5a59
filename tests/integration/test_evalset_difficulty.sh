#!/usr/bin/env bash
# Hard eval sets scored by a difficulty model, through real samplers (arena-devbroker, RocksDB
# state, the control socket via arenactl) on 60 generated prompts:
#   (a) sim difficulty model (judge_noise 0.3) on prompts with planted "[sim-difficulty: d]"
#       tags: `evalset build --mode hard --top 8` is exactly the 6 planted hard prompts plus the
#       2 whose `difficulty` field (10) wins over their easy tag; a second sampler with a fresh
#       state builds the identical set (deterministic); a rebuild on the first asks nothing new
#       (every remaining candidate cached);
#   (b) openai backend against tests/support/fake_openai (real HTTP): every candidate without
#       a field is one request, planted garbage / out-of-range replies are counted unscorable
#       and never selected, the set equals (a)'s, the model's max_concurrency holds (fake's
#       max_concurrent), and a rebuild makes no request (fake /stats) and reports the cache;
#   (c) --hard-per-cluster: only the hard candidates are scored (requests = candidates without
#       a field), in mode mix;
#   (d) refused: a replay difficulty model at startup, mode hard without --top, a build whose
#       --timeout-ms ends before the scoring (error names the cache; a retry goes on from it).
set -uo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh" # BIN, WORK and its cleanup, devbroker, fake-openai
fleet_need_exec "$BIN/arena-sampler" "$BIN/arena-devbroker" "$ARENA_BINARY_DIR/tests/fake-openai"
fleet_need_cmd python3 curl
fleet_workdir evalset-difficulty
PORT_BASE=${ARENA_DIFFICULTY_PORT_BASE:-27000}
FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}
die() {
    echo "FAIL: $*"
    tail -n 20 "$WORK"/*.log 2>/dev/null
    exit 1
}

# one partition: every sampler's pool holds the prompts in the same order (k-means and the
# random draws depend on it), so two samplers must build byte-identical sets
devbroker_start "$WORK/broker" 1 || die "devbroker did not start"
fleet_fake_openai_start --latency-ms 30 || die "fake-openai did not start"
fake_stat() { curl -sf "$FAKE_URL/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

cat >"$WORK/arena.yaml" <<YAML
log_level: info
kafka:
  topic.metadata.refresh.interval.ms: 5000
models:
  - name: target-7b
    backend: sim
    skill: 6.0
    seed: 1
  - name: alpha-70b
    backend: sim
    skill: 8.0
    seed: 2
  - name: judge-sim
    backend: sim
    skill: 9.0
    judge_noise: 0.3
    seed: 3
    max_concurrency: 4
  - name: judge-http
    backend: openai
    base_url: $FAKE_URL/v1
    model: my-judge
    timeout_ms: 10000
    max_retries: 1
    max_concurrency: 3
  - name: judge-replay
    backend: replay
    answers: $WORK/answers.jsonl
sampler:
  mode: train
  target: target-7b
  competitors: [alpha-70b]
  rounds: 2
  difficulty_model: judge-sim
YAML
: >"$WORK/answers.jsonl"
export ARENA_CONFIG="$WORK/arena.yaml"

# 60 prompts of distinct random words (nothing for the pipeline to drop). Planted:
#   p0-p5   hard, tags 9.0-9.5            -> the hard set
#   p6-p7   tag 0.5 but "difficulty": 10  -> the field wins: in the hard set
#   p8-p10  "[fake-garbage]", p11 "[fake-rating: 12]" (fake-openai: unscorable), tag 2
#   the rest tags 0.0-4.9
python3 - "$WORK/prompts.jsonl" <<'PY'
import json, random, sys
rnd = random.Random(5)
syll = ["ka", "lo", "mi", "tu", "re", "sa", "no", "vi", "de", "po", "gu", "fe", "zo", "ba", "xi"]
words = sorted({"".join(rnd.choice(syll) for _ in range(3)) for _ in range(600)})
with open(sys.argv[1], "w") as f:
    for i in range(60):
        text = " ".join(rnd.sample(words, 14))
        rec = {}
        if i < 6:
            tag = 9.0 + i / 10
        elif i < 8:
            tag = 0.5
            rec["difficulty"] = 10
        elif i < 12:
            tag = 2
            text += " [fake-garbage]" if i < 11 else " [fake-rating: 12]"
        else:
            tag = round(rnd.uniform(0, 4.9), 1)
        rec["prompt"] = f"Question {i}: {text}. [sim-difficulty: {tag}]"
        f.write(json.dumps(rec) + "\n")
PY
"$BIN/arenactl" ingest "$WORK/prompts.jsonl" --source difficulty-test >"$WORK/ingest.out" 2>&1 ||
    die "ingest: $(cat "$WORK/ingest.out")"

N_SAMPLER=0
# start_sampler NAME [VAR=VALUE...]: a sampler with its own state, group and control port
start_sampler() {
    local name=$1
    shift
    local ctl="tcp://127.0.0.1:$((PORT_BASE + 2 * N_SAMPLER))"
    env ARENA_SAMPLER_STATE_DIR="$WORK/state-$name" ARENA_SAMPLER_GROUP_ID="difficulty-$name" \
        ARENA_SAMPLER_CONTROL="$ctl" \
        ARENA_SAMPLER_HTTP_LISTEN="127.0.0.1:$((PORT_BASE + 2 * N_SAMPLER + 1))" "$@" \
        "$BIN/arena-sampler" >"$WORK/sampler-$name.log" 2>&1 &
    local pid=$!
    fleet_track "$pid"
    N_SAMPLER=$((N_SAMPLER + 1))
    eval "CTL_$name=$ctl"
    local n=0
    for _ in $(seq 1 300); do
        n=$(ARENA_SAMPLER_CONTROL="$ctl" "$BIN/arenactl" ctl sampler '{"cmd":"status"}' 2>/dev/null |
            python3 -c "import json,sys; print(sum(json.load(sys.stdin)['prompts'].values()))" 2>/dev/null || echo 0)
        [ "$n" -ge 60 ] && break
        kill -0 "$pid" 2>/dev/null || die "sampler $name exited: $(tail -n 5 "$WORK/sampler-$name.log")"
        sleep 0.2
    done
    [ "$n" -ge 60 ] || die "sampler $name saw $n of 60 prompts"
}
# evalset NAME ARGS...: arenactl evalset against sampler NAME
evalset() {
    local name=$1
    shift
    local v="CTL_$name"
    ARENA_SAMPLER_CONTROL="${!v}" "$BIN/arenactl" evalset "$@"
}
# questions FILE: the sorted question numbers of an exported set
questions() {
    python3 -c '
import json, re, sys
print(" ".join(str(n) for n in sorted(int(re.match(r"Question (\d+):", json.loads(l)["prompt"]).group(1)) for l in open(sys.argv[1]))))' "$1"
}
# info SAMPLER SETID KEY: a field of the set's info (evalset_list)
info() {
    local v="CTL_$1"
    ARENA_SAMPLER_CONTROL="${!v}" "$BIN/arenactl" ctl sampler '{"cmd":"evalset_list"}' |
        python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['evalsets'] if s['id']=='$2')['$3'])"
}
EXPECT="0 1 2 3 4 5 6 7"
# build_hard SAMPLER: the hard build of (a) and (b), exported; its questions must be EXPECT
build_hard() {
    evalset "$1" build --name hard --mode hard --clusters 3 --top 8 --seed 4 >"$WORK/$1.out" 2>&1 ||
        die "build on sampler $1: $(cat "$WORK/$1.out")"
    cat "$WORK/$1.out"
    evalset "$1" export hard >"$WORK/$1.jsonl" || fail "export $1"
    [ "$(questions "$WORK/$1.jsonl")" = "$EXPECT" ] ||
        fail "sampler $1 hard set: questions $(questions "$WORK/$1.jsonl"), expected $EXPECT"
}

# ---- (a) sim difficulty model ----
start_sampler a1
build_hard a1
[ "$(info a1 hard@v1 difficulty_model)" = judge-sim ] || fail "difficulty_model not reported"
[ "$(info a1 hard@v1 supplied)" = 2 ] || fail "supplied: $(info a1 hard@v1 supplied), expected 2"
[ "$(info a1 hard@v1 scored)" = 58 ] || fail "scored: $(info a1 hard@v1 scored), expected 58"
[ "$(info a1 hard@v1 cached)" = 0 ] || fail "cached on the first build: $(info a1 hard@v1 cached)"
[ "$(info a1 hard@v1 unscorable)" = 0 ] || fail "sim unscorable: $(info a1 hard@v1 unscorable)"
grep -q '"difficulty_model":"judge-sim"' "$WORK/a1.jsonl" || fail "export lacks difficulty_model"
grep -q "supplied, 58 scored, 0 cached" "$WORK/a1.out" || fail "build output: $(cat "$WORK/a1.out")"
# deterministic: a fresh sampler builds the same set
start_sampler a2
evalset a2 build --name hard --mode hard --clusters 3 --top 8 --seed 4 >/dev/null 2>&1 || fail "build a2"
evalset a2 export hard >"$WORK/a2.jsonl" || fail "export a2"
cmp -s "$WORK/a1.jsonl" "$WORK/a2.jsonl" || fail "two samplers built different sets: $(diff "$WORK/a1.jsonl" "$WORK/a2.jsonl" | head -4)"
# rebuild: the 52 remaining candidates all come from the cache
evalset a1 build --name hard --mode hard --clusters 3 --top 4 --seed 4 >/dev/null 2>&1 || fail "rebuild a1"
[ "$(info a1 hard@v2 scored)" = 0 ] || fail "rebuild scored $(info a1 hard@v2 scored), expected 0"
[ "$(info a1 hard@v2 cached)" = 52 ] || fail "rebuild cached $(info a1 hard@v2 cached), expected 52"
evalset a1 list >"$WORK/list.txt" || fail "evalset list"
grep -E "^hard@v2 .* 0 +52 +0 +judge-sim$" "$WORK/list.txt" >/dev/null ||
    fail "evalset list does not show scored/cached/unscorable/model: $(cat "$WORK/list.txt")"

# ---- (b) openai backend over real HTTP ----
curl -sf -X POST "$FAKE_URL/stats/reset" >/dev/null || die "fake stats reset"
start_sampler b ARENA_SAMPLER_DIFFICULTY_MODEL=judge-http
build_hard b
[ "$(fake_stat requests)" = 58 ] || fail "fake-openai served $(fake_stat requests) requests, expected 58"
[ "$(info b hard@v1 scored)" = 54 ] || fail "openai scored $(info b hard@v1 scored), expected 54"
[ "$(info b hard@v1 unscorable)" = 4 ] || fail "openai unscorable $(info b hard@v1 unscorable), expected 4"
mc=$(fake_stat max_concurrent)
[ "$mc" -le 3 ] || fail "max_concurrency 3 exceeded: fake saw $mc at once"
grep -q 'event=difficulty_unscorable.*out of range 0-10' "$WORK/sampler-b.log" ||
    fail "the out-of-range reply is not logged with its reason"
grep -q 'event=difficulty_unscorable.*no \[\[N\]\] rating' "$WORK/sampler-b.log" ||
    fail "the garbage replies are not logged with their reason"
evalset b build --name hard --mode hard --clusters 3 --top 8 --seed 4 >"$WORK/b2.out" 2>&1 || fail "rebuild b"
[ "$(fake_stat requests)" = 58 ] || fail "the rebuild made $(( $(fake_stat requests) - 58 )) new requests"
[ "$(info b hard@v2 cached)" = 52 ] || fail "rebuild b cached $(info b hard@v2 cached), expected 52"
[ "$(info b hard@v2 unscorable)" = 4 ] || fail "rebuild b unscorable $(info b hard@v2 unscorable), expected 4 (cached)"
evalset b export hard >"$WORK/b2.jsonl"
grep -q "fake-garbage\|fake-rating" "$WORK/b2.jsonl" && fail "an unscorable prompt was selected"

# ---- (c) only the hard candidates are scored ----
curl -sf -X POST "$FAKE_URL/stats/reset" >/dev/null
start_sampler c ARENA_SAMPLER_DIFFICULTY_MODEL=judge-http
evalset c build --name mix --mode mix --clusters 3 --per-cluster 2 --top 5 --hard-per-cluster 4 \
    --seed 9 >"$WORK/c.out" 2>&1 || fail "build mix: $(cat "$WORK/c.out")"
cand=$(info c mix@v1 hard_candidates)
supplied=$(info c mix@v1 supplied)
req=$(fake_stat requests)
[ "$cand" -le 12 ] && [ "$cand" -ge 3 ] || fail "hard candidates $cand with 4 per cluster of 3"
[ "$req" = $((cand - supplied)) ] || fail "$req requests for $cand candidates ($supplied supplied)"
[ "$(info c mix@v1 scored)" = $(( req - $(info c mix@v1 unscorable) )) ] || fail "scored + unscorable != requests"

# ---- (d) refused with a reason ----
ARENA_SAMPLER_HTTP_LISTEN="127.0.0.1:$((PORT_BASE + 40))" "$BIN/arena-sampler" \
    --set sampler.difficulty_model=judge-replay --set "sampler.state_dir=$WORK/state-bad" \
    >"$WORK/bad.log" 2>&1 &
bad=$!
wait "$bad" && fail "a replay difficulty model was accepted"
grep -q "sampler.difficulty_model.*replay" "$WORK/bad.log" || fail "replay refusal: $(cat "$WORK/bad.log")"
evalset a1 build --name h --mode hard --clusters 3 2>"$WORK/err.txt" && fail "hard without --top accepted"
grep -q "needs --top" "$WORK/err.txt" || fail "hard without --top: $(cat "$WORK/err.txt")"
"$BIN/arenactl" evalset build --name h --timeout-ms 0 2>"$WORK/err.txt" && fail "--timeout-ms 0 accepted"
grep -q "timeout-ms" "$WORK/err.txt" || fail "--timeout-ms 0: $(cat "$WORK/err.txt")"
# a timeout shorter than the scoring (a second fake answers in 600 ms, 3 at a time: 58 requests
# need 11 s; --timeout-ms 4000 leaves the sampler 2 s): the build fails naming the cache, and
# the next build goes on from what was answered
FAST_URL=$FAKE_URL
fleet_fake_openai_start --latency-ms 600 || die "the slow fake-openai did not start"
SLOW_URL=$FAKE_URL
FAKE_URL=$FAST_URL
sed "s|base_url: $FAKE_URL/v1|base_url: $SLOW_URL/v1|" \
    "$WORK/arena.yaml" >"$WORK/arena-slow.yaml"
start_sampler d ARENA_SAMPLER_DIFFICULTY_MODEL=judge-http "ARENA_CONFIG=$WORK/arena-slow.yaml"
evalset d build --name hard --mode hard --clusters 3 --top 8 --seed 4 --timeout-ms 4000 \
    >"$WORK/d.out" 2>&1 && fail "a build that cannot finish scoring in 4 s succeeded"
grep -q "ran out of time after [0-9]* of 58 prompts (the answers so far are cached: build again" \
    "$WORK/d.out" || fail "timeout error: $(cat "$WORK/d.out")"
evalset d build --name hard --mode hard --clusters 3 --top 8 --seed 4 >"$WORK/d2.out" 2>&1 ||
    fail "retry after the timeout: $(cat "$WORK/d2.out")"
[ "$(info d hard@v1 cached)" -ge 1 ] || fail "the retry used no cached answer: $(cat "$WORK/d2.out")"
# the set the retry built (hard@v1 of this sampler), named by version
evalset d export hard --version 1 >"$WORK/d.jsonl"
[ "$(questions "$WORK/d.jsonl")" = "$EXPECT" ] || fail "set after the retry: $(questions "$WORK/d.jsonl")"

if [ "$FAILS" -gt 0 ]; then
    echo "$FAILS check(s) failed; logs:"
    tail -n 5 "$WORK"/sampler-*.log
    exit 1
fi
echo "PASS: hard eval sets from sim and openai difficulty models (cache, unscorable, candidates only)"
