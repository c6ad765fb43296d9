#!/usr/bin/env python3
"""bench-sample.py <pid> <out> [interval_s]: sample a process for bin/pgloom-bench.

Appends one line per sample to <out>: "<epoch seconds> <utime+stime ticks> <VmRSS kB>", every
interval (default 0.25 s), until SIGTERM/SIGINT or until the process is gone. The ticks are the
whole process's (all threads; /proc/<pid>/stat fields 14 and 15, in units of CLK_TCK).
"""
import signal
import sys
import time


def sample(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode("ascii", "replace")
    # The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 overall)
    rss_kb = 0
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                rss_kb = int(line.split()[1])
                break
    return ticks, rss_kb


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pid, out = int(sys.argv[1]), sys.argv[2]
    interval = float(sys.argv[3]) if len(sys.argv) == 4 else 0.25
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(out, "a", buffering=1) as f:
        while True:
            try:
                ticks, rss = sample(pid)
            except (OSError, ValueError):
                return 0  # the process is gone
            f.write(f"{time.time():.6f} {ticks} {rss}\n")
            if stop:
                return 0
            time.sleep(interval)
            # One last sample after the stop request, so the run's end is covered.


if __name__ == "__main__":
    sys.exit(main())
