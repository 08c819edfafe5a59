#!/usr/bin/env bash
# `arenactl export` against a real fleet: deploy/local/run.sh (devbroker + five services, sim
# models) produces a few hundred judged battles, then
#   - `export --format fastchat` (a JSON array) and `--format results` (BattleResult JSONL) hold
#     every battle the rater counted, once (the topic is at-least-once, the export de-duplicates);
#   - both exports, rated offline by `arenactl rate` with the rater's method/bootstrap/seed,
#     give the ratings of the rater's own leaderboard (`arenactl leaderboard --output json`) to
#     1e-6, and the same games/wins/losses/ties per model;
#   - usage errors are exit 2; --output to an unwritable path is exit 1 naming it.
set -uo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
[ -x "$BIN/arena-rater" ] || { echo "SKIP: binaries not built in $BIN"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

BATTLES=240
CONFIG=$ROOT/deploy/local/arena.yaml
WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-export-XXXXXX")
RUN_PID=
cleanup() {
    if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}

# A fixed port can be taken by another process's ephemeral port (the Linux range covers
# it): when a service cannot bind, try the next block of 20 ports (3 attempts).
export ARENA_BIN_DIR="$BIN" ARENA_WAIT_TIMEOUT_S=150
PORT_BASE=${ARENA_EXPORT_PORT_BASE:-23900}
for attempt in 1 2 3; do
    rm -rf "$WORK/run" # no stale log of the previous attempt
    ARENA_PORT_BASE=$PORT_BASE "$ROOT/deploy/local/run.sh" --battles "$BATTLES" \
        --partitions 4 --keep-running --workdir "$WORK/run" >"$WORK/run.log" 2>&1 &
    RUN_PID=$!
    for _ in $(seq 1 400); do
        grep -q "fleet is running" "$WORK/run.log" 2>/dev/null && break
        kill -0 "$RUN_PID" 2>/dev/null || break
        grep -qs "Address already in use" "$WORK"/run/logs/*.log && break
        sleep 0.5
    done
    grep -q "fleet is running" "$WORK/run.log" && break
    kill -TERM "$RUN_PID" 2>/dev/null
    wait "$RUN_PID" 2>/dev/null
    RUN_PID=
    grep -q "Address already in use" "$WORK/run.log" "$WORK"/run/logs/*.log 2>/dev/null || break
    echo "note: port block $PORT_BASE is in use, trying $((PORT_BASE + 20))"
    PORT_BASE=$((PORT_BASE + 20))
done
if [ -z "$RUN_PID" ]; then
    tail -n 40 "$WORK/run.log"
    echo "FAIL: the fleet did not reach $BATTLES battles"
    exit 1
fi
CTL=("$BIN/arenactl" --config "$CONFIG" --set log_level=warn
    --set "kafka.bootstrap.servers=$(cat "$WORK/run/bootstrap")")

# the rater publishes every rater.every_ms: wait for a leaderboard that counts every battle
for _ in $(seq 1 60); do
    "${CTL[@]}" leaderboard --output json >"$WORK/leaderboard.json" 2>"$WORK/leaderboard.err"
    python3 -c 'import json,sys; sys.exit(0 if json.loads(open(sys.argv[1]).readline())["battles"] >= int(sys.argv[2]) else 1)' \
        "$WORK/leaderboard.json" "$BATTLES" 2>/dev/null && break
    sleep 0.5
done

"${CTL[@]}" export --format fastchat --output "$WORK/battles.json" --timeout-ms 2000 2>"$WORK/export.err" ||
    fail "export fastchat: $(cat "$WORK/export.err")"
"${CTL[@]}" export --format results --timeout-ms 2000 >"$WORK/results.jsonl" 2>>"$WORK/export.err" ||
    fail "export results: $(cat "$WORK/export.err")"
"${CTL[@]}" export --timeout-ms 2000 >"$WORK/default.json" 2>>"$WORK/export.err" ||
    fail "export (default format): $(cat "$WORK/export.err")"
"${CTL[@]}" export --format yaml >/dev/null 2>&1
[ $? = 2 ] || fail "export --format yaml is not a usage error (exit 2)"
"${CTL[@]}" export --bogus >/dev/null 2>&1
[ $? = 2 ] || fail "export --bogus is not a usage error (exit 2)"
"${CTL[@]}" export --output "$WORK/no/such/dir/x.json" --timeout-ms 500 >/dev/null 2>"$WORK/unwritable.err"
rc=$?
[ $rc = 1 ] || fail "export to an unwritable path: exit $rc, want 1"
grep -q "no/such/dir/x.json" "$WORK/unwritable.err" || fail "unwritable path not named: $(cat "$WORK/unwritable.err")"
kill -TERM "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
RUN_PID=

# rate both exports with the rater's settings (deploy/local/arena.yaml: bt, bootstrap 100, seed 42)
read -r METHOD BOOT SEED < <(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); print(l["method"], l["bootstrap_rounds"], l["seed"])' "$WORK/leaderboard.json")
for f in fastchat:battles.json results:results.jsonl; do
    "$BIN/arenactl" rate --input "$WORK/${f#*:}" --format "${f%%:*}" --method "$METHOD" \
        --bootstrap "$BOOT" --seed "$SEED" --output json >"$WORK/rate_${f%%:*}.json" 2>"$WORK/rate_${f%%:*}.err" ||
        fail "rate ${f%%:*}: $(cat "$WORK/rate_${f%%:*}.err")"
done

python3 - "$WORK" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
w = sys.argv[1]
fail = []
lb = json.loads(open(f"{w}/leaderboard.json").readline())
fc = json.load(open(f"{w}/battles.json"))
dflt = json.load(open(f"{w}/default.json"))
res = [json.loads(l) for l in open(f"{w}/results.jsonl") if l.strip()]
ids = [r["battle_id"] for r in res]
print(f"leaderboard {lb['name']}: {lb['battles']} battles ({lb['method']}, bootstrap {lb['bootstrap_rounds']}, "
      f"seed {lb['seed']}, skipped {lb['skipped']}); export: {len(fc)} fastchat battles, {len(res)} results")
if len(ids) != len(set(ids)):
    fail.append(f"results export has duplicate battle ids ({len(ids)} rows, {len(set(ids))} ids)")
# two exports read the partitions in whatever order the fetches interleave: compare as sets
key = lambda b: b.get("battle_id", "")
if sorted(fc, key=key) != sorted(dflt, key=key):
    fail.append("the default export format is not fastchat")
judged = [r for r in res if not r["outcome"].endswith("_ERROR")]
if len(fc) != len(judged):
    fail.append(f"fastchat export {len(fc)} battles != {len(judged)} judged results")
if len(fc) != lb["battles"]:
    fail.append(f"fastchat export {len(fc)} battles != leaderboard battles {lb['battles']}")
for b in fc:
    if set(b) < {"model_a", "model_b", "winner"} or b["winner"] not in ("model_a", "model_b", "tie", "tie (bothbad)"):
        fail.append(f"not a FastChat battle: {b}")
        break
want = {m["model"]: m for m in lb["models"]}
for kind in ("fastchat", "results"):
    r = json.load(open(f"{w}/rate_{kind}.json"))
    got = {m["model"]: m for m in r["models"]}
    if set(got) != set(want):
        fail.append(f"{kind}: models {sorted(got)} != leaderboard {sorted(want)}")
        continue
    if r["battles"] != lb["battles"]:
        fail.append(f"{kind}: rated {r['battles']} battles, leaderboard {lb['battles']}")
    for name, m in want.items():
        g = got[name]
        if abs(g["rating"] - m["rating"]) > 1e-6:
            fail.append(f"{kind} {name}: rating {g['rating']!r} != leaderboard {m['rating']!r}")
        for k in ("games", "wins", "losses", "ties", "rank"):
            if g[k] != m[k]:
                fail.append(f"{kind} {name}: {k} {g[k]} != leaderboard {m[k]}")
    print(f"{kind}: " + ", ".join(f"{m['model']} {m['rating']:.6f}" for m in r["models"]))
print("leaderboard: " + ", ".join(f"{m['model']} {m['rating']:.6f}" for m in lb["models"]))
if fail:
    print("FAIL:\n  " + "\n  ".join(fail[:30]))
    sys.exit(1)
PY

if [ "$FAILS" -gt 0 ]; then
    echo "FAIL: $FAILS check(s) failed"
    exit 1
fi
echo "PASS: arenactl export reproduces the rater's leaderboard"
