#!/usr/bin/env bash
# Secrets never leak: the whole fleet (devbroker + five services, deploy/local/run.sh) runs with
# OpenAI-backend models served by two fake-openai servers that require API keys:
#   server A (key A, from the environment: api_key_env) serves the target and the judge, with
#            500/503 faults so that retries and error paths log;
#   server B (key B) serves one competitor whose key comes from a file (api_key_file) and one
#            whose key is WRONG (from the environment): every call of that model is a 401;
#   a sim competitor (no key) beats the fake answers, so the curator writes shards.
# After the run, every service log, every /metrics and /status page, `arenactl status --json`,
# `--print-config` of every service, the curator's shards and the services' state directories
# are searched for the three keys (whole and a 12-character piece): zero matches. The servers'
# /stats prove that the requests did carry the keys (calls succeeded on both servers, and the
# wrong key was refused with 401).
# The same run also carries Kafka secrets (sasl.password, ssl.key.password from the environment;
# the PLAINTEXT devbroker ignores them) and CURVE on every control socket: keys from
# `arenactl curve keygen`, the services and the devbroker as servers, arenactl as the one
# authorised client. Neither the Kafka secrets nor any CURVE secret key may appear anywhere, a
# plaintext arenactl and one with an unknown key are refused, and librdkafka's own config dump
# (kafka.debug=conf) is searched too.
set -uo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
BINARY_DIR=${ARENA_BINARY_DIR:-$(dirname "$BIN")}
FAKE=$BINARY_DIR/tests/fake-openai
[ -x "$BIN/arena-rater" ] || { echo "SKIP: binaries not built in $BIN"; exit 77; }
[ -x "$FAKE" ] || { echo "SKIP: fake-openai not built at $FAKE"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

BATTLES=150
WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-secrets-XXXXXX")
RUN_PID=
FAKE_A=
FAKE_B=
cleanup() {
    if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    for p in $FAKE_A $FAKE_B; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}

rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
KEY_A="sk-arena-envkey-$(rnd)"
KEY_B="sk-arena-filekey-$(rnd)"
KEY_WRONG="sk-arena-wrongkey-$(rnd)"
export ARENA_TEST_KEY_A="$KEY_A" ARENA_TEST_KEY_WRONG="$KEY_WRONG"
printf '%s\n' "$KEY_B" >"$WORK/key_b"
chmod 600 "$WORK/key_b"

# Kafka secrets through the kafka: pass-through (environment, never the file)
KAFKA_PW="kafka-sasl-pw-$(rnd)"
KAFKA_KEYPW="kafka-sslkey-pw-$(rnd)"
export ARENA_KAFKA_SASL_PASSWORD="$KAFKA_PW" ARENA_KAFKA_SSL_KEY_PASSWORD="$KAFKA_KEYPW"

# CURVE keys: services and devbroker serve with server.key and admit ops.pub only
CURVE=$WORK/curve
for name in server ops intruder; do
    "$BIN/arenactl" curve keygen --out "$CURVE" --name "$name" >"$WORK/keygen-$name.out" 2>&1 || {
        cat "$WORK/keygen-$name.out"
        echo "FAIL: arenactl curve keygen"
        exit 1
    }
done
[ "$(stat -c %a "$CURVE/server.key")" = 600 ] || fail "secret key file mode is $(stat -c %a "$CURVE/server.key"), not 600"
cp "$CURVE/ops.pub" "$CURVE/authorized_keys"
export ARENA_CURVE_SERVER_SECRET_KEY_FILE="$CURVE/server.key"
export ARENA_CURVE_AUTHORIZED_KEYS_FILE="$CURVE/authorized_keys"
export ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$CURVE/ops.key"
export ARENA_CURVE_SERVER_PUBLIC_KEY_FILE="$CURVE/server.pub"
curve_secret() { grep -v '^#' "$1"; }
CURVE_SERVER_SEC=$(curve_secret "$CURVE/server.key")
CURVE_OPS_SEC=$(curve_secret "$CURVE/ops.key")
CURVE_INTRUDER_SEC=$(curve_secret "$CURVE/intruder.key")
[ "$("$BIN/arenactl" curve public "$CURVE/server.key")" = "$(curve_secret "$CURVE/server.pub")" ] ||
    fail "arenactl curve public does not match the generated public key"

"$FAKE" --port-file "$WORK/port_a" --require-key "$KEY_A" --latency-ms 5 \
    --fault 500:0.08 --fault 503:0.04:retry-after=0 --seed 3 >"$WORK/fake_a.log" 2>&1 &
FAKE_A=$!
"$FAKE" --port-file "$WORK/port_b" --require-key "$KEY_B" --latency-ms 5 --fault 500:0.05 \
    --seed 4 >"$WORK/fake_b.log" 2>&1 &
FAKE_B=$!
for _ in $(seq 1 100); do
    [ -s "$WORK/port_a" ] && [ -s "$WORK/port_b" ] && break
    sleep 0.05
done
[ -s "$WORK/port_a" ] && [ -s "$WORK/port_b" ] || {
    cat "$WORK"/fake_*.log
    echo "FAIL: fake-openai did not start"
    exit 1
}
URL_A="http://127.0.0.1:$(cat "$WORK/port_a")/v1"
URL_B="http://127.0.0.1:$(cat "$WORK/port_b")/v1"

cat >"$WORK/arena.yaml" <<YAML
log_level: info
kafka:
  session.timeout.ms: 6000
  heartbeat.interval.ms: 1000
  topic.metadata.refresh.interval.ms: 5000
models:
  - name: target-7b
    backend: openai
    base_url: $URL_A
    api_key_env: ARENA_TEST_KEY_A
    max_retries: 6
    timeout_ms: 5000
  - name: filekey-13b
    backend: openai
    base_url: $URL_B
    api_key_file: $WORK/key_b
    max_retries: 6
    timeout_ms: 5000
  - name: wrongkey-34b
    backend: openai
    base_url: $URL_B
    api_key_env: ARENA_TEST_KEY_WRONG
    max_retries: 2
    timeout_ms: 5000
  - name: sim-34b            # no key: decisive verdicts against the fake answers (shards)
    backend: sim
    skill: 9.0
    seed: 5
  - name: judge-70b
    backend: openai
    base_url: $URL_A
    api_key_env: ARENA_TEST_KEY_A
    max_retries: 6
    timeout_ms: 5000
sampler:
  mode: train
  target: target-7b
  competitors: [filekey-13b, wrongkey-34b, sim-34b]
  max_in_flight: 200
generator:
  max_in_flight: 128
judge:
  model: judge-70b
  template: wizardarena
rater:
  name: secrets
  bootstrap: 20
  every_ms: 1000
curator:
  sft_min_gap: 0.5
  dpo_min_gap: 0.5
  shard_size: 50
  flush_ms: 1000
YAML
head -n 200 "$ROOT/deploy/local/prompts.jsonl" >"$WORK/prompts.jsonl"

# A fixed port can be taken by another process's ephemeral port (the Linux range covers
# it): when a service cannot bind, try the next block of 20 ports (3 attempts).
export ARENA_BIN_DIR="$BIN" ARENA_WAIT_TIMEOUT_S=150
PORT_BASE=${ARENA_SECRETS_PORT_BASE:-23800}
for attempt in 1 2 3; do
    rm -rf "$WORK/run" # no stale log of the previous attempt
    ARENA_PORT_BASE=$PORT_BASE "$ROOT/deploy/local/run.sh" --config "$WORK/arena.yaml" --prompts "$WORK/prompts.jsonl" \
        --battles "$BATTLES" \
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

# every ops page and the control sockets, while the fleet runs
SVCS=(sampler generator judge rater curator)
CTL=("$BIN/arenactl" --config "$WORK/arena.yaml" --set log_level=warn
    --set "kafka.bootstrap.servers=$(cat "$WORK/run/bootstrap")")
for i in 0 1 2 3 4; do
    CTL+=(--set "${SVCS[$i]}.control=tcp://127.0.0.1:$((PORT_BASE + i))")
    for page in metrics status healthz readyz; do
        curl -s --max-time 5 "http://127.0.0.1:$((PORT_BASE + 10 + i))/$page" \
            >"$WORK/${SVCS[$i]}.$page" 2>&1
    done
    [ -s "$WORK/${SVCS[$i]}.metrics" ] || fail "no /metrics from ${SVCS[$i]}"
done
curl -s --max-time 5 "http://127.0.0.1:$((PORT_BASE + 13))/leaderboard.json" >"$WORK/leaderboard.http"
"${CTL[@]}" status --json >"$WORK/status.json" 2>"$WORK/status.err" || fail "arenactl status (CURVE): $(cat "$WORK/status.err")"
"${CTL[@]}" devbroker --control "tcp://127.0.0.1:$((PORT_BASE + 9))" status >"$WORK/devbroker.status" 2>&1 ||
    fail "arenactl devbroker status (CURVE): $(head -3 "$WORK/devbroker.status")"
# CURVE refuses a plaintext arenactl and one whose key is not authorised, with a reason
env -u ARENA_CURVE_CLIENT_SECRET_KEY_FILE -u ARENA_CURVE_SERVER_PUBLIC_KEY_FILE \
    "${CTL[@]}" status --json --timeout-ms 500 >"$WORK/status-plain.json" 2>"$WORK/status-plain.err" &&
    fail "a plaintext arenactl got answers from the CURVE control sockets"
ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$CURVE/intruder.key" \
    "${CTL[@]}" status --json >"$WORK/status-intruder.json" 2>"$WORK/status-intruder.err" &&
    fail "an unauthorised CURVE key got answers"
python3 - "$WORK" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
w = sys.argv[1]
ok = json.load(open(f"{w}/status.json"))
plain = json.load(open(f"{w}/status-plain.json"))
intruder = json.load(open(f"{w}/status-intruder.json"))
fail = []
if [r["state"] for r in ok] != ["up"] * 5:
    fail.append(f"authorised client: states {[r['state'] for r in ok]}")
if [r["state"] for r in plain] != ["down"] * 5:
    fail.append(f"plaintext client: states {[r['state'] for r in plain]}")
for r in intruder:
    if r["state"] != "down" or "not in its curve.authorized_keys_file" not in r.get("error", ""):
        fail.append(f"unauthorised client: {r['service']} {r['state']} {r.get('error')}")
print(f"CURVE: authorised 5/5 up; plaintext refused ({plain[0].get('error')}); "
      f"unknown key refused ({intruder[0].get('error')})")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
PY
# librdkafka's own config dump (debug=conf) and our debug log: the Kafka secrets stay hidden
"${CTL[@]}" --set kafka.debug=conf --log-level debug tail arena.battles.results --max 1 \
    --timeout-ms 3000 >"$WORK/kafka-debug.log" 2>&1
grep -q "sasl.password" "$WORK/kafka-debug.log" ||
    fail "kafka.debug=conf printed no config dump (the check would prove nothing)"
"${CTL[@]}" leaderboard --output json >"$WORK/leaderboard.json" 2>&1
"${CTL[@]}" tail arena.battles.results --timeout-ms 3000 >"$WORK/results.jsonl" 2>&1
"${CTL[@]}" tail arena.battles.generated --timeout-ms 3000 >"$WORK/generated.jsonl" 2>&1
for svc in "${SVCS[@]}"; do
    "$BIN/arena-$svc" --config "$WORK/arena.yaml" --print-config >"$WORK/$svc.print-config" 2>&1 ||
        fail "arena-$svc --print-config failed: $(head -3 "$WORK/$svc.print-config")"
done
# a service whose api_key_env variable is empty refuses to start and says which variable
ARENA_TEST_KEY_A= "$BIN/arena-generator" --config "$WORK/arena.yaml" \
    --set generator.http_listen= --set "generator.state_dir=$WORK/unset-state" >"$WORK/unset.log" 2>&1 &
UNSET_PID=$!
for _ in $(seq 1 100); do kill -0 "$UNSET_PID" 2>/dev/null || break; sleep 0.1; done
kill -TERM "$UNSET_PID" 2>/dev/null
wait "$UNSET_PID" 2>/dev/null
grep -q "api_key_env ARENA_TEST_KEY_A is not set" "$WORK/unset.log" ||
    fail "an unset api_key_env is not reported: $(tail -3 "$WORK/unset.log")"
# (the servers want their key on /stats too: given through a header file, not on a command line)
printf 'Authorization: Bearer %s\n' "$KEY_A" >"$WORK/hdr_a"
printf 'Authorization: Bearer %s\n' "$KEY_B" >"$WORK/hdr_b"
curl -s -H @"$WORK/hdr_a" "http://127.0.0.1:$(cat "$WORK/port_a")/stats" >"$WORK/stats_a.json"
curl -s -H @"$WORK/hdr_b" "http://127.0.0.1:$(cat "$WORK/port_b")/stats" >"$WORK/stats_b.json"

# stop the fleet (final leaderboard, last shards, shutdown logs)
kill -TERM "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
RUN_PID=
cp "$WORK/run.log" "$WORK/run/logs/run.log"

# 1. the keys were used: both servers answered authenticated calls, the wrong key got 401s
python3 - "$WORK" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
w = sys.argv[1]
a = json.load(open(f"{w}/stats_a.json"))
b = json.load(open(f"{w}/stats_b.json"))
print(f"server A (env key): {a['requests']} requests, {a['ok']} ok, {a['fault_500']} x 500, "
      f"{a['fault_503']} x 503, {a['auth_failed']} x 401")
print(f"server B (file key + wrong key): {b['requests']} requests, {b['ok']} ok, "
      f"{b['fault_500']} x 500, {b['auth_failed']} x 401")
fail = []
if a["ok"] < 100 or a["auth_failed"] != 0:
    fail.append("server A: the env key was not carried on every request")
if a["fault_500"] + a["fault_503"] == 0:
    fail.append("server A: no fault was injected (error paths not exercised)")
if b["ok"] < 20:
    fail.append("server B: the file key did not authenticate")
if b["auth_failed"] == 0:
    fail.append("server B: the wrong key was never refused (no 401)")
outcomes = {}
for l in open(f"{w}/results.jsonl"):
    if l.strip():
        r = json.loads(l)
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
print("outcomes:", outcomes)
if outcomes.get("OUTCOME_GENERATION_ERROR", 0) == 0:
    fail.append("no GENERATION_ERROR battle: the 401 path was not exercised")
if sum(v for k, v in outcomes.items() if not k.endswith("_ERROR")) == 0:
    fail.append("no judged battle")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
PY
grep -q "401" "$WORK"/run/logs/generator.log ||
    fail "the generator log does not mention the 401 errors (error path not logged)"

# 2. no key anywhere: logs, pages, status, configs, topics read back, shards, RocksDB state
files=("$WORK"/run/logs/* "$WORK"/*.metrics "$WORK"/*.status "$WORK"/*.healthz "$WORK"/*.readyz
    "$WORK"/*.print-config "$WORK/status.json" "$WORK/status.err" "$WORK/leaderboard.json"
    "$WORK/leaderboard.http" "$WORK/results.jsonl" "$WORK/generated.jsonl" "$WORK/unset.log"
    "$WORK/status-plain.json" "$WORK/status-plain.err" "$WORK/status-intruder.json"
    "$WORK/status-intruder.err" "$WORK/devbroker.status" "$WORK/kafka-debug.log" "$WORK"/keygen-*.out)
n_files=$(find "${files[@]}" "$WORK/run/shards" "$WORK/run/state" -type f | wc -l)
n_lines=$(cat "${files[@]}" | wc -l)
for key in "$KEY_A" "$KEY_B" "$KEY_WRONG" "$KAFKA_PW" "$KAFKA_KEYPW" "$CURVE_SERVER_SEC" \
    "$CURVE_OPS_SEC" "$CURVE_INTRUDER_SEC"; do
    piece=${key: -12}
    for needle in "$key" "$piece"; do
        hits=$(grep -rlaF -- "$needle" "${files[@]}" "$WORK/run/shards" "$WORK/run/state" 2>/dev/null)
        if [ -n "$hits" ]; then
            fail "a key (${key:0:18}...) appears in: $hits"
            grep -raF -- "$needle" "${files[@]}" | head -3 | cut -c1-300
        fi
    done
done
grep -q "ARENA_TEST_KEY_A" "$WORK/generator.print-config" ||
    fail "--print-config does not show api_key_env (the variable's name)"
[ "$(find "$WORK/run/shards" -name '*.jsonl*' | wc -l)" -gt 0 ] || fail "no shard was written"
grep -q "^arena_" "$WORK/rater.metrics" || fail "rater /metrics has no arena_ metric"
grep -q '"sasl.password": "\[REDACTED\]"' "$WORK/rater.print-config" ||
    fail "--print-config does not show sasl.password as [REDACTED]"
grep -q "event=control_listening.*curve=on" "$WORK/run/logs/judge.log" ||
    fail "the judge's control socket did not run with CURVE"
grep -q "event=ctl_auth_refused" "$WORK/run/logs/rater.log" ||
    fail "the rater did not log the refused unknown key"

if [ "$FAILS" -gt 0 ]; then
    echo "FAIL: $FAILS check(s) failed"
    exit 1
fi
echo "PASS: no API key, Kafka secret or CURVE secret key in $n_files files ($n_lines lines of logs, pages and configs, plus shards and state)"
