#!/usr/bin/env bash
# `arenactl rate` as a CLI, on files:
#   - every --format (fastchat as a JSON array and as JSONL, results, alpaca-eval, arena-hard)
#     and every --output (table, json, csv), agreeing with each other;
#   - the same battles in fastchat and results form rate identically; *_ERROR outcomes and null
#     scores are skipped and counted; the run is deterministic for a seed;
#   - --baseline on the real AlpacaEval annotations reproduces the published leaderboard
#     (win_rate, standard_error, n_wins, n_wins_base, n_draws, discrete_win_rate);
#   - --reference prints the consistency with a reference leaderboard (Spearman recomputed here);
#   - a garbage line is exit 1 with "FILE:LINE: reason"; --skip-bad skips and counts it;
#   - usage errors are exit 2.
# The synthetic parts always run; the AlpacaEval parts need ../shared/data (exit 77 when absent,
# after the synthetic parts passed).
set -uo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
SHARED=${ARENA_SHARED_DIR:-$ROOT/../shared}
CTL=$BIN/arenactl
[ -x "$CTL" ] || { echo "SKIP: arenactl not built in $BIN"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-rate-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}
# rate ARGS... : runs arenactl rate, stdout -> $WORK/out, stderr -> $WORK/err, sets RC
rate() {
    "$CTL" --set log_level=warn rate --threads 2 "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
}

# ---------------------------------------------------------------- synthetic battle files
python3 - "$WORK" <<'PY'
import json, random, sys
w = sys.argv[1]
rnd = random.Random(7)
skill = {"strong-model": 1.2, "mid-model": 0.4, "weak-model": -0.8, "tiny-model": -1.5}
names = list(skill)
battles = []
for i in range(900):
    a, b = rnd.sample(names, 2)
    p = 1 / (1 + 10 ** (-(skill[a] - skill[b])))
    u = rnd.random()
    if abs(u - p) < 0.05:
        win = rnd.choice(["tie", "tie (bothbad)"])
    else:
        win = "model_a" if u < p else "model_b"
    battles.append({"model_a": a, "model_b": b, "winner": win, "question_id": f"q{i}"})
json.dump(battles, open(f"{w}/fc.json", "w"), indent=1)
with open(f"{w}/fc.jsonl", "w") as f:
    for bt in battles:
        f.write(json.dumps(bt) + "\n")
out = {"model_a": "OUTCOME_MODEL_A", "model_b": "OUTCOME_MODEL_B", "tie": "OUTCOME_TIE",
       "tie (bothbad)": "OUTCOME_TIE"}
with open(f"{w}/results.jsonl", "w") as f:
    for i, bt in enumerate(battles):
        f.write(json.dumps({"battle_id": f"b{i}", "model_a": bt["model_a"], "model_b": bt["model_b"],
                            "outcome": out[bt["winner"]], "weight": 1.0}) + "\n")
        if i % 100 == 0:  # judge errors: skipped and counted
            f.write(json.dumps({"battle_id": f"e{i}", "model_a": bt["model_a"],
                                "model_b": bt["model_b"], "outcome": "OUTCOME_JUDGE_ERROR"}) + "\n")
# expected counts per model (ties of both kinds count as ties)
cnt = {m: {"games": 0, "wins": 0, "losses": 0, "ties": 0} for m in names}
for bt in battles:
    a, b, win = bt["model_a"], bt["model_b"], bt["winner"]
    cnt[a]["games"] += 1; cnt[b]["games"] += 1
    if win == "model_a":
        cnt[a]["wins"] += 1; cnt[b]["losses"] += 1
    elif win == "model_b":
        cnt[b]["wins"] += 1; cnt[a]["losses"] += 1
    else:
        cnt[a]["ties"] += 1; cnt[b]["ties"] += 1
json.dump(cnt, open(f"{w}/expected_counts.json", "w"))
# garbage on line 3 of a JSONL file
lines = open(f"{w}/fc.jsonl").read().splitlines(True)
open(f"{w}/garbage.jsonl", "w").write("".join(lines[:2]) + "{this is not json\n" + "".join(lines[2:]))
# a record with a bad winner on line 5
bad = dict(battles[4]); bad["winner"] = "model_c"
open(f"{w}/badwinner.jsonl", "w").write("".join(lines[:4]) + json.dumps(bad) + "\n" + "".join(lines[5:]))
# Arena-Hard judgments: game 1 has the baseline as A, game 2 the model as A
ah = []
verd = {"good-model": ("B>>A", "A>B"), "fair-model": ("A=B", "B>A"), "poor-model": ("A>B", "B>>A")}
for q in range(60):
    for m, (g1, g2) in verd.items():
        if (q + len(m)) % 7 == 0:  # some disagreement
            g1, g2 = g2.replace("A", "x").replace("B", "A").replace("x", "B"), g1.replace("A", "x").replace("B", "A").replace("x", "B")
        ah.append({"question_id": f"q{q}", "model": m, "games": [{"score": g1}, {"score": g2}]})
ah.append({"question_id": "qnull", "model": "fair-model", "games": [{"score": None}, {"score": "A=B"}]})
with open(f"{w}/arena_hard.jsonl", "w") as f:
    for r in ah:
        f.write(json.dumps(r) + "\n")
PY

# ---------------------------------------------------------------- fastchat, every output
rate --input "$WORK/fc.json" --format fastchat --output json --seed 5
[ "$RC" = 0 ] || fail "fastchat json: exit $RC: $(cat "$WORK/err")"
cp "$WORK/out" "$WORK/fc_array.json"
grep -q "format fastchat, 900 records, 900 battles, 4 models" "$WORK/err" ||
    fail "fastchat: summary line: $(cat "$WORK/err")"
rate --input "$WORK/fc.jsonl" --output json --seed 5 # format detected
[ "$RC" = 0 ] || fail "fastchat jsonl: exit $RC"
cp "$WORK/out" "$WORK/fc_lines.json"
cmp -s "$WORK/fc_array.json" "$WORK/fc_lines.json" ||
    fail "a JSON array and JSON lines of the same battles rate differently"
rate --input "$WORK/fc.jsonl" --output json --seed 5
cmp -s "$WORK/fc_lines.json" "$WORK/out" || fail "two runs with the same seed differ"
rate --input "$WORK/fc.jsonl" --output csv --seed 5
[ "$RC" = 0 ] || fail "csv: exit $RC"
cp "$WORK/out" "$WORK/fc.csv"
rate --input "$WORK/fc.jsonl" --output table --seed 5
[ "$RC" = 0 ] || fail "table: exit $RC"
cp "$WORK/out" "$WORK/fc.table"
rate --input "$WORK/fc.jsonl" --output json --seed 6
cp "$WORK/out" "$WORK/fc_seed6.json"
rate --input "$WORK/results.jsonl" --format results --output json --seed 5
[ "$RC" = 0 ] || fail "results: exit $RC: $(cat "$WORK/err")"
cp "$WORK/out" "$WORK/results.json"
grep -q "skipped 9 battle(s) with an \*_ERROR outcome" "$WORK/err" ||
    fail "results: the 9 *_ERROR outcomes are not reported as skipped: $(cat "$WORK/err")"
rate --input "$WORK/fc.jsonl" --method elo --output json
[ "$RC" = 0 ] || fail "elo: exit $RC"
cp "$WORK/out" "$WORK/elo.json"
rate --input "$WORK/fc.jsonl" --anchor weak-model=800 --output json --bootstrap 20
[ "$RC" = 0 ] || fail "anchor: exit $RC"
cp "$WORK/out" "$WORK/anchor.json"
rate --input "$WORK/fc.jsonl" --rating median --output json --bootstrap 50
[ "$RC" = 0 ] || fail "median: exit $RC"
cp "$WORK/out" "$WORK/median.json"

python3 - "$WORK" <<'PY' || FAILS=$((FAILS + 1))
import csv, json, sys
w = sys.argv[1]
fail = []
j = json.load(open(f"{w}/fc_array.json"))
exp = json.load(open(f"{w}/expected_counts.json"))
order = [m["model"] for m in j["models"]]
if order != ["strong-model", "mid-model", "weak-model", "tiny-model"]:
    fail.append(f"fastchat: order {order}")
if j["battles"] != 900 or j["method"] != "bt":
    fail.append(f"fastchat: battles {j['battles']} method {j['method']}")
for i, m in enumerate(j["models"]):
    e = exp[m["model"]]
    for k in ("games", "wins", "losses", "ties"):
        if m[k] != e[k]:
            fail.append(f"{m['model']}: {k} {m[k]} != {e[k]}")
    if m["rank"] != i + 1 or not (m["ci_low"] <= m["rating"] <= m["ci_high"]):
        fail.append(f"{m['model']}: rank {m['rank']} or CI [{m['ci_low']}, {m['ci_high']}] around {m['rating']}")
mean = sum(m["rating"] for m in j["models"]) / len(j["models"])
if abs(mean - 1000) > 1e-6:
    fail.append(f"BT ratings are centred on {mean}, not 1000")
# csv = json
rows = list(csv.DictReader(open(f"{w}/fc.csv")))
if [r["model"] for r in rows] != order:
    fail.append("csv order differs from json")
for r, m in zip(rows, j["models"]):
    for k in ("rating", "ci_low", "ci_high"):
        if abs(float(r[k]) - m[k]) > 1e-6:
            fail.append(f"csv {r['model']} {k} {r[k]} != json {m[k]}")
    for k in ("rank", "games", "wins", "losses", "ties"):
        if int(r[k]) != m[k]:
            fail.append(f"csv {r['model']} {k} {r[k]} != json {m[k]}")
# table = json (2 decimals)
tab = [l.split() for l in open(f"{w}/fc.table").read().splitlines()[1:] if l.strip()]
if [t[1] for t in tab] != order:
    fail.append(f"table order {[t[1] for t in tab]}")
for t, m in zip(tab, j["models"]):
    if abs(float(t[2]) - m["rating"]) > 0.006 or int(t[4]) != m["games"] or int(t[5]) != m["wins"]:
        fail.append(f"table row {t} != json {m}")
# results format = fastchat (same battles): same MLE ratings, same counts
r = json.load(open(f"{w}/results.json"))
for a, b in zip(r["models"], j["models"]):
    if a["model"] != b["model"] or abs(a["rating"] - b["rating"]) > 1e-6 or a["games"] != b["games"]:
        fail.append(f"results vs fastchat: {a} != {b}")
# another seed: same MLE ratings, other bootstrap CIs
s6 = json.load(open(f"{w}/fc_seed6.json"))
if any(abs(a["rating"] - b["rating"]) > 1e-9 for a, b in zip(s6["models"], j["models"])):
    fail.append("the seed changed the MLE ratings")
if all(a["ci_low"] == b["ci_low"] and a["ci_high"] == b["ci_high"] for a, b in zip(s6["models"], j["models"])):
    fail.append("the seed did not change any bootstrap CI")
elo = json.load(open(f"{w}/elo.json"))
if elo["method"] != "elo" or [m["model"] for m in elo["models"]] != order:
    fail.append(f"elo: method {elo['method']} order {[m['model'] for m in elo['models']]}")
an = json.load(open(f"{w}/anchor.json"))
weak = [m for m in an["models"] if m["model"] == "weak-model"][0]
if abs(weak["rating"] - 800) > 1e-6:
    fail.append(f"anchor: weak-model rated {weak['rating']}, not 800")
gaps = lambda d: {m["model"]: m["rating"] for m in d["models"]}
ga, gj = gaps(an), gaps(j)
if abs((ga["strong-model"] - ga["tiny-model"]) - (gj["strong-model"] - gj["tiny-model"])) > 1e-6:
    fail.append("anchoring changed the rating gaps")
med = json.load(open(f"{w}/median.json"))
if [m["model"] for m in med["models"]] != order:
    fail.append("median rating: order differs")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print(f"ok: fastchat array = JSONL, results = fastchat, csv = json = table, seed/elo/anchor/median ({len(order)} models)")
PY

# ---------------------------------------------------------------- arena-hard
rate --input "$WORK/arena_hard.jsonl" --output json --bootstrap 20
[ "$RC" = 0 ] || fail "arena-hard: exit $RC: $(cat "$WORK/err")"
grep -q "format arena-hard" "$WORK/err" || fail "arena-hard not detected: $(cat "$WORK/err")"
grep -q "skipped 1 record(s) with a null preference/score" "$WORK/err" ||
    fail "arena-hard: the null score is not counted: $(cat "$WORK/err")"
python3 - "$WORK/out" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
j = json.load(open(sys.argv[1]))
order = [m["model"] for m in j["models"]]
if order[0] != "good-model" or order[-1] != "poor-model" or "gpt-4-0314" not in order:
    print(f"FAIL: arena-hard order {order}"); sys.exit(1)
base = [m for m in j["models"] if m["model"] == "gpt-4-0314"][0]
if base["games"] != 60 * 3 * 2 + 1:
    print(f"FAIL: arena-hard baseline games {base['games']} != 361"); sys.exit(1)
print(f"ok: arena-hard {order}")
PY
rate --input "$WORK/arena_hard.jsonl" --format arena-hard --baseline fair-model --output json
[ "$RC" = 1 ] || fail "arena-hard with a model as the baseline: exit $RC, want 1"
grep -q "arena_hard.jsonl:[0-9]*: model is the baseline 'fair-model'" "$WORK/err" ||
    fail "arena-hard baseline clash message: $(cat "$WORK/err")"

# ---------------------------------------------------------------- bad input
rate --input "$WORK/garbage.jsonl" --format fastchat
[ "$RC" = 1 ] || fail "garbage line: exit $RC, want 1"
grep -q "$WORK/garbage.jsonl:3: " "$WORK/err" || fail "garbage: no FILE:3 message: $(cat "$WORK/err")"
rate --input "$WORK/garbage.jsonl" --format fastchat --skip-bad --output json
[ "$RC" = 0 ] || fail "--skip-bad: exit $RC: $(cat "$WORK/err")"
grep -q "skipped 1 bad record(s) (--skip-bad); first: $WORK/garbage.jsonl:3: " "$WORK/err" ||
    fail "--skip-bad count: $(cat "$WORK/err")"
grep -q "901 records, 900 battles" "$WORK/err" || fail "--skip-bad totals: $(cat "$WORK/err")"
cmp -s <(python3 -c 'import json,sys; print([(m["model"],m["rating"]) for m in json.load(open(sys.argv[1]))["models"]])' "$WORK/out") \
    <(python3 -c 'import json,sys; print([(m["model"],m["rating"]) for m in json.load(open(sys.argv[1]))["models"]])' "$WORK/fc_lines.json") ||
    fail "--skip-bad: the good records rate differently"
rate --input "$WORK/badwinner.jsonl"
[ "$RC" = 1 ] || fail "bad winner: exit $RC, want 1"
grep -q "badwinner.jsonl:5: .*winner" "$WORK/err" || fail "bad winner message: $(cat "$WORK/err")"
rate --input "$WORK/badwinner.jsonl" --skip-bad
[ "$RC" = 0 ] || fail "bad winner --skip-bad: exit $RC"
grep -q "899 battles" "$WORK/err" || fail "bad winner --skip-bad: $(cat "$WORK/err")"
printf '' >"$WORK/empty.jsonl"
rate --input "$WORK/empty.jsonl"
[ "$RC" = 1 ] || fail "empty file: exit $RC, want 1"
rate --input "$WORK/does-not-exist.jsonl"
[ "$RC" = 1 ] || fail "missing file: exit $RC, want 1"
grep -q "does-not-exist.jsonl" "$WORK/err" || fail "missing file not named: $(cat "$WORK/err")"
for bad in "--format nope" "--output yaml" "--rating mean" "--bootstrap -3" "--seed x" \
    "--anchor noequals" "--bogus"; do
    # shellcheck disable=SC2086
    rate --input "$WORK/fc.jsonl" $bad
    [ "$RC" = 2 ] || fail "usage error '$bad': exit $RC, want 2"
    [ -s "$WORK/err" ] || fail "usage error '$bad': no message"
done
rate --output json
[ "$RC" = 2 ] || fail "no --input: exit $RC, want 2"

if [ ! -d "$SHARED/data/alpaca_eval" ]; then
    if [ "$FAILS" -gt 0 ]; then
        echo "FAIL: $FAILS check(s) failed"
        exit 1
    fi
    echo "SKIP: synthetic checks passed; $SHARED/data/alpaca_eval is absent (AlpacaEval checks not run)"
    exit 77
fi

# ---------------------------------------------------------------- AlpacaEval (real data)
AE=$SHARED/data/alpaca_eval
LB=$AE/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv
python3 - "$AE" "$WORK/ae_all.jsonl" <<'PY'
import glob, json, sys
with open(sys.argv[2], "w") as f:
    for p in sorted(glob.glob(f"{sys.argv[1]}/*.annotations.json")):
        for r in json.load(open(p)):
            f.write(json.dumps(r) + "\n")
PY
for one in "$AE"/claude-2.1.annotations.json "$WORK/ae_all.jsonl"; do
    for out in json csv; do
        rate --input "$one" --baseline gpt4_1106_preview --reference "$LB" --output "$out"
        [ "$RC" = 0 ] || fail "alpaca-eval $one $out: exit $RC: $(cat "$WORK/err")"
        cp "$WORK/out" "$WORK/ae_$(basename "$one").$out"
    done
done
rate --input "$WORK/ae_all.jsonl" --format alpaca-eval --baseline gpt4_1106_preview --reference "$LB"
[ "$RC" = 0 ] || fail "alpaca-eval table: exit $RC"
grep -q "consistency with the reference (5 common models): spearman" "$WORK/out" ||
    fail "table: no consistency line: $(tail -2 "$WORK/out")"
python3 - "$WORK" "$LB" <<'PY' || FAILS=$((FAILS + 1))
import csv, json, sys
w, lbpath = sys.argv[1], sys.argv[2]
fail = []
pub = {}
for r in csv.DictReader(open(lbpath)):
    pub[r[""] if "" in r else list(r.values())[0]] = r
def check(j, label, want_models):
    got = {m["model"]: m for m in j["models"] if "win_rate" in m}
    if set(got) != set(want_models):
        fail.append(f"{label}: win rates for {sorted(got)}, want {sorted(want_models)}")
    for name, m in got.items():
        p = pub[name]
        for k in ("win_rate", "standard_error", "discrete_win_rate"):
            if abs(m[k] - float(p[k])) > 1e-9 * max(1, abs(float(p[k]))):
                fail.append(f"{label} {name}: {k} {m[k]!r} != published {p[k]}")
        for k in ("n_wins", "n_wins_base", "n_draws", "n_total"):
            if m[k] != int(float(p[k])):
                fail.append(f"{label} {name}: {k} {m[k]} != published {p[k]}")
    if j.get("baseline") != "gpt4_1106_preview":
        fail.append(f"{label}: baseline {j.get('baseline')}")
    base = [m for m in j["models"] if m["model"] == "gpt4_1106_preview"]
    if not base or "win_rate" in base[0]:
        fail.append(f"{label}: the baseline must be listed without a win rate")
one = json.load(open(f"{w}/ae_claude-2.1.annotations.json.json"))
check(one, "claude-2.1", ["claude-2.1"])
models4 = ["claude-2.1", "claude-2", "gpt-3.5-turbo-1106", "vicuna-13b-v1.5"]
allj = json.load(open(f"{w}/ae_ae_all.jsonl.json"))
check(allj, "4 files", models4)
# csv carries the same figures
for r in csv.DictReader(open(f"{w}/ae_ae_all.jsonl.csv")):
    m = [x for x in allj["models"] if x["model"] == r["model"]][0]
    if abs(float(r["rating"]) - m["rating"]) > 1e-6:
        fail.append(f"csv {r['model']} rating {r['rating']} != json {m['rating']}")
    if r["win_rate"] and abs(float(r["win_rate"]) - m["win_rate"]) > 1e-8:
        fail.append(f"csv {r['model']} win_rate {r['win_rate']} != json {m['win_rate']}")
# consistency: recompute Spearman between our ratings and the published win_rate
c = allj.get("consistency")
if not c:
    fail.append("no consistency object with --reference")
else:
    names = [m["model"] for m in allj["models"] if m["model"] in pub]
    if c["n_common"] != len(names) or len(names) != 5:
        fail.append(f"n_common {c['n_common']} != {len(names)} (want 5)")
    ours = {m["model"]: m["rating"] for m in allj["models"]}
    theirs = {n: float(pub[n]["win_rate"]) for n in names}
    def ranks(d):
        s = sorted(d, key=lambda k: d[k])
        return {k: i + 1 for i, k in enumerate(s)}
    ro, rt = ranks({n: ours[n] for n in names}), ranks(theirs)
    n = len(names)
    rho = 1 - 6 * sum((ro[k] - rt[k]) ** 2 for k in names) / (n * (n * n - 1))
    if abs(c["spearman"] - rho) > 1e-9:
        fail.append(f"spearman {c['spearman']} != recomputed {rho}")
    if not (-1 <= c["kendall_tau_b"] <= 1):
        fail.append(f"kendall_tau_b {c['kendall_tau_b']}")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
print("ok: AlpacaEval win rates reproduce the published leaderboard for " + ", ".join(models4) +
      f"; spearman vs published {c['spearman']:.4f}")
PY

if [ "$FAILS" -gt 0 ]; then
    echo "FAIL: $FAILS check(s) failed"
    exit 1
fi
echo "PASS: arenactl rate"
