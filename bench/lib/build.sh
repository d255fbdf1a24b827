#!/usr/bin/env bash
# Builds the benchmark's servers in release mode and lists them.
#
#   bench/lib/build.sh CACHE_DIR [PEER...]
#
# PEER is one of: basehttp hyper actix may_minihttp tiny_http (default: all).
# basehttp is the workspace example `bench_hello` (target dir: $CARGO_TARGET_DIR
# or the workspace's own). Each other peer is the standalone cargo project
# bench/peers/<name>/, built with its own target dir CACHE_DIR/target/<name>, so
# nothing lands in the repository but the peer's Cargo.lock.
#
# Prints one line per server on stdout: NAME<TAB>EXECUTABLE. Build output goes
# to stderr. Exits non-zero if any build fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
cache=${1:?usage: build.sh CACHE_DIR [PEER...]}
shift
peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(basehttp hyper actix may_minihttp tiny_http)
mkdir -p "$cache"

# The workspace's target directory, as cargo itself resolves it.
workspace_target() {
    cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

for peer in "${peers[@]}"; do
    case $peer in
        basehttp)
            echo "== building bench_hello (basehttp) in release" >&2
            cargo build --release --example bench_hello --manifest-path "$root/Cargo.toml" >&2
            exe="$(workspace_target)/release/examples/bench_hello"
            ;;
        hyper | actix | may_minihttp | tiny_http)
            echo "== building peer $peer in release" >&2
            manifest="$bench/peers/$peer/Cargo.toml"
            target="$cache/target/$peer"
            CARGO_TARGET_DIR=$target cargo build --release --manifest-path "$manifest" >&2
            exe="$target/release/peer-${peer//_/-}"
            ;;
        *)
            echo "build.sh: unknown peer '$peer'" >&2
            exit 2
            ;;
    esac
    [ -x "$exe" ] || { echo "build.sh: $exe missing after the build" >&2; exit 1; }
    printf '%s\t%s\n' "$peer" "$exe"
done
