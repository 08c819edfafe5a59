#!/usr/bin/env bash
# The data flywheel end to end on arena-devbroker with sim models:
#   ingest 300 prompts -> eval set (k-means diverse, versioned, exported) -> round 1 -> round 2
#   (sampler.rounds: 2, hash split) -> curator shards with per-round gaps (SFT 3.0 then 1.0).
# Checks, against arena.battles.results (arenactl tail):
#   - every shard matches its manifest (sha256, bytes, rows) and loads as JSON lines with exactly
#     the TRL field names; SFT/DPO rows are the prompts and answers the curator rule gives for
#     their round (recomputed here), RM rows = decisive battles; no duplicate; no eval prompt in
#     any battle or shard; battles of round N are only D_N prompts;
#   - a second curator (fresh state dir, own group) over the same results writes byte-identical
#     shards;
#   - arenactl dataset --rounds 1,2 concatenates the verified shards (rows = the manifests').
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
fleet_need_exec "$BIN/arena-sampler" "$BIN/arena-devbroker"
fleet_need_cmd python3
PROMPTS="$ROOT/deploy/local/prompts.jsonl"
[ -f "$PROMPTS" ] || { echo "SKIP: $PROMPTS missing"; exit 77; }

fleet_workdir e2e-flywheel
CFG="$WORK/arena.yaml"
sed -e '/^sampler:/,$d' "$ROOT/deploy/local/arena.yaml" >"$CFG"
cat >>"$CFG" <<YAML
sampler:
  mode: train
  target: target-7b
  competitors: [alpha-70b, beta-34b, gamma-13b]
  max_in_flight: 2000
  rounds: 2
  split: hash
judge:
  model: judge-70b
  template: wizardarena
  tie_margin: 1.0
rater:
  bootstrap: 10
curator:
  sft_min_gap: 3.0
  dpo_min_gap: 2.0
  sft_min_gap_by_round: [3.0, 1.0]
  dpo_min_gap_by_round: [2.0]
  shard_size: 40
  flush_ms: 0
  shard_dir: $WORK/shards
YAML
export ARENA_CONFIG="$CFG"
CTL=("$BIN/arenactl")
fail() { echo "FAIL: $*"; tail -n 5 "$WORK"/logs/*.log; exit 1; }
fleet_start "${ARENA_FLYWHEEL_PORT_BASE:-23420}" 4 || fail "the fleet did not start"
alive() {
    local svc
    for svc in "${CHAOS_SERVICES[@]}"; do chaos_alive "$svc" || fail "$svc exited"; done
}
status_field() { # SERVICE FIELD
    "${CTL[@]}" ctl "$1" '{"cmd":"status"}' 2>/dev/null |
        python3 -c "import json,sys; print(json.load(sys.stdin).get('$2'))" 2>/dev/null || echo none
}

head -n 300 "$PROMPTS" >"$WORK/prompts.jsonl"
"${CTL[@]}" ingest "$WORK/prompts.jsonl" --source flywheel-test >/dev/null || fail "ingest"
# the sampler decided on all 300 (accepted or dropped)
for _ in $(seq 1 300); do
    n=$("${CTL[@]}" ctl sampler '{"cmd":"status"}' 2>/dev/null |
        python3 -c "import json,sys; print(sum(json.load(sys.stdin)['prompts'].values()))" 2>/dev/null || echo 0)
    [ "$n" -ge 300 ] && break
    alive
    sleep 0.2
done
[ "$n" -ge 300 ] || fail "sampler saw $n of 300 prompts"
# nothing is issued before a round starts
[ "$(status_field sampler issued)" = 0 ] || fail "battles issued before round start"
# bad requests are refused with a reason
"${CTL[@]}" round start 3 2>"$WORK/err.txt" && fail "round 3 of 2 accepted"
grep -q "expected 1..2" "$WORK/err.txt" || fail "round 3: $(cat "$WORK/err.txt")"
"${CTL[@]}" evalset build --name wa --clusters 100000 2>"$WORK/err.txt" && fail "k > n accepted"
grep -q "clusters" "$WORK/err.txt" || fail "k > n: $(cat "$WORK/err.txt")"

# eval set: 6 clusters x 3 prompts, versioned; a rebuild gives v2 from the rest of the pool
"${CTL[@]}" evalset build --name wa --mode diverse --clusters 6 --per-cluster 3 --seed 7 ||
    fail "evalset build"
"${CTL[@]}" evalset list | grep -q "wa@v1" || fail "evalset list"
"${CTL[@]}" evalset export wa --version 1 >"$WORK/eval.jsonl" || fail "evalset export"
[ "$(wc -l <"$WORK/eval.jsonl")" = 18 ] || fail "eval set has $(wc -l <"$WORK/eval.jsonl") items"

for r in 1 2; do
    "${CTL[@]}" round start "$r" || fail "round start $r"
    "${CTL[@]}" round wait "$r" --timeout 120 || fail "round $r did not complete"
done
# the curator caught up with every result
"${CTL[@]}" tail arena.battles.results --timeout-ms 3000 >"$WORK/results.jsonl"
"${CTL[@]}" tail arena.battles.requested --timeout-ms 2000 >"$WORK/requested.jsonl"
nres=$(wc -l <"$WORK/results.jsonl")
for _ in $(seq 1 300); do
    c=$(status_field curator consumed)
    p=$(status_field curator prompts_pending)
    [ "$c" = "$nres" ] && [ "$p" = 0 ] && break
    alive
    sleep 0.2
done
[ "$c" = "$nres" ] && [ "$p" = 0 ] || fail "curator consumed $c of $nres results, $p prompts pending"
fleet_stop_services # the curator cuts its last shards at shutdown

# a second curator over the same results, fresh state and shard dir, control on a spare port
CUR2_CONTROL="tcp://127.0.0.1:${CHAOS_PORTS[5]}"
ARENA_CURATOR_STATE_DIR="$WORK/state/curator2" ARENA_CURATOR_GROUP_ID=arena-curator-rerun \
    ARENA_CURATOR_CONTROL="$CUR2_CONTROL" \
    ARENA_CURATOR_SHARD_DIR="$WORK/shards2" "$BIN/arena-curator" >"$WORK/logs/curator2.log" 2>&1 &
CUR2_PID=$!
fleet_track "$CUR2_PID"
for _ in $(seq 1 300); do
    c=$("${CTL[@]}" ctl "$CUR2_CONTROL" '{"cmd":"status"}' 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(d['consumed'], d['prompts_pending'])" 2>/dev/null || echo none)
    [ "$c" = "$nres 0" ] && break
    kill -0 "$CUR2_PID" 2>/dev/null || fail "second curator exited"
    sleep 0.2
done
[ "$c" = "$nres 0" ] || fail "second curator: $c"
kill -TERM "$CUR2_PID"; wait "$CUR2_PID" || true; fleet_untrack "$CUR2_PID"
diff -r -x '*.manifest.json' "$WORK/shards" "$WORK/shards2" >/dev/null ||
    fail "re-run shards differ: $(diff -rq -x '*.manifest.json' "$WORK/shards" "$WORK/shards2" | head -3)"
echo "re-run over the same results: $(ls "$WORK/shards2" | grep -vc manifest) shard files byte-identical"

"${CTL[@]}" dataset --kind dpo --rounds 1,2 --shard-dir "$WORK/shards" --output "$WORK/dpo-1-2.jsonl" ||
    fail "arenactl dataset"
cp "$WORK/shards/$(ls "$WORK/shards" | grep -m1 '^sft-.*\.jsonl$')" "$WORK/sft-copy" &&
    f="$WORK/shards/$(ls "$WORK/shards" | grep -m1 '^sft-.*\.jsonl$')" && echo '{}' >>"$f" &&
    "${CTL[@]}" dataset --kind sft --rounds 1,2 --shard-dir "$WORK/shards" --output "$WORK/x.jsonl" 2>"$WORK/err.txt" &&
    fail "dataset accepted a tampered shard"
grep -q "sha256" "$WORK/err.txt" || fail "tampered shard: $(cat "$WORK/err.txt")"
cp "$WORK/sft-copy" "$f"

python3 - "$WORK" <<'PY'
import hashlib, json, os, sys
work = sys.argv[1]
fail = []
def load(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]
results = list({r["battle_id"]: r for r in load(f"{work}/results.jsonl")}.values())
requested = load(f"{work}/requested.jsonl")
evals = {e["prompt_id"] for e in load(f"{work}/eval.jsonl")}
target = "target-7b"
SFT_K = {1: 3.0, 2: 1.0}
DPO_K = {1: 2.0, 2: 2.0}
rounds = {r.get("round", 0) for r in requested}
print(f"{len(requested)} battles requested in rounds {sorted(rounds)}, {len(results)} results, {len(evals)} eval items")
if rounds != {1, 2}:
    fail.append(f"rounds issued {rounds}")
for r in requested:
    if r["prompt_id"] in evals:
        fail.append(f"eval prompt {r['prompt_id']} battled in round {r.get('round')}")
        break
# each prompt in one round only (hash split)
pr = {}
for r in requested:
    pr.setdefault(r["prompt_id"], set()).add(r.get("round"))
if any(len(v) != 1 for v in pr.values()):
    fail.append("a prompt battled in two rounds")

by = {}
for r in results:
    by.setdefault((r.get("round", 0), r["prompt_id"]), []).append(r)
exp_sft, exp_dpo, decisive = {}, {}, 0
for (rnd, pid), bs in by.items():
    best = None
    for b in bs:
        if b["outcome"] not in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B"):
            continue
        decisive += 1
        if target not in (b["model_a"], b["model_b"]):
            continue
        ta = b["model_a"] == target
        ts, os_ = (b["score_a"], b["score_b"]) if ta else (b["score_b"], b["score_a"])
        opp = b["model_b"] if ta else b["model_a"]
        won = b["outcome"] == ("OUTCOME_MODEL_B" if ta else "OUTCOME_MODEL_A")
        if won and os_ - ts >= SFT_K[rnd] - 1e-9:
            key = (-os_, -(os_ - ts), opp, b["battle_id"])
            ans = (b["response_b"] if ta else b["response_a"])["content"]
            if best is None or key < best[0]:
                best = (key, opp, ans)
    if best:
        exp_sft[(rnd, pid)] = (best[1], best[2])
    # DPO: mean scores, chosen = highest mean, rejected = target (else lowest), direct battle
    sc = {}
    for b in bs:
        if b["outcome"] not in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B", "OUTCOME_TIE"):
            continue
        sc.setdefault(b["model_a"], []).append(b["score_a"])
        sc.setdefault(b["model_b"], []).append(b["score_b"])
    if len(sc) < 2:
        continue
    mean = {m: sum(v) / len(v) for m, v in sc.items()}
    chosen = sorted(mean, key=lambda m: (-mean[m], m))[0]
    rej = target if target in mean and target != chosen else sorted(
        (m for m in mean if m != chosen), key=lambda m: (mean[m], m))[0]
    direct = sorted((b for b in bs if {b["model_a"], b["model_b"]} == {chosen, rej} and
                     b["outcome"] in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B", "OUTCOME_TIE")),
                    key=lambda b: b["battle_id"])
    if direct:
        b = direct[0]
        gap = (b["score_a"] - b["score_b"]) * (1 if b["model_a"] == chosen else -1)
        if gap >= DPO_K[rnd] - 1e-9:
            ca = (b["response_a"] if b["model_a"] == chosen else b["response_b"])["content"]
            ra = (b["response_b"] if b["model_a"] == chosen else b["response_a"])["content"]
            exp_dpo[(rnd, pid)] = (chosen, rej, ca, ra)

SFT_KEYS = ["messages", "prompt_id", "round", "model", "score", "target_model", "target_score", "gap", "battle_ids"]
PREF_KEYS = ["prompt", "chosen", "rejected", "prompt_id", "round", "chosen_model", "chosen_rating",
             "rejected_model", "rejected_rating", "gap", "battle_ids"]
rows = {"sft": {}, "dpo": {}, "rm": []}
for name in sorted(os.listdir(f"{work}/shards")):
    if not name.endswith(".jsonl"):
        continue
    path = f"{work}/shards/{name}"
    data = open(path, "rb").read()
    man = json.load(open(path[: -len(".jsonl")] + ".manifest.json"))
    lines = [json.loads(l) for l in data.decode().splitlines()]
    if man["sha256"] != hashlib.sha256(data).hexdigest() or int(man["bytes"]) != len(data):
        fail.append(f"{name}: sha256/bytes differ from the manifest")
    if int(man["rows"]) != len(lines):
        fail.append(f"{name}: {len(lines)} rows, manifest {man['rows']}")
    if sorted(man.get("prompt_ids", [])) != sorted(r["prompt_id"] for r in lines):
        fail.append(f"{name}: manifest prompt_ids differ from the rows")
    kind = man["kind"]
    for r in lines:
        if r["prompt_id"] in evals:
            fail.append(f"{name}: eval prompt {r['prompt_id']}")
        if r["round"] != man["round"]:
            fail.append(f"{name}: row of round {r['round']} in a round {man['round']} shard")
        if kind == "sft":
            if list(r) != SFT_KEYS:
                fail.append(f"{name}: SFT keys {list(r)}")
            if any(set(m) != {"role", "content"} for m in r["messages"]):
                fail.append(f"{name}: SFT message keys")
            k = (r["round"], r["prompt_id"])
            if k in rows["sft"]:
                fail.append(f"duplicate SFT row {k}")
            rows["sft"][k] = r
        else:
            if list(r) != PREF_KEYS:
                fail.append(f"{name}: {kind} keys {list(r)}")
            for f in ("prompt", "chosen", "rejected"):
                if not isinstance(r[f], list) or any(set(m) != {"role", "content"} for m in r[f]):
                    fail.append(f"{name}: {f} is not a message list")
            if kind == "dpo":
                k = (r["round"], r["prompt_id"])
                if k in rows["dpo"]:
                    fail.append(f"duplicate DPO row {k}")
                rows["dpo"][k] = r
            else:
                rows["rm"].append(r)
if set(rows["sft"]) != set(exp_sft):
    fail.append(f"SFT rows: missing {len(set(exp_sft) - set(rows['sft']))}, extra {len(set(rows['sft']) - set(exp_sft))}")
for k, (model, ans) in exp_sft.items():
    r = rows["sft"].get(k)
    if r and (r["model"] != model or r["messages"][-1] != {"role": "assistant", "content": ans}):
        fail.append(f"SFT {k}: expected {model}'s answer, got {r['model']}'s")
if set(rows["dpo"]) != set(exp_dpo):
    fail.append(f"DPO rows: missing {len(set(exp_dpo) - set(rows['dpo']))}, extra {len(set(rows['dpo']) - set(exp_dpo))}")
for k, (c, rj, ca, ra) in exp_dpo.items():
    r = rows["dpo"].get(k)
    if r and (r["chosen_model"], r["rejected_model"], r["chosen"][-1]["content"], r["rejected"][-1]["content"]) != (c, rj, ca, ra):
        fail.append(f"DPO {k}: expected {c} over {rj}, got {r['chosen_model']} over {r['rejected_model']}")
if len(rows["rm"]) != decisive:
    fail.append(f"RM rows {len(rows['rm'])} != decisive battles {decisive}")
per = lambda kind, n: sum(1 for k in rows[kind] if k[0] == n)
print(f"SFT rows round 1: {per('sft', 1)} (K 3.0), round 2: {per('sft', 2)} (K 1.0); "
      f"DPO rows {len(rows['dpo'])}; RM rows {len(rows['rm'])}")
ds = load(f"{work}/dpo-1-2.jsonl")
dm = json.load(open(f"{work}/dpo-1-2.jsonl.manifest.json"))
if len(ds) != len(rows["dpo"]) or dm["rows"] != len(ds) or [r["round"] for r in ds] != sorted(r["round"] for r in ds):
    fail.append(f"dataset: {len(ds)} rows (manifest {dm['rows']}), DPO rows {len(rows['dpo'])}")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("PASS: flywheel two rounds")
PY
