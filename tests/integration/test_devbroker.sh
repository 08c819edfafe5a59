#!/usr/bin/env bash
# arena-devbroker as a process: flags, bootstrap file, control socket via `arenactl devbroker`,
# fault-injection errors named clearly, clean shutdown on SIGTERM.
set -u
SRC="${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
source "$SRC/tests/support/devbroker.sh"
BIN="$(devbroker_bin)"
ARENACTL="${ARENACTL_BIN:-$(dirname "$BIN")/arenactl}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/arena-devbroker-XXXXXX")"
FAILS=0
trap 'devbroker_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# bad flags: exit 2 with a message naming the flag
out="$("$BIN" --partitions abc 2>&1)"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--partitions" <<<"$out" && ok "bad --partitions" || fail "bad --partitions: rc=$rc $out"
out="$("$BIN" --brokers 2 --replication 3 2>&1)"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--replication" <<<"$out" && ok "replication > brokers" || fail "replication: rc=$rc $out"
out="$("$BIN" --bootstrap-file /nonexistent-dir/x/bs 2>&1)"; rc=$?
[ $rc -eq 1 ] && grep -q "bootstrap-file" <<<"$out" && ok "unwritable bootstrap file" || fail "bootstrap file: rc=$rc $out"

# a port below the kernel's ephemeral range (32768-60999), retried if something holds it
started=0
for _ in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 12000))
    CTL="tcp://127.0.0.1:$PORT"
    if devbroker_start "$TMP/b" 5 --brokers 3 --control "$CTL"; then
        started=1
        break
    fi
done
[ "$started" = 1 ] || { echo "FAIL: devbroker did not start" >&2; exit 1; }
BS="$(cat "$TMP/b/devbroker.bootstrap")"
[[ "$BS" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] && ok "bootstrap $BS" || fail "bootstrap '$BS'"
[ "$ARENA_KAFKA_BOOTSTRAP_SERVERS" = "$BS" ] && ok "exported" || fail "ARENA_KAFKA_BOOTSTRAP_SERVERS"
grep -q "event=devbroker_ready" "$DEVBROKER_LOG" && ok "ready logged" || fail "no ready line"

if [ ! -x "$ARENACTL" ]; then
    fail "arenactl not built at $ARENACTL"
else
    export ARENA_DEVBROKER_CONTROL="$CTL"
    st="$("$ARENACTL" devbroker status)" && grep -q '"partitions":5' <<<"$st" \
        && grep -q '"arena.battles.results"' <<<"$st" && ok "status" || fail "status: $st"
    "$ARENACTL" devbroker down 2 >/dev/null && ok "down 2" || fail "down 2"
    st="$("$ARENACTL" devbroker status)"
    grep -q '{"id":2,"rtt_ms":0,"up":false}' <<<"$st" && ok "broker 2 shown down" || fail "status after down: $st"
    "$ARENACTL" devbroker up 2 >/dev/null && ok "up 2" || fail "up 2"
    "$ARENACTL" devbroker rtt 1 25 >/dev/null && ok "rtt" || fail "rtt"
    "$ARENACTL" devbroker errors Produce NOT_LEADER_FOR_PARTITION,_TRANSPORT 4 >/dev/null && ok "errors" || fail "errors"
    "$ARENACTL" devbroker clear Produce >/dev/null && ok "clear" || fail "clear"
    "$ARENACTL" devbroker topic extra.topic 3 >/dev/null && "$ARENACTL" devbroker status | grep -q '"extra.topic"' \
        && ok "create_topic" || fail "create_topic"
    # coordinator / leader: the broker's reply names what moved
    st="$("$ARENACTL" devbroker coordinator group arena-judge 2)" &&
        grep -q '"broker":2' <<<"$st" && grep -q '"key":"arena-judge"' <<<"$st" &&
        grep -q '"type":"group"' <<<"$st" && ok "coordinator group" || fail "coordinator: $st"
    st="$("$ARENACTL" devbroker coordinator transaction arena-tx 3)" &&
        grep -q '"type":"transaction"' <<<"$st" && ok "coordinator transaction" ||
        fail "coordinator transaction: $st"
    grep -q "event=coordinator_set type=group key=arena-judge broker=2" "$DEVBROKER_LOG" &&
        ok "coordinator logged" || fail "no coordinator_set line"
    st="$("$ARENACTL" devbroker leader arena.battles.requested -1 3)" &&
        grep -q '"partitions":5' <<<"$st" && grep -q '"broker":3' <<<"$st" &&
        ok "leader of every partition" || fail "leader -1: $st"
    st="$("$ARENACTL" devbroker leader arena.battles.requested 4 2)" &&
        grep -q '"partition":4' <<<"$st" && grep -q '"partitions":1' <<<"$st" &&
        ok "leader of one partition" || fail "leader 4: $st"
    out="$("$ARENACTL" devbroker coordinator group arena-judge 7 2>&1)"; rc=$?
    [ $rc -eq 1 ] && grep -q "broker 7 does not exist" <<<"$out" && ok "coordinator on unknown broker" ||
        fail "coordinator 7: rc=$rc $out"
    out="$("$ARENACTL" devbroker leader arena.battles.requested 5 1 2>&1)"; rc=$?
    [ $rc -eq 1 ] && grep -q '"partition" must be an integer in -1..4' <<<"$out" &&
        ok "leader of a partition out of range" || fail "leader 5: rc=$rc $out"
    out="$("$ARENACTL" devbroker coordinator cluster x 1 2>&1)"; rc=$?
    [ $rc -eq 2 ] && grep -q "type must be 'group' or 'transaction'" <<<"$out" &&
        ok "coordinator usage: type" || fail "coordinator cluster: rc=$rc $out"
    out="$("$ARENACTL" devbroker leader arena.battles.requested all 1 2>&1)"; rc=$?
    [ $rc -eq 2 ] && grep -q "PARTITION must be an integer" <<<"$out" && ok "leader usage: partition" ||
        fail "leader all: rc=$rc $out"
    out="$("$ARENACTL" devbroker leader arena.battles.requested 0 -1 2>&1)"; rc=$?
    [ $rc -eq 2 ] && grep -q "BROKER must be 1..N" <<<"$out" && ok "leader usage: broker" ||
        fail "leader broker -1: rc=$rc $out"
    "$ARENACTL" devbroker --help | grep -q "coordinator group|transaction KEY BROKER" &&
        "$ARENACTL" devbroker --help | grep -q "leader TOPIC PARTITION BROKER" && ok "help" ||
        fail "help lacks coordinator/leader"
    out="$("$ARENACTL" devbroker down 7 2>&1)"; rc=$?
    [ $rc -eq 1 ] && grep -q "broker 7 does not exist" <<<"$out" && ok "unknown broker" || fail "down 7: rc=$rc $out"
    out="$("$ARENACTL" devbroker errors Bogus NOT_LEADER_FOR_PARTITION 1 2>&1)"; rc=$?
    [ $rc -eq 1 ] && grep -q "unknown request type 'Bogus'" <<<"$out" && ok "unknown api" || fail "api: rc=$rc $out"
    out="$("$ARENACTL" devbroker errors Produce NO_SUCH_ERROR 1 2>&1)"; rc=$?
    [ $rc -eq 1 ] && grep -q "unknown Kafka error 'NO_SUCH_ERROR'" <<<"$out" && ok "unknown error" || fail "err: rc=$rc $out"
    out="$("$ARENACTL" devbroker rtt 1 2>&1)"; rc=$?
    [ $rc -eq 2 ] && ok "usage error" || fail "rtt usage: rc=$rc $out"
    out="$("$ARENACTL" devbroker --timeout 500 --control tcp://127.0.0.1:1 status 2>&1)"; rc=$?
    [ $rc -eq 1 ] && ok "unreachable control socket" || fail "unreachable: rc=$rc $out"
fi

devbroker_stop; rc=$?
[ $rc -eq 0 ] && ok "clean exit on SIGTERM" || fail "exit status $rc"
[ ! -e "$TMP/b/devbroker.bootstrap" ] && ok "bootstrap file removed" || fail "bootstrap file left"

[ $FAILS -eq 0 ] || { echo "$FAILS failure(s)" >&2; exit 1; }
echo "all ok"
