#!/usr/bin/env python3
"""bench-results.py: the bookkeeping of bin/pgloom-bench.

  run ...            parse one pgbench run (its output, per-transaction logs, the pooler's samples)
                     and print one JSON line; deletes the per-transaction logs it read
  table ...          print the markdown table of one workload from the results file
  idle-table FILE    print the markdown table of the idle-clients test
  failures FILE      print every failed run; exit 1 if there is one
  raw FILE           print every run as TSV
"""
import argparse
import bisect
import glob
import json
import math
import os
import re
import statistics
import sys

TARGETS = ("direct", "pgbouncer", "pgloom")
TARGET_NAMES = {"direct": "direct", "pgbouncer": "PgBouncer", "pgloom": "pgloom"}
WORKLOAD_NAMES = {"select": "`-S` (select only)", "tpcb": "TPC-B (builtin tpcb-like)"}


# ------------------------------------------------------------------------------------------ run

def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


def parse_stdout(text, connect):
    r = {}
    m = re.search(r"^number of transactions actually processed: (\d+)", text, re.M)
    if m:
        r["tx"] = int(m.group(1))
    m = re.search(r"^number of failed transactions: (\d+)", text, re.M)
    if m:
        r["failed_tx"] = int(m.group(1))
    m = re.search(r"^latency average = ([\d.]+) ms", text, re.M)
    if m:
        r["lat_avg_ms"] = float(m.group(1))
    tps = {}
    for m in re.finditer(r"^tps = ([\d.]+) \(([^)]*)\)", text, re.M):
        tps[m.group(2)] = float(m.group(1))
    # pgbench 14+ prints one line: "without initial connection time", or with -C "including
    # reconnection times"; older ones print "including/excluding connections establishing".
    if connect:
        order = ("including reconnection times", "including connections establishing")
    else:
        order = ("without initial connection time", "excluding connections establishing")
    for key in order:
        if key in tps:
            r["tps"] = tps[key]
            break
    else:
        if tps:
            r["tps"] = next(iter(tps.values()))
    m = re.search(r"^(?:initial|average) connection time = ([\d.]+) ms", text, re.M)
    if m:
        r["conn_ms"] = float(m.group(1))
    return r


def error_reason(stderr_text, stdout_text):
    lines = [l.strip() for l in (stderr_text + "\n" + stdout_text).splitlines() if l.strip()]
    for pat in (r"aborted|FATAL|ERROR|error|could not|failed|timeout", r"."):
        for l in lines:
            if re.search(pat, l) and "Run was aborted; the above results are incomplete" not in l:
                l = re.sub(r"^pgbench: (error: )?", "", l)
                return l[:200]
    return ""


def read_logs(prefix):
    """Latencies (µs) and end times (epoch s) of every logged transaction, and the files read."""
    files = sorted(glob.glob(glob.escape(prefix) + ".*"))
    lat, ends = [], []
    for fn in files:
        with open(fn, "rb") as f:
            for line in f:
                p = line.split()
                if len(p) < 6:
                    continue
                try:
                    l = int(p[2])
                    e = int(p[4]) + int(p[5]) / 1e6
                except ValueError:
                    continue  # "failed" / "skipped" transactions
                lat.append(l)
                ends.append(e)
    return lat, ends, files


def read_samples(path):
    out = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 3:
                    out.append((float(p[0]), int(p[1]), int(p[2])))
    return out


def cpu_per_tx(samples, ends, clk_tck):
    """Pooler CPU µs per transaction over the window of samples that lies inside the span of
    transaction end times (so that the connection phase before the first transaction and the
    disconnects after the last are left out; with -C the reconnections are inside it)."""
    if len(samples) < 2 or not ends:
        return None, None
    first, last = ends[0], ends[-1]
    inside = [s for s in samples if first <= s[0] <= last]
    if len(inside) >= 2 and inside[-1][0] - inside[0][0] >= 0.5:
        s0, s1 = inside[0], inside[-1]
        tx = bisect.bisect_right(ends, s1[0]) - bisect.bisect_right(ends, s0[0])
    else:  # too short a run for a window: the whole run
        s0, s1 = samples[0], samples[-1]
        tx = len(ends)
    if tx <= 0:
        return None, None
    cpu_s = (s1[1] - s0[1]) / clk_tck
    return cpu_s * 1e6 / tx, s1[0] - s0[0]


def cmd_run(a):
    rec = {"workload": a.workload, "mode": a.mode, "clients": a.clients, "connect": a.connect,
           "round": a.round, "target": a.target}
    if a.na:
        rec.update(status="na", reason=a.na)
        print(json.dumps(rec))
        return 0
    out = open(a.stdout, errors="replace").read() if os.path.exists(a.stdout) else ""
    err = open(a.stderr, errors="replace").read() if os.path.exists(a.stderr) else ""
    rec.update(parse_stdout(out, a.connect))
    if a.planned:
        rec["planned_s"] = a.planned
        if not a.connect and "conn_ms" in rec:
            # pgbench's -T includes its connection phase: what was left for transactions
            rec["steady_s"] = round(a.planned - rec["conn_ms"] / 1000.0, 3)
    lat, ends, files = read_logs(a.log_prefix)
    for fn in files:
        os.unlink(fn)
    if lat:
        lat.sort()
        ends.sort()
        rec["p50_ms"] = percentile(lat, 50) / 1000.0
        rec["p99_ms"] = percentile(lat, 99) / 1000.0
        rec["logged_tx"] = len(lat)
    samples = read_samples(a.samples)
    if samples:
        clk = os.sysconf("SC_CLK_TCK")
        us, window = cpu_per_tx(samples, ends, clk)
        if us is not None:
            rec["cpu_us_per_tx"] = us
            rec["cpu_window_s"] = window
        rec["rss_mb"] = max(s[2] for s in samples) / 1024.0
    reasons = []
    if a.rc == 124:
        reasons.append(f"timed out (pgbench still running after {a.timeout} s)")
    elif a.rc != 0:
        reasons.append(f"pgbench exit {a.rc}: {error_reason(err, out) or 'no message'}")
    if rec.get("failed_tx"):
        reasons.append(f"{rec['failed_tx']} failed transactions")
    if a.rc == 0 and "tps" not in rec:
        reasons.append("no tps line in pgbench's output")
    if a.rc == 0 and not rec.get("tx"):
        reasons.append("no transaction completed")
    if a.pooler_dead:
        reasons.insert(0, a.pooler_dead)
    rec["status"] = "fail" if reasons else "ok"
    if reasons:
        rec["reason"] = "; ".join(reasons)
    print(json.dumps(rec))
    return 0


# ---------------------------------------------------------------------------------------- table

def load(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def fmt_num(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread_cell(values, fmt=fmt_num):
    values = [v for v in values if v is not None]
    if not values:
        return None
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(values))}–{fmt(max(values))})"


def short(reason, n=60):
    return reason if len(reason) <= n else reason[: n - 1] + "…"


def cell(runs, key, fmt=fmt_num, spread=False):
    """The median over the ok runs; FAIL / n/a when there are none; the count of failures."""
    ok = [r for r in runs if r["status"] == "ok"]
    bad = [r for r in runs if r["status"] == "fail"]
    if not runs:
        return "–"
    if not ok:
        if bad:
            return "FAIL: " + short(bad[0].get("reason", ""))
        return "n/a"
    vals = [r.get(key) for r in ok]
    text = spread_cell(vals, fmt) if spread else (fmt(med(vals)) if med(vals) is not None else "–")
    if text is None:
        text = "–"
    if bad:
        text += f" (+{len(bad)} FAIL)"
    return text


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}"


def ok_median(runs, key):
    return med([r.get(key) for r in runs if r["status"] == "ok"])


def cmd_table(a):
    recs = [r for r in load(a.results) if r["workload"] == a.workload and r["mode"] == a.mode]
    rows = []
    for c in [int(x) for x in a.clients.split(",") if x]:
        rows.append((f"{c}", [r for r in recs if r["clients"] == c and not r["connect"]]))
    if a.connect_clients:
        rows.append((f"`-C` {a.connect_clients}",
                     [r for r in recs if r["clients"] == a.connect_clients and r["connect"]]))
    print(f"### {WORKLOAD_NAMES.get(a.workload, a.workload)}, `-M {a.mode}`")
    print()
    head = ["clients", "direct TPS", "PgBouncer TPS", "pgloom TPS", "pgloom/PgB TPS",
            "p99 ms PgB", "p99 ms pgloom", "pgloom p99/p50", "CPU µs/tx PgB",
            "CPU µs/tx pgloom", "pgloom/PgB CPU", "RSS MB PgB", "RSS MB pgloom"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    notes = []
    for label, runs in rows:
        if not runs:
            continue
        by = {t: [r for r in runs if r["target"] == t] for t in TARGETS}
        for r in runs:
            if r["status"] == "fail":
                notes.append(f"FAIL {label} clients, {TARGET_NAMES[r['target']]}, round {r['round']}: "
                             f"{r.get('reason', '')}")
            elif r["status"] == "na":
                n = f"n/a {TARGET_NAMES[r['target']]}: {r.get('reason', '')}"
                if n not in notes:
                    notes.append(n)
        for r in by["pgloom"]:
            if r["status"] == "ok" and r.get("p99_ms") is not None and r.get("p50_ms"):
                r["p99_p50"] = r["p99_ms"] / r["p50_ms"]
        b_tps, l_tps = ok_median(by["pgbouncer"], "tps"), ok_median(by["pgloom"], "tps")
        b_cpu, l_cpu = ok_median(by["pgbouncer"], "cpu_us_per_tx"), ok_median(by["pgloom"], "cpu_us_per_tx")
        line = [label,
                cell(by["direct"], "tps", spread=True),
                cell(by["pgbouncer"], "tps", spread=True),
                cell(by["pgloom"], "tps", spread=True),
                ratio(l_tps, b_tps),
                cell(by["pgbouncer"], "p99_ms"),
                cell(by["pgloom"], "p99_ms"),
                cell(by["pgloom"], "p99_p50"),
                cell(by["pgbouncer"], "cpu_us_per_tx"),
                cell(by["pgloom"], "cpu_us_per_tx"),
                ratio(l_cpu, b_cpu),
                cell(by["pgbouncer"], "rss_mb"),
                cell(by["pgloom"], "rss_mb")]
        print("| " + " | ".join(line) + " |")
    print()
    if notes:
        for n in notes:
            print(f"- {n}")
        print()
    return 0


def cmd_idle_table(a):
    recs = load(a.results)
    print(f"### Idle clients")
    print()
    head = ["pooler", "clients logged in", "RSS before MB", "RSS with clients MB",
            "RSS bytes/client", "RSS after GC MB", "RSS bytes/client after GC",
            "heap before KB", "heap with clients KB", "heap bytes/client", "login s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    notes = []

    def f(x, d=1):
        return "–" if x is None else f"{x:.{d}f}"

    for r in recs:
        n = r.get("logged_in", 0)
        line = [TARGET_NAMES.get(r["target"], r["target"]) + (" FAIL" if r.get("status") == "fail" else ""),
                f"{n} / {r.get('n')}",
                f(r.get("rss_before_kb") and r["rss_before_kb"] / 1024),
                f(r.get("rss_loaded_kb") and r["rss_loaded_kb"] / 1024),
                f(r.get("rss_bytes_per_client"), 0),
                f(r.get("rss_after_gc_kb") and r["rss_after_gc_kb"] / 1024),
                f(r.get("rss_after_gc_bytes_per_client"), 0),
                f(r.get("heap_before_kb"), 0),
                f(r.get("heap_loaded_kb"), 0),
                f(r.get("heap_bytes_per_client"), 0),
                f(r.get("login_s"), 1)]
        print("| " + " | ".join(line) + " |")
        if r.get("status") == "fail":
            notes.append(f"FAIL {TARGET_NAMES.get(r['target'], r['target'])}: {r.get('reason', '')}")
    print()
    for n in notes:
        print(f"- {n}")
    if notes:
        print()
    return 0


def cmd_failures(a):
    bad = [r for r in load(a.results) if r.get("status") == "fail"]
    for r in bad:
        if "workload" in r:
            what = (f"{r['workload']} -M {r['mode']} {'-C ' if r['connect'] else ''}"
                    f"{r['clients']} clients round {r['round']}")
        else:
            what = "idle clients"
        print(f"- FAIL {TARGET_NAMES.get(r['target'], r['target'])}, {what}: {r.get('reason', '')}")
    return 1 if bad else 0


def cmd_raw(a):
    cols = ["workload", "mode", "clients", "connect", "round", "target", "status", "tps", "tx",
            "failed_tx", "lat_avg_ms", "p50_ms", "p99_ms", "conn_ms", "cpu_us_per_tx",
            "cpu_window_s", "rss_mb", "planned_s", "steady_s", "reason"]
    print("\t".join(cols))
    for r in load(a.results):
        vals = []
        for c in cols:
            v = r.get(c, "")
            if isinstance(v, float):
                v = f"{v:.3f}"
            vals.append(str(v))
        print("\t".join(vals))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--workload", required=True)
    r.add_argument("--mode", required=True)
    r.add_argument("--clients", type=int, required=True)
    r.add_argument("--connect", action="store_true")
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--na", default="")
    r.add_argument("--stdout", default="")
    r.add_argument("--stderr", default="")
    r.add_argument("--rc", type=int, default=0)
    r.add_argument("--timeout", type=int, default=0)
    r.add_argument("--planned", type=int, default=0, help="pgbench's -T")
    r.add_argument("--log-prefix", default="")
    r.add_argument("--samples", default="")
    r.add_argument("--pooler-dead", default="")
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--workload", required=True)
    t.add_argument("--mode", required=True)
    t.add_argument("--clients", required=True)
    t.add_argument("--connect-clients", type=int, default=0)
    for name in ("idle-table", "failures", "raw"):
        s = sub.add_parser(name)
        s.add_argument("results")
    a = p.parse_args()
    return {"run": cmd_run, "table": cmd_table, "idle-table": cmd_idle_table,
            "failures": cmd_failures, "raw": cmd_raw}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
