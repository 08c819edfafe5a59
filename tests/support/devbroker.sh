# devbroker.sh - source from a bash test to run a local arena-devbroker.
#
#   source "$ARENA_SOURCE_DIR/tests/support/devbroker.sh"
#   devbroker_start "$tmpdir" [PARTITIONS] [EXTRA FLAGS...]   # e.g. --brokers 3 --control tcp://...
#   ... ARENA_KAFKA_BOOTSTRAP_SERVERS is exported, services started now find the broker ...
#   devbroker_stop
#
# Exports ARENA_KAFKA_BOOTSTRAP_SERVERS, DEVBROKER_PID, DEVBROKER_LOG. The binary is
# $ARENA_BIN_DIR/arena-devbroker (ctest sets ARENA_BIN_DIR=<build>/services); override with
# DEVBROKER_BIN. devbroker_start returns non-zero (and prints the broker's log) when the broker
# does not come up within 15 s.

devbroker_bin() {
    if [ -n "${DEVBROKER_BIN:-}" ]; then
        echo "$DEVBROKER_BIN"
    elif [ -x "${ARENA_BIN_DIR:-}/arena-devbroker" ]; then
        echo "$ARENA_BIN_DIR/arena-devbroker"
    elif [ -x "${ARENA_BIN_DIR:-}/devbroker/arena-devbroker" ]; then
        echo "$ARENA_BIN_DIR/devbroker/arena-devbroker"
    else
        echo "${ARENA_BINARY_DIR:-.}/services/arena-devbroker"
    fi
}

devbroker_start() {
    local dir="$1"
    local partitions="${2:-12}"
    shift 2 2>/dev/null || shift $#
    local bin
    bin="$(devbroker_bin)"
    if [ ! -x "$bin" ]; then
        echo "devbroker_start: arena-devbroker not found at $bin" >&2
        return 1
    fi
    mkdir -p "$dir" || return 1
    local bsfile="$dir/devbroker.bootstrap"
    rm -f "$bsfile"
    DEVBROKER_LOG="$dir/devbroker.log"
    "$bin" --partitions "$partitions" --bootstrap-file "$bsfile" "$@" \
        >"$dir/devbroker.out" 2>"$DEVBROKER_LOG" &
    DEVBROKER_PID=$!
    export DEVBROKER_PID DEVBROKER_LOG
    local i
    for i in $(seq 1 300); do
        if [ -s "$bsfile" ]; then
            ARENA_KAFKA_BOOTSTRAP_SERVERS="$(head -n1 "$bsfile")"
            export ARENA_KAFKA_BOOTSTRAP_SERVERS
            return 0
        fi
        if ! kill -0 "$DEVBROKER_PID" 2>/dev/null; then
            echo "devbroker_start: arena-devbroker exited early:" >&2
            cat "$DEVBROKER_LOG" >&2
            DEVBROKER_PID=
            return 1
        fi
        sleep 0.05
    done
    echo "devbroker_start: no bootstrap file after 15 s:" >&2
    cat "$DEVBROKER_LOG" >&2
    devbroker_stop
    return 1
}

# Stops the broker started by devbroker_start (SIGTERM, then SIGKILL after 10 s).
# Returns the broker's exit status (0 on a clean shutdown).
devbroker_stop() {
    local pid="${DEVBROKER_PID:-}"
    [ -n "$pid" ] || return 0
    local rc=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        local i
        for i in $(seq 1 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "devbroker_stop: arena-devbroker ignored SIGTERM, killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    DEVBROKER_PID=
    unset ARENA_KAFKA_BOOTSTRAP_SERVERS
    return $rc
}
