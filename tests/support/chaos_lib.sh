# chaos_lib.sh - bash helpers for fleet tests: run the five services as real processes,
# kill / restart any of them, query their status. Source it from a test:
#
#   source "$ARENA_SOURCE_DIR/tests/support/chaos_lib.sh"
#   chaos_init WORKDIR PORT_BASE            # needs ARENA_BIN_DIR (ctest sets it)
#   devbroker_start "$WORKDIR/broker" 48 --brokers 2 --control "$(chaos_broker_control)"
#   export ARENA_CONFIG=...                 # plus any ARENA_<SECTION>_<KEY> overrides
#   chaos_start_all                         # or chaos_start rater ...
#   chaos_kill judge [KILL]                 # signal (default KILL), wait for it to exit
#   chaos_restart judge                     # start again on the same state dir and ports
#   chaos_status rater                      # one control command: {"cmd":"status"} reply
#   chaos_field rater battles_seen          # one status field (empty when down)
#   chaos_healthz rater                     # HTTP code of /healthz (000 when down)
#   chaos_wait_field rater battles_seen 1000 120   # until field >= value, or fail
#   chaos_stop_all                          # SIGTERM every service, wait (trap EXIT)
#
# Ports: the first 20 free ports from PORT_BASE (CHAOS_PORTS; pick a base below 32768, outside
# the ephemeral range, see chaos_pick_ports): control = [i], HTTP = [10 + i],
# i = 0..4 in the order sampler, generator, judge, rater, curator; [9] is meant for the
# devbroker's control socket (chaos_broker_control).
# State dirs are WORKDIR/state/<svc> and survive restarts; logs are appended to
# WORKDIR/logs/<svc>.log. Every process started here is tracked and chaos_stop_all ends it.

CHAOS_SERVICES=(sampler generator judge rater curator)
declare -gA CHAOS_PID=()
declare -gA CHAOS_STARTS=()
CHAOS_PORTS=()

chaos_index() {
    local i
    for i in "${!CHAOS_SERVICES[@]}"; do
        [ "${CHAOS_SERVICES[$i]}" = "$1" ] && { echo "$i"; return 0; }
    done
    echo "chaos: unknown service '$1'" >&2
    return 1
}

chaos_bin() {
    echo "${ARENA_BIN_DIR:?ARENA_BIN_DIR is not set}/$1"
}

chaos_control() {
    local i
    i=$(chaos_index "$1") || return 1
    echo "tcp://127.0.0.1:${CHAOS_PORTS[$i]}"
}

chaos_http() {
    local i
    i=$(chaos_index "$1") || return 1
    echo "127.0.0.1:${CHAOS_PORTS[$((10 + i))]}"
}

chaos_broker_control() {
    echo "tcp://127.0.0.1:${CHAOS_PORTS[9]}"
}

# 20 ports free right now, from PORT_BASE up (at most 200 probed). Use a base below Linux's
# ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default), where no client
# socket is ever given a port: then only another test's listener can hold one, and the probe
# skips it. A base inside the ephemeral range still works but may race client sockets
# (chaos_start retries on "Address already in use").
chaos_pick_ports() {
    mapfile -t CHAOS_PORTS < <(python3 - "$1" <<'PY'
import socket, sys
base, out = int(sys.argv[1]), []
lo = 32768
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    pass
if base < lo <= base + 200:
    print(f"chaos: ports {base}..{base + 199} reach into the ephemeral range (from {lo})",
          file=sys.stderr)
for port in range(base, base + 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        out.append(port)
    except OSError:
        pass
    finally:
        s.close()
    if len(out) == 20:
        break
print("\n".join(map(str, out)))
PY
    )
    [ "${#CHAOS_PORTS[@]}" = 20 ] || { echo "chaos: no 20 free ports from $1" >&2; return 1; }
}

# chaos_init WORKDIR PORT_BASE: exports state dir, control and HTTP address of every service
chaos_init() {
    CHAOS_WORK=$1
    CHAOS_PORT_BASE=$2
    chaos_pick_ports "$CHAOS_PORT_BASE" || return 1
    mkdir -p "$CHAOS_WORK/logs" "$CHAOS_WORK/state"
    local svc up
    for svc in "${CHAOS_SERVICES[@]}"; do
        up=$(echo "$svc" | tr '[:lower:]' '[:upper:]')
        export "ARENA_${up}_STATE_DIR=$CHAOS_WORK/state/$svc"
        export "ARENA_${up}_CONTROL=$(chaos_control "$svc")"
        export "ARENA_${up}_HTTP_LISTEN=$(chaos_http "$svc")"
    done
}

# arenactl with the current environment (config, bootstrap, control endpoints)
chaos_ctl() {
    "$(chaos_bin arenactl)" --set log_level=warn "$@"
}

chaos_alive() {
    local pid=${CHAOS_PID[$1]:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# chaos_start SVC: start arena-SVC in the background, wait until its control socket answers
# (at most 20 s); returns 1 (and prints its log tail) when it exits or never answers
# When the ports lie in Linux's ephemeral range a client socket of any process may hold one for
# a while (then bind fails with "Address already in use"); chaos_start retries up to 10 times.
chaos_start() {
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        chaos_start_once "$1" && return 0
        tail -n 3 "$CHAOS_WORK/logs/$1.log" | grep -q "Address already in use" || return 1
        echo "chaos_start: $1: port busy (attempt $attempt), retrying in 2 s" >&2
        sleep 2
    done
    return 1
}

chaos_start_once() {
    local svc=$1
    if chaos_alive "$svc"; then
        echo "chaos_start: $svc is already running (pid ${CHAOS_PID[$svc]})" >&2
        return 1
    fi
    echo "=== start $(date +%T.%N) ===" >>"$CHAOS_WORK/logs/$svc.log"
    "$(chaos_bin "arena-$svc")" >>"$CHAOS_WORK/logs/$svc.log" 2>&1 &
    CHAOS_PID[$svc]=$!
    CHAOS_STARTS[$svc]=$((${CHAOS_STARTS[$svc]:-0} + 1))
    local i
    for i in $(seq 1 200); do
        if ! chaos_alive "$svc"; then
            echo "chaos_start: arena-$svc exited at start-up:" >&2
            tail -n 20 "$CHAOS_WORK/logs/$svc.log" >&2
            return 1
        fi
        if [ "$(chaos_healthz "$svc")" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "chaos_start: arena-$svc not healthy after 20 s" >&2
    return 1
}

chaos_start_all() {
    local svc
    for svc in "${CHAOS_SERVICES[@]}"; do
        chaos_start "$svc" || return 1
    done
}

# chaos_kill SVC [SIGNAL]: signal (default KILL) and wait for the process to exit
chaos_kill() {
    local svc=$1 sig=${2:-KILL}
    local pid=${CHAOS_PID[$svc]:-}
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    CHAOS_PID[$svc]=
}

chaos_restart() {
    chaos_kill "$1" "${2:-KILL}"
    chaos_start "$1"
}

# chaos_stop SVC [GRACE_S]: SIGTERM, SIGKILL after GRACE_S (default 20) seconds.
# Returns the exit status (137 when it had to be killed).
chaos_stop() {
    local svc=$1 grace=${2:-20}
    local pid=${CHAOS_PID[$svc]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 $((grace * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "chaos_stop: $svc ignored SIGTERM for ${grace}s, killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    CHAOS_PID[$svc]=
    return $rc
}

chaos_stop_all() {
    local svc
    for svc in "${CHAOS_SERVICES[@]}"; do
        [ -n "${CHAOS_PID[$svc]:-}" ] && kill -TERM "${CHAOS_PID[$svc]}" 2>/dev/null
    done
    for svc in "${CHAOS_SERVICES[@]}"; do
        chaos_stop "$svc" 20 || true
    done
}

# chaos_status SVC: the service's reply to {"cmd":"status"} (JSON) on stdout
chaos_status() {
    chaos_ctl ctl "$(chaos_control "$1")" '{"cmd":"status"}' 2>/dev/null
}

# chaos_field SVC FIELD: one numeric/string field of the status reply (empty when down)
chaos_field() {
    chaos_status "$1" | python3 -c 'import json,sys
try:
    v = json.load(sys.stdin).get(sys.argv[1])
except Exception:
    v = None
print("" if v is None else v)' "$2"
}

chaos_healthz() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$(chaos_http "$1")/healthz" 2>/dev/null ||
        true
}

# chaos_wait_field SVC FIELD MIN TIMEOUT_S: wait until the status field is >= MIN
chaos_wait_field() {
    local svc=$1 field=$2 min=$3 timeout=$4
    local deadline=$(($(date +%s) + timeout)) v
    while :; do
        v=$(chaos_field "$svc" "$field")
        if [ -n "$v" ] && [ "${v%.*}" -ge "$min" ] 2>/dev/null; then
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "chaos_wait_field: $svc $field=${v:-down} < $min after ${timeout}s" >&2
            return 1
        fi
        sleep 0.5
    done
}

# chaos_rss_kb PID: resident set size in KiB (VmRSS of /proc/PID/status)
chaos_rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
