#!/usr/bin/env bash
# End-to-end: adaptive matchmaking (sampler.mode: adaptive) fed by the rater's ZeroMQ rating
# feed (rater.publish -> sampler.ratings_feed), on a real fleet (deploy/local/run.sh).
# 5 sim models: close-a and close-b have the same skill, the three others are >= 1.5 apart from
# everyone. All 10 pairs are candidates, 4 are drawn per prompt.
#   - the feed reached the sampler (status adaptive.updates > 0, every model rated);
#   - the share of battles between the two close models is clearly above uniform (see MARGIN);
#   - every battle of a prompt was issued with battles_in_prompt = the number issued for it;
#   - every issued battle is rated exactly once (issued ids == rater ids == result ids).
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
fleet_need_exec "$BIN/arena-rater"
fleet_need_cmd python3

fleet_workdir e2e-adaptive
BATTLES=1000

# max_in_flight 100 and a rater publishing every 50 battles / 300 ms: the sampler sees fresh
# ratings while it issues (with thousands in flight it would issue everything before the first
# rating). 4 pairs per prompt = models - 1, the default. The feed is on PORT_BASE + 15.
write_config() {
    local feed="tcp://127.0.0.1:$(($1 + 15))"
    {
        fleet_config_head
        cat <<YAML
models:
  - {name: top-90,  backend: sim, skill: 9.0, noise: 1.0, seed: 21}
  - {name: high-75, backend: sim, skill: 7.5, noise: 1.0, seed: 22}
  - {name: close-a, backend: sim, skill: 6.0, noise: 1.0, seed: 23}
  - {name: close-b, backend: sim, skill: 6.0, noise: 1.0, seed: 24}
  - {name: low-40,  backend: sim, skill: 4.0, noise: 1.0, seed: 25}
  - {name: judge-sim, backend: sim, skill: 9.0, judge_noise: 0.5, position_bias: 0.2, seed: 99}
sampler:
  mode: adaptive
  ratings_feed: "$feed"
  max_in_flight: 100
judge:
  model: judge-sim
  template: wizardarena
rater:
  name: wizardarena
  publish: "$feed"
  bootstrap: 50
  every_battles: 50
  every_ms: 300
curator:
  flush_ms: 2000
YAML
    } >"$WORK/arena.yaml"
}

# the feed address is in the config: written again for each port block fleet_run_start tries
export ARENA_WAIT_TIMEOUT_S=120
FLEET_BEFORE_RUN=write_config
fleet_run_start "${ARENA_E2E_PORT_BASE:-24000}" "$BATTLES" --config "$WORK/arena.yaml" ||
    { echo "FAIL: the fleet did not reach $BATTLES battles"; exit 1; }

CTL=("${FLEET_CTL[@]}")
# max_battles stops new prompts; wait until every issued battle has its result
for _ in $(seq 1 120); do
    "${CTL[@]}" ctl sampler '{"cmd":"status"}' >"$WORK/sampler_status.json"
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["in_flight"]==0 and s["issued"]>0 else 1)' \
        "$WORK/sampler_status.json" && break
    sleep 0.5
done
"${CTL[@]}" ctl rater "{\"cmd\":\"battle_ids\",\"path\":\"$WORK/rater_ids.txt\"}" >/dev/null
"${CTL[@]}" ctl rater '{"cmd":"status"}' >"$WORK/rater_status.json"
"${CTL[@]}" tail arena.battles.requested --timeout-ms 2000 >"$WORK/requested.jsonl"
"${CTL[@]}" tail arena.battles.results --timeout-ms 2000 >"$WORK/results.jsonl"
"${CTL[@]}" leaderboard --output json >"$WORK/leaderboard.json"

fleet_run_stop

python3 - "$WORK" <<'PY'
import collections, json, sys
work = sys.argv[1]
fail = []
def lines(p):
    return [json.loads(l) for l in open(p) if l.strip()]

status = json.load(open(f"{work}/sampler_status.json"))
ad = status.get("adaptive") or {}
print("sampler:", {k: status.get(k) for k in ("mode", "issued", "done", "in_flight", "pool", "cursor")})
print("feed:", {k: ad.get(k) for k in ("updates", "unchanged", "rejected", "rated_models", "ratings_battles", "pairs_per_prompt")})
rstat = json.load(open(f"{work}/rater_status.json"))
print("rater feed:", rstat.get("feed"))
if status.get("mode") != "adaptive":
    fail.append(f"sampler mode {status.get('mode')}")
if not ad.get("updates"):
    fail.append("the sampler received no rating from the feed")
if ad.get("rated_models") != 5:
    fail.append(f"rated models {ad.get('rated_models')} != 5")
if ad.get("pairs_per_prompt") != 4:
    fail.append(f"pairs per prompt {ad.get('pairs_per_prompt')} != 4")
if ad.get("rejected"):
    fail.append(f"{ad.get('rejected')} feed messages rejected")
if not (rstat.get("feed") or {}).get("sent"):
    fail.append("rater status shows no feed message sent")

requested = {r["battle_id"]: r for r in lines(f"{work}/requested.jsonl")}
results = {r["battle_id"]: r for r in lines(f"{work}/results.jsonl")}
issued = set(requested)
n = len(issued)
if n < 1000:
    fail.append(f"only {n} battles issued")
if any(r.get("mode") != "MATCH_MODE_ADAPTIVE" for r in requested.values()):
    fail.append("a request without mode MATCH_MODE_ADAPTIVE")

# battles_in_prompt == battles issued for that prompt
per_prompt = collections.defaultdict(list)
for r in requested.values():
    per_prompt[r["prompt_id"]].append(r)
bad = [p for p, rs in per_prompt.items() if any(r["battles_in_prompt"] != len(rs) for r in rs)]
if bad:
    fail.append(f"{len(bad)} prompts whose battles_in_prompt != battles issued")
sizes = collections.Counter(len(rs) for rs in per_prompt.values())
print("battles per prompt:", dict(sorted(sizes.items())), "(10 = all pairs, before the first rating)")
if set(sizes) - {4, 10}:
    fail.append(f"unexpected battles per prompt {dict(sizes)}")

# every issued battle rated exactly once
rater_ids = [l.strip() for l in open(f"{work}/rater_ids.txt") if l.strip()]
if len(rater_ids) != len(set(rater_ids)) or set(rater_ids) != issued:
    fail.append(f"rater ids ({len(rater_ids)}, {len(set(rater_ids))} unique) != issued ({n}): "
                f"missing {len(issued - set(rater_ids))}, extra {len(set(rater_ids) - issued)}")
if set(results) != issued:
    fail.append(f"result ids != issued: missing {len(issued - set(results))}, extra {len(set(results) - issued)}")
if rstat.get("battles_seen") != n:
    fail.append(f"rater battles_seen {rstat.get('battles_seen')} != issued {n}")

# share of the close pair. Uniform over the 10 pairs = 0.10; with 4 of 10 pairs per prompt and
# the close pair's CIs overlapping (weight ~0.5-0.9 vs the 0.02 floor of separated pairs), it is
# in nearly every prompt once ratings flow: ~1/4 of the battles. The bootstrap (all pairs until
# each model has 20 games) dilutes that a little. MARGIN 0.18: under uniform pairing the share of
# 1000 battles is 0.10 +- 0.0095 (binomial sd), so 0.18 is > 8 sd above uniform.
MARGIN = 0.18
pairs = collections.Counter(tuple(sorted((r["model_a"], r["model_b"]))) for r in requested.values())
close = pairs[("close-a", "close-b")] / n
far = pairs[("low-40", "top-90")] / n
print("pair shares:", ", ".join(f"{a}/{b} {c / n:.3f}" for (a, b), c in pairs.most_common()))
print(f"close pair share {close:.3f} (uniform 0.100, margin {MARGIN}); top-90/low-40 {far:.3f}")
if close < MARGIN:
    fail.append(f"close pair share {close:.3f} < {MARGIN}")
# separated pairs share the 3 other slots of a prompt: ~3/9 * 1/4 = 0.083 each, near uniform,
# so only the ordering against the close pair is asserted for them
if far >= close / 2:
    fail.append(f"the most separated pair got {far:.3f} >= half the close pair's {close:.3f}")
if pairs.most_common(1)[0][0] != ("close-a", "close-b"):
    fail.append(f"most frequent pair is {pairs.most_common(1)[0][0]}, not the close pair")

lb = json.load(open(f"{work}/leaderboard.json"))
print("leaderboard:", ", ".join(f'{m["model"]} {m["rating"]:.0f} [{m["ci_low"]:.0f}, {m["ci_high"]:.0f}] {m["games"]}g' for m in lb["models"]))
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("PASS: adaptive matchmaking from the rater's feed")
PY
