#!/usr/bin/env python3
"""Holds N idle keep-alive connections open on a server; prints one JSON object.

    idle_hold.py --pid PID --port PORT [--conns 1000] [--hold 3] [--batch 1]
                 [--open-budget 15] [--fresh 1] [--tag KEY=VALUE]...

Opens the connections one after another (or --batch at a time): each sends
one `GET /` and reads its whole response before the next one opens, so each
is then an idle keep-alive connection that has served a request, and the
listen backlog never overflows. (Bursts are a different test: when 10 or 100
new keep-alive connections each sent a request at once, tiny_http 0.12 often
answered only 4 of them, one per handler thread, and no more.) It holds them
for --hold seconds, sampling the server's thread count and RSS from
/proc/PID/status every 0.1 s, and times --fresh requests, each on a new
connection (connect, send, whole response), spread evenly over the hold (one:
halfway through); fresh_ms is the slowest of them. At the end it checks how
many idle connections the server still keeps open, reads its peak RSS
(VmHWM), and closes everything. Every loop and every socket wait is bounded.

It raises its own RLIMIT_NOFILE soft limit (resource module) to what --conns
needs, up to the hard limit; the server needs as many descriptors, which it
inherits from bench/run.sh (`ulimit -n` raised to the hard limit there).
"""

import argparse
import json
import os
import resource
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
IO_TIMEOUT = 5.0  # seconds, any single connect/send/recv
MAX_RESPONSE = 1 << 16


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Threads", "VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def read_response(sock):
    """Reads one response with a Content-Length body; returns its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > MAX_RESPONSE:
            raise ConnectionError("connection closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed inside the body")
        body += chunk
    return int(head.split(b" ", 2)[1])


def raise_fd_limit(wanted):
    """Raises the soft RLIMIT_NOFILE to `wanted` (or the hard limit); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def fresh_request_ms(port):
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as s:
        s.sendall(REQUEST)
        code = read_response(s)
    return (time.monotonic() - t0) * 1e3, code


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True, help="server process id")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to hold them open")
    ap.add_argument("--batch", type=int, default=1, help="connections opened before reading their answers")
    ap.add_argument("--open-budget", type=float, default=15.0, help="seconds allowed for opening them all")
    ap.add_argument("--fresh", type=int, default=1, help="fresh requests timed during the hold")
    ap.add_argument("--tag", action="append", default=[], help="KEY=VALUE copied into the output")
    a = ap.parse_args()

    result = {"wanted": a.conns}
    # The idle sockets, a fresh one, stdio and some slack.
    limit = raise_fd_limit(a.conns + 64)
    result["client_nofile"] = None if limit == resource.RLIM_INFINITY else limit
    before = status(a.pid)
    result["threads_before"] = before.get("Threads")
    result["rss_kb_before"] = before.get("VmRSS")

    socks, failed, t0 = [], 0, time.monotonic()
    first_idle = None  # when the first connection became idle
    errors = {}  # "connect TimeoutError" -> count

    def note(stage, e):
        key = f"{stage} {type(e).__name__}"
        errors[key] = errors.get(key, 0) + 1

    open_deadline = t0 + a.open_budget

    def remaining():
        """Timeout for the next socket operation: IO_TIMEOUT, cut to the open budget."""
        return min(IO_TIMEOUT, open_deadline - time.monotonic())

    for start in range(0, a.conns, a.batch):
        batch = []
        for _ in range(min(a.batch, a.conns - start)):
            if remaining() <= 0:
                note("open", TimeoutError())
                failed += 1
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.settimeout(remaining())
                s.connect(("127.0.0.1", a.port))
                s.sendall(REQUEST)
                batch.append(s)
            except (OSError, ValueError) as e:
                note("connect", e)
                failed += 1
                s.close()
        for s in batch:
            try:
                if remaining() <= 0:
                    raise TimeoutError()
                s.settimeout(remaining())
                read_response(s)
                socks.append(s)
                if first_idle is None:
                    first_idle = time.monotonic()
            except (OSError, ValueError) as e:
                note("response", e)
                failed += 1
                s.close()
    result["opened"] = len(socks)
    result["open_failed"] = failed
    result["open_s"] = round(time.monotonic() - t0, 3)
    if errors:
        result["open_errors"] = errors

    threads_max, rss_max = 0, 0
    fresh_at = [a.hold * (k + 1) / (a.fresh + 1) for k in range(max(0, a.fresh))]
    fresh_ms, fresh_codes, fresh_errors = [], [], []
    hold_start = time.monotonic()
    deadline = hold_start + a.hold
    for _ in range(int(a.hold * 10) + 10 + len(fresh_at)):  # 0.1 s steps; the deadline ends it
        now = time.monotonic()
        if now >= deadline:
            break
        st = status(a.pid)
        threads_max = max(threads_max, st.get("Threads", 0))
        rss_max = max(rss_max, st.get("VmRSS", 0))
        if fresh_at and now - hold_start >= fresh_at[0]:
            fresh_at.pop(0)
            try:
                ms, code = fresh_request_ms(a.port)
                fresh_ms.append(round(ms, 3))
                fresh_codes.append(code)
            except (OSError, ValueError) as e:
                fresh_errors.append(type(e).__name__)
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    # The slowest fresh request; none if any of them failed.
    result["fresh_ms"] = max(fresh_ms) if fresh_ms and not fresh_errors else None
    result["fresh_ms_all"] = fresh_ms
    if fresh_codes:
        result["fresh_status"] = fresh_codes[0] if len(set(fresh_codes)) == 1 else fresh_codes
    if fresh_errors:
        result["fresh_error"] = ",".join(fresh_errors)
    end = status(a.pid)
    result["threads_max"] = max(threads_max, end.get("Threads", 0)) or None
    result["rss_kb_max"] = max(rss_max, end.get("VmRSS", 0)) or None
    result["hwm_kb"] = end.get("VmHWM")

    # How long the oldest connection had been idle when their state was checked:
    # a server with an idle (keep-alive) timeout shorter than this closes some.
    result["oldest_idle_s"] = round(time.monotonic() - first_idle, 2) if first_idle else None
    alive = closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
            else:
                alive += 1  # open, though the server sent something unasked
        except BlockingIOError:
            alive += 1  # nothing to read and not closed: still open
        except OSError:
            closed += 1
    result["still_open"] = alive
    result["closed_by_server"] = closed
    for s in socks:
        s.close()
    result["server_alive"] = os.path.exists(f"/proc/{a.pid}")
    result.update(tag.split("=", 1) for tag in a.tag)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
