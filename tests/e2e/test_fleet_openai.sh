#!/usr/bin/env bash
# End-to-end with the openai backend: devbroker + the five services (deploy/local/run.sh) with
# every answering model AND the judge on `backend: openai`, pointed at fake-openai (a real HTTP
# server speaking the chat-completions API) that injects a fault mix: 500s, 429 with
# Retry-After, timeouts (hang longer than timeout_ms), dropped connections, malformed JSON,
# empty choices, a wrong content type, and "garbage" (a well-formed answer in which a judge
# finds no score). 3 models in train mode, 300 battles (the sampler's max_battles: the first
# ~100 prompts that pass its de-duplication, 3 pairs each). Checks:
#   - every issued battle has exactly one result record (unique battle ids, none missing, no
#     duplicate), and the rater counted each exactly once;
#   - each result is rated (A/B/TIE with scores) or *_ERROR with a non-empty error;
#   - judge garbage: unparseable output is retried once (judge status parse_retries > 0) and,
#     when the retry is unparseable too, the result is JUDGE_ERROR, which the rater skips:
#     rater.rated == decisive+tie results and rater.skipped == error results;
#   - arena_model_call_retries_total > 0 in the generator's and the judge's /metrics;
#   - fake-openai's /stats show every fault kind was served.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
fleet_need_exec "$BIN/arena-generator" "$ARENA_BINARY_DIR/tests/fake-openai"
fleet_need_cmd python3 curl

# the worked examples of the README load and validate (deploy/local/examples/*.yaml)
for ex in "$ROOT"/deploy/local/examples/*.yaml; do
    "$BIN/arena-judge" --config "$ex" --print-config >/dev/null ||
        { echo "FAIL: example $ex does not load"; exit 1; }
done

fleet_workdir e2e-openai
BATTLES=300

# --- fake-openai with the fault mix (about 1 call in 3 faults) ---
fleet_fake_openai_start --latency-ms 20 --hang-ms 2500 --seed 7 \
    --fault 500:0.04 --fault 429:0.04:retry-after=1 --fault timeout:0.02 --fault drop:0.03 \
    --fault badjson:0.03 --fault nochoices:0.03 --fault ctype:0.03 --fault garbage:0.12 ||
    { echo "FAIL: fake-openai did not start"; exit 1; }

model() { # name, model sent to the server
    cat <<YAML
  - name: $1
    backend: openai
    base_url: $FAKE_URL/v1
    model: $2
    timeout_ms: 1500
    max_retries: 4
    max_concurrency: 64
    temperature: 0.7
    max_tokens: 512
YAML
}
{
    fleet_config_head "test_fleet_openai.sh: every model on the openai backend, served by fake-openai with faults"
    echo "models:"
    model target-7b my-target
    model alpha-70b my-alpha
    model beta-34b my-beta
    model judge-70b my-judge
    cat <<YAML
sampler:
  mode: train
  target: target-7b
  competitors: [alpha-70b, beta-34b]
  max_in_flight: 2000
  round: 1
generator:
  max_in_flight: 256
judge:
  model: judge-70b
  template: wizardarena
  parse_retries: 1
  max_in_flight: 256
rater:
  bootstrap: 20
  every_battles: 100
  every_ms: 1000
curator:
  flush_ms: 1000
YAML
} >"$WORK/arena.yaml"
"$BIN/arena-judge" --config "$WORK/arena.yaml" --print-config >/dev/null

head -n 250 "$ROOT/deploy/local/prompts.jsonl" >"$WORK/prompts.jsonl"

export ARENA_WAIT_TIMEOUT_S=150
fleet_run_start "${ARENA_E2E_PORT_BASE:-23600}" "$BATTLES" --partitions 4 \
    --config "$WORK/arena.yaml" --prompts "$WORK/prompts.jsonl" ||
    { echo "FAIL: the fleet did not reach $BATTLES battles"; exit 1; }

CTL=("${FLEET_CTL[@]}")
"${CTL[@]}" tail arena.battles.requested --timeout-ms 4000 >"$WORK/requested.jsonl"
"${CTL[@]}" tail arena.battles.results --timeout-ms 4000 >"$WORK/results.jsonl"
"${CTL[@]}" ctl rater '{"cmd":"status"}' >"$WORK/rater_status.json"
"${CTL[@]}" ctl judge '{"cmd":"status"}' >"$WORK/judge_status.json"
curl -fsS "http://$(fleet_run_http generator)/metrics" >"$WORK/generator.metrics"
curl -fsS "http://$(fleet_run_http judge)/metrics" >"$WORK/judge.metrics"
curl -fsS "$FAKE_URL/stats" >"$WORK/fake_stats.json"

python3 - "$WORK" "$BATTLES" <<'PY'
import json, re, sys
work, want = sys.argv[1], int(sys.argv[2])
fail = []

def lines(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

requested = lines(f"{work}/requested.jsonl")
results = lines(f"{work}/results.jsonl")
issued = {r["battle_id"] for r in requested}
ids = [r["battle_id"] for r in results]
print(f"issued {len(issued)} battles ({len(requested)} records), {len(results)} result records")
if len(issued) != want:
    fail.append(f"{len(issued)} battles issued, expected {want}")
if len(ids) != len(set(ids)):
    fail.append(f"duplicate results: {len(ids)} records, {len(set(ids))} battle ids")
if set(ids) != issued:
    fail.append(f"results != issued: missing {len(issued - set(ids))}, extra {len(set(ids) - issued)}")

outcomes = {}
rated = errors = 0
for r in {r["battle_id"]: r for r in results}.values():
    o = r.get("outcome", "OUTCOME_UNSPECIFIED")
    outcomes[o] = outcomes.get(o, 0) + 1
    if o in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B", "OUTCOME_TIE"):
        rated += 1
        if not (1 <= r.get("score_a", 0) <= 10 and 1 <= r.get("score_b", 0) <= 10):
            fail.append(f"{r['battle_id']}: rated without scores")
        if r.get("error"):
            fail.append(f"{r['battle_id']}: rated but carries error {r['error']!r}")
    elif o in ("OUTCOME_JUDGE_ERROR", "OUTCOME_GENERATION_ERROR"):
        errors += 1
        if not r.get("error", "").strip():
            fail.append(f"{r['battle_id']}: {o} without an error message")
    else:
        fail.append(f"{r['battle_id']}: outcome {o}")
print("outcomes:", json.dumps(outcomes, sort_keys=True))
for o in ("OUTCOME_JUDGE_ERROR", "OUTCOME_GENERATION_ERROR"):
    ex = [r["error"] for r in results if r.get("outcome") == o][:2]
    if ex:
        print(f"  e.g. {o}: {ex}")
if outcomes.get("OUTCOME_JUDGE_ERROR", 0) == 0:
    fail.append("no JUDGE_ERROR although 12% of judge answers were garbage")
if rated < want // 2:
    fail.append(f"only {rated} of {want} battles rated")

rater = json.load(open(f"{work}/rater_status.json"))
print("rater:", {k: rater.get(k) for k in ("battles_seen", "rated", "skipped", "duplicates")})
if rater.get("battles_seen") != want:
    fail.append(f"rater battles_seen {rater.get('battles_seen')} != {want}")
if rater.get("rated") != rated:
    fail.append(f"rater rated {rater.get('rated')} != rated results {rated}")
if rater.get("skipped") != errors:
    fail.append(f"rater skipped {rater.get('skipped')} != error results {errors}")

judge = json.load(open(f"{work}/judge_status.json"))
print("judge:", {k: judge.get(k) for k in ("judged", "judge_errors", "generation_errors", "parse_retries")})
if not judge.get("parse_retries"):
    fail.append("judge parse_retries is 0: unparseable output was not retried")
if judge.get("judge_errors") != outcomes.get("OUTCOME_JUDGE_ERROR", 0):
    fail.append(f"judge judge_errors {judge.get('judge_errors')} != JUDGE_ERROR results")

def retries(path):
    total, reasons = 0.0, {}
    for l in open(path):
        m = re.match(r'arena_model_call_retries_total\{([^}]*)\}\s+(\S+)', l)
        if m:
            v = float(m.group(2))
            total += v
            reason = re.search(r'reason="([^"]*)"', m.group(1)).group(1)
            reasons[reason] = reasons.get(reason, 0) + v
    return total, reasons
for svc in ("generator", "judge"):
    total, reasons = retries(f"{work}/{svc}.metrics")
    print(f"{svc} arena_model_call_retries_total = {total:.0f} {reasons}")
    if total <= 0:
        fail.append(f"{svc}: arena_model_call_retries_total is 0")

stats = json.load(open(f"{work}/fake_stats.json"))
print("fake-openai:", json.dumps(stats, sort_keys=True))
for k in ("500", "429", "timeout", "drop", "badjson", "nochoices", "ctype", "garbage"):
    if not stats.get(f"fault_{k}"):
        fail.append(f"fake-openai served no '{k}' fault")

if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("PASS: openai fleet under faults")
PY
