#!/usr/bin/env bash
# Builds the benchmark's servers in release mode and lists them.
#
#   bench/lib/build.sh CACHE_DIR [PEER...]
#
# PEER is one of: basehttp hyper actix may_minihttp tiny_http canned_epoll python
# threads astra basehttp_tls hyper_rustls (default: all; threads and astra serve the
# blocking-handlers section, bench/run.sh --blocking; basehttp_tls and hyper_rustls
# the TLS section, bench/run.sh --tls). basehttp is the workspace example
# `bench_hello` (target dir: $CARGO_TARGET_DIR or the workspace's own).
# basehttp_tls is the same example built with the examples package's feature
# `tls`, in a target dir of its own, CACHE_DIR/target/basehttp_tls, so that it
# never replaces the plain build (the two would share one executable path) nor
# makes cargo rebuild it when the features change. Each Rust peer is the standalone
# cargo project bench/peers/<name>/, built with its own target dir
# CACHE_DIR/target/<name>, so nothing lands in the repository but the peer's
# Cargo.lock. python is bench/peers/python/hello.py: nothing to build, but a
# launcher CACHE_DIR/python/peer-python is written that execs it with
# python3.11 (or, failing that, python3), so it runs like the others as
# `EXECUTABLE PORT` and keeps its process id.
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
[ ${#peers[@]} -gt 0 ] || peers=(basehttp hyper actix may_minihttp tiny_http canned_epoll python threads astra
    basehttp_tls hyper_rustls)
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
        basehttp_tls)
            echo "== building bench_hello (basehttp) with the feature tls in release" >&2
            target="$cache/target/basehttp_tls"
            CARGO_TARGET_DIR=$target cargo build --release -p basehttp-examples --features tls \
                --example bench_hello --manifest-path "$root/Cargo.toml" >&2
            exe="$target/release/examples/bench_hello"
            ;;
        hyper | actix | may_minihttp | tiny_http | canned_epoll | threads | astra | hyper_rustls)
            echo "== building peer $peer in release" >&2
            manifest="$bench/peers/$peer/Cargo.toml"
            target="$cache/target/$peer"
            CARGO_TARGET_DIR=$target cargo build --release --manifest-path "$manifest" >&2
            exe="$target/release/peer-${peer//_/-}"
            ;;
        python)
            python=$(command -v python3.11 || command -v python3) || {
                echo "build.sh: no python3.11 or python3 for the python peer" >&2
                exit 1
            }
            # The interpreter itself, not a wrapper such as a pyenv shim.
            python=$("$python" -c 'import sys; print(sys.executable)')
            version=$("$python" -c 'import platform; print(platform.python_version())')
            case $version in
                3.11.*) ;;
                *) echo "build.sh: warning: the python peer runs on Python $version, not 3.11" >&2 ;;
            esac
            echo "== python peer: $python (Python $version), nothing to build" >&2
            mkdir -p "$cache/python"
            exe="$cache/python/peer-python"
            printf '#!/bin/sh\n# Written by bench/lib/build.sh: the python peer, Python %s.\nexec %q %q "$@"\n' \
                "$version" "$python" "$bench/peers/python/hello.py" > "$exe.new"
            chmod +x "$exe.new"
            mv "$exe.new" "$exe"
            ;;
        *)
            echo "build.sh: unknown peer '$peer'" >&2
            exit 2
            ;;
    esac
    [ -x "$exe" ] || { echo "build.sh: $exe missing after the build" >&2; exit 1; }
    printf '%s\t%s\n' "$peer" "$exe"
done
