#!/usr/bin/env bash
# Runs the whole Arena Flywheel fleet locally on the embedded broker (arena-devbroker) with
# simulated models, prints the leaderboard and the training shards, then stops every process.
#
#   ./deploy/local/run.sh [--battles N] [--config FILE] [--prompts FILE] [--keep-running]
#                         [--partitions P] [--workdir DIR]
set -euo pipefail

ARENA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ARENA_ROOT
# shellcheck source=lib.sh
. "$ARENA_ROOT/deploy/local/lib.sh"

BATTLES=1000
CONFIG="$ARENA_ROOT/deploy/local/arena.yaml"
PROMPTS="$ARENA_ROOT/deploy/local/prompts.jsonl"
KEEP=0
PARTITIONS=12
WORKDIR="$ARENA_ROOT/out/local"
PORT_BASE=${ARENA_PORT_BASE:-22100}
BUILD_DIR=${ARENA_BUILD_DIR:-$ARENA_ROOT/build-release}
TIMEOUT_S=${ARENA_WAIT_TIMEOUT_S:-900}

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --battles) BATTLES=$2; shift 2 ;;
    --config) CONFIG=$(realpath "$2"); shift 2 ;;
    --prompts) PROMPTS=$(realpath "$2"); shift 2 ;;
    --keep-running) KEEP=1; shift ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --workdir) WORKDIR=$(realpath -m "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$BATTLES" in '' | *[!0-9]*) echo "run.sh: --battles needs a number" >&2; exit 2 ;; esac
[ -f "$CONFIG" ] || { echo "run.sh: no config at $CONFIG" >&2; exit 2; }
[ -f "$PROMPTS" ] || { echo "run.sh: no prompts at $PROMPTS" >&2; exit 2; }

if [ -n "${ARENA_BIN_DIR:-}" ]; then
    BIN=$ARENA_BIN_DIR # prebuilt binaries (the test suite): no install, no build
else
    echo "==> checking packages"
    arena_install_packages
    echo "==> building ($BUILD_DIR)"
    mkdir -p "$BUILD_DIR"
    arena_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
    BIN="$BUILD_DIR/services"
fi

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR/logs" "$WORKDIR/state" "$WORKDIR/shards"
PIDS=()
DEVBROKER_PID=

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    if [ -n "$DEVBROKER_PID" ]; then
        kill -TERM "$DEVBROKER_PID" 2>/dev/null || true
        wait "$DEVBROKER_PID" 2>/dev/null || true
        DEVBROKER_PID=
    fi
}
trap 'stop_all' EXIT
trap 'echo; echo "==> stopping"; stop_all; exit 130' INT TERM

echo "==> starting arena-devbroker ($PARTITIONS partitions per topic)"
"$BIN/arena-devbroker" --partitions "$PARTITIONS" --bootstrap-file "$WORKDIR/bootstrap" \
    --control "tcp://127.0.0.1:$((PORT_BASE + 9))" >"$WORKDIR/logs/devbroker.log" 2>&1 &
DEVBROKER_PID=$!
for _ in $(seq 1 100); do
    [ -s "$WORKDIR/bootstrap" ] && break
    kill -0 "$DEVBROKER_PID" 2>/dev/null || { cat "$WORKDIR/logs/devbroker.log" >&2; exit 1; }
    sleep 0.1
done
[ -s "$WORKDIR/bootstrap" ] || { echo "devbroker wrote no bootstrap file" >&2; exit 1; }
BOOTSTRAP=$(cat "$WORKDIR/bootstrap")

export ARENA_CONFIG="$CONFIG"
export ARENA_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP"
export ARENA_SAMPLER_MAX_BATTLES="$BATTLES"
export ARENA_CURATOR_SHARD_DIR="$WORKDIR/shards"
i=0
for svc in sampler generator judge rater curator; do
    up=$(echo "$svc" | tr a-z A-Z)
    export "ARENA_${up}_STATE_DIR=$WORKDIR/state/$svc"
    export "ARENA_${up}_CONTROL=tcp://127.0.0.1:$((PORT_BASE + i))"
    export "ARENA_${up}_HTTP_LISTEN=127.0.0.1:$((PORT_BASE + 10 + i))"
    i=$((i + 1))
done

echo "==> starting the five services"
for svc in sampler generator judge rater curator; do
    "$BIN/arena-$svc" >"$WORKDIR/logs/$svc.log" 2>&1 &
    PIDS+=($!)
done
printf "%s\n" "devbroker $DEVBROKER_PID" >"$WORKDIR/pids"
i=0
for svc in sampler generator judge rater curator; do
    echo "$svc ${PIDS[$i]}" >>"$WORKDIR/pids"
    i=$((i + 1))
done
sleep 0.5
for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "a service failed to start; logs:" >&2
        tail -n 5 "$WORKDIR"/logs/*.log >&2
        exit 1
    fi
done

start=$(date +%s.%N)
echo "==> ingesting $(wc -l <"$PROMPTS") prompts from $PROMPTS"
"$BIN/arenactl" ingest "$PROMPTS" --source "$(basename "$PROMPTS")"

echo "==> waiting for $BATTLES battles to be rated"
if ! "$BIN/arenactl" wait --battles "$BATTLES" --timeout-s "$TIMEOUT_S"; then
    echo "the fleet did not reach $BATTLES battles; status and logs:" >&2
    "$BIN/arenactl" status >&2 || true
    tail -n 5 "$WORKDIR"/logs/*.log >&2
    exit 1
fi
end=$(date +%s.%N)
awk -v n="$BATTLES" -v s="$start" -v e="$end" \
    'BEGIN { printf "==> %d battles rated in %.1f s (from ingest to the last shard row)\n", n, e - s }'

if [ "$KEEP" = 1 ]; then
    cat <<MSG

The fleet is running. Kafka bootstrap (kcat -b ...): $BOOTSTRAP
  $BIN/arenactl leaderboard            # latest leaderboard
  $BIN/arenactl status                 # every service
  $BIN/arenactl tail arena.battles.results --max 5
  curl http://127.0.0.1:$((PORT_BASE + 13))/leaderboard.json
  curl http://127.0.0.1:$((PORT_BASE + 13))/metrics
Ctrl-C stops everything.
MSG
    while kill -0 "$DEVBROKER_PID" 2>/dev/null; do sleep 1; done
    exit 0
fi

# stop the services first so the rater publishes its final leaderboard and the curator cuts
# its last shards; the broker stays up to read them
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()

echo
echo "Kafka bootstrap address: $BOOTSTRAP   (e.g. kcat -b $BOOTSTRAP -L)"
echo
"$BIN/arenactl" leaderboard
echo
echo "Training shards in $WORKDIR/shards (SIMULATED models - demo data):"
if ls "$WORKDIR"/shards/*.jsonl* >/dev/null 2>&1; then
    for f in "$WORKDIR"/shards/*.jsonl*; do
        printf "  %-60s %6d rows\n" "$(basename "$f")" "$(wc -l <"$f")"
    done
else
    echo "  (none: no battle met the curator's thresholds)"
fi
echo "Logs: $WORKDIR/logs"
stop_all
