#!/usr/bin/env bash
# Builds and runs the Arena Flywheel test suite: installs missing Debian packages (as root),
# configures and builds with CMake (-Werror), runs ctest (unit, integration, e2e, fuzz replay,
# chaos),
# then the same suite's unit/fuzz/integration labels under ASan+UBSan, and the tests of our own
# threads (label tsan) under TSan.
# The exit code is the suite's.
#
#   ./tests/run.sh [--quick] [--no-sanitizers] [-- extra ctest args]
#   ARENA_TEST_JOBS=N  parallel ctest jobs (default 2)
#   ARENA_CHAOS=0      leave out the chaos test (label chaos, 3-4 min)
set -uo pipefail

ARENA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ARENA_ROOT
# shellcheck source=../deploy/local/lib.sh
. "$ARENA_ROOT/deploy/local/lib.sh"

SANITIZERS=1
QUICK=0
CTEST_EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-sanitizers) SANITIZERS=0; shift ;;
    --quick) QUICK=1; SANITIZERS=0; shift ;;
    --) shift; CTEST_EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tests/run.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
JOBS=${ARENA_TEST_JOBS:-2}
BUILD=${ARENA_TEST_BUILD_DIR:-$ARENA_ROOT/build-test}
ASAN_BUILD=${ARENA_ASAN_BUILD_DIR:-$ARENA_ROOT/build-asan}
TSAN_BUILD=${ARENA_TSAN_BUILD_DIR:-$ARENA_ROOT/build-tsan}

# deployment checks need these; node/npm validate the Kubernetes manifests
EXTRA_PKGS=(docker-compose yamllint)
command -v npm >/dev/null 2>&1 || EXTRA_PKGS+=(nodejs npm)
# the leaderboard page e2e test renders the rater's page in headless Chromium
command -v chromium >/dev/null 2>&1 || EXTRA_PKGS+=(chromium fonts-liberation)
echo "==> checking packages"
arena_install_packages "${EXTRA_PKGS[@]}" || exit 1

echo "==> configuring and building ($BUILD)"
mkdir -p "$BUILD"
arena_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARENA_WERROR=ON || exit 1

if [ -f "$ARENA_ROOT/.clang-format" ] && command -v clang-format >/dev/null 2>&1; then
    echo "==> clang-format check"
    bad=$(cd "$ARENA_ROOT" && git ls-files '*.c' '*.h' 2>/dev/null | xargs -r clang-format --dry-run 2>&1 | grep -c "warning:" || true)
    if [ "${bad:-0}" -gt 0 ]; then
        echo "clang-format: $bad places differ from .clang-format (run clang-format -i)" >&2
        exit 1
    fi
fi

rc=0
# the chaos test (label chaos, ~3-4 min) is part of the run; ARENA_CHAOS=0 leaves it out
CHAOS_ARGS=()
CHAOS_NOTE=", chaos"
if [ "${ARENA_CHAOS:-1}" = 0 ]; then
    CHAOS_ARGS=(-LE chaos)
    CHAOS_NOTE=""
fi
echo "==> ctest (unit, integration, e2e, fuzz replay$CHAOS_NOTE)"
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS" "${CHAOS_ARGS[@]}" "${CTEST_EXTRA[@]}") || rc=1

if [ "$SANITIZERS" = 1 ]; then
    echo "==> ASan+UBSan build ($ASAN_BUILD)"
    mkdir -p "$ASAN_BUILD"
    if arena_build "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DARENA_SANITIZE=address -DARENA_WERROR=ON; then
        echo "==> ctest under ASan+UBSan (unit, fuzz replay, integration, fleet e2e)"
        (cd "$ASAN_BUILD" &&
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                ctest --output-on-failure -j"$JOBS" -L "unit|fuzz|integration" \
                    -E "deploy_files|readme_config" "${CTEST_EXTRA[@]}" &&
                # the whole fleet under ASan: the normal path and garbage on every input topic
                ctest --output-on-failure -R "^e2e\.test_(fleet|garbage)$" "${CTEST_EXTRA[@]}") || rc=1
    else
        rc=1
    fi
    # TSan: only the tests of our own threads (label tsan: metrics, http, rater bootstrap
    # workers, control sockets); librdkafka's C11 threads are not TSan-clean, libzmq's
    # uninstrumented queues are suppressed (tests/tsan.supp)
    echo "==> TSan build ($TSAN_BUILD)"
    mkdir -p "$TSAN_BUILD"
    # only the executables of those tests are built (test unit.test_x = target unit_test_x)
    if cmake -S "$ARENA_ROOT" -B "$TSAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DARENA_SANITIZE=thread \
        -DARENA_WERROR=ON >"$TSAN_BUILD.configure.log" 2>&1 &&
        tsan_targets=$(cd "$TSAN_BUILD" && ctest -N -L tsan | sed -n 's/^ *Test *#[0-9]*: *//p' | tr . _) &&
        [ -n "$tsan_targets" ] &&
        # shellcheck disable=SC2086
        cmake --build "$TSAN_BUILD" -j"$(nproc)" --target $tsan_targets >"$TSAN_BUILD.build.log" 2>&1; then
        echo "==> ctest under TSan (label tsan)"
        (cd "$TSAN_BUILD" &&
            TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ARENA_ROOT/tests/tsan.supp" \
                ctest --output-on-failure -j"$JOBS" -L tsan "${CTEST_EXTRA[@]}") || rc=1
    else
        echo "TSan build failed: see $TSAN_BUILD.configure.log and $TSAN_BUILD.build.log" >&2
        rc=1
    fi
fi
exit $rc
