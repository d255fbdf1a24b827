#!/usr/bin/env bash
# bench/run.sh - the side-by-side benchmark: basehttp's bench_hello against
# hello-world servers on hyper, actix-web, may_minihttp, tiny_http and CPython's
# http.server, and against the canned-epoll floor (no HTTP parsing at all).
# With --blocking, the blocking-handlers section instead: handlers that sleep or
# compute, against thread per connection, astra, tiny_http, hyper and CPython.
# With --tls, the TLS section instead: bench_hello over HTTPS against hyper with
# tokio-rustls.
#
# Usage: bench/run.sh [--quick] [options]
#
#   --quick            about 3 minutes (plus builds): 1 s runs, no warm-up, 1 s idle hold
#                      (--blocking: 3 s settle, about 4 minutes a round)
#   --rounds N         interleaved rounds (default 3; at least 3 for a result)
#   --peers LIST       comma-separated subset of: basehttp,hyper,actix,may_minihttp,
#                      tiny_http,canned_epoll,python
#   --scenarios LIST   comma-separated, run in this order (default
#                      idle1000,c1,c16,c64,c256,close16,pipe16); each round, an idle
#                      scenario gets a fresh server process of its own and the others
#                      share one fresh process:
#                        idleN   N idle keep-alive connections held open (each served one
#                                request); peak RSS, threads, one fresh request timed
#                        cN      keep-alive load, N connections
#                        closeN  N connections, `Connection: close` on every request
#                        pipeN   N connections, BENCH_PIPELINE_DEPTH requests per write
#   --idle10k          after the rounds, one more phase per round, basehttp only: a
#                      fresh process holds BENCH_IDLE10K_CONNS (10000) idle keep-alive
#                      connections while BENCH_IDLE10K_FRESH (5) fresh requests are
#                      timed; peak RSS and threads (the issue's 10k-idle target)
#   --blocking         the blocking-handlers section instead (see below)
#   --tls              the TLS section instead (see below)
#   --out FILE         result file (default bench/results/<date>[-quick].md; with
#                      --blocking <date>-blocking[-quick].md, with --tls
#                      <date>-tls[-quick].md); the whole
#                      console output goes beside it as FILE minus .md plus .console.txt,
#                      and the raw numbers as .raw.jsonl
#   --no-build         use the binaries of the last build (fails if there are none)
#   -h, --help         this text
#
# Slow peers (BENCH_SLOW_PEERS [python]) get shorter runs: CPython's server does
# a few hundred requests/s and its listen backlog of 5 cannot take 1000 idle
# connections in any reasonable time. Their measured runs last BENCH_SLOW_DURATION
# [3 | 1] s after BENCH_SLOW_WARMUP [0] s, and their idle scenarios are skipped
# unless BENCH_SLOW_IDLE=1. The tables mark both (‡ shorter, "skipped").
#
# --blocking: handlers that block. Its servers (--peers subsets them):
# basehttp,threads,astra,tiny_http,hyper,python, each also answering
# /sleep/N (block N ms the way its users would) and /spin/N (burn N µs of the
# thread's CPU time). threads (thread per connection, std only) is the
# reference. Its scenarios (--scenarios subsets them; default
# sleep1c64,sleep1c256,sleep5c64,sleep5c256,sleep20c64,sleep20c256,spin200c64,mixed16):
#                        sleepBcN  N connections on /sleep/B
#                        spinUcN   N connections on /spin/U
#                        mixedN    N connections on / while a second wrk keeps
#                                  BENCH_MIXED_BG_CONNS (32) on BENCH_MIXED_BG_PATH
#                                  (/sleep/20) from before the warm-up to the end
# Each round, every server runs them all in one fresh process, whose thread
# count is read first (the idle count). Each run also gives the most threads and
# RSS seen during it, and both again BENCH_SETTLE seconds after it. It prints an
# estimate of its length first: about 51 minutes for 3 rounds, 4 minutes a round
# with --quick. Results: bench/results/<date>-blocking[-quick].md, .raw.jsonl,
# .console.txt.
#
# --tls: HTTPS. Its servers (--peers subsets them): basehttp (bench_hello built
# with the feature tls, into BENCH_CACHE/target/basehttp_tls, so the plain
# sections' build is untouched) and hyper_rustls (hyper 1 + tokio + tokio-rustls,
# ring; the reference). Both load one certificate made for the run (ECDSA P-256,
# self-signed, in the run's work folder) and use rustls' defaults with ring: TLS
# 1.3 and 1.2, ALPN http/1.1. wrk speaks https (OpenSSL) with an LD_PRELOAD
# library (bench/lib/wrk_tls_handshakes.c, built with cc) that counts its full
# and resumed handshakes and can turn resumption off. Its scenarios (--scenarios
# subsets them; default c16,c64,new16,resume16):
#                        cN       keep-alive over TLS, N connections
#                        newN     N connections, `Connection: close` on every
#                                 request and resumption off: every request a new
#                                 TCP connection and a full TLS handshake
#                        resumeN  the same with wrk as it is: each reconnect
#                                 resumes the TLS 1.3 session (PSK + X25519)
#                        pipeN    pipelined, as in the hello-world section
# Each round, every server serves them all in one fresh process. Before the
# first scenario, `openssl s_client` records what OpenSSL's defaults negotiate
# (protocol, cipher suite, key exchange, signature). About 3 minutes for 3
# rounds. Results: bench/results/<date>-tls[-quick].md, .raw.jsonl, .console.txt.
#
# Environment (defaults in brackets, quick mode's second):
#   BENCH_DURATION [5 | 1]     seconds of each measured wrk run (whole seconds)
#   BENCH_WARMUP [1 | 0]       unrecorded wrk seconds before each measured run
#   BENCH_ROUNDS [3]           as --rounds
#   BENCH_IDLE_HOLD [3 | 1]    seconds the idle connections are held
#   BENCH_SERVER_CPU [1]       taskset CPU list of the servers
#   BENCH_CLIENT_CPU [0]       taskset CPU list of wrk and the other clients
#   BENCH_PORT_BASE [23100]    servers listen on 127.0.0.1:BASE+1 .. BASE+10
#   BENCH_PIPELINE_DEPTH [16]  requests per pipelined write
#   BENCH_CACHE [~/.cache/basehttp-bench]  peers' target dirs, run logs
#   CARGO_TARGET_DIR           where bench_hello is built (cargo's default otherwise)
#
#   BENCH_IDLE10K_CONNS [10000], BENCH_IDLE10K_HOLD [2], BENCH_IDLE10K_FRESH [5]
#
#   With --blocking:
#   BENCH_SETTLE [15 | 3]           seconds after each run before threads and RSS
#                                   are read again
#   BENCH_MIXED_BG_CONNS [32], BENCH_MIXED_BG_PATH [/sleep/20]  mixedN's background
#   BENCH_MIXED_LEAD [1]            seconds the background runs before the warm-up
#   BENCH_BLOCKING_TIMEOUT [10]     wrk --timeout, seconds: longer than a run, so no
#                                   slow answer is dropped from the latencies
#   BENCH_IDLE_COUNT_WAIT [1]       seconds between the readiness probe and the
#                                   idle count
#   BENCH_TINY_HTTP_THREADS [256]   tiny_http's recv() threads (4 without --blocking)
#
# What it does: installs wrk if it is missing (apt-get), builds the seven servers in
# release (bench/lib/build.sh), then for each round starts every server in turn (the
# order rotates each round), pinned to BENCH_SERVER_CPU, and runs every scenario
# against it with wrk pinned to BENCH_CLIENT_CPU. It prints tables of medians with
# ratios to hyper and to the floor, then a block of the issue's targets, each MET or
# NOT MET, and writes them, the raw numbers, the machine and the versions to the
# result file. Servers run one at a time on fixed ports and are all stopped on exit.
# With --blocking the same for its six servers and scenarios, with ratios to
# thread per connection (bench/lib/report_blocking.py); with --tls for its two
# servers, with ratios to hyper_rustls (bench/lib/report_tls.py).
set -uo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
lib=$bench/lib

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }

quick=0; build=1; out=""; rounds=""; peers_arg=""; scen_arg=""; idle10k=0; blocking=0; tls=0
args_seen=("$@")
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --rounds) rounds=${2:?--rounds N}; shift ;;
        --peers) peers_arg=${2:?--peers LIST}; shift ;;
        --scenarios) scen_arg=${2:?--scenarios LIST}; shift ;;
        --out) out=${2:?--out FILE}; shift ;;
        --no-build) build=0 ;;
        --idle10k) idle10k=1 ;;
        --blocking) blocking=1 ;;
        --tls) tls=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done

if [ $quick = 1 ]; then
    duration=${BENCH_DURATION:-1}; warmup=${BENCH_WARMUP:-0}; hold=${BENCH_IDLE_HOLD:-1}
    slow_duration=${BENCH_SLOW_DURATION:-1}
else
    duration=${BENCH_DURATION:-5}; warmup=${BENCH_WARMUP:-1}; hold=${BENCH_IDLE_HOLD:-3}
    slow_duration=${BENCH_SLOW_DURATION:-3}
fi
slow_warmup=${BENCH_SLOW_WARMUP:-0}
slow_idle=${BENCH_SLOW_IDLE:-0}
IFS=, read -r -a slow_peers <<< "${BENCH_SLOW_PEERS-python}"
idle10k_conns=${BENCH_IDLE10K_CONNS:-10000}
# Opening 10,000 connections takes about 2.3 s here; with a 2 s hold the oldest has
# been idle about 4.5 s at the end, under basehttp's default 5 s keep-alive timeout,
# so all 10,000 are still held while RSS, threads and the fresh requests are measured.
idle10k_hold=${BENCH_IDLE10K_HOLD:-2}
idle10k_fresh=${BENCH_IDLE10K_FRESH:-5}
rounds=${rounds:-${BENCH_ROUNDS:-3}}
server_cpu=${BENCH_SERVER_CPU:-1}
client_cpu=${BENCH_CLIENT_CPU:-0}
port_base=${BENCH_PORT_BASE:-23100}
export BENCH_PIPELINE_DEPTH=${BENCH_PIPELINE_DEPTH:-16}
cache=${BENCH_CACHE:-$HOME/.cache/basehttp-bench}
# The order fixes the ports: BASE+1 for basehttp ... BASE+7 for python, BASE+8 for
# threads, BASE+9 for astra (the blocking section's), BASE+10 for hyper_rustls (the
# TLS section's; basehttp keeps BASE+1 there).
all_peers=(basehttp hyper actix may_minihttp tiny_http canned_epoll python threads astra hyper_rustls)
hello_peers=(basehttp hyper actix may_minihttp tiny_http canned_epoll python)
hello_scenarios=idle1000,c1,c16,c64,c256,close16,pipe16
# The blocking section: the servers that have the /sleep/N and /spin/N routes.
blocking_peers=(basehttp threads astra tiny_http hyper python)
blocking_scenarios=sleep1c64,sleep1c256,sleep5c64,sleep5c256,sleep20c64,sleep20c256,spin200c64,mixed16
# The TLS section: bench_hello built with the feature tls, and hyper with tokio-rustls.
tls_peers=(basehttp hyper_rustls)
tls_scenarios=c16,c64,new16,resume16
[ $((blocking + tls)) -le 1 ] || die "--blocking and --tls are separate sections: pick one"
if [ $blocking = 1 ]; then
    default_peers=("${blocking_peers[@]}"); default_scenarios=$blocking_scenarios
elif [ $tls = 1 ]; then
    default_peers=("${tls_peers[@]}"); default_scenarios=$tls_scenarios
else
    default_peers=("${hello_peers[@]}"); default_scenarios=$hello_scenarios
fi
IFS=, read -r -a peers <<< "${peers_arg:-$(IFS=,; echo "${default_peers[*]}")}"
IFS=, read -r -a scenarios <<< "${scen_arg:-$default_scenarios}"
if [ $quick = 1 ]; then settle=${BENCH_SETTLE:-3}; else settle=${BENCH_SETTLE:-15}; fi
mixed_bg_conns=${BENCH_MIXED_BG_CONNS:-32}
mixed_bg_path=${BENCH_MIXED_BG_PATH:-/sleep/20}
mixed_lead=${BENCH_MIXED_LEAD:-1}
blocking_timeout=${BENCH_BLOCKING_TIMEOUT:-10}
idle_count_wait=${BENCH_IDLE_COUNT_WAIT:-1}
tiny_threads=${BENCH_TINY_HTTP_THREADS:-256}

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION wants whole seconds (wrk's unit)"
[[ $warmup =~ ^[0-9]+$ ]] || die "BENCH_WARMUP wants whole seconds"
[[ $slow_duration =~ ^[1-9][0-9]*$ ]] || die "BENCH_SLOW_DURATION wants whole seconds"
[[ $slow_warmup =~ ^[0-9]+$ ]] || die "BENCH_SLOW_WARMUP wants whole seconds"
[[ $idle10k_conns =~ ^[1-9][0-9]*$ ]] || die "BENCH_IDLE10K_CONNS wants a positive number"
[[ $idle10k_fresh =~ ^[1-9][0-9]*$ ]] || die "BENCH_IDLE10K_FRESH wants a positive number"
[ "$rounds" -ge 3 ] || echo "run.sh: note: fewer than 3 rounds; medians of $rounds" >&2
# Every chosen peer is one of the section's: section_peers NAME PEER...
section_peers() {
    local section=$1 p
    shift
    for p in "${peers[@]}"; do
        printf '%s\n' "$@" | grep -qx -- "$p" || die "peer '$p' is not in the $section section ($*)"
    done
}
if [ $blocking = 1 ]; then
    for s in "${scenarios[@]}"; do
        [[ $s =~ ^((sleep|spin)[1-9][0-9]*c|mixed)[1-9][0-9]*$ ]] ||
            die "unknown scenario '$s' (--blocking: sleepBcN, spinUcN, mixedN)"
    done
    [ $idle10k = 0 ] || die "--idle10k belongs to the hello-world section, not --blocking"
    section_peers blocking "${blocking_peers[@]}"
    [[ $settle =~ ^[0-9]+$ ]] || die "BENCH_SETTLE wants whole seconds"
    [[ $mixed_bg_conns =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIXED_BG_CONNS wants a positive number"
    [[ $mixed_bg_path =~ ^/[!-~]*$ ]] || die "BENCH_MIXED_BG_PATH wants a path"
    [[ $mixed_lead =~ ^[0-9]+$ ]] || die "BENCH_MIXED_LEAD wants whole seconds"
    [[ $blocking_timeout =~ ^[1-9][0-9]*$ ]] || die "BENCH_BLOCKING_TIMEOUT wants whole seconds"
    [[ $idle_count_wait =~ ^[0-9]+$ ]] || die "BENCH_IDLE_COUNT_WAIT wants whole seconds"
    [[ $tiny_threads =~ ^[1-9][0-9]*$ ]] && [ "$tiny_threads" -le 4096 ] ||
        die "BENCH_TINY_HTTP_THREADS wants a number from 1 to 4096"
elif [ $tls = 1 ]; then
    for s in "${scenarios[@]}"; do
        [[ $s =~ ^(c|new|resume|pipe)[1-9][0-9]*$ ]] ||
            die "unknown scenario '$s' (--tls: cN, newN, resumeN, pipeN)"
    done
    [ $idle10k = 0 ] || die "--idle10k belongs to the hello-world section, not --tls"
    section_peers TLS "${tls_peers[@]}"
else
    for s in "${scenarios[@]}"; do
        [[ $s =~ ^(idle|c|close|pipe)[1-9][0-9]*$ ]] || die "unknown scenario '$s'"
    done
    for p in "${peers[@]}"; do
        [ "$p" != hyper_rustls ] || die "hyper_rustls serves HTTPS only: it belongs to --tls"
    done
fi
port_of() {
    local i
    for i in "${!all_peers[@]}"; do
        [ "${all_peers[$i]}" = "$1" ] && { echo $((port_base + i + 1)); return 0; }
    done
    return 1
}
for p in "${peers[@]}"; do port_of "$p" >/dev/null || die "unknown peer '$p'"; done
is_slow() {
    local s
    for s in "${slow_peers[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}
# What build.sh calls each server: in the TLS section basehttp is bench_hello
# built with the feature tls (basehttp_tls), a build of its own.
build_name() {
    if [ $tls = 1 ] && [ "$1" = basehttp ]; then echo basehttp_tls; else echo "$1"; fi
}
# The 10k-idle phase needs basehttp even when --peers leaves it out of the rounds.
build_peers=()
for p in "${peers[@]}"; do build_peers+=("$(build_name "$p")"); done
if [ $idle10k = 1 ] && ! printf '%s\n' "${peers[@]}" | grep -qx basehttp; then
    build_peers+=(basehttp)
fi

# ---- tools -------------------------------------------------------------------------
for tool in cargo python3 taskset; do
    command -v $tool >/dev/null || die "$tool is required (taskset: util-linux)"
done
if ! command -v wrk >/dev/null; then
    echo "== wrk is missing: installing it (apt-get install wrk)" >&2
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update && $sudo apt-get install -y wrk || die "could not install wrk"
fi
if [ $tls = 1 ]; then
    # openssl makes the certificate and checks what is negotiated; cc builds the
    # wrk library that counts (and, for newN, forces) full handshakes.
    for tool in openssl cc; do
        command -v $tool >/dev/null || die "--tls needs $tool (apt-get install openssl gcc)"
    done
    ldd "$(command -v wrk)" 2>/dev/null | grep -q libssl ||
        echo "run.sh: warning: this wrk does not seem to link OpenSSL; https runs may fail" >&2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "run.sh: warning: fewer than 2 CPUs; server and wrk share one core" >&2
    server_cpu=0; client_cpu=0
fi
# Idle connections need that many descriptors in the server and the client: the
# servers and clients inherit this limit (idle_hold.py raises its own soft limit too).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] ||
    echo "run.sh: warning: only $(ulimit -n) file descriptors allowed" >&2
if [ $idle10k = 1 ] && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle10k_conns + 100)) ]; then
    echo "run.sh: warning: $(ulimit -n) file descriptors allowed (hard limit $(ulimit -Hn)):" \
        "too few for $idle10k_conns idle connections" >&2
fi

# ---- build ---------------------------------------------------------------------------
mkdir -p "$cache"
servers_file=$cache/servers.tsv
if [ $build = 1 ]; then
    # Keep the lines of peers not rebuilt now, so --no-build finds every server built before.
    "$lib/build.sh" "$cache" "${build_peers[@]}" > "$servers_file.new" || die "build failed"
    if [ -s "$servers_file" ]; then
        awk -F'\t' 'NR == FNR { built[$1] = 1; next } !built[$1]' "$servers_file.new" "$servers_file" \
            > "$servers_file.old"
        cat "$servers_file.old" >> "$servers_file.new"
        rm -f "$servers_file.old"
    fi
    mv "$servers_file.new" "$servers_file"
fi
[ -s "$servers_file" ] || die "no build yet: run without --no-build"
declare -A exe
while IFS=$'\t' read -r name path; do exe[$name]=$path; done < "$servers_file"
for p in "${build_peers[@]}"; do [ -x "${exe[$p]:-}" ] || die "no executable for $p (build it)"; done
# From here on exe[PEER] is the server the rounds start under that name.
for p in "${peers[@]}"; do exe[$p]=${exe[$(build_name "$p")]}; done
wrk_shim=""
if [ $tls = 1 ]; then
    wrk_shim=$cache/wrk_tls/wrk_tls_handshakes.so
    if [ $build = 1 ] || [ ! -s "$wrk_shim" ]; then
        mkdir -p "$cache/wrk_tls"
        cc -O2 -Wall -shared -fPIC -o "$wrk_shim.new" "$lib/wrk_tls_handshakes.c" &&
            mv "$wrk_shim.new" "$wrk_shim" || die "could not build $lib/wrk_tls_handshakes.c"
    fi
fi

# ---- running servers -------------------------------------------------------------------
work=$(mktemp -d "$cache/run.XXXXXX")
mkdir -p "$work/logs"
raw=$work/raw.jsonl
: > "$raw"
# Everything printed from here on (stderr: progress; stdout: the report) is also
# kept in console.txt, which is copied next to the result file at the end.
console=$work/console.txt
exec 3>&2
exec 2> >(tee -a "$console" >&3)
tee_pid=$!
server_pid=""; helper_pid=""

stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null
    local i
    for i in $(seq 1 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
}
cleanup() {
    [ -n "$helper_pid" ] && kill "$helper_pid" 2>/dev/null
    stop_server
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM HUP

port_busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# Extra arguments after the port, per server: tiny_http's pool size in the
# blocking section, the certificate and key in the TLS section.
declare -A server_args=()
[ $blocking = 0 ] || server_args[tiny_http]=$tiny_threads
probe_tls=()
tls_desc=""
if [ $tls = 1 ]; then
    # One certificate for the run, loaded by both servers: ECDSA P-256, self-signed
    # (wrk does not verify it), for localhost (wrk's URL, bench/lib/wrk_run.py) and
    # 127.0.0.1.
    [[ $work != *[[:space:]]* ]] || die "the work folder $work has blanks in its path (BENCH_CACHE)"
    mkdir -p "$work/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2> "$work/tls/openssl.log" ||
        die "openssl could not make the certificate: $(tail -1 "$work/tls/openssl.log")"
    # What openssl says it made, e.g. "id-ecPublicKey P-256 (256 bit) (prime256v1),
    # self-signed ecdsa-with-SHA256, CN=localhost".
    tls_desc=$(openssl x509 -in "$work/tls/cert.pem" -noout -text | awk '
        /Signature Algorithm:/ && !sig { sig = $NF }
        /Public Key Algorithm:/ { alg = $NF }
        /Public-Key:/ { bits = $2 " " $3 }
        /NIST CURVE:/ { curve = $NF }
        /ASN1 OID:/ { oid = $NF }
        END { printf "%s %s %s (%s), self-signed %s, CN=localhost", alg, curve, bits, oid, sig }')
    server_args[basehttp]="--tls-cert $work/tls/cert.pem --tls-key $work/tls/key.pem"
    server_args[hyper_rustls]="$work/tls/cert.pem $work/tls/key.pem"
    probe_tls=(--tls)
fi

# start_server PEER PORT LOG: sets server_pid, returns non-zero if it does not answer.
start_server() {
    local peer=$1 port=$2 log=$3 i
    for i in $(seq 1 50); do port_busy "$port" || break; sleep 0.1; done
    if port_busy "$port"; then echo "port $port is taken by another program" >> "$log"; return 1; fi
    # taskset and setsid exec the server, so $! is the server's own pid.
    # shellcheck disable=SC2086 # server_args holds words to split, or nothing
    setsid taskset -c "$server_cpu" "${exe[$peer]}" "$port" ${server_args[$peer]:-} >> "$log" 2>&1 < /dev/null &
    server_pid=$!
    if ! python3 "$lib/probe.py" ready "$port" 15 "${probe_tls[@]}"; then
        echo "no answer on port $port within 15 s" >> "$log"
        return 1
    fi
    kill -0 "$server_pid" 2>/dev/null
}

record() { printf '%s\n' "$1" >> "$raw"; }

run_scenario() {  # PEER PORT ROUND SCENARIO
    local peer=$1 port=$2 round=$3 sc=$4 n tags duration=$duration warmup=$warmup wrk_tls=()
    n=${sc##*[a-z]}
    if is_slow "$peer"; then duration=$slow_duration; warmup=$slow_warmup; fi
    tags=(--tag "peer=$peer" --tag "round=$round" --tag "scenario=$sc" --tag "conns=$n")
    tags+=(--tag "duration_s=$duration" --tag "warmup_s=$warmup")
    # The TLS section: https, wrk with the handshake-counting library, resumption
    # as wrk does it unless the scenario turns it off.
    [ $tls = 0 ] || wrk_tls=(--tls --tls-preload "$wrk_shim" --tag "section=tls")
    case $sc in
        idle[0-9]*)
            local budget=15 idle_hold=$hold fresh=1
            if [ "$sc" = "idle$idle10k_conns" ]; then  # the --idle10k phase's settings
                budget=60; idle_hold=$idle10k_hold; fresh=$idle10k_fresh
            fi
            timeout $((${idle_hold%.*} + budget + 60)) taskset -c "$client_cpu" python3 "$lib/idle_hold.py" \
                --pid "$server_pid" --port "$port" --conns "$n" --hold "$idle_hold" --fresh "$fresh" \
                --open-budget "$budget" "${tags[@]}" >> "$raw" &
            helper_pid=$!; wait "$helper_pid"; helper_pid=""
            ;;
        new[0-9]* | resume[0-9]*)  # the TLS section's: a new connection per request
            local how resume=1
            [[ $sc == new* ]] && resume=0
            how=$(python3 "$lib/probe.py" close "$port" --tls)
            python3 "$lib/wrk_run.py" --pid "$server_pid" --port "$port" --conns "$n" --close \
                --duration "$duration" --warmup "$warmup" --cpu "$client_cpu" "${wrk_tls[@]}" \
                --tls-resume "$resume" "${tags[@]}" --tag "close_behaviour=$how" >> "$raw"
            ;;
        close[0-9]*)
            local how
            how=$(python3 "$lib/probe.py" close "$port")
            python3 "$lib/wrk_run.py" --pid "$server_pid" --port "$port" --conns "$n" --close \
                --duration "$duration" --warmup "$warmup" --cpu "$client_cpu" \
                "${tags[@]}" --tag "close_behaviour=$how" >> "$raw"
            ;;
        c[0-9]*)
            python3 "$lib/wrk_run.py" --pid "$server_pid" --port "$port" --conns "$n" \
                --duration "$duration" --warmup "$warmup" --cpu "$client_cpu" "${wrk_tls[@]}" "${tags[@]}" >> "$raw"
            ;;
        pipe[0-9]*)
            python3 "$lib/wrk_run.py" --pid "$server_pid" --port "$port" --conns "$n" \
                --lua "$lib/pipeline.lua" --duration "$duration" --warmup "$warmup" \
                --cpu "$client_cpu" "${wrk_tls[@]}" "${tags[@]}" --tag "depth=$BENCH_PIPELINE_DEPTH" >> "$raw"
            ;;
        sleep[0-9]*c[0-9]* | spin[0-9]*c[0-9]* | mixed[0-9]*)
            local path=/ extra=() work_tag=()
            if [[ $sc =~ ^(sleep|spin)([0-9]+)c[0-9]+$ ]]; then
                path=/${BASH_REMATCH[1]}/${BASH_REMATCH[2]}  # sleep5c64: /sleep/5
                work_tag=(--tag "${BASH_REMATCH[1]}_$([ "${BASH_REMATCH[1]}" = sleep ] && echo ms || echo us)=${BASH_REMATCH[2]}")
            else  # mixedN
                extra=(--background-path "$mixed_bg_path" --background-conns "$mixed_bg_conns"
                    --background-lead "$mixed_lead")
            fi
            python3 "$lib/wrk_run.py" --pid "$server_pid" --port "$port" --conns "$n" --path "$path" \
                --duration "$duration" --warmup "$warmup" --cpu "$client_cpu" \
                --timeout "$blocking_timeout" --sample 0.1 --settle "$settle" "${extra[@]}" \
                "${tags[@]}" "${work_tag[@]}" --tag "section=blocking" >> "$raw"
            ;;
    esac
}

# The idle count: the fresh server's threads and RSS, a moment after the
# readiness probe's connection closed, before any scenario.
record_fresh() {  # PEER ROUND
    sleep "$idle_count_wait"
    local threads rss
    threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$server_pid/status" 2>/dev/null)
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status" 2>/dev/null)
    record "{\"peer\": \"$1\", \"round\": \"$2\", \"scenario\": \"fresh\", \"threads\": ${threads:-null}, \"rss_kb\": ${rss:-null}, \"wait_s\": $idle_count_wait}"
}

# One line per blocking run on the console: what the last raw line says.
progress_line() {
    tail -1 "$raw" | python3 -c '
import json, sys
try:
    r = json.loads(sys.stdin.read())
except ValueError:
    sys.exit(0)
def ms(v):
    return "-" if v is None else "%.2f ms" % v
bg = ", background %.0f req/s" % r["bg_rps"] if "bg_rps" in r else ""
print("   %s: %.0f req/s, p50 %s, p99 %s%s; threads %s during, %s after %s s" % (
    r.get("scenario"), r.get("rps") or 0, ms(r.get("p50_ms")), ms(r.get("p99_ms")), bg,
    r.get("threads_max"), r.get("threads_settled"), r.get("settle_s")), file=sys.stderr)
' || true
}

# ---- the rounds ----------------------------------------------------------------------------
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null | head -5 > "$work/top_start.txt"
n_peers=${#peers[@]}
if [ $blocking = 1 ]; then
    # What the clock will say: per run its warm-up, measurement and settle plus about
    # 1 s of starting wrk and reading /proc; mixedN adds the lead and about 1 s to stop
    # its background; each server start adds the probe, the idle count and the stop.
    n_mixed=0
    for sc in "${scenarios[@]}"; do [[ $sc == mixed* ]] && n_mixed=$((n_mixed + 1)); done
    estimate=0
    for p in "${peers[@]}"; do
        d=$duration; w=$warmup
        if is_slow "$p"; then d=$slow_duration; w=$slow_warmup; fi
        estimate=$((estimate + ${#scenarios[@]} * (w + d + settle + 1) + n_mixed * (mixed_lead + 1) + idle_count_wait + 2))
    done
    estimate=$((estimate * rounds))
    echo "== blocking handlers: $n_peers servers x ${#scenarios[@]} scenarios x $rounds rounds;" \
        "${duration}s runs, ${warmup}s warm-up, ${settle}s settle (slow peers ${slow_peers[*]:-none}:" \
        "${slow_duration}s, ${slow_warmup}s warm-up); servers on CPU $server_cpu, clients on CPU" \
        "$client_cpu; load average $load_start" >&2
    echo "== estimated time: about $(((estimate + 59) / 60)) minutes (${estimate} s), until about" \
        "$(date -d "+$estimate seconds" +%H:%M 2>/dev/null || echo '?')" >&2
elif [ $tls = 1 ]; then
    # Per run its warm-up and measurement plus about 1 s of starting wrk and the
    # probes; per server start about 2 s.
    estimate=$(((n_peers * (${#scenarios[@]} * (warmup + duration + 1) + 2)) * rounds))
    echo "== TLS: $n_peers servers x ${#scenarios[@]} scenarios x $rounds rounds; ${duration}s runs," \
        "${warmup}s warm-up; servers on CPU $server_cpu, wrk on CPU $client_cpu; certificate:" \
        "$tls_desc; load average $load_start" >&2
    echo "== estimated time: about $(((estimate + 59) / 60)) minutes (${estimate} s)" >&2
else
    echo "== $n_peers servers x ${#scenarios[@]} scenarios x $rounds rounds;" \
        "${duration}s runs, ${warmup}s warm-up (slow peers ${slow_peers[*]:-none}: ${slow_duration}s," \
        "${slow_warmup}s warm-up); servers on CPU $server_cpu, clients on CPU $client_cpu;" \
        "load average $load_start" >&2
fi
for round in $(seq 1 "$rounds"); do
    for i in $(seq 0 $((n_peers - 1))); do
        peer=${peers[$(((i + round - 1) % n_peers))]}
        port=$(port_of "$peer")
        log=$work/logs/$peer.round$round.log
        echo "[round $round/$rounds] $peer on port $port ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))" >&2
        for sc in "${scenarios[@]}"; do
            if [[ $sc == idle* ]] && is_slow "$peer" && [ "$slow_idle" != 1 ]; then
                record "{\"peer\": \"$peer\", \"round\": \"$round\", \"scenario\": \"$sc\", \"skipped\": \"slow peer (set BENCH_SLOW_IDLE=1 to run it)\"}"
                continue
            fi
            # An idle scenario gets a fresh process of its own (its peak RSS is then the
            # idle connections' cost, and what it leaves behind, such as threads spawned
            # to close 1000 connections, does not weigh on the load runs). The load
            # scenarios share one fresh process per round.
            if [[ $sc == idle* ]]; then stop_server; fi
            if [ -z "$server_pid" ]; then
                if ! start_server "$peer" "$port" "$log"; then
                    record "{\"peer\": \"$peer\", \"round\": \"$round\", \"scenario\": \"start\", \"failed\": true}"
                    echo "   $peer did not start: $(tail -1 "$log")" >&2
                    stop_server
                    break
                fi
                [ $blocking = 0 ] || record_fresh "$peer" "$round"
                # What OpenSSL's client defaults (wrk's library) negotiate with this server.
                [ $tls = 0 ] || python3 "$lib/probe.py" tls "$port" --tag "peer=$peer" \
                    --tag "round=$round" >> "$raw"
            fi
            run_scenario "$peer" "$port" "$round" "$sc"
            [ $blocking = 0 ] || progress_line
            if ! kill -0 "$server_pid" 2>/dev/null; then
                echo "   $peer died during $sc" >&2
                record "{\"peer\": \"$peer\", \"round\": \"$round\", \"scenario\": \"$sc\", \"died\": true}"
                stop_server
                break
            fi
            if [[ $sc == idle* ]]; then stop_server; fi
        done
        stop_server
    done
done

# ---- 10,000 idle connections, basehttp only ----------------------------------------------
if [ $idle10k = 1 ]; then
    port=$(port_of basehttp)
    for round in $(seq 1 "$rounds"); do
        log=$work/logs/basehttp.idle10k.round$round.log
        echo "[idle10k $round/$rounds] basehttp on port $port: $idle10k_conns idle connections" \
            "held ${idle10k_hold}s ($(date +%T))" >&2
        if ! start_server basehttp "$port" "$log"; then
            record "{\"peer\": \"basehttp\", \"round\": \"$round\", \"scenario\": \"start\", \"failed\": true}"
            echo "   basehttp did not start: $(tail -1 "$log")" >&2
            stop_server
            continue
        fi
        run_scenario basehttp "$port" "$round" "idle$idle10k_conns"
        kill -0 "$server_pid" 2>/dev/null || {
            echo "   basehttp died during idle$idle10k_conns" >&2
            record "{\"peer\": \"basehttp\", \"round\": \"$round\", \"scenario\": \"idle$idle10k_conns\", \"died\": true}"
        }
        stop_server
    done
fi
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report -----------------------------------------------------------------------------
if [ -z "$out" ]; then
    stem=$bench/results/$(date -u +%Y-%m-%d)$([ $blocking = 1 ] && echo -blocking)$([ $tls = 1 ] && echo -tls)$([ $quick = 1 ] && echo -quick)
    out=$stem.md
    [ -e "$out" ] && out=$stem-$(date -u +%H%M%S).md
fi
mkdir -p "$(dirname "$out")"
if [ $blocking = 1 ]; then
    report=(python3 "$lib/report_blocking.py"
        --meta "settle_s=$settle" --meta "mixed_bg_conns=$mixed_bg_conns"
        --meta "mixed_bg_path=$mixed_bg_path" --meta "mixed_lead_s=$mixed_lead"
        --meta "wrk_timeout_s=$blocking_timeout" --meta "idle_count_wait_s=$idle_count_wait"
        --meta "tiny_http_threads=$tiny_threads")
elif [ $tls = 1 ]; then
    # The executables as run: basehttp is the basehttp_tls build here.
    for p in "${peers[@]}"; do printf '%s\t%s\n' "$p" "${exe[$p]}"; done > "$work/servers.tsv"
    servers_file=$work/servers.tsv
    report=(python3 "$lib/report_tls.py" --meta "tls_cert=$tls_desc"
        --meta "openssl=$(openssl version)"
        --meta "wrk_libssl=$(ldd "$(command -v wrk)" 2>/dev/null | awk '/libssl/ { print $3 }')")
else
    report=(python3 "$lib/report.py")
fi
"${report[@]}" \
    --raw "$raw" --logs "$work/logs" --servers "$servers_file" --root "$root" --out "$out" \
    --meta "command=bench/run.sh${args_seen[*]:+ ${args_seen[*]}}" \
    --meta "mode=$([ $quick = 1 ] && echo quick || echo full)" \
    --meta "rounds=$rounds" --meta "duration_s=$duration" --meta "warmup_s=$warmup" \
    --meta "idle_hold_s=$hold" --meta "pipeline_depth=$BENCH_PIPELINE_DEPTH" \
    --meta "slow_peers=${slow_peers[*]}" --meta "slow_duration_s=$slow_duration" \
    --meta "slow_warmup_s=$slow_warmup" --meta "idle10k=$idle10k" \
    --meta "idle10k_scenario=idle$idle10k_conns" --meta "idle10k_hold_s=$idle10k_hold" \
    --meta "idle10k_fresh=$idle10k_fresh" --meta "nofile=$(ulimit -n)" \
    --meta "server_cpu=$server_cpu" --meta "client_cpu=$client_cpu" \
    --meta "started=$started" --meta "finished=$finished" \
    --meta "load_start=$load_start" --meta "load_end=$load_end" \
    --meta "top_start=$(paste -sd';' "$work/top_start.txt")" | tee -a "$console"
[ "${PIPESTATUS[0]}" = 0 ] || die "report failed; raw numbers in $raw"
stem=${out%.md}
cp "$raw" "$stem.raw.jsonl"
echo "results: $out, $stem.raw.jsonl, $stem.console.txt (server logs: $work/logs)" >&2
# Let tee write the last lines before the console log is copied.
exec 2>&3 3>&-
wait "$tee_pid" 2>/dev/null
cp "$console" "$stem.console.txt"
