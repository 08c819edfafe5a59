#!/usr/bin/env bash
# The README's configuration reference lists every declared config key (from --help-config).
set -euo pipefail
ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ARENA_BIN_DIR:-$ROOT/build/services}
[ -x "$BIN/arena-judge" ] || { echo "SKIP: arena-judge not built in $BIN"; exit 77; }
missing=0
while IFS= read -r key; do
    if ! grep -qF "\`$key\`" "$ROOT/README.md"; then
        echo "README.md does not document config key $key"
        missing=$((missing + 1))
    fi
done < <("$BIN/arena-judge" --help-config | sed -n 's/^| `\([^`]*\)`.*/\1/p')
n=$("$BIN/arena-judge" --help-config | grep -c '^| `')
[ "$n" -gt 50 ] || { echo "FAIL: only $n keys in --help-config"; exit 1; }
if [ "$missing" -gt 0 ]; then
    echo "FAIL: $missing keys missing (regenerate with: arena-judge --help-config)"
    exit 1
fi
echo "PASS: all $n config keys documented"
