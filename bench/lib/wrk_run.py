#!/usr/bin/env python3
"""One measured wrk run against a running server; prints one JSON object.

    wrk_run.py --pid PID --port PORT --conns N --duration S [--warmup S]
               [--close] [--lua FILE] [--cpu LIST] [--timeout S] [--tag KEY=VALUE]...
               [--path PATH] [--sample S] [--settle S]
               [--background-path PATH --background-conns N [--background-lead S]]
               [--tls [--tls-preload LIB] [--tls-resume 0|1]]

The server's CPU time (utime + stime of /proc/PID/stat, all its threads) is
read just before and just after the measured wrk run; divided by the number
of requests wrk completed it gives the server CPU per request. wrk's own CPU
time comes from the kernel's rusage of the wrk child (os.wait4), and the
whole machine's busy time from /proc/stat, so the CPU used by anything else
during the run is known too (a noise indicator). An optional warm-up run with
the same arguments comes first and is not recorded. Every wait is bounded.

Options of the blocking-handlers section (bench/run.sh --blocking); without
them the output is what it always was:
- --path: the request path (default /).
- --sample S: the server's thread count and RSS are read every S seconds
  during the measured run; their maxima are threads_max and rss_kb_max.
- --settle S: after the load stopped, wait S seconds and read them again
  (threads_settled, rss_kb_settled).
- --background-path/--background-conns: a second wrk (same CPU list, same
  --timeout) loads that path with that many connections. It starts first,
  --background-lead seconds (default 1) before the warm-up, runs through the
  warm-up and the measured run, and is stopped (SIGINT, so it still prints its
  figures) right after. Its figures are bg_requests, bg_rps, bg_p50_ms,
  bg_p99_ms, bg_errors; cpu_us_per_req then divides the server's CPU by the
  measured requests plus the background requests estimated for the measured
  run (bg_rps x its length, bg_requests_est).

Options of the TLS section (bench/run.sh --tls):
- --tls: https://localhost:PORT instead of http://127.0.0.1:PORT. wrk sends the
  URL's host as SNI, and an IP address there is against RFC 6066 (3): rustls
  ignores it with a warning, which a server that logs rustls' warnings (basehttp's
  log_to_stderr does) writes once per handshake. localhost is a name, as real
  clients send; wrk tries each address it resolves to and keeps the first that
  accepts a connection (127.0.0.1, where the servers listen).
- --tls-preload LIB: wrk runs with LD_PRELOAD=LIB (bench/lib/wrk_tls_handshakes.c),
  which counts the measured run's handshakes: tls_full, tls_resumed, and the
  version and cipher suite wrk negotiated (tls_version, tls_cipher;
  tls_other_suites counts handshakes that got another one).
- --tls-resume 0: LIB drops wrk's TLS session before each reconnect, so every
  new connection is a full handshake; 1 (the default): wrk as it is, whose
  reconnects resume the session.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}  # to milliseconds


def proc_cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def machine_ticks():
    """(busy, steal) clock ticks of all CPUs together, from /proc/stat."""
    with open("/proc/stat") as f:
        cols = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (cols + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def proc_status(pid):
    """Threads, VmRSS and VmHWM (kB) of a process, from /proc/PID/status."""
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


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse_wrk(text):
    """The figures of `wrk --latency` output that the report uses."""
    out = {"requests": 0, "rps": 0.0, "errors": {}, "non2xx": 0}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(\w+)", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+(\S+)", text, re.M)
        value = to_ms(m.group(1)) if m else None
        # wrk prints 0.00us for a percentile it could not compute (pipelining).
        out[f"p{pct}_ms"] = value if value else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"^wrk-tls-handshakes: full (\d+) resumed (\d+) version (\S+) cipher (\S+) other (\d+)", text, re.M)
    if m:
        out.update(tls_full=int(m.group(1)), tls_resumed=int(m.group(2)), tls_version=m.group(3),
                   tls_cipher=m.group(4), tls_other_suites=int(m.group(5)))
    return out


class Sampler:
    """Reads a process's Threads and VmRSS every `interval` seconds on a thread
    of its own, keeping the maxima, until stop()."""

    def __init__(self, pid, interval):
        self.pid, self.interval = pid, interval
        self.threads_max, self.rss_max, self.samples = 0, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def take(self):
        st = proc_status(self.pid)
        if st:
            self.samples += 1
            self.threads_max = max(self.threads_max, st.get("Threads", 0))
            self.rss_max = max(self.rss_max, st.get("VmRSS", 0))

    def run(self):
        while not self.done.is_set():
            self.take()
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.thread.join(timeout=5)
        self.take()  # the state at the end of the run counts too


WRK_ENV = None  # the environment of the wrk processes (None: this one's)


def start_background(cmd):
    """Starts the background wrk; its output goes to a pipe read at the end."""
    with open(os.devnull, "rb") as devnull:
        return subprocess.Popen(cmd, stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=WRK_ENV)


def stop_background(proc):
    """SIGINT (wrk stops and prints its figures), then a bounded wait; returns its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
    return (out or b"").decode("utf-8", "replace")


def run_wrk(cmd, limit):
    """Runs wrk; returns (exit status, stdout+stderr text, CPU seconds used by wrk)."""
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(cmd, stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=WRK_ENV)
    watchdog = threading.Timer(limit, proc.kill)
    watchdog.start()
    try:
        chunks = []
        reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        reader.join(timeout=5)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        watchdog.cancel()
    text = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, text, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True, help="server process id")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=0.0, help="unrecorded seconds first (0: none)")
    ap.add_argument("--close", action="store_true", help="send 'Connection: close' on every request")
    ap.add_argument("--lua", help="wrk script (pipelining)")
    ap.add_argument("--cpu", default="", help="taskset CPU list for wrk ('' = not pinned)")
    ap.add_argument("--timeout", type=float, default=5.0, help="wrk's per-request timeout, seconds")
    ap.add_argument("--tag", action="append", default=[], help="KEY=VALUE copied into the output")
    ap.add_argument("--path", default="/", help="request path")
    ap.add_argument("--sample", type=float, default=0.0, help="sample threads and RSS every S seconds (0: no)")
    ap.add_argument("--settle", type=float, default=None, help="read threads and RSS again S seconds after the run")
    ap.add_argument("--background-path", help="path of a background load running throughout")
    ap.add_argument("--background-conns", type=int, default=0, help="its connections")
    ap.add_argument("--background-lead", type=float, default=1.0, help="seconds it runs before the warm-up")
    ap.add_argument("--tls", action="store_true", help="https")
    ap.add_argument("--tls-preload", help="LD_PRELOAD library for wrk that counts its handshakes")
    ap.add_argument("--tls-resume", choices=["0", "1"], default="1",
                    help="0: every new connection a full handshake (needs --tls-preload)")
    a = ap.parse_args()
    if (a.tls_preload or a.tls_resume == "0") and not a.tls:
        ap.error("--tls-preload and --tls-resume go with --tls")
    if a.tls_resume == "0" and not a.tls_preload:
        ap.error("--tls-resume 0 needs --tls-preload")
    global WRK_ENV
    if a.tls_preload:
        WRK_ENV = dict(os.environ, LD_PRELOAD=a.tls_preload, BENCH_WRK_TLS_RESUME=a.tls_resume)
    if not a.path.startswith("/") or (a.background_path and not a.background_path.startswith("/")):
        ap.error("paths start with /")
    if a.background_path and a.background_conns < 1:
        ap.error("--background-path needs --background-conns N (N >= 1)")

    origin = f"https://localhost:{a.port}" if a.tls else f"http://127.0.0.1:{a.port}"
    url = f"{origin}{a.path}"
    pin = ["taskset", "-c", a.cpu] if a.cpu else []

    def wrk_cmd(seconds, conns=a.conns, target=url):
        cmd = pin + ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", f"--timeout={a.timeout:g}s", "--latency"]
        if a.close:
            cmd += ["-H", "Connection: close"]
        if a.lua:
            cmd += ["-s", a.lua]
        return cmd + [target]

    background = None
    if a.background_path:
        # Long enough to cover lead, warm-up and the measured run with room to
        # spare; it is stopped right after the measured run.
        span = a.background_lead + a.warmup + a.duration + 10
        bg_url = f"{origin}{a.background_path}"
        background = start_background(wrk_cmd(span, a.background_conns, bg_url))
        time.sleep(a.background_lead)

    try:
        if a.warmup > 0:
            run_wrk(wrk_cmd(a.warmup), a.warmup + 30)

        before = proc_status(a.pid)
        busy0, steal0 = machine_ticks()
        cpu0 = proc_cpu_ticks(a.pid)
        sampler = Sampler(a.pid, a.sample) if a.sample > 0 else None
        t0 = time.monotonic()
        status, text, wrk_cpu_s = run_wrk(wrk_cmd(a.duration), a.duration + 30)
        elapsed = time.monotonic() - t0
        cpu1 = proc_cpu_ticks(a.pid)
        busy1, steal1 = machine_ticks()
        if sampler:
            sampler.stop()
        after = proc_status(a.pid)
    finally:
        bg_text = stop_background(background) if background else None

    result = parse_wrk(text)
    result.update(wrk_status=status, elapsed_s=round(elapsed, 3), server_alive=cpu1 is not None)
    handled = result["requests"]
    if bg_text is not None:
        bg = parse_wrk(bg_text)
        result.update(
            bg_requests=bg["requests"], bg_rps=bg["rps"], bg_p50_ms=bg["p50_ms"], bg_p99_ms=bg["p99_ms"],
            bg_errors=bg["errors"], bg_non2xx=bg["non2xx"], bg_path=a.background_path,
            bg_conns=a.background_conns,
        )
        result["bg_requests_est"] = round(bg["rps"] * elapsed)
        handled += result["bg_requests_est"]
        if not bg["requests"]:
            result["bg_wrk_output"] = bg_text[-600:]
    if cpu0 is not None and cpu1 is not None:
        server_cpu_s = (cpu1 - cpu0) / CLK_TCK
        result["server_cpu_s"] = server_cpu_s
        result["server_cpu_pct"] = 100 * server_cpu_s / elapsed
        if handled:
            result["cpu_us_per_req"] = server_cpu_s * 1e6 / handled
        machine_cpu_s = (busy1 - busy0) / CLK_TCK
        result["other_cpu_pct"] = round(100 * (machine_cpu_s - server_cpu_s - wrk_cpu_s) / elapsed, 1)
    result["wrk_cpu_pct"] = round(100 * wrk_cpu_s / elapsed, 1)
    result["steal_pct"] = round(100 * (steal1 - steal0) / CLK_TCK / elapsed, 1)
    result["threads_before"] = before.get("Threads")
    result["threads_after"] = after.get("Threads")
    result["rss_kb_after"] = after.get("VmRSS")
    result["hwm_kb"] = after.get("VmHWM")
    if sampler:
        result["threads_max"] = sampler.threads_max or None
        result["rss_kb_max"] = sampler.rss_max or None
        result["samples"] = sampler.samples
    if a.path != "/":
        result["path"] = a.path
    if a.tls:
        result["tls_resume"] = int(a.tls_resume)
    if a.settle is not None:
        time.sleep(max(0.0, a.settle))
        settled = proc_status(a.pid)
        result["settle_s"] = a.settle
        result["threads_settled"] = settled.get("Threads")
        result["rss_kb_settled"] = settled.get("VmRSS")
    if status != 0 or not result["requests"]:
        result["wrk_output"] = text[-600:]
    result.update(tag.split("=", 1) for tag in a.tag)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
