#!/usr/bin/env python3
"""The blocking-handlers section's result file and summary (bench/run.sh --blocking).

    report_blocking.py --raw RAW.jsonl --logs DIR --servers SERVERS.tsv --root REPO
                       --out RESULT.md [--meta KEY=VALUE]...

RAW.jsonl holds one JSON object per (round, server, scenario) as printed by
wrk_run.py with --sample and --settle, and one "fresh" row per (round, server):
the thread count and RSS of the fresh server before its first scenario (the
idle count). The summary has one table per scenario family (sleepBcN, spinUcN,
mixedN) with the median over rounds of each figure and the ratio of requests/s
to the thread-per-connection reference (`threads`), then the targets block,
each target MET or NOT MET from the medians. The result file adds the run's
settings and load, the errors, what each server wrote to stderr, the machine
and versions, and every raw number. The shared pieces come from report.py.
"""

import re
import sys

sys.dont_write_bytecode = True  # importing report.py leaves no __pycache__ in the repository
import report as base  # noqa: E402 (after the line above on purpose)
from report import errors_of, fmt_mb, fmt_num, fmt_rps, median, ratio, scenario_kind, table  # noqa: E402

ORDER = ["basehttp", "threads", "astra", "tiny_http", "hyper", "python"]
OURS = "basehttp"
REF = "threads"
REF_POSS = "threads' req/s"
# The issue's targets: which scenarios, and the thresholds.
TARGET_SLEEP = ["sleep1c64", "sleep1c256", "sleep5c64", "sleep5c256", "sleep20c64", "sleep20c256"]
TARGET_SPIN = ["spin200c64"]
TARGET_MIXED = ["mixed16"]
RPS_RATIO = 0.95  # basehttp req/s ≥ this × threads' req/s
P99_SLACK_MS = 2.0  # basehttp p99 ≤ B + this, for /sleep/B
MIXED_P99_MS = 2.0  # basehttp's fast requests' p99 in mixedN
ISSUE_SETTLE_S = 15
FAMILIES = [
    ("sleep", "Sleeping handlers: N connections on `/sleep/B`"),
    ("spin", "Computing handlers: N connections on `/spin/U` (U µs of CPU time each)"),
    ("mixed", "Mixed: N connections on `/` while a background load sleeps"),
]
ABOUT = {
    "basehttp": "examples/bench_hello.rs: `std::thread::sleep` / the CPU-time spin inside `dispatch`",
    "threads": "bench/peers/threads: std only, one thread per connection; the reference",
    "astra": "bench/peers/astra: astra 0.4 defaults, blocking handlers on hyper; each connection holds one of "
    "its workers (at most 15 per CPU the process may use: 15 under `taskset -c 1`), so at most that many "
    "connections are served at once; astra 0.4.0 also loses some readiness events, and a connection that "
    "lost one keeps its worker, even after the client closed (bench/README.md, \"Blocking handlers\")",
    "tiny_http": "bench/peers/tiny_http with {tiny} `recv()` threads; it reads connections on its own pool",
    "hyper": "bench/peers/hyper: `/sleep/N` through `tokio::task::spawn_blocking`, `/spin/N` on the runtime's "
    "one worker",
    "python": "bench/peers/python/hello.py: ThreadingHTTPServer, `time.sleep` / a `time.thread_time()` spin",
}


def sleep_ms(sc):
    m = re.fullmatch(r"sleep(\d+)c\d+", sc)
    return int(m.group(1)) if m else None


def label(sc):
    """sleep5c64 -> 'sleep5 c64'; mixed16 stays."""
    return re.sub(r"^((?:sleep|spin)\d+)c(\d+)$", r"\1 c\2", sc)


def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms"


def fmt_int(v):
    return "–" if v is None else f"{v:.0f}"


def main():
    a, meta, rows = base.parse_args(__doc__)
    peers, scen, groups, fresh = base.section_groups(rows, ORDER, "fresh")

    def med(peer, sc, key):
        return median([r.get(key) for r in groups.get((peer, sc), [])])

    def idle_count(peer):
        return median([r.get("threads") for r in fresh.get(peer, [])])

    failed = {(r.get("peer"), r.get("round")) for r in rows if r.get("failed")}

    def missing(peer):
        return "did not start" if any(p == peer for p, _ in failed) else "–"

    std_duration = meta.get("duration_s")

    def short(peer, sc):
        ds = {str(r.get("duration_s")) for r in groups.get((peer, sc), []) if r.get("duration_s") is not None}
        return bool(ds) and std_duration is not None and ds != {std_duration}

    short_peers = sorted({p for (p, sc) in groups if short(p, sc)})
    settle = meta.get("settle_s", "?")

    summary = []
    for fam, title in FAMILIES:
        fam_scen = [sc for sc in scen if scenario_kind(sc) == fam]
        if not fam_scen:
            continue
        summary += [f"### {title} (median over rounds; req/s ratio to {REF})", ""]
        mixed = fam == "mixed"
        header = ["scenario", "server", "fast req/s" if mixed else "req/s", "p50", "p99"]
        if mixed:
            header += ["background req/s, p99"]
        header += ["CPU µs/req", f"threads: during / after {settle} s (idle)", f"RSS: during / after {settle} s",
                   "errors"]
        body = []
        for sc in fam_scen:
            ref = med(REF, sc, "rps")
            for p in peers:
                runs = groups.get((p, sc), [])
                name = base.LABEL.get(p, p) + ("‡" if short(p, sc) else "")
                if not runs:
                    body.append([label(sc), name, missing(p)] + [""] * (len(header) - 3))
                    continue
                rps = med(p, sc, "rps")
                cells = [label(sc), name, fmt_rps(rps) + ratio(rps, ref),
                         fmt_ms(med(p, sc, "p50_ms")), fmt_ms(med(p, sc, "p99_ms"))]
                if mixed:
                    cells.append(f"{fmt_rps(med(p, sc, 'bg_rps'))}, {fmt_ms(med(p, sc, 'bg_p99_ms'))}")
                cpu = med(p, sc, "cpu_us_per_req")
                errs = sum(errors_of(r) for r in runs)
                non2xx = sum((r.get("non2xx") or 0) for r in runs)
                if mixed:
                    errs += sum(sum((r.get("bg_errors") or {}).values()) for r in runs)
                    non2xx += sum((r.get("bg_non2xx") or 0) for r in runs)
                cells += [
                    fmt_num(cpu, 2 if cpu is not None and cpu < 10 else 1),
                    f"{fmt_int(med(p, sc, 'threads_max'))} / {fmt_int(med(p, sc, 'threads_settled'))}"
                    f" ({fmt_int(idle_count(p))})",
                    f"{fmt_mb(med(p, sc, 'rss_kb_max'))} / {fmt_mb(med(p, sc, 'rss_kb_settled'))}",
                    f"{errs}" + (f" +{non2xx} non-2xx" if non2xx else ""),
                ]
                body.append(cells)
        summary += table(header, body)
        notes = [
            "",
            f"threads: the most seen during the measured run (sampled every 0.1 s) / {settle} s after the load "
            "stopped (idle: the fresh process before its first scenario). RSS likewise. errors: wrk's socket "
            "errors (connect, read, write, timeout) summed over the rounds.",
        ]
        if mixed:
            notes.append(
                f"Fast: the measured wrk on `/`. Background: {meta.get('mixed_bg_conns', '32')} connections on "
                f"`{meta.get('mixed_bg_path', '/sleep/20')}` from {meta.get('mixed_lead_s', '1')} s before the "
                "warm-up to the end of the measured run. CPU µs/req divides the server's CPU by the fast "
                "requests plus the background's requests estimated for the measured run."
            )
        summary += notes + [""]
    if short_peers:
        summary += [
            f"‡ = shorter runs for a slow peer ({', '.join(base.LABEL.get(p, p) for p in short_peers)}): "
            f"{meta.get('slow_duration_s')} s measured after {meta.get('slow_warmup_s')} s of warm-up, against "
            f"{std_duration} s after {meta.get('warmup_s')} s for the others.",
            "",
        ]

    summary += targets_block(meta, scen, groups, med, idle_count, rows)

    # ---- the result file
    doc = [f"# Blocking handlers: benchmark run {meta.get('started', '')} ({meta.get('mode', '')})", ""]
    doc += [
        f"Command: `{meta.get('command', 'bench/run.sh --blocking')}`. {meta.get('rounds')} interleaved rounds "
        "(server order rotated each round); each round, every server ran all scenarios, in order, in one fresh "
        f"process, whose thread count was read {meta.get('idle_count_wait_s', '1')} s after it first answered "
        f"(the idle count); {std_duration} s measured wrk runs (`wrk -t1`, keep-alive, "
        f"`--timeout {meta.get('wrk_timeout_s', '10')}s`) after {meta.get('warmup_s')} s of warm-up, then "
        f"{settle} s of settling; servers pinned to CPU {meta.get('server_cpu')}, wrk to CPU "
        f"{meta.get('client_cpu')}. Medians over rounds; ratios are to {REF}' median in this same run. "
        "See bench/README.md, \"Blocking handlers\", for the method.",
        "",
        "The servers:",
        "",
    ]
    for p in peers:
        doc.append(f"- {base.LABEL.get(p, p)}: " + ABOUT.get(p, "").format(tiny=meta.get("tiny_http_threads", "?")))
    doc += [""]
    doc += base.load_section(
        meta,
        rows,
        "machine busy time minus server and the measured wrk; in mixed runs the background wrk counts here too",
    )
    doc += ["## Summary", ""] + summary

    doc += ["## Errors", ""]
    failures = [r for r in rows if r.get("failed") or r.get("died")]
    for r in failures:
        what = "did not start" if r.get("failed") else f"died during {r['scenario']}"
        doc.append(f"- round {r.get('round')}: {r.get('peer')} {what}")
    for r in rows:
        if r.get("wrk_status") not in (None, 0) or ("requests" in r and not r.get("requests")):
            doc.append(
                f"- round {r.get('round')} {r.get('peer')} {r.get('scenario')}: wrk exit {r.get('wrk_status')}, "
                f"output: `{' '.join((r.get('wrk_output') or '').split())[-200:]}`"
            )
        if "bg_requests" in r and not r.get("bg_requests"):
            doc.append(
                f"- round {r.get('round')} {r.get('peer')} {r.get('scenario')}: the background wrk completed no "
                f"request: `{' '.join((r.get('bg_wrk_output') or '').split())[-200:]}`"
            )
    if len(doc) and doc[-1] == "":
        doc.append("None.")
    doc += [""]
    doc += base.server_stderr(a.logs, peers)
    doc += base.machine_and_versions(a.root, a.servers, peers)

    doc += ["## Raw numbers", "", "One row per wrk run:", ""]
    hdr = base.RAW_COLUMNS + [
        "threads before / max / after / settled", "RSS max / settled", "background req/s, p99, errors",
    ]
    body = []
    for r in base.raw_runs([r for r in rows if "requests" in r], scen, peers):
        bg = ""
        if "bg_rps" in r:
            bg = f"{fmt_num(r.get('bg_rps'), 0)}, {fmt_ms(r.get('bg_p99_ms'))}, {sum((r.get('bg_errors') or {}).values())}"
        body.append(base.raw_cells(r, fmt_ms) + [
            " / ".join(str(r.get(k, "–")) for k in ("threads_before", "threads_max", "threads_after", "threads_settled")),
            f"{fmt_mb(r.get('rss_kb_max'))} / {fmt_mb(r.get('rss_kb_settled'))}",
            bg,
        ])
    doc += table(hdr, body) + ["", "Fresh processes, before their first scenario (the idle count):", ""]
    body = [
        [str(r.get("round")), r.get("peer", ""), str(r.get("threads")), fmt_mb(r.get("rss_kb"))]
        for r in rows if r.get("scenario") == "fresh"
    ]
    doc += table(["round", "server", "threads", "RSS"], body) + [""]

    with open(a.out, "w") as f:
        f.write("\n".join(doc))
    print("\n".join(summary))
    return 0


def targets_block(meta, scen, groups, med, idle_count, rows):
    """The issue's targets for handlers that block, from the medians."""
    out = [f"### Targets: {OURS} against thread per connection ({REF}), medians of this run", ""]
    body = []

    def rps_line(sc):
        ours, ref = med(OURS, sc, "rps"), med(REF, sc, "rps")
        if ours is None or not ref:
            return None, f"{fmt_rps(ours)} / {fmt_rps(ref)}"
        r = ours / ref
        return r >= RPS_RATIO, f"{fmt_rps(ours)} / {fmt_rps(ref)} = {r:.2f}×"

    sleeps = TARGET_SLEEP + [sc for sc in scen if scenario_kind(sc) == "sleep" and sc not in TARGET_SLEEP]
    for sc in sleeps:
        b = sleep_ms(sc)
        ok_rps, text = rps_line(sc)
        p99 = med(OURS, sc, "p99_ms")
        limit = b + P99_SLACK_MS
        # A run in which no request completed has no p99: that fails the target.
        ok_p99 = (p99 is not None and p99 <= limit) if groups.get((OURS, sc)) else None
        ok = None if ok_rps is None or ok_p99 is None else ok_rps and ok_p99
        if not groups.get((OURS, sc)) and not groups.get((REF, sc)):
            text = "not run"
        else:
            text += f"; p99 {fmt_ms(p99) if p99 is not None else 'none (no request completed)'} (limit {limit:g} ms)"
        body.append([f"{label(sc)}: req/s ≥ {RPS_RATIO}× {REF_POSS}, p99 ≤ {b} + {P99_SLACK_MS:g} ms", text,
                     base.verdict(ok)])
    spins = TARGET_SPIN + [sc for sc in scen if scenario_kind(sc) == "spin" and sc not in TARGET_SPIN]
    for sc in spins:
        ok, text = rps_line(sc)
        if not groups.get((OURS, sc)) and not groups.get((REF, sc)):
            text = "not run"
        body.append([f"{label(sc)}: req/s ≥ {RPS_RATIO}× {REF_POSS}", text, base.verdict(ok)])
    mixes = TARGET_MIXED + [sc for sc in scen if scenario_kind(sc) == "mixed" and sc not in TARGET_MIXED]
    for sc in mixes:
        p99 = med(OURS, sc, "p99_ms")
        ran = bool(groups.get((OURS, sc)))
        ok = (p99 is not None and p99 <= MIXED_P99_MS) if ran else None
        text = "not run" if not ran else (
            f"fast p99 {fmt_ms(p99) if p99 is not None else 'none (no fast request completed)'} "
            f"({fmt_rps(med(OURS, sc, 'rps'))} req/s; background {fmt_rps(med(OURS, sc, 'bg_rps'))} req/s)")
        body.append([f"{sc}: fast requests' p99 ≤ {MIXED_P99_MS:g} ms", text, base.verdict(ok)])

    idle = idle_count(OURS)
    settled = [(sc, med(OURS, sc, "threads_settled")) for sc in scen if groups.get((OURS, sc))]
    settled = [(sc, v) for sc, v in settled if v is not None]
    settle = meta.get("settle_s", "?")
    if idle is None or not settled:
        ok, text = None, "not measured"
    else:
        worst_sc, worst = max(settled, key=lambda item: item[1])
        ok = worst <= idle
        text = (f"idle count {idle:.0f}; after {settle} s: " + ", ".join(f"{label(sc)} {v:.0f}" for sc, v in settled)
                + f" (most: {worst:.0f}, {label(worst_sc)})")
        try:
            if float(settle) < ISSUE_SETTLE_S:
                text += f"; settle {settle} s, shorter than the issue's {ISSUE_SETTLE_S} s"
        except ValueError:
            pass
    body.append([f"threads {settle} s after the load ≤ the idle count", text, base.verdict(ok)])
    out += table(["target", "measured (ours / theirs = ratio)", "verdict"], body)
    other = [r.get("other_cpu_pct") for r in rows if isinstance(r.get("other_cpu_pct"), (int, float))]
    out += [""]
    if other:
        out += [
            f"Other programs used a median {median(other):.0f} % (max {max(other):.0f} %) of a core during the "
            "wrk runs (a mixed run's background wrk included): verdicts near a threshold are within the noise.",
            "",
        ]
    return out


if __name__ == "__main__":
    sys.exit(main())
