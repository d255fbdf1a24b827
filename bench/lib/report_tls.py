#!/usr/bin/env python3
"""The TLS section's result file and summary (bench/run.sh --tls).

    report_tls.py --raw RAW.jsonl --logs DIR --servers SERVERS.tsv --root REPO
                  --out RESULT.md [--meta KEY=VALUE]...

RAW.jsonl holds one JSON object per (round, server, scenario) as printed by
wrk_run.py with --tls (the handshake counts of bench/lib/wrk_tls_handshakes.c
included), and one "tls" row per (round, server) from `probe.py tls`: what
OpenSSL's client defaults negotiated with the fresh server. The summary gives,
per scenario and server, the median over rounds of requests/s (new connections/s
in newN and resumeN) and server CPU per request, each with its ratio to
hyper_rustls, p50/p99, the handshakes wrk made and its own CPU; then the TLS
parameters both servers were measured with, and the targets block (MET or NOT
MET from the medians). The result file adds the run's settings and load, the
errors, what each server wrote to stderr, the machine and versions, and every
raw number. The shared pieces come from report.py.
"""

import sys
from collections import Counter

sys.dont_write_bytecode = True  # importing report.py leaves no __pycache__ in the repository
import report as base  # noqa: E402 (after the line above on purpose)
from report import errors_of, fmt_ms, fmt_num, fmt_rps, median, ratio, scenario_kind, table  # noqa: E402

ORDER = ["basehttp", "hyper_rustls"]
OURS = "basehttp"
REF = "hyper_rustls"
LABEL = {
    "basehttp": "basehttp (bench_hello, feature tls)",
    "hyper_rustls": "hyper 1 + tokio-rustls",
}
KEY_CRATES = {
    "basehttp": ["basehttp", "rustls", "ring", "rustix", "polling"],
    "hyper_rustls": ["hyper", "hyper-util", "tokio", "tokio-rustls", "rustls", "ring"],
}
ABOUT = {
    "basehttp": "examples/bench_hello.rs built with `-p basehttp-examples --features tls`, run with "
    "`--tls-cert CERT --tls-key KEY`: `TlsConfig::from_pem_files` as it comes "
    "(basehttp/src/transport/tls.rs); the handshake advances in basehttp's pollers",
    "hyper_rustls": "bench/peers/hyper_rustls: the hyper peer (hyper 1 `http1`, multi-threaded tokio runtime, "
    "`pipeline_flush`, TCP_NODELAY) with tokio-rustls' `TlsAcceptor`, the handshake in each connection's task; "
    "its rustls `ServerConfig` is built as basehttp's is, step for step",
}
KIND = {
    "c": "keep-alive",
    "new": "new connection per request, full handshake",
    "resume": "new connection per request, resumed session",
    "pipe": "keep-alive, pipelined",
}
# The targets (issue 12, item 5): basehttp ≥ 1.0× hyper with rustls.
TARGET_RATIO = 1.0


def label(sc):
    """c16 -> 'c16 keep-alive'."""
    return f"{sc} ({KIND.get(scenario_kind(sc), '?')})"


def main():
    a, meta, rows = base.parse_args(__doc__)
    base.LABEL.update(LABEL)
    base.KEY_CRATES.update(KEY_CRATES)
    peers, scen, groups, probes = base.section_groups(rows, ORDER, "tls")

    def med(peer, sc, key):
        return median([r.get(key) for r in groups.get((peer, sc), [])])

    failed = {r.get("peer") for r in rows if r.get("failed")}

    summary = [f"### Over TLS (median over rounds; ratios to {REF})", ""]
    header = ["scenario", "server", "requests/s", "server CPU µs/request", "p50", "p99",
              "wrk's handshakes: full / resumed", "wrk CPU %", "errors"]
    body = []
    for sc in scen:
        for p in peers:
            runs = groups.get((p, sc), [])
            name = base.LABEL.get(p, p)
            if not runs:
                body.append([label(sc), name, "did not start" if p in failed else "–"] + [""] * (len(header) - 3))
                continue
            rps, cpu = med(p, sc, "rps"), med(p, sc, "cpu_us_per_req")
            full = sum(r.get("tls_full") or 0 for r in runs)
            resumed = sum(r.get("tls_resumed") or 0 for r in runs)
            counted = any("tls_full" in r for r in runs)
            errs = sum(errors_of(r) for r in runs)
            non2xx = sum((r.get("non2xx") or 0) for r in runs)
            body.append([
                label(sc), name,
                fmt_rps(rps) + ratio(rps, med(REF, sc, "rps")),
                fmt_num(cpu, 2 if cpu is not None and cpu < 10 else 1) + ratio(cpu, med(REF, sc, "cpu_us_per_req")),
                # wrk times a pipelined batch, not a request.
                "n/a" if scenario_kind(sc) == "pipe" else fmt_ms(med(p, sc, "p50_ms")),
                "n/a" if scenario_kind(sc) == "pipe" else fmt_ms(med(p, sc, "p99_ms")),
                f"{full} / {resumed}" if counted else "not counted",
                fmt_num(med(p, sc, "wrk_cpu_pct"), 0),
                f"{errs}" + (f" +{non2xx} non-2xx" if non2xx else ""),
            ])
    summary += table(header, body)
    summary += [
        "",
        "requests/s: in newN and resumeN every request is a new TCP connection and a new TLS session, so it is "
        "new connections/s, and the CPU figure is per connection. wrk's handshakes: counted in wrk "
        "(bench/lib/wrk_tls_handshakes.c), summed over the rounds' measured runs. wrk CPU %: wrk's own core; "
        "near 100 % wrk is the limit, and requests/s cannot separate the servers while CPU per request still "
        "can. errors: wrk's socket errors (connect, read, write, timeout), summed over the rounds.",
        "",
    ]
    summary += tls_block(meta, peers, probes, groups, scen)
    summary += targets_block(scen, groups, med, rows)

    # ---- the result file
    doc = [f"# TLS: benchmark run {meta.get('started', '')} ({meta.get('mode', '')})", ""]
    doc += [
        f"Command: `{meta.get('command', 'bench/run.sh --tls')}`. {meta.get('rounds')} interleaved rounds "
        "(server order rotated each round); each round, every server ran all scenarios, in order, in one fresh "
        f"process; {meta.get('duration_s')} s measured wrk runs (`wrk -t1`, https) after {meta.get('warmup_s')} s "
        f"of warm-up; servers pinned to CPU {meta.get('server_cpu')}, wrk to CPU {meta.get('client_cpu')}. "
        f"Medians over rounds; ratios are to {REF}'s median in this same run. See bench/README.md, \"TLS\", "
        "for the method.",
        "",
        "The servers:",
        "",
    ]
    for p in peers:
        doc.append(f"- {base.LABEL.get(p, p)}: {ABOUT.get(p, '')}")
    doc += ["", "The scenarios:", ""]
    for sc in scen:
        doc.append(f"- {label(sc)}" + {
            "c": ": `wrk -t1 -cN`, each connection kept alive",
            "new": ": `wrk -t1 -cN -H 'Connection: close'` with wrk's TLS session dropped before each reconnect "
                   "(`BENCH_WRK_TLS_RESUME=0`): every request a new TCP connection and a full TLS handshake",
            "resume": ": `wrk -t1 -cN -H 'Connection: close'` as wrk is: each reconnect offers the session's last "
                      "ticket and resumes it (TLS 1.3 PSK with a new X25519 exchange; no certificate, no signature)",
            "pipe": ": `wrk -t1 -cN` with bench/lib/pipeline.lua",
        }.get(scenario_kind(sc), ""))
    doc += [""]
    doc += base.load_section(meta, rows, "machine busy time minus server and wrk")
    doc += ["## Summary", ""] + summary

    doc += ["## Errors", ""]
    n_before = len(doc)
    for r in rows:
        if r.get("failed") or r.get("died"):
            what = "did not start" if r.get("failed") else f"died during {r['scenario']}"
            doc.append(f"- round {r.get('round')}: {r.get('peer')} {what}")
        if r.get("wrk_status") not in (None, 0) or ("requests" in r and not r.get("requests")):
            doc.append(
                f"- round {r.get('round')} {r.get('peer')} {r.get('scenario')}: wrk exit {r.get('wrk_status')}, "
                f"output: `{' '.join((r.get('wrk_output') or '').split())[-200:]}`"
            )
    if len(doc) == n_before:
        doc.append("None.")
    doc += [""]
    doc += base.server_stderr(a.logs, peers)
    doc += base.machine_and_versions(a.root, a.servers, peers)
    if doc and doc[-1] == "":
        doc.pop()
    doc += [
        f"- OpenSSL (wrk, `openssl s_client`): `{meta.get('openssl', '?')}`; wrk's libssl: "
        f"`{meta.get('wrk_libssl') or '?'}`",
        "",
    ]

    doc += ["## Raw numbers", "", "One row per wrk run:", ""]
    hdr = base.RAW_COLUMNS + ["handshakes full/resumed", "wrk's suite", "threads", "RSS", "close"]
    body = []
    for r in base.raw_runs([r for r in rows if "requests" in r], scen, peers):
        body.append(base.raw_cells(r) + [
            f"{r.get('tls_full', '–')}/{r.get('tls_resumed', '–')}",
            f"{r.get('tls_version', '–')} {r.get('tls_cipher', '')}".strip()
            + (f" (+{r['tls_other_suites']} other)" if r.get("tls_other_suites") else ""),
            str(r.get("threads_after", "–")), base.fmt_mb(r.get("rss_kb_after")), r.get("close_behaviour", ""),
        ])
    doc += table(hdr, body) + ["", "`openssl s_client -brief` against each fresh server, before its first scenario:", ""]
    body = [
        [str(r.get("round")), r.get("peer", ""), r.get("protocol", "–"), r.get("cipher", "–"),
         r.get("key_exchange", "–"), r.get("signature", "–")]
        for r in rows if r.get("scenario") == "tls"
    ]
    doc += table(["round", "server", "protocol", "cipher suite", "key exchange", "signature"], body) + [""]

    with open(a.out, "w") as f:
        f.write("\n".join(doc))
    print("\n".join(summary))
    return 0


def tls_block(meta, peers, probes, groups, scen):
    """What was negotiated: from openssl s_client and from wrk's own handshakes."""
    out = ["### TLS parameters", ""]
    out.append(f"- certificate (one for the run, both servers): {meta.get('tls_cert', '?').replace(';', '; ')}")
    for p in peers:
        seen = Counter(
            (r.get("protocol", "?"), r.get("cipher", "?"), r.get("key_exchange", "?"), r.get("signature", "?"))
            for r in probes.get(p, [])
        )
        wrk = Counter(
            (r.get("tls_version"), r.get("tls_cipher")) for sc in scen for r in groups.get((p, sc), [])
            if r.get("tls_version")
        )
        others = sum(r.get("tls_other_suites") or 0 for sc in scen for r in groups.get((p, sc), []))
        text = "; ".join(f"{proto}, {cipher}, key exchange {kx}, {sig} signature ({n} of {sum(seen.values())})"
                         for (proto, cipher, kx, sig), n in seen.items()) or "not probed"
        wtext = ", ".join(f"{v} {c} ({n} runs)" for (v, c), n in wrk.items()) or "not counted"
        out.append(f"- {base.LABEL.get(p, p)}: `openssl s_client`: {text}; wrk's handshakes: {wtext}"
                   + (f", {others} handshakes with another suite" if others else ", no other suite"))
    checks = []
    for sc in scen:
        if scenario_kind(sc) not in ("new", "resume"):
            continue
        for p in peers:
            runs = groups.get((p, sc), [])
            full = sum(r.get("tls_full") or 0 for r in runs)
            resumed = sum(r.get("tls_resumed") or 0 for r in runs)
            if full + resumed:
                checks.append(f"{sc} {p}: {full} full, {resumed} resumed ({100 * resumed / (full + resumed):.1f} % resumed)")
    if checks:
        out.append("- handshakes in the new-connection runs: " + "; ".join(checks))
    out += [
        "- both servers: rustls with the ring provider as it comes (`default_provider()`): TLS 1.3 and 1.2 "
        "(`with_safe_default_protocol_versions`), ring's default cipher suites and key exchange groups, ALPN "
        "`http/1.1` (wrk sends no ALPN), no client authentication, a 256-entry session cache and two TLS 1.3 "
        "tickets per handshake (rustls' defaults). wrk (OpenSSL's client defaults, no verification) asks for "
        "TLS_AES_256_GCM_SHA384 first, and rustls follows the client's order: no suite had to be pinned.",
        "",
    ]
    return out


def targets_block(scen, groups, med, rows):
    """Issue 12, item 5: basehttp over TLS ≥ 1.0× hyper with rustls."""
    out = [f"### Targets (issue 12): {OURS} against {REF}, medians of this run", ""]
    body = []

    def line(what, scs, key, higher_better):
        got = []
        for sc in scs:
            ours, theirs = med(OURS, sc, key), med(REF, sc, key)
            got.append((sc, ours, theirs, ours / theirs if ours is not None and theirs else None))
        if not got:
            return
        ok = None if any(r is None for *_, r in got) else all(
            (r >= TARGET_RATIO if higher_better else r <= TARGET_RATIO) for *_, r in got)
        fmt = fmt_rps if key == "rps" else (lambda v: fmt_num(v, 2))
        body.append([what, "; ".join(f"{sc} {fmt(o)} / {fmt(t)} = {fmt_num(r, 3)}×" for sc, o, t, r in got),
                     base.verdict(ok)])

    keep = [sc for sc in scen if scenario_kind(sc) == "c"]
    new = [sc for sc in scen if scenario_kind(sc) == "new"]
    line(f"TLS keep-alive requests/s ≥ {TARGET_RATIO}× {REF}", keep, "rps", True)
    line(f"new TLS connections/s (full handshakes) ≥ {TARGET_RATIO}× {REF}", new, "rps", True)
    out += table(["target", "measured (ours / theirs = ratio)", "verdict"], body)
    info = []
    for sc in scen:
        ours, theirs = med(OURS, sc, "cpu_us_per_req"), med(REF, sc, "cpu_us_per_req")
        if ours is not None and theirs:
            info.append(f"{sc} {ours:.2f} / {theirs:.2f} µs = {ours / theirs:.2f}×")
    out += [""]
    if info:
        out += [f"Server CPU per request, {OURS} / {REF} (lower is better; no target): " + "; ".join(info) + ".", ""]
    other = [r.get("other_cpu_pct") for r in rows if isinstance(r.get("other_cpu_pct"), (int, float))]
    if other:
        out += [
            f"Other programs used a median {median(other):.0f} % (max {max(other):.0f} %) of a core during the "
            "wrk runs: verdicts near a threshold are within the noise.",
            "",
        ]
    return out


if __name__ == "__main__":
    sys.exit(main())
