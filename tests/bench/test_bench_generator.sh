#!/usr/bin/env bash
# Bench: the arena-generator SERVICE (Kafka in -> libcurl multi -> Kafka out, not just the
# model pool) against fake-openai answering after 100 ms, with R = 64, 256 and 1024 model
# requests allowed in flight (generator.max_in_flight = R battles, 4 openai models with
# max_concurrency = R/4 each, so at most R calls are open at once).
#
# Setup: devbroker + arena-sampler (train mode, 4 models = 6 battles per prompt, de-duplication
# off, generator cache off) turn 1000 synthetic prompts into 6000 BattleRequests on
# arena.battles.requested. Then for each R a fresh arena-generator (own consumer group, own
# state dir) consumes all of them; its /metrics (arena_messages_produced_total) is sampled
# every 100 ms, and the rate is measured between 10% and 90% of the battles produced:
#   req/s = 2 x battles/s (two model calls per battle); ideal = R / 0.1 s;
#   CPU per request = generator utime+stime (/proc/<pid>/stat) over that window / requests.
# Prints a table; asserts only that every battle was produced without a generation error,
# never a timing. ARENA_BENCH_LEVELS="256" runs one level; ARENA_GENERATOR_MAX_IN_FLIGHT=N
# (environment beats the file) decouples battles in flight from R: with generator.max_in_flight
# = R the consumer pauses at the cap and librdkafka drops its prefetched records, so the pool
# starves during each refetch (measured 0.38 of ideal at 256); with 4R battles it was 0.96.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
FAKE=${ARENA_BINARY_DIR:-$(dirname "$BIN")}/tests/fake-openai
[ -x "$BIN/arena-generator" ] || { echo "SKIP: binaries not built in $BIN"; exit 77; }
[ -x "$FAKE" ] || { echo "SKIP: fake-openai not built at $FAKE"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-bench-gen-XXXXXX")
PORT_BASE=${ARENA_BENCH_PORT_BASE:-23700}
LATENCY_MS=100
PROMPTS=1000
BATTLES=$((PROMPTS * 6))
LEVELS=${ARENA_BENCH_LEVELS:-"64 256 1024"}
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${ARENA_BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
die() {
    echo "FAIL: $*"
    tail -n 8 "$WORK"/*.log 2>/dev/null || true
    exit 1
}
wait_file() { # file pid what
    for _ in $(seq 1 300); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited"
        sleep 0.05
    done
    die "$3 did not start"
}

"$FAKE" --port-file "$WORK/fake.port" --latency-ms "$LATENCY_MS" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
wait_file "$WORK/fake.port" "$FAKE_PID" fake-openai
FAKE_URL="http://127.0.0.1:$(cat "$WORK/fake.port")"

"$BIN/arena-devbroker" --partitions 4 --bootstrap-file "$WORK/bootstrap" >"$WORK/devbroker.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/bootstrap" "$!" arena-devbroker
export ARENA_KAFKA_BOOTSTRAP_SERVERS
ARENA_KAFKA_BOOTSTRAP_SERVERS=$(head -n1 "$WORK/bootstrap")

write_config() { # R
    local r=$1 conc=$(($1 / 4)) m
    {
        cat <<YAML
log_level: info
kafka:
  session.timeout.ms: 6000
  heartbeat.interval.ms: 1000
models:
YAML
        for m in m1 m2 m3 m4; do
            cat <<YAML
  - name: $m
    backend: openai
    base_url: $FAKE_URL/v1
    max_concurrency: $conc
    timeout_ms: 30000
YAML
        done
        cat <<YAML
sampler:
  mode: train
  target: m1
  competitors: [m2, m3, m4]
  max_in_flight: 100000
  dedup_prefix: false
  dedup_minhash: false
generator:
  max_in_flight: $r
  cache: false
judge:
  model: m1
YAML
    } >"$WORK/arena-$r.yaml"
}

# a free loopback port from $1 on (the kernel's ephemeral range covers ours: a previous run's
# thousands of client connections can hold one for a while)
free_port() {
    python3 - "$1" <<'PY'
import socket, sys
p = int(sys.argv[1])
for port in range(p, p + 10):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# --- BattleRequests via the sampler ---
SAMPLER_PORT=$(free_port "$PORT_BASE")
write_config 64
python3 - "$PROMPTS" >"$WORK/prompts.jsonl" <<'PY'
import json, random, sys
rng = random.Random(7)
words = ("alpha beta gamma delta kernel cache vector tensor graph river mountain poem lesson "
         "compiler protocol market theorem garden planet signal").split()
for i in range(int(sys.argv[1])):
    topic = " ".join(rng.choice(words) for _ in range(6))
    print(json.dumps({"prompt": f"Benchmark prompt {i}: explain {topic} in two paragraphs."}))
PY
ARENA_SAMPLER_STATE_DIR="$WORK/state-sampler" ARENA_SAMPLER_CONTROL="tcp://127.0.0.1:$SAMPLER_PORT" \
    ARENA_SAMPLER_HTTP_LISTEN="" "$BIN/arena-sampler" --config "$WORK/arena-64.yaml" \
    >"$WORK/sampler.log" 2>&1 &
SAMPLER_PID=$!
PIDS+=("$SAMPLER_PID")
CTL=("$BIN/arenactl" --config "$WORK/arena-64.yaml" --set log_level=warn
    --set "sampler.control=tcp://127.0.0.1:$SAMPLER_PORT")
"${CTL[@]}" ingest "$WORK/prompts.jsonl" >"$WORK/ingest.log" 2>&1 || die "ingest failed"
issued=0
for _ in $(seq 1 600); do
    kill -0 "$SAMPLER_PID" 2>/dev/null || die "arena-sampler exited"
    issued=$("${CTL[@]}" ctl sampler '{"cmd":"status"}' 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("issued", 0))' 2>/dev/null || echo 0)
    [ "$issued" -ge "$BATTLES" ] && break
    sleep 0.1
done
[ "$issued" -ge "$BATTLES" ] || die "the sampler issued $issued of $BATTLES battles"
kill -TERM "$SAMPLER_PID" && wait "$SAMPLER_PID" || true # idle from now on: out of the way
echo "arena.battles.requested: $BATTLES BattleRequests ($PROMPTS prompts x 6 pairs); fake-openai latency ${LATENCY_MS} ms"

# --- one generator per level ---
TICK=$(getconf CLK_TCK)
printf "\n%-10s %8s %9s %9s %7s %10s %12s %12s\n" "in-flight" "battles" "req/s" "ideal" "ratio" \
    "mean open" "gen CPU/req" "srv CPU/req"
n=0
for R in $LEVELS; do
    n=$((n + 1))
    write_config "$R"
    ctl=$(free_port $((PORT_BASE + 10 * n)))
    curl -fsS -X POST "$FAKE_URL/stats/reset" >/dev/null # count this generator's calls only
    ARENA_GENERATOR_STATE_DIR="$WORK/state-gen-$R" ARENA_GENERATOR_GROUP_ID="bench-gen-$R" \
        ARENA_GENERATOR_HTTP_LISTEN="" ARENA_GENERATOR_CONTROL="tcp://127.0.0.1:$ctl" \
        "$BIN/arena-generator" --config "$WORK/arena-$R.yaml" >"$WORK/generator-$R.log" 2>&1 &
    GEN=$!
    PIDS+=("$GEN")
    python3 - "$GEN" "$FAKE_PID" "$FAKE_URL" "$BATTLES" "$R" "$LATENCY_MS" "$TICK" \
        "$BIN/arenactl" "$WORK/arena-$R.yaml" "tcp://127.0.0.1:$ctl" \
        >"$WORK/row-$R.txt" <<'PY' || die "generator at R=$R: $(cat "$WORK/row-$R.txt")"
import json, subprocess, sys, time, urllib.request
gen, fake = int(sys.argv[1]), int(sys.argv[2])
url = sys.argv[3]
total, r, lat_ms, tick = (int(x) for x in sys.argv[4:8])
ctl = [sys.argv[8], "--config", sys.argv[9], "--set", "log_level=warn",
       "--set", f"generator.control={sys.argv[10]}", "ctl", "generator", '{"cmd":"status"}']

def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]) + int(st[12])

def served():  # fake-openai answers epoll-driven: its /stats is cheap and always reachable
    s = json.load(urllib.request.urlopen(f"{url}/stats", timeout=5))
    return s["requests"], s["current"]

def status():
    try:
        out = subprocess.run(ctl, capture_output=True, timeout=10, text=True).stdout
        return json.loads(out)
    except Exception:
        return {}

# The window is defined by battles produced (10% -> 90%), not by calls: the generator coalesces
# identical calls in flight (a model answers a prompt in 3 of its 6 battles), so the number of
# calls per battle is between 2/3 and 2 and not known in advance.
lo, hi = total * 0.1, total * 0.9
t0 = t1 = None
conc = []
deadline = time.time() + 600
st = {}
n = 0
while time.time() < deadline:
    st = status()
    produced = st.get("produced", 0)
    n, cur = served()
    now = time.time()
    if t0 is None and produced >= lo:
        t0, c0, s0, n0 = now, ticks(gen), ticks(fake), n
    elif t0 is not None and t1 is None:
        conc.append(cur)
        if produced >= hi:
            t1, c1, s1, n1 = now, ticks(gen), ticks(fake), n
    if produced >= total:
        break
    time.sleep(0.2)
if st.get("produced", 0) < total or t1 is None:
    print(f"only {st.get('produced', 0)} of {total} battles produced ({n} calls served)")
    sys.exit(1)
if st.get("generation_errors", 0):
    print(f"{st['generation_errors']} generation errors")
    sys.exit(1)
reqs = n1 - n0
rate = reqs / (t1 - t0)
ideal = r / (lat_ms / 1000)
cpu_us = (c1 - c0) / tick * 1e6 / reqs
srv_us = (s1 - s0) / tick * 1e6 / reqs
mean_conc = sum(conc) / len(conc) if conc else 0
print(f"{r:<10d} {total:>8d} {rate:>9.0f} {ideal:>9.0f} {rate / ideal:>7.2f} {mean_conc:>10.0f} "
      f"{cpu_us:>12.1f} {srv_us:>12.1f}")
PY
    cat "$WORK/row-$R.txt"
    kill -TERM "$GEN" 2>/dev/null || true
    wait "$GEN" 2>/dev/null || true
done
echo
echo "req/s: calls answered by fake-openai between 10% and 90% of the run; ideal = R / 100 ms;"
echo "mean open: calls open at the server (sampled); CPU per request in us: generator, fake-openai"
