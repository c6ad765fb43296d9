#!/usr/bin/env python3
"""bench-idle.py: the idle-clients test of bin/pgloom-bench, against one pooler.

  bench-idle.py --port P --n N --pid PID --target NAME [--jcmd PATH] [--user app] [--db app]

Logs one client in and out (so the pool and its server connection exist), measures the pooler's
RSS (and for a JVM, with --jcmd, the heap used after a full GC), then opens N client connections
with raw sockets: each sends a StartupMessage and reads until ReadyForQuery ('Z'); the pooler
must use auth_type = trust. Once all are logged in it measures again, holding them, and prints
one JSON line: RSS and heap before and with the clients, and bytes per idle client.
"""
import argparse
import errno
import json
import re
import resource
import selectors
import socket
import struct
import subprocess
import sys
import time

MAX_IN_FLIGHT = 100  # logins under way at once: below the listen backlog (128 by default)


def startup_packet(user, db):
    body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
    return struct.pack("!I", len(body) + 4) + body


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def heap_used_kb(jcmd, pid, gc=True):
    """The heap used (KB) per `jcmd GC.heap_info`, after `jcmd GC.run` when gc is set."""
    if gc:
        subprocess.run([jcmd, str(pid), "GC.run"], check=True, capture_output=True, timeout=120)
    out = subprocess.run([jcmd, str(pid), "GC.heap_info"], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    total = 0
    found = False
    for line in out.splitlines():
        if re.match(r"\s*(Metaspace|class space)", line):
            break
        # G1/ZGC/Shenandoah print one "heap ... used NK" line; Serial/Parallel one per generation.
        m = re.search(r"\bused (\d+)K", line)
        if m and not re.match(r"\s*(region size|object space|eden|from|to)\b", line):
            total += int(m.group(1))
            found = True
    return total if found else None


class Client:
    __slots__ = ("sock", "buf", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.state = "connecting"


def error_text(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return f"{fields.get('S', 'ERROR')}: {fields.get('M', '?')} ({fields.get('C', '?')})"


def login_all(host, port, n, user, db, deadline):
    """Opens n logged-in connections; returns (sockets, error or None)."""
    packet = startup_packet(user, db)
    sel = selectors.DefaultSelector()
    done, started, in_flight = [], 0, 0
    first_error = None
    while len(done) < n:
        while started < n and in_flight < MAX_IN_FLIGHT:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((host, port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                return done, f"connect: {errno.errorcode.get(rc, rc)} after {len(done)} logins"
            c = Client(s)
            sel.register(s, selectors.EVENT_WRITE, c)
            started += 1
            in_flight += 1
        if time.monotonic() > deadline:
            first_error = f"timed out with {len(done)} of {n} logged in ({in_flight} under way)"
            break
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            s = c.sock
            if c.state == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    first_error = f"connect: {errno.errorcode.get(err, err)} after {len(done)} logins"
                    break
                s.send(packet)  # 33 bytes: fits any fresh socket buffer
                c.state = "reading"
                sel.modify(s, selectors.EVENT_READ, c)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                first_error = f"recv: {e} after {len(done)} logins"
                break
            if not data:
                first_error = f"the pooler closed a connection during login after {len(done)} logins"
                break
            c.buf += data
            while len(c.buf) >= 5:
                typ = c.buf[0:1]
                ln = struct.unpack("!I", c.buf[1:5])[0]
                if len(c.buf) < 1 + ln:
                    break
                payload = c.buf[5:1 + ln]
                c.buf = c.buf[1 + ln:]
                if typ == b"E":
                    first_error = "login refused: " + error_text(payload)
                elif typ == b"R":
                    code = struct.unpack("!I", payload[:4])[0]
                    if code != 0:
                        first_error = f"the pooler asked for authentication (code {code}): use auth_type = trust"
                elif typ == b"Z":
                    sel.unregister(s)
                    c.state = "idle"
                    c.buf = b""
                    done.append(s)
                    in_flight -= 1
                    break
            if first_error:
                break
        if first_error:
            break
    sel.close()
    return done, first_error


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--jcmd", default="")
    p.add_argument("--user", default="app")
    p.add_argument("--db", default="app")
    p.add_argument("--settle", type=float, default=4.0)  # > pgloom's idle_thread_timeout (2 s)
    a = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    rec = {"target": a.target, "n": a.n, "logged_in": 0}
    if soft < a.n + 50:
        rec.update(status="fail", reason=f"open-file limit {soft} is too low for {a.n} clients")
        print(json.dumps(rec))
        return 0

    # One login first: the pool, its server connection and the login path exist in the baseline.
    warm, err = login_all(a.host, a.port, 1, a.user, a.db, time.monotonic() + 30)
    for s in warm:
        s.close()
    if err:
        rec.update(status="fail", reason=err)
        print(json.dumps(rec))
        return 0
    time.sleep(1.0)
    if a.jcmd:
        rec["heap_before_kb"] = heap_used_kb(a.jcmd, a.pid)
        time.sleep(0.5)
    rec["rss_before_kb"] = rss_kb(a.pid)

    t0 = time.monotonic()
    socks, err = login_all(a.host, a.port, a.n, a.user, a.db, t0 + 120 + a.n / 50)
    rec["login_s"] = time.monotonic() - t0
    rec["logged_in"] = len(socks)
    if err:
        rec.update(status="fail", reason=err)
    time.sleep(a.settle)
    rec["rss_loaded_kb"] = rss_kb(a.pid)
    if a.jcmd:
        rec["heap_loaded_kb"] = heap_used_kb(a.jcmd, a.pid)
        time.sleep(0.5)
        rec["rss_after_gc_kb"] = rss_kb(a.pid)
    # Still holding them: check that the pooler kept every one (none closed by the other side).
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = sum(1 for _ in sel.select(timeout=0))
    sel.close()
    if closed and not err:
        rec.update(status="fail", reason=f"{closed} of the idle clients got data or were closed by the pooler")
    n = len(socks)
    if n:
        rec["rss_bytes_per_client"] = (rec["rss_loaded_kb"] - rec["rss_before_kb"]) * 1024 / n
        if a.jcmd and rec.get("heap_before_kb") is not None and rec.get("heap_loaded_kb") is not None:
            rec["heap_bytes_per_client"] = (rec["heap_loaded_kb"] - rec["heap_before_kb"]) * 1024 / n
            rec["rss_after_gc_bytes_per_client"] = (rec["rss_after_gc_kb"] - rec["rss_before_kb"]) * 1024 / n
    rec.setdefault("status", "ok")
    for s in socks:
        s.close()
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
