#!/usr/bin/env python3
"""Where a latency tail comes from, from pgbench per-transaction logs (pgbench -l).

    python3 bin/lib/bench-tail.py LOG [LOG ...]   one LOG per run (cat a run's lg.* files into one)

For each run, over the transactions that end from 12 s after its first one (the login phase of
1,000 clients) to 1 s before its last: p50, p90, p99, p99.9 and max latency; the share of the
slowest 1 % that falls into the worst 5 % of 100 ms intervals (near 100 %: stalls that hit every
client at once; near 5 %: a tail spread over the run); and the lowest, median and highest
per-client mean latency (a wide spread: some clients are served worse than others).
"""
import collections
import sys


def analyse(path):
    rows = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 6:
                continue
            try:
                rows.append((int(p[4]) + int(p[5]) / 1e6, int(p[2]), int(p[0])))
            except ValueError:
                continue  # failed or skipped transactions
    if not rows:
        return f"{path}: no transactions"
    t0 = min(r[0] for r in rows)
    t1 = max(r[0] for r in rows)
    rows = [r for r in rows if t0 + 12 < r[0] < t1 - 1]
    if not rows:
        return f"{path}: too short a run"
    lats = sorted(r[1] for r in rows)
    n = len(lats)

    def pc(q):
        return lats[min(n - 1, int(n * q))] / 1000

    p99 = lats[min(n - 1, int(n * 0.99))]
    per_bucket = collections.Counter()
    slow = collections.Counter()
    per_client = collections.defaultdict(list)
    for t, lat, client in rows:
        per_bucket[int(t * 10)] += 1
        if lat >= p99:
            slow[int(t * 10)] += 1
        per_client[client].append(lat)
    worst = sorted(slow.values(), reverse=True)[:max(1, len(per_bucket) // 20)]
    means = sorted(sum(v) / len(v) / 1000 for v in per_client.values())
    return (f"{path}: {n} tx, p50 {pc(.5):.0f} p90 {pc(.9):.0f} p99 {pc(.99):.0f} p99.9 {pc(.999):.0f} "
            f"max {lats[-1] / 1000:.0f} ms, p99/p50 {pc(.99) / pc(.5):.2f}; slowest 1 % in the worst 5 % "
            f"of 100 ms intervals: {sum(worst) / max(1, sum(slow.values())):.0%}; per-client mean "
            f"min/median/max {means[0]:.0f}/{means[len(means) // 2]:.0f}/{means[-1]:.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for a in sys.argv[1:]:
        print(analyse(a))
