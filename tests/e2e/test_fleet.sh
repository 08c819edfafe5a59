#!/usr/bin/env bash
# End-to-end: the whole fleet as real processes on arena-devbroker (deploy/local/run.sh with
# the prebuilt binaries), 4 sim models x >= 200 prompts, then checks against the topics:
#   - every issued battle id is counted exactly once by the rater (same set, no extra);
#   - the leaderboard orders the sim models by their latent skill;
#   - the SFT shards hold exactly the prompts where the target lost by >= K (recomputed from
#     arena.battles.results with the rule in services/curator/README.md), with the best
#     winner's answer; DPO/RM rows match their battles; no duplicate;
#   - every manifest matches its file (sha256, bytes, rows).
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
fleet_need_exec "$BIN/arena-rater"
fleet_need_cmd python3

fleet_workdir e2e-fleet
BATTLES=1200
export ARENA_WAIT_TIMEOUT_S=300
fleet_run_start "${ARENA_E2E_PORT_BASE:-22300}" "$BATTLES" || { echo "FAIL: fleet not up"; exit 1; }

CTL=("${FLEET_CTL[@]}")
"${CTL[@]}" tail arena.battles.requested --timeout-ms 4000 >"$WORK/requested.jsonl"
"${CTL[@]}" tail arena.battles.results --timeout-ms 4000 >"$WORK/results.jsonl"
"${CTL[@]}" leaderboard --output json >"$WORK/leaderboard.json"
"${CTL[@]}" ctl rater "{\"cmd\":\"battle_ids\",\"path\":\"$WORK/rater_ids.txt\"}" >/dev/null
"${CTL[@]}" ctl rater '{"cmd":"status"}' >"$WORK/rater_status.json"

# stop the fleet: the curator cuts its last shards on SIGTERM
fleet_run_stop

python3 - "$WORK" "$ROOT" <<'PY'
import hashlib, json, os, sys
work, root = sys.argv[1], sys.argv[2]
fail = []

def load_lines(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

requested = load_lines(f"{work}/requested.jsonl")
results = load_lines(f"{work}/results.jsonl")
issued = {r["battle_id"] for r in requested}
print(f"issued {len(issued)} unique battles ({len(requested)} records), {len(results)} result records")
if len(issued) < 1200:
    fail.append(f"only {len(issued)} battles issued")

# 1. the rater counted every issued battle exactly once
rater = json.load(open(f"{work}/rater_status.json"))
seen = rater.get("battles_seen")
if seen != len(issued):
    fail.append(f"rater battles_seen={seen} != issued {len(issued)}")
rater_ids = [l.strip() for l in open(f"{work}/rater_ids.txt") if l.strip()]
if len(rater_ids) != len(set(rater_ids)) or set(rater_ids) != issued:
    fail.append(f"rater ids ({len(rater_ids)}, {len(set(rater_ids))} unique) != issued set ({len(issued)})")
result_ids = {r["battle_id"] for r in results}
if result_ids != issued:
    fail.append(f"result ids differ from issued: missing {len(issued - result_ids)}, extra {len(result_ids - issued)}")

# 2. leaderboard ordered by latent skill (deploy/local/arena.yaml)
skill = {"alpha-70b": 8.0, "beta-34b": 7.0, "target-7b": 6.0, "gamma-13b": 5.0}
lb = json.load(open(f"{work}/leaderboard.json"))
order = [m["model"] for m in lb["models"]]
want = sorted(skill, key=lambda m: -skill[m])
print("leaderboard:", ", ".join(f'{m["model"]} {m["rating"]:.1f} [{m["ci_low"]:.1f}, {m["ci_high"]:.1f}]' for m in lb["models"]))
if order != want:
    fail.append(f"leaderboard order {order} != skill order {want}")
if lb["battles"] != len(issued):
    fail.append(f"leaderboard battles {lb['battles']} != {len(issued)}")

# 3. SFT shard = prompts where the target lost by >= K, with the best winner's answer
K = 3.0
target = "target-7b"
by_prompt = {}
for r in {r["battle_id"]: r for r in results}.values():
    by_prompt.setdefault(r["prompt_id"], []).append(r)
expected_sft = {}
for pid, battles in by_prompt.items():
    best = None
    for b in battles:
        if b["outcome"] not in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B"):
            continue
        if target not in (b["model_a"], b["model_b"]):
            continue
        t_is_a = b["model_a"] == target
        ts, os_ = (b["score_a"], b["score_b"]) if t_is_a else (b["score_b"], b["score_a"])
        opp = b["model_b"] if t_is_a else b["model_a"]
        won = (b["outcome"] == "OUTCOME_MODEL_B") if t_is_a else (b["outcome"] == "OUTCOME_MODEL_A")
        gap = os_ - ts
        if won and gap >= K - 1e-9:
            ans = (b["response_b"] if t_is_a else b["response_a"])["content"]
            key = (-os_, -gap, opp)
            if best is None or key < best[0]:
                best = (key, opp, ans)
    if best:
        expected_sft[pid] = (best[1], best[2])

shard_dir = f"{work}/run/shards"
rows = {"sft": [], "dpo": [], "rm": []}
for name in sorted(os.listdir(shard_dir)):
    if not name.endswith(".jsonl"):
        continue
    path = f"{shard_dir}/{name}"
    kind = name.split("-")[0]
    data = open(path, "rb").read()
    man = json.load(open(path[: -len(".jsonl")] + ".manifest.json"))
    lines = [json.loads(l) for l in data.decode().splitlines() if l]
    if man["sha256"] != hashlib.sha256(data).hexdigest():
        fail.append(f"{name}: sha256 mismatch")
    if int(man["bytes"]) != len(data) or int(man["rows"]) != len(lines):
        fail.append(f"{name}: manifest bytes/rows {man['bytes']}/{man['rows']} != {len(data)}/{len(lines)}")
    rows[kind].extend(lines)

sft = {}
for r in rows["sft"]:
    if set(r) < {"messages", "prompt_id"}:
        fail.append(f"SFT row without TRL fields: {sorted(r)}")
        continue
    if r["prompt_id"] in sft:
        fail.append(f"duplicate SFT prompt {r['prompt_id']}")
    sft[r["prompt_id"]] = r
if set(sft) != set(expected_sft):
    fail.append(f"SFT prompts differ: missing {len(set(expected_sft) - set(sft))}, extra {len(set(sft) - set(expected_sft))}")
for pid, (model, answer) in expected_sft.items():
    r = sft.get(pid)
    if r and (r["messages"][-1]["role"] != "assistant" or r["messages"][-1]["content"] != answer):
        fail.append(f"SFT {pid}: wrong answer (expected {model}'s)")
print(f"SFT rows {len(sft)} (expected {len(expected_sft)}), DPO rows {len(rows['dpo'])}, RM rows {len(rows['rm'])}")
for kind in ("dpo", "rm"):
    for r in rows[kind]:
        for f in ("prompt", "chosen", "rejected", "prompt_id", "chosen_model", "rejected_model"):
            if f not in r:
                fail.append(f"{kind} row without {f}")
                break
decisive = sum(1 for bs in by_prompt.values() for b in bs if b["outcome"] in ("OUTCOME_MODEL_A", "OUTCOME_MODEL_B"))
if len(rows["rm"]) != decisive:
    fail.append(f"RM rows {len(rows['rm'])} != decisive battles {decisive}")

if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("PASS: fleet end to end")
PY
