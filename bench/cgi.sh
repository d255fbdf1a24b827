#!/usr/bin/env bash
# CGI throughput: `http_server --cgi` against CPython 3.11's
# `python3 -m http.server --cgi` on the same scripts, with wrk.
#
#   bench/cgi.sh [--duration SECS] [--conns N] [--out FILE]
#
# Scenarios (each a fresh process per request, which is what CGI is):
#   sh       GET of a 6-line /bin/sh script (head + 40-byte body)
#   py       GET of a Python script (python3 -u start-up dominates)
#   upload   POST of 64 KiB to a /bin/sh script that reads it (`head -c | wc -c`)
# CPython closes the connection after every CGI response, which wrk counts
# as read errors: those are reconnections, not failed requests.
# The server is pinned to core 0 and wrk to core 1 when there are two
# cores. After each run it counts zombie and leftover script processes.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
conns=8
out=""
while [ $# -gt 0 ]; do
    case $1 in
        --duration) duration=$2; shift ;;
        --conns) conns=$2; shift ;;
        --out) out=$2; shift ;;
        -h|--help) echo "usage: bench/cgi.sh [--duration SECS] [--conns N] [--out FILE]"; exit 0 ;;
        *) echo "usage: bench/cgi.sh [--duration SECS] [--conns N] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
command -v wrk >/dev/null || { echo "bench/cgi.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "bench/cgi.sh needs /usr/bin/python3" >&2; exit 1; }

cargo build --release --example http_server -q
bin=target/release/examples/http_server
tree=$(mktemp -d /tmp/basehttp-cgi-bench.XXXXXX)
chmod 755 "$tree"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tree"' EXIT
mkdir -p "$tree/cgi-bin"
cat > "$tree/cgi-bin/hello.sh" <<'SH'
#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "Hello from a CGI script, 40 bytes long."
SH
cat > "$tree/cgi-bin/hello.py" <<'PY'
#!/usr/bin/python3
print("Content-Type: text/plain")
print()
print("Hello from a CGI script, 40 bytes long.")
PY
# Reads exactly CONTENT_LENGTH bytes: CPython hands the socket itself to
# the script, where reading to EOF would wait for the client to close.
cat > "$tree/cgi-bin/upload.sh" <<'SH'
#!/bin/sh
echo "Content-Type: text/plain"
echo
head -c "$CONTENT_LENGTH" | wc -c
SH
chmod 755 "$tree/cgi-bin"/*
head -c 65536 /dev/zero | tr '\0' 'x' > "$tree/body.txt"
cat > "$tree/post.lua" <<LUA
local f = io.open("$tree/body.txt", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/plain"
LUA

pin_server=(); pin_wrk=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 0); pin_wrk=(taskset -c 1)
fi

port=18731
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2; return 1
}
# Zombies and script processes still alive, children of the server $1.
leftovers() {
    local z=0 alive=0
    for stat in /proc/[0-9]*/stat; do
        read -r -a f < "$stat" 2>/dev/null || continue
        # f[3] is the ppid when the command name has no spaces (ours do not).
        if [ "${f[3]}" = "$1" ]; then
            if [ "${f[2]}" = Z ]; then z=$((z + 1)); else alive=$((alive + 1)); fi
        fi
    done
    echo "$z zombie(s), $alive child process(es)"
}

report=""
run() { # name server-pid url [wrk args...]
    local name=$1 pid=$2 url=$3; shift 3
    local text
    text=$("${pin_wrk[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency "$@" "$url" 2>&1)
    local rps p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$text")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$text")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$text" | tr '\n' ' ' || true)
    sleep 1
    local left
    left=$(leftovers "$pid")
    local line="| $name | $rps | $p99 | ${errors:-none} | $left |"
    echo "$line"
    report+="$line"$'\n'
}

# The three scenarios against one server: scenarios NAME PORT SERVER-COMMAND...
scenarios() {
    local name=$1 port=$2; shift 2
    "${pin_server[@]}" "$@" --bind 127.0.0.1 --directory "$tree" "$port" 2>/dev/null >/dev/null &
    local pid=$!
    wait_port "$port"
    run "$name sh" $pid "http://127.0.0.1:$port/cgi-bin/hello.sh"
    run "$name py" $pid "http://127.0.0.1:$port/cgi-bin/hello.py"
    run "$name upload 64 KiB" $pid "http://127.0.0.1:$port/cgi-bin/upload.sh" -s "$tree/post.lua"
    kill $pid; wait $pid 2>/dev/null || true
}
scenarios "basehttp (HTTP/1.1, keep-alive)" $port "$bin" --cgi --protocol HTTP/1.1
scenarios "CPython 3.11 (closes after each)" $((port + 1)) /usr/bin/python3 -m http.server --cgi

summary="bench/cgi.sh --duration $duration --conns $conns ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))

| server, scenario | req/s | p99 | errors | after the run |
|---|---|---|---|---|
$report"
echo
echo "$summary"
if [ -n "$out" ]; then echo "$summary" > "$out"; fi
