# shellcheck shell=bash
# fleet_lib.sh - start-up and teardown shared by the end-to-end tests (tests/e2e/test_*.sh):
# skip checks, the work dir and its cleanup, fake-openai, and the fleet itself, started either
# through deploy/local/run.sh (what a user runs) or as chaos_lib.sh processes (each service
# handled on its own). Source it after setting ROOT:
#
#   ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
#   . "$ROOT/tests/support/fleet_lib.sh"   # also sources devbroker.sh and chaos_lib.sh
#   fleet_need_exec "$BIN/arena-rater"     # exit 77 (skip) unless built
#   fleet_need_cmd python3 curl            # exit 77 (skip) unless installed
#   fleet_workdir e2e-fleet                # WORK = a fresh temp dir; fleet_cleanup on EXIT
#   fleet_config_head "comment" >"$WORK/arena.yaml"   # log level + the Kafka timeouts of tests
#
#   a) fleet_run_start PORT_BASE BATTLES [run.sh flags...]   # until "fleet is running"
#      "${FLEET_CTL[@]}" leaderboard       # arenactl bound to that fleet
#      fleet_run_http rater                # its HTTP address (host:port)
#      fleet_run_stop                      # SIGTERM run.sh: services stop first, then the broker
#   b) export ARENA_CONFIG=...; fleet_start PORT_BASE PARTITIONS [devbroker flags...]
#      chaos_ctl ..., chaos_status rater (see chaos_lib.sh)
#      fleet_stop_services                 # one SIGTERM each: shutdown work completes
#
#   fleet_fake_openai_start [fake-openai flags...]   # FAKE_PID, FAKE_URL (http://127.0.0.1:P)
#   fleet_track PID...                     # more processes for fleet_cleanup to end
#   fleet_untrack PID...                   # ... once the test has waited for them itself
#
# BIN (= ARENA_BIN_DIR, exported) holds the services; ARENA_BINARY_DIR the build dir.
# KEEP_WORK=1 keeps the work dir. Every process started here is ended by fleet_cleanup.

# shellcheck source=devbroker.sh
. "$ROOT/tests/support/devbroker.sh"
# shellcheck source=chaos_lib.sh
. "$ROOT/tests/support/chaos_lib.sh"

export ARENA_BIN_DIR=${ARENA_BIN_DIR:-$ROOT/build/services}
BIN=$ARENA_BIN_DIR
ARENA_BINARY_DIR=${ARENA_BINARY_DIR:-$(dirname "$BIN")}
FLEET_PIDS=()
FLEET_RUN_PID=
FLEET_PORT_BASE=
FLEET_CTL=()
FAKE_PID=
FAKE_URL=

# fleet_need_exec FILE...: skip (exit 77) unless every FILE is an executable
fleet_need_exec() {
    local f
    for f in "$@"; do
        [ -x "$f" ] || { echo "SKIP: $(basename "$f") not built at $f"; exit 77; }
    done
}

# fleet_need_cmd CMD...: skip (exit 77) unless every command is installed
fleet_need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || { echo "SKIP: $c missing"; exit 77; }
    done
}

# fleet_workdir NAME: WORK=${TMPDIR:-/tmp}/arena-NAME-XXXXXX, removed at exit (unless
# KEEP_WORK=1) after fleet_cleanup has ended every process; SIGTERM/SIGINT exit 143
fleet_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/arena-$1-XXXXXX")
    trap fleet_cleanup EXIT
    trap 'exit 143' TERM INT
}

fleet_track() {
    FLEET_PIDS+=("$@")
}

# fleet_untrack PID...: the test has waited for these (a reaped pid may be reused)
fleet_untrack() {
    local keep=() pid gone
    for pid in "${FLEET_PIDS[@]}"; do
        for gone in "$@"; do [ "$pid" = "$gone" ] && continue 2; done
        keep+=("$pid")
    done
    FLEET_PIDS=("${keep[@]}")
}

fleet_cleanup() {
    local pid
    for pid in "${FLEET_PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true # a test may have stopped it (SIGSTOP)
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${FLEET_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    FLEET_PIDS=()
    fleet_run_stop
    fleet_stop_services
    devbroker_stop 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}

# fleet_config_head [COMMENT]: the first lines of a test's arena.yaml (up to the models)
fleet_config_head() {
    [ -z "${1:-}" ] || echo "# $1"
    cat <<'YAML'
log_level: info
kafka:
  session.timeout.ms: 6000
  heartbeat.interval.ms: 1000
  topic.metadata.refresh.interval.ms: 5000
YAML
}

# fleet_fake_openai_start [FLAGS...]: tests/fake-openai on a free port; sets FAKE_PID and
# FAKE_URL; its log is $WORK/fake.log
fleet_fake_openai_start() {
    local fake=$ARENA_BINARY_DIR/tests/fake-openai
    rm -f "$WORK/fake.port"
    "$fake" --port-file "$WORK/fake.port" "$@" >"$WORK/fake.log" 2>&1 &
    FAKE_PID=$!
    fleet_track "$FAKE_PID"
    local i
    for i in $(seq 1 200); do
        [ -s "$WORK/fake.port" ] && break
        kill -0 "$FAKE_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ ! -s "$WORK/fake.port" ]; then
        cat "$WORK/fake.log" >&2
        echo "fleet_fake_openai_start: fake-openai did not start" >&2
        return 1
    fi
    # shellcheck disable=SC2034 # read by the tests
    FAKE_URL="http://127.0.0.1:$(cat "$WORK/fake.port")"
}

# fleet_start PORT_BASE PARTITIONS [DEVBROKER FLAGS...]: chaos_init on $WORK (20 free ports
# from PORT_BASE), arena-devbroker (its control socket on chaos_broker_control), then the five
# services, each healthy (set ARENA_CONFIG and any ARENA_* override first)
fleet_start() {
    local base=$1 partitions=$2
    shift 2
    chaos_init "$WORK" "$base" || return 1
    devbroker_start "$WORK/broker" "$partitions" --control "$(chaos_broker_control)" "$@" ||
        return 1
    chaos_start_all
}

# fleet_stop_services [GRACE_S]: one SIGTERM to every service chaos_lib started, then wait up to
# GRACE_S (default 20) seconds in all, SIGKILL after. A service's shutdown work (the curator
# cuts its last shards, the rater publishes) completes: chaos_stop_all signals each service
# twice, and a second signal makes a service exit at once.
fleet_stop_services() {
    local grace=${1:-20} svc pid
    for svc in "${CHAOS_SERVICES[@]}"; do
        pid=${CHAOS_PID[$svc]:-}
        if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    local deadline=$(($(date +%s) + grace))
    for svc in "${CHAOS_SERVICES[@]}"; do
        pid=${CHAOS_PID[$svc]:-}
        if [ -z "$pid" ]; then continue; fi
        while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "fleet_stop_services: $svc ignored SIGTERM for ${grace}s, killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        CHAOS_PID[$svc]=
    done
}

# fleet_free_block BASE: the first port base from BASE up (steps of 20, at most 10) whose 20
# ports (run.sh takes BASE+0..14; a test may put more on 15..19) are all free right now
fleet_free_block() {
    python3 - "$1" <<'PY'
import socket, sys
base = int(sys.argv[1])
for b in range(base, base + 200, 20):
    free = True
    for port in range(b, b + 20):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            free = False
        finally:
            s.close()
        if not free:
            break
    if free:
        print(b)
        sys.exit(0)
print(f"fleet_free_block: no free block of 20 ports in {base}..{base + 199}", file=sys.stderr)
sys.exit(1)
PY
}

# fleet_run_http SVC: host:port of the service's HTTP listener in the run.sh fleet
fleet_run_http() {
    local i
    i=$(chaos_index "$1") || return 1
    echo "127.0.0.1:$((FLEET_PORT_BASE + 10 + i))"
}

# fleet_run_start PORT_BASE BATTLES [RUN.SH FLAGS...]: deploy/local/run.sh --keep-running on
# $WORK/run (log $WORK/run.log) until it prints "fleet is running". A port of the block can be
# held by another test's listener: then the next free block is taken (3 attempts); the function
# named by FLEET_BEFORE_RUN (if set) is called with each port base before run.sh starts (to
# write a config that holds ports). Sets FLEET_PORT_BASE, FLEET_RUN_PID and FLEET_CTL (arenactl
# with the run's config, bootstrap and the five control endpoints). Returns 1 with the logs'
# tails when the fleet does not come up.
fleet_run_start() {
    local base=$1 battles=$2
    shift 2
    local config=$ROOT/deploy/local/arena.yaml prev='' a
    for a in "$@"; do
        [ "$prev" = --config ] && config=$a
        prev=$a
    done
    local deadline
    for _ in 1 2 3; do
        base=$(fleet_free_block "$base") || return 1
        FLEET_PORT_BASE=$base
        [ -z "${FLEET_BEFORE_RUN:-}" ] || "$FLEET_BEFORE_RUN" "$base"
        rm -rf "$WORK/run"
        ARENA_PORT_BASE=$base "$ROOT/deploy/local/run.sh" --battles "$battles" --keep-running \
            --workdir "$WORK/run" "$@" >"$WORK/run.log" 2>&1 &
        FLEET_RUN_PID=$!
        # run.sh gives up after ARENA_WAIT_TIMEOUT_S (default 900) itself
        deadline=$(($(date +%s) + ${ARENA_WAIT_TIMEOUT_S:-900} + 60))
        while [ "$(date +%s)" -lt "$deadline" ]; do
            grep -q "fleet is running" "$WORK/run.log" 2>/dev/null && break
            kill -0 "$FLEET_RUN_PID" 2>/dev/null || break
            grep -qs "Address already in use" "$WORK"/run/logs/*.log && break
            sleep 0.5
        done
        if grep -q "fleet is running" "$WORK/run.log"; then
            FLEET_CTL=("$BIN/arenactl" --config "$config" --set log_level=warn
                --set "kafka.bootstrap.servers=$(cat "$WORK/run/bootstrap")")
            local i
            for i in "${!CHAOS_SERVICES[@]}"; do
                FLEET_CTL+=(--set "${CHAOS_SERVICES[$i]}.control=tcp://127.0.0.1:$((base + i))")
            done
            return 0
        fi
        # run.sh's children first: its TERM trap waits for a foreground `arenactl wait`
        pkill -TERM -P "$FLEET_RUN_PID" 2>/dev/null || true
        fleet_run_stop
        if ! grep -qs "Address already in use" "$WORK/run.log" "$WORK"/run/logs/*.log; then
            tail -n 40 "$WORK/run.log" >&2
            tail -n 5 "$WORK"/run/logs/*.log >&2 || true
            echo "fleet_run_start: run.sh did not bring the fleet up ($battles battles)" >&2
            return 1
        fi
        echo "note: port block $base is in use, trying $((base + 20))"
        base=$((base + 20))
    done
    echo "fleet_run_start: no port block free after 3 attempts" >&2
    return 1
}

# fleet_run_stop: SIGTERM run.sh and wait: it stops the services (the rater publishes, the
# curator cuts its last shards), then the broker. Returns 0; a no-op when it is not running.
fleet_run_stop() {
    local pid=$FLEET_RUN_PID
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    FLEET_RUN_PID=
}
