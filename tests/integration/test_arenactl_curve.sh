#!/usr/bin/env bash
# arenactl curve and CURVE control sockets as processes:
#   keygen: NAME.key mode 0600 (directory 0700), NAME.pub, never overwritten without --force;
#           `curve public` derives the same public key;
#   arena-devbroker serving CURVE (ARENA_CURVE_* variables): arenactl with an authorised key is
#           answered, with an unknown key refused at once with the reason, in plaintext refused
#           at its timeout; the devbroker logs the refused key;
#   bad key files: arenactl and the services exit 2 (config error), naming the file and line, never
#           printing the key.
set -u
SRC="${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
source "$SRC/tests/support/devbroker.sh"
BIN="$(devbroker_bin)"
BINDIR="$(dirname "$BIN")"
ARENACTL="$BINDIR/arenactl"
[ -x "$ARENACTL" ] && [ -x "$BINDIR/arena-rater" ] || {
    echo "SKIP: binaries not built in $BINDIR"
    exit 77
}
TMP="$(mktemp -d "${TMPDIR:-/tmp}/arena-curve-XXXXXX")"
trap 'devbroker_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
FAILS=0
fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}
ok() { echo "ok: $*"; }
key_of() { grep -v '^#' "$1"; }

# ---- keygen ----
K="$TMP/keys"
for name in server ops intruder; do
    "$ARENACTL" curve keygen --out "$K" --name "$name" >"$TMP/keygen.out" 2>&1 ||
        fail "keygen $name: $(cat "$TMP/keygen.out")"
done
[ "$(stat -c %a "$K")" = 700 ] && ok "key directory 0700" || fail "key directory mode $(stat -c %a "$K")"
[ "$(stat -c %a "$K/server.key")" = 600 ] && ok "secret key 0600" || fail "secret key mode $(stat -c %a "$K/server.key")"
[ "$(key_of "$K/server.key" | wc -c)" = 41 ] && [ "$(key_of "$K/server.pub" | wc -c)" = 41 ] &&
    ok "one 40-character key a file" || fail "key files: $(cat "$K/server.key" "$K/server.pub")"
[ "$("$ARENACTL" curve public "$K/server.key")" = "$(key_of "$K/server.pub")" ] &&
    ok "curve public matches keygen" || fail "curve public differs from server.pub"
before="$(cat "$K/server.key")"
out="$("$ARENACTL" curve keygen --out "$K" --name server 2>&1)" && fail "keygen replaced a key without --force"
grep -q -- "--force" <<<"$out" && [ "$(cat "$K/server.key")" = "$before" ] &&
    ok "existing key kept, --force suggested" || fail "second keygen: $out"
"$ARENACTL" curve keygen --out "$K" --name spare >/dev/null && before="$(cat "$K/spare.key")" &&
    "$ARENACTL" curve keygen --out "$K" --name spare --force >/dev/null &&
    [ "$(cat "$K/spare.key")" != "$before" ] && ok "--force replaces" || fail "--force"
out="$("$ARENACTL" curve keygen --name x 2>&1)"
[ $? -eq 2 ] && grep -q -- "--out" <<<"$out" && ok "keygen without --out: usage" || fail "keygen without --out: $out"

# ---- a CURVE control socket (devbroker) ----
cp "$K/ops.pub" "$K/authorized_keys"
export ARENA_CURVE_SERVER_SECRET_KEY_FILE="$K/server.key" ARENA_CURVE_AUTHORIZED_KEYS_FILE="$K/authorized_keys"
devbroker_start "$TMP/b" 2 --control "tcp://127.0.0.1:*" || {
    echo "FAIL: devbroker did not start" >&2
    exit 1
}
unset ARENA_CURVE_SERVER_SECRET_KEY_FILE ARENA_CURVE_AUTHORIZED_KEYS_FILE
for _ in $(seq 1 100); do grep -q "event=devbroker_ready" "$DEVBROKER_LOG" && break; sleep 0.05; done
CTL="$(sed -n 's/.*event=devbroker_ready.* control=\(tcp:[^ ]*\) curve=on.*/\1/p' "$DEVBROKER_LOG")"
[ -n "$CTL" ] && ok "devbroker control $CTL with curve=on" || fail "no curve=on ready line: $(cat "$DEVBROKER_LOG")"
export ARENA_DEVBROKER_CONTROL="$CTL"

st="$(ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$K/ops.key" ARENA_CURVE_SERVER_PUBLIC_KEY_FILE="$K/server.pub" \
    "$ARENACTL" devbroker status 2>&1)" && grep -q '"partitions":2' <<<"$st" &&
    ok "authorised client answered" || fail "authorised client: $st"
out="$(ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$K/intruder.key" ARENA_CURVE_SERVER_PUBLIC_KEY_FILE="$K/server.pub" \
    "$ARENACTL" devbroker --timeout 30000 status 2>&1)" && fail "unknown key answered: $out"
grep -q "not in its curve.authorized_keys_file" <<<"$out" && ok "unknown key refused: $out" ||
    fail "unknown key: $out"
grep "event=ctl_auth_refused" "$DEVBROKER_LOG" | grep -qF "client_key=\"$(key_of "$K/intruder.pub")\"" &&
    ok "refused key logged by the server" || fail "no ctl_auth_refused line for the intruder"
out="$("$ARENACTL" devbroker --timeout 500 status 2>&1)" && fail "plaintext client answered: $out"
grep -q "no reply" <<<"$out" && ok "plaintext client refused: $out" || fail "plaintext client: $out"
out="$(ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$K/ops.key" ARENA_CURVE_SERVER_PUBLIC_KEY_FILE="$K/intruder.pub" \
    "$ARENACTL" devbroker --timeout 500 status 2>&1)" && fail "wrong server key answered: $out"
ok "wrong server public key: no answer ($out)"

# ---- damaged key files ----
sec="$(key_of "$K/ops.key")"
printf '# damaged\n%s\n' "${sec:0:39}" >"$TMP/short.key"
out="$(ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$TMP/short.key" ARENA_CURVE_SERVER_PUBLIC_KEY_FILE="$K/server.pub" \
    "$ARENACTL" devbroker status 2>&1)"
rc=$?
[ $rc -eq 2 ] && grep -q "short.key line 2: expected a 40-character Z85 CURVE key, got 39" <<<"$out" &&
    ok "arenactl: damaged client key, exit 2" || fail "arenactl damaged key: rc=$rc $out"
grep -qF -- "${sec:0:20}" <<<"$out" && fail "the damaged key is echoed: $out"
out="$(ARENA_CURVE_CLIENT_SECRET_KEY_FILE="$K/ops.key" "$ARENACTL" devbroker status 2>&1)"
rc=$?
[ $rc -eq 2 ] && grep -q "curve.server_public_key_file" <<<"$out" &&
    ok "arenactl: client key without server key, exit 2" || fail "half a client: rc=$rc $out"
printf '%s\n' "${sec:0:10}~${sec:11}" >"$TMP/alphabet.key"
out="$("$BINDIR/arena-rater" --set "rater.state_dir=$TMP/rater" --set rater.http_listen= \
    --set "rater.control=tcp://127.0.0.1:*" --set "curve.server_secret_key_file=$TMP/alphabet.key" \
    --set "curve.authorized_keys_file=$K/authorized_keys" 2>&1)"
rc=$?
[ $rc -eq 2 ] && grep -q "alphabet.key line 1: character 11 is not in the Z85 alphabet" <<<"$out" &&
    ok "service: damaged server key, exit 2" || fail "rater damaged key: rc=$rc $out"
grep -qF -- "${sec:12:20}" <<<"$out" && fail "the damaged key is echoed by the service: $out"
out="$("$BINDIR/arena-rater" --set "rater.state_dir=$TMP/rater" --set rater.http_listen= \
    --set "rater.control=tcp://127.0.0.1:*" --set "curve.server_secret_key_file=$K/server.key" 2>&1)"
rc=$?
[ $rc -ne 0 ] && grep -q "curve.authorized_keys_file: required" <<<"$out" &&
    ok "service: server key without authorised keys refused" || fail "no authorized keys: rc=$rc $out"

[ "$FAILS" -eq 0 ] || {
    echo "FAIL: $FAILS check(s)"
    exit 1
}
echo "PASS"
