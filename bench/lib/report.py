#!/usr/bin/env python3
"""Turns a run's raw numbers into the result file and prints its summary.

    report.py --raw RAW.jsonl --logs DIR --servers SERVERS.tsv --root REPO
              --out RESULT.md [--meta KEY=VALUE]...

RAW.jsonl holds one JSON object per (round, server, scenario), as printed by
wrk_run.py and idle_hold.py, plus a row for each scenario run.sh skipped. The
summary tables give the median over rounds of each figure and its ratio to
hyper's median in the same run; the CPU table also gives basehttp's ratio to
the canned-epoll floor. A block of the issue's targets, each MET or NOT MET,
closes the summary. The result file adds the run's settings and load, the
machine, the versions (rustc, wrk, Python, the crates locked in each peer's
Cargo.lock, basehttp's git commit), what each server wrote to stderr, and every
raw number.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections import OrderedDict, defaultdict

ORDER = ["basehttp", "hyper", "actix", "may_minihttp", "tiny_http", "python", "canned_epoll", "threads", "astra"]
BASE = "hyper"
FLOOR = "canned_epoll"
OURS = "basehttp"
LABEL = {
    "basehttp": "basehttp (bench_hello)",
    "hyper": "hyper 1 + tokio",
    "actix": "actix-web 4",
    "may_minihttp": "may_minihttp 0.1",
    "tiny_http": "tiny_http 0.12",
    "python": "Python 3.11 http.server",
    "canned_epoll": "canned epoll (floor, no HTTP)",
    "threads": "thread per connection (std)",
    "astra": "astra 0.4",
}
MIB = 1024  # kB per MiB
TARGET_RSS_KB = 64 * MIB
KEY_CRATES = {
    "hyper": ["hyper", "hyper-util", "http-body-util", "tokio"],
    "actix": ["actix-web", "actix-http", "actix-server", "actix-rt", "tokio"],
    "may_minihttp": ["may_minihttp", "may"],
    "tiny_http": ["tiny_http"],
    "basehttp": ["basehttp", "rustix", "socket2", "httpdate", "polling"],
    "canned_epoll": ["mio", "libc"],
    "threads": [],
    "astra": ["astra", "hyper", "hyper-util", "mio"],
}
CLOSE_NOTE = {
    "closes+header": "closes, says `Connection: close`",
    "closes": "closes without a `Connection: close` header: wrk writes the next request into the "
    "closing socket, counts a read error and reconnects",
    "keeps-open": "ignores `Connection: close` (keeps the connection): its close run is really keep-alive",
    "error": "no usable answer to the probe",
}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    return rows


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt_rps(v):
    if v is None:
        return "–"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def fmt_num(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_ms(v):
    if v is None:
        return "–"
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms"


def fmt_mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


def ratio(v, base):
    if v is None or not base:
        return ""
    return f" ({v / base:.2f}×)"


def scenario_kind(sc):
    """The letters a scenario's name starts with: c64 -> c, sleep5c64 -> sleep."""
    return re.match(r"[a-z]+", sc).group(0)


def errors_of(r):
    """The socket errors a wrk run counted, all kinds together."""
    return sum((r.get("errors") or {}).values())


def parse_args(doc):
    """The command line every report script takes: (args, meta, rows)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--logs", required=True)
    ap.add_argument("--servers", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()
    return a, OrderedDict(m.split("=", 1) for m in a.meta), load(a.raw)


# The first columns of every report's raw table, one row per wrk run
# (`raw_cells` fills them).
RAW_COLUMNS = [
    "round", "server", "scenario", "requests", "req/s", "p50", "p99", "srv CPU µs/req", "srv CPU %",
    "wrk CPU %", "other CPU %", "errors c/r/w/t", "non-2xx",
]


def raw_runs(rows, scenarios, peers):
    """The runs of `scenarios` in the raw table's order: round, then
    server (`peers`' order), then scenario (`scenarios`' order)."""
    order = list(scenarios)
    return sorted(
        (r for r in rows if r.get("scenario") in order),
        key=lambda r: (int(r.get("round", 0)), peers.index(r["peer"]) if r.get("peer") in peers else 99,
                       order.index(r["scenario"])),
    )


def raw_cells(r, fmt_ms=fmt_ms):
    """A wrk run's cells under RAW_COLUMNS (latencies written by `fmt_ms`)."""
    e = r.get("errors") or {}
    return [
        str(r.get("round")), r.get("peer", ""), r.get("scenario", ""), str(r.get("requests", "–")),
        fmt_num(r.get("rps"), 0), fmt_ms(r.get("p50_ms")), fmt_ms(r.get("p99_ms")),
        fmt_num(r.get("cpu_us_per_req"), 2), fmt_num(r.get("server_cpu_pct"), 0),
        fmt_num(r.get("wrk_cpu_pct"), 0), fmt_num(r.get("other_cpu_pct"), 0),
        "/".join(str(e.get(k, 0)) for k in ("connect", "read", "write", "timeout")),
        str(r.get("non2xx", 0)),
    ]


def load_section(meta, rows, other_note):
    """The report's "Load on the machine" lines: the run's times, load
    averages and busiest processes, and the CPU other programs and steal
    took during the wrk runs (`other_note` says how that was measured)."""
    other = [r.get("other_cpu_pct") for r in rows if isinstance(r.get("other_cpu_pct"), (int, float))]
    steal = [r.get("steal_pct") for r in rows if isinstance(r.get("steal_pct"), (int, float))]
    lines = [
        "## Load on the machine",
        "",
        f"- run: {meta.get('started')} → {meta.get('finished')}",
        f"- load average (1, 5, 15 min): {meta.get('load_start')} at the start, {meta.get('load_end')} at the end",
        f"- busiest processes at the start (%CPU, command): {meta.get('top_start', '').replace(';', '; ')}",
    ]
    if other:
        lines.append(
            f"- CPU used by other programs during the wrk runs, % of one core: median {median(other):.0f}, "
            f"max {max(other):.0f} ({other_note})"
        )
    if steal:
        lines.append(f"- steal time: median {median(steal):.1f} %, max {max(steal):.1f} %")
    return lines + [""]


def section_groups(rows, order, side):
    """For a section with one side scenario (`fresh`, `tls`): the peers
    (those of `order` first), the other scenarios in the order they ran,
    the usable runs per (peer, scenario), and the side scenario's runs per
    peer."""
    seen = {r["peer"] for r in rows if r.get("peer")}
    peers = [p for p in order if p in seen] + sorted(seen - set(order))
    scen = OrderedDict()
    for r in rows:
        if r.get("scenario") not in ("start", side, None) and not r.get("died"):
            scen[r["scenario"]] = True
    groups = defaultdict(list)
    sides = defaultdict(list)
    for r in rows:
        if r.get("failed") or r.get("died") or r.get("skipped"):
            continue
        if r.get("scenario") == side:
            sides[r["peer"]].append(r)
        elif r.get("scenario"):
            groups[(r["peer"], r["scenario"])].append(r)
    return peers, scen, groups, sides


def run(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def lock_versions(path):
    """name -> [versions] from a Cargo.lock (the few fields it needs)."""
    versions = defaultdict(list)
    try:
        text = open(path).read()
    except OSError:
        return versions
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'^name = "([^"]+)"', block, re.M)
        version = re.search(r'^version = "([^"]+)"', block, re.M)
        if name and version:
            versions[name.group(1)].append(version.group(1))
    return versions


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def collapse_tracebacks(lines):
    """Python's socketserver reports a failed request with a dashed rule,
    'Exception occurred ...', a traceback and a rule, and the reports of
    concurrent threads interleave: the rules, 'Traceback' headers and frame
    lines (indented) are left out, so what remains is one 'Exception occurred'
    line and one exception line (such as 'BrokenPipeError: ...') per report."""
    return [
        ln for ln in lines
        if not (ln.startswith("-" * 20) or ln.startswith("Traceback (most recent call last)") or ln[:1].isspace())
    ]


def exes_of(path):
    """name -> executable, from build.sh's list."""
    exes = {}
    try:
        for line in open(path):
            name, _, exe = line.rstrip("\n").partition("\t")
            exes[name] = exe
    except OSError:
        pass
    return exes


def verdict(ok):
    return "NOT MEASURED" if ok is None else ("**MET**" if ok else "**NOT MET**")


def targets_block(meta, peers, groups, med, close_how, rows):
    """The issue's targets (issue 5, item 3) from the medians, each MET or NOT MET."""
    out = [f"### Targets (issue 5): {OURS} against the floor and {BASE}, medians of this run", ""]
    body = []

    def ratios(key, scs, other):
        got = []
        for sc in scs:
            ours, theirs = med(OURS, sc, key), med(other, sc, key)
            got.append((sc, ours, theirs, ours / theirs if ours is not None and theirs else None))
        return got

    def judge(got, ok):
        vals = [r for *_, r in got]
        return None if not vals or any(v is None for v in vals) else all(ok(v) for v in vals)

    keep = ["c16", "c64", "c256"]
    got = ratios("cpu_us_per_req", keep, FLOOR)
    body.append([
        f"(a) server CPU µs per keep-alive request ≤ 1.05× the floor ({FLOOR})",
        "; ".join(f"{sc} {fmt_num(o, 2)} / {fmt_num(t, 2)} = {fmt_num(r, 3)}×" for sc, o, t, r in got),
        verdict(judge(got, lambda v: v <= 1.05)),
    ])
    got = ratios("rps", keep, BASE)
    body.append([
        f"(b) keep-alive requests/s ≥ 1.0× {BASE}",
        "; ".join(f"{sc} {fmt_rps(o)} / {fmt_rps(t)} = {fmt_num(r, 3)}×" for sc, o, t, r in got),
        verdict(judge(got, lambda v: v >= 1.0)),
    ])
    pipe = "pipe16"
    got = ratios("rps", [pipe], BASE)
    body.append([
        f"(c) pipelined ×{meta.get('pipeline_depth', '16')} ({pipe}) ≥ 1.2× {BASE}",
        "; ".join(f"{fmt_rps(o)} / {fmt_rps(t)} = {fmt_num(r, 3)}×" for sc, o, t, r in got),
        verdict(judge(got, lambda v: v >= 1.2)),
    ])
    got = ratios("rps", ["close16"], BASE)
    how = close_how(OURS, "close16")
    note = {"closes": " (closes without `Connection: close`: wrk counts a read error per request)",
            "keeps-open": " (ignores `Connection: close`)"}.get(how, "")
    body.append([
        f"(d) `Connection: close` (close16) ≥ 1.0× {BASE}",
        "; ".join(f"{fmt_rps(o)} / {fmt_rps(t)} = {fmt_num(r, 3)}×" for sc, o, t, r in got) + note,
        verdict(judge(got, lambda v: v >= 1.0)),
    ])
    got = ratios("p99_ms", ["c256"], BASE)
    body.append([
        f"(e) p99 latency at c256 ≤ {BASE}'s",
        "; ".join(f"{fmt_ms(o)} vs {fmt_ms(t)} ({fmt_num(r, 2)}×)" for sc, o, t, r in got),
        verdict(judge(got, lambda v: v <= 1.0)),
    ])

    def idle_line(sc, label, fresh_limit):
        runs = groups.get((OURS, sc), [])
        if not runs:
            body.append([label, "not run" + (" (bench/run.sh --idle10k)" if fresh_limit else ""), verdict(None)])
            return
        n = int(sc[len("idle"):])
        hwm = med(OURS, sc, "hwm_kb")
        thr = med(OURS, sc, "threads_max")
        before = med(OURS, sc, "threads_before")
        opened = min(r.get("opened") or 0 for r in runs)
        still = min(r.get("still_open") or 0 for r in runs)
        # "Does not grow with idle connections": no more threads while they are held
        # than the fresh process had before them (or, at 10k, than at 1000 idle).
        ref = before
        ref_text = f"{fmt_num(before, 0)} before they opened"
        if fresh_limit and groups.get((OURS, "idle1000")):
            ref = max(before or 0, med(OURS, "idle1000", "threads_max") or 0)
            ref_text += f", {fmt_num(med(OURS, 'idle1000', 'threads_max'), 0)} at 1000 idle"
        oldest = max((r.get("oldest_idle_s") or 0 for r in runs), default=0)
        parts = [f"peak RSS {fmt_mb(hwm)}", f"threads {fmt_num(thr, 0)} ({ref_text})",
                 f"{opened}/{n} opened, {still} still open (worst round"
                 + (f"; oldest connection idle {oldest:.1f} s at the check" if oldest else "") + ")"]
        checks = [hwm is not None and hwm <= TARGET_RSS_KB, thr is not None and ref is not None and thr <= ref,
                  opened == n and still == n]
        if fresh_limit:
            all_fresh = [ms for r in runs for ms in (r.get("fresh_ms_all") or [])]
            failed = sum(1 for r in runs if r.get("fresh_error"))
            worst = max(all_fresh) if all_fresh else None
            parts.insert(0, f"fresh request: slowest {fmt_ms(worst)} of {len(all_fresh)}"
                         + (f", {failed} rounds with a failed one" if failed else ""))
            checks.append(worst is not None and worst <= fresh_limit and not failed)
        body.append([label, "; ".join(parts), verdict(all(checks))])

    idle_line("idle1000", "(f) 1000 idle: peak RSS ≤ 64 MiB, threads do not grow, all stay open", None)
    idle_line(meta.get("idle10k_scenario", "idle10000"),
              "(g) 10,000 idle: a fresh request within 10 ms (slowest of all), RSS ≤ 64 MiB, "
              "threads do not grow, all stay open", 10.0)
    out += table(["target", "measured (ours / theirs = ratio)", "verdict"], body)
    other = [r.get("other_cpu_pct") for r in rows if isinstance(r.get("other_cpu_pct"), (int, float))]
    out += [
        "",
        "Not measured here: head parsing ≤ 1.5× httparse (`cargo bench --bench parser`). "
        + (f"Other programs used a median {median(other):.0f} % (max {max(other):.0f} %) of a core "
           "during the wrk runs: verdicts near a threshold are within the noise."
           if other else ""),
        "",
    ]
    return out


def server_stderr(logs, peers):
    """The result file's "Server stderr" section: what each server wrote, by kind."""
    doc = ["## Server stderr", ""]
    for p in peers:
        lines = []
        try:
            for name in sorted(os.listdir(logs)):
                if name.startswith(p + ".round") or name.startswith(p + ".idle"):
                    with open(os.path.join(logs, name), errors="replace") as f:
                        lines += [ln.rstrip("\n") for ln in f if not ln.startswith("bench_hello listening")]
        except OSError:
            pass
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            doc.append(f"- {LABEL.get(p, p)}: nothing")
            continue
        total = len(lines)
        lines = collapse_tracebacks(lines)
        shapes = OrderedDict()
        for ln in lines:
            shape = re.sub(r"\d+", "N", ln)
            shapes.setdefault(shape, [ln, 0])
            shapes[shape][1] += 1
        left_out = f" (Python traceback rules and frames left out: {total - len(lines)} lines)" if total > len(lines) else ""
        doc.append(f"- {LABEL.get(p, p)}: {total} lines over all rounds{left_out}; distinct kinds (digits as N):")
        for shape, (example, count) in list(shapes.items())[:8]:
            doc.append(f"  - {count}× `{example[:200]}`")
    doc += [""]
    return doc


def machine_and_versions(root, servers, peers):
    """The result file's "Machine and versions" section."""
    doc = ["## Machine and versions", ""]
    git = run(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "basehttp", "basehttp-macros"])
    wrk_v = run(["wrk", "-v"]).splitlines()
    doc += [
        f"- kernel: `{run(['uname', '-srvm'])}`",
        f"- CPUs: {os.cpu_count()} × {cpu_model()}; memory {mem_total()}",
        f"- rustc: `{run(['rustc', '-V'])}`; cargo: `{run(['cargo', '-V'])}`",
        f"- wrk: `{wrk_v[0] if wrk_v else 'unavailable'}`",
        f"- python: `{platform.python_version()}` (the idle-connection client and the probes)",
        f"- basehttp: git `{git}`" + (" with uncommitted changes in basehttp/ or basehttp-macros/" if dirty.strip() else ""),
    ]
    for p in peers:
        if p == "python":
            launcher = exes_of(servers).get(p, "")
            interp = "unknown"
            try:
                for line in open(launcher):
                    if line.startswith("exec "):
                        interp = line.split()[1]
            except OSError:
                pass
            version = run([interp, "-c", "import platform; print(platform.python_version())"])
            doc.append(f"- {LABEL[p]}: CPython {version} (`{interp}`), bench/peers/python/hello.py")
            continue
        lock = os.path.join(root, "Cargo.lock") if p == "basehttp" else os.path.join(
            root, "bench", "peers", p, "Cargo.lock"
        )
        versions = lock_versions(lock)
        crates = ", ".join(f"{c} {'/'.join(versions[c])}" for c in KEY_CRATES.get(p, []) if c in versions)
        if KEY_CRATES.get(p) == [] and versions:
            crates = "the standard library only (rustc above)"
        doc.append(f"- {LABEL.get(p, p)}: {crates or 'no Cargo.lock'}")
    exes = exes_of(servers)
    doc.append("- executables: " + ", ".join(f"{p} `{exes[p]}`" for p in peers if p in exes))
    doc += [""]
    return doc


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def main():
    a, meta, rows = parse_args(__doc__)

    seen_peers = {r["peer"] for r in rows}
    peers = [p for p in ORDER if p in seen_peers] + sorted(seen_peers - set(ORDER))
    scen = OrderedDict()
    for r in rows:
        if r.get("scenario") not in ("start", None) and not r.get("died"):
            scen[r["scenario"]] = True
    load_scen = [s for s in scen if scenario_kind(s) != "idle"]
    idle_scen = [s for s in scen if scenario_kind(s) == "idle"]
    groups = defaultdict(list)
    skipped = {}
    for r in rows:
        if r.get("skipped"):
            skipped[(r["peer"], r["scenario"])] = r["skipped"]
        elif not r.get("failed") and not r.get("died"):
            groups[(r["peer"], r["scenario"])].append(r)

    def med(peer, sc, key):
        return median([r.get(key) for r in groups.get((peer, sc), [])])

    def missing(peer, sc):
        """The text of a cell without data: 'skipped' or '–'."""
        return "skipped" if (peer, sc) in skipped and not groups.get((peer, sc)) else "–"

    # Runs shorter than the run's standard (the slow peers'): marked ‡.
    std_duration = meta.get("duration_s")

    def short(peer, sc):
        ds = {str(r.get("duration_s")) for r in groups.get((peer, sc), []) if r.get("duration_s") is not None}
        return bool(ds) and std_duration is not None and ds != {std_duration}

    short_peers = sorted({p for (p, sc) in groups if scenario_kind(sc) != "idle" and short(p, sc)})

    def close_how(peer, sc):
        hows = sorted({r.get("close_behaviour", "?") for r in groups.get((peer, sc), [])})
        return "/".join(hows)

    summary = []
    summary += [f"### Requests/s (median; ratio to {BASE})", ""]
    header = ["server"] + load_scen
    body = []
    for p in peers:
        cells = [LABEL.get(p, p)]
        for sc in load_scen:
            v = med(p, sc, "rps")
            if v is None:
                cells.append(missing(p, sc))
                continue
            mark = ""
            if scenario_kind(sc) == "close" and close_how(p, sc) not in ("closes+header", ""):
                mark = "*" if close_how(p, sc) == "keeps-open" else "†"
            if short(p, sc):
                mark += "‡"
            cells.append(fmt_rps(v) + mark + ratio(v, med(BASE, sc, "rps")))
        body.append(cells)
    summary += table(header, body)
    summary += [
        "",
        f"pipe: responses/s with {meta.get('pipeline_depth', '16')} requests per write. "
        "close: † = closes without a `Connection: close` header (wrk counts a read error per "
        "request), * = ignores the header (not a real close run). See \"Connection: close\" below.",
    ]
    if short_peers:
        summary.append(
            f"‡ = shorter runs for a slow peer ({', '.join(LABEL.get(p, p) for p in short_peers)}): "
            f"{meta.get('slow_duration_s')} s measured after {meta.get('slow_warmup_s')} s of warm-up, "
            f"against {std_duration} s after {meta.get('warmup_s')} s for the others."
        )
    summary += [""]

    summary += [f"### Server CPU per request, µs (median; ratio to {BASE}; lower is better)", ""]
    body = []
    for p in peers:
        cells = [LABEL.get(p, p)]
        for sc in load_scen:
            v = med(p, sc, "cpu_us_per_req")
            if v is None:
                cells.append(missing(p, sc))
                continue
            cells.append(
                fmt_num(v, 2 if v < 10 else 1) + ("‡" if short(p, sc) else "") + ratio(v, med(BASE, sc, "cpu_us_per_req"))
            )
        body.append(cells)
    for other in (BASE, FLOOR):
        if OURS in peers and other in peers:
            cells = [f"**{OURS} ÷ {'floor' if other == FLOOR else other}**"]
            for sc in load_scen:
                ours, theirs = med(OURS, sc, "cpu_us_per_req"), med(other, sc, "cpu_us_per_req")
                cells.append(f"{ours / theirs:.2f}×" if ours is not None and theirs else "–")
            body.append(cells)
    summary += table(header, body)
    if FLOOR in peers:
        summary += [
            "",
            f"The floor ({FLOOR}, bench/peers/canned_epoll) reads, counts `\\r\\n\\r\\n` and writes canned answers on one epoll "
            "thread: its CPU per request is what the kernel charges for the traffic. It ignores "
            "`Connection: close`, so its close16 run is keep-alive.",
        ]
    summary += [""]

    summary += ["### Latency p50 / p99 (median over rounds)", ""]
    body = []
    for p in peers:
        cells = [LABEL.get(p, p)]
        for sc in load_scen:
            if scenario_kind(sc) == "pipe":
                cells.append("n/a")
                continue
            if not groups.get((p, sc)):
                cells.append(missing(p, sc))
                continue
            mark = "‡" if short(p, sc) else ""
            cells.append(f"{fmt_ms(med(p, sc, 'p50_ms'))} / {fmt_ms(med(p, sc, 'p99_ms'))}{mark}")
        body.append(cells)
    summary += table(header, body)
    summary += ["", "wrk times a pipelined batch, not a request: no latency for pipe.", ""]

    for sc in idle_scen:
        n = sc[len("idle") :]
        in_table = [p for p in peers if groups.get((p, sc)) or (p, sc) in skipped]
        only = f", {', '.join(in_table)} only" if len(in_table) < len(peers) else ""
        vs = f"; ratio to {BASE}" if BASE in in_table else ""
        summary += [f"### {n} idle keep-alive connections held open (median{only}{vs})", ""]
        body = []
        for p in in_table:
            if not groups.get((p, sc)):
                body.append([LABEL.get(p, p), f"{missing(p, sc)}: {skipped.get((p, sc), 'no data')}", "", "", "", ""])
                continue
            hwm = med(p, sc, "hwm_kb")
            thr = med(p, sc, "threads_max")
            fresh = med(p, sc, "fresh_ms")
            opened = med(p, sc, "opened")
            still = med(p, sc, "still_open")
            open_s = med(p, sc, "open_s")
            oldest = med(p, sc, "oldest_idle_s")
            body.append(
                [
                    LABEL.get(p, p),
                    fmt_mb(hwm) + ratio(hwm, med(BASE, sc, "hwm_kb")),
                    fmt_num(thr, 0),
                    fmt_ms(fresh),
                    f"{fmt_num(opened, 0)} in {fmt_num(open_s, 2)} s",
                    fmt_num(still, 0) + (f" (oldest idle {oldest:.1f} s)" if oldest is not None else ""),
                ]
            )
        summary += table(
            ["server", "peak RSS", "threads", "one fresh request", "opened", "still open at the end"], body
        )
        fresh_counts = {len(r.get("fresh_ms_all") or []) for p in in_table for r in groups.get((p, sc), [])}
        if max(fresh_counts, default=1) > 1:
            summary += [
                "",
                f"one fresh request: the slowest of the {max(fresh_counts)} fresh requests timed in each "
                "round, median over rounds.",
            ]
        summary += [""]

    summary += targets_block(meta, peers, groups, med, close_how, rows)

    # ---- everything else goes to the file only
    doc = [f"# Benchmark run {meta.get('started', '')} ({meta.get('mode', '')})", ""]
    doc += [
        f"Command: `{meta.get('command', 'bench/run.sh')}`. {meta.get('rounds')} interleaved rounds "
        f"(server order rotated each round); each round, every server ran the idle scenario in a fresh "
        f"process and then the load scenarios, in order, in another fresh process; {meta.get('duration_s')} s measured wrk runs after {meta.get('warmup_s')} s "
        f"of warm-up; servers pinned to CPU {meta.get('server_cpu')}, wrk and the other clients to CPU "
        f"{meta.get('client_cpu')}; idle connections held {meta.get('idle_hold_s')} s. Medians over rounds; "
        f"ratios are to {BASE}'s median in this same run. See bench/README.md for the method.",
        "",
    ]
    doc += load_section(meta, rows, "machine busy time minus server and wrk; per run in the raw table")

    doc += ["## Summary", ""] + summary

    doc += ["## Connection: close", ""]
    for p in peers:
        hows = sorted({r.get("close_behaviour") for r in rows if r.get("peer") == p and r.get("close_behaviour")})
        if hows:
            doc.append(f"- {LABEL.get(p, p)}: " + "; ".join(CLOSE_NOTE.get(h, h) for h in hows))
    doc += [""]

    doc += ["## Errors", ""]
    body = []
    for p in peers:
        cells = [LABEL.get(p, p)]
        for sc in load_scen:
            parts = []
            for r in groups.get((p, sc), []):
                e = sum((r.get("errors") or {}).values())
                n2 = r.get("non2xx") or 0
                parts.append(f"{e}" + (f"+{n2} non-2xx" if n2 else ""))
            cells.append(", ".join(parts) or "–")
        body.append(cells)
    doc += ["wrk socket errors (connect+read+write+timeout) per round.", ""]
    doc += table(["server"] + load_scen, body) + [""]
    failures = [r for r in rows if r.get("failed") or r.get("died")]
    for r in failures:
        what = "did not start" if r.get("failed") else f"died during {r['scenario']}"
        doc.append(f"- round {r.get('round')}: {r.get('peer')} {what}")
    for r in rows:
        if r.get("wrk_status") not in (None, 0) or ("requests" in r and not r.get("requests")):
            doc.append(
                f"- round {r.get('round')} {r.get('peer')} {r.get('scenario')}: wrk exit {r.get('wrk_status')}, "
                f"output: `{(r.get('wrk_output') or '').strip()[-200:]}`"
            )
    if failures:
        doc.append("")

    doc += server_stderr(a.logs, peers)

    doc += machine_and_versions(a.root, a.servers, peers)

    doc += ["## Raw numbers", "", "Load scenarios, one row per wrk run (threads and RSS: the server's, after the run):", ""]
    hdr = RAW_COLUMNS + ["threads", "RSS", "close"]
    body = [
        raw_cells(r) + [str(r.get("threads_after", "–")), fmt_mb(r.get("rss_kb_after")), r.get("close_behaviour", "")]
        for r in raw_runs(rows, load_scen, peers)
    ]
    doc += table(hdr, body) + ["", "Idle connections, one row per round:", ""]
    hdr = [
        "round", "server", "scenario", "opened", "failed", "open time", "threads before", "threads max",
        "RSS before", "RSS max", "peak RSS (VmHWM)", "fresh request", "still open", "closed by server",
    ]
    body = []
    for r in rows:
        if r.get("scenario") in idle_scen:
            body.append(
                [
                    str(r.get("round")), r.get("peer", ""), r.get("scenario", ""), str(r.get("opened")),
                    str(r.get("open_failed")), f"{fmt_num(r.get('open_s'), 2)} s", str(r.get("threads_before")),
                    str(r.get("threads_max")), fmt_mb(r.get("rss_kb_before")), fmt_mb(r.get("rss_kb_max")),
                    fmt_mb(r.get("hwm_kb")),
                    fmt_ms(r.get("fresh_ms")) if r.get("fresh_ms") is not None else r.get("fresh_error", "–"),
                    str(r.get("still_open")), str(r.get("closed_by_server")),
                ]
            )
    doc += table(hdr, body) + [""]

    with open(a.out, "w") as f:
        f.write("\n".join(doc))
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
