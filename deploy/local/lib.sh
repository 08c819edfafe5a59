# deploy/local/lib.sh - shared by deploy/local/run.sh and tests/run.sh: install missing Debian
# packages (as root), configure and build with CMake. Source it; it defines functions only.

ARENA_DEB_PACKAGES=(build-essential cmake pkg-config librdkafka-dev libzmq3-dev
    libprotobuf-c-dev protobuf-c-compiler librocksdb-dev libcurl4-openssl-dev libmicrohttpd-dev
    libyaml-dev libjansson-dev libzstd-dev libcmocka-dev python3 curl)

arena_install_packages() {
    local missing=()
    local p
    for p in "${ARENA_DEB_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || return 1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
}

# arena_build BUILD_DIR [cmake args...]
arena_build() {
    local dir=$1
    shift
    cmake -S "$ARENA_ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || {
        cat "$dir.configure.log" >&2
        return 1
    }
    cmake --build "$dir" -j"$(nproc)" >"$dir.build.log" 2>&1 || {
        grep -E "error|Error" "$dir.build.log" | head -50 >&2
        return 1
    }
}
