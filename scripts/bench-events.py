#!/usr/bin/env python3
"""Resident memory and CPU of the manager with many GET /v1/events clients.

  scripts/bench-events.py [--clients 1000] [--jobs 200] [--runs 3] [--binary PATH]

Per run: the manager's resident memory (VmRSS) before any client, with CLIENTS idle event
clients connected (streams open, nothing happening), then the manager's CPU and the time
until every client has received every change while JOBS jobs (/bin/true) are submitted and
run (each announces created, started, ended: 3 x JOBS events to each client). Medians of
RUNS. Release build; the service runs on 127.0.0.1 with a temporary state directory.
"""
import argparse, json, os, resource, selectors, shutil, socket, statistics, subprocess, sys, tempfile, time
import http.client

from benchlib import ROOT, cpu_seconds, rss_mib, start


def submit(host, port, n):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for i in range(n):
        conn.request("POST", "/v1/jobs", json.dumps({"name": f"j{i % 10}", "command": ["/bin/true"]}),
                     {"Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        if reply.status != 201:
            sys.exit(f"submit failed: {reply.status}")
    conn.close()


def one_run(binary, clients, jobs):
    state = tempfile.mkdtemp(prefix="jobrunner-events-")
    proc, host, port = start(binary, state)
    socks = []
    try:
        time.sleep(1)
        before = rss_mib(proc.pid)
        sel = selectors.DefaultSelector()
        counts = {}
        for _ in range(clients):
            s = socket.create_connection((host, port))
            s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
            counts[s] = 0
        # Every stream open (its headers and first comment read).
        deadline = time.time() + 30
        opened = set()
        while len(opened) < clients and time.time() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(65536)
                if data:
                    opened.add(key.fileobj)
        if len(opened) < clients:
            sys.exit(f"only {len(opened)} of {clients} streams opened")
        time.sleep(2)
        idle = rss_mib(proc.pid)
        cpu_before = cpu_seconds(proc.pid)
        started = time.time()
        submit(host, port, jobs)
        expected = 3 * jobs
        buffers = {s: b"" for s in socks}
        deadline = time.time() + 120
        while min(counts.values()) < expected and time.time() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                data = s.recv(1 << 20)
                if not data:
                    continue
                blocks = (buffers[s] + data).split(b"\n\n")
                buffers[s] = blocks.pop()  # the incomplete rest
                counts[s] += sum(1 for b in blocks if b.startswith(b"id: ") or b"\nid: " in b)
        delivered = time.time() - started
        cpu = cpu_seconds(proc.pid) - cpu_before
        busy = rss_mib(proc.pid)
        complete = min(counts.values()) >= expected
        return before, idle, busy, cpu, delivered, complete
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build/release/jobrunner"))
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.clients + 256)), hard))
    rows = []
    for run in range(a.runs):
        before, idle, busy, cpu, delivered, complete = one_run(a.binary, a.clients, a.jobs)
        print(f"run {run + 1}: RSS {before:.1f} MiB without clients, {idle:.1f} MiB with {a.clients} idle, "
              f"{busy:.1f} MiB after {a.jobs} jobs; manager CPU {cpu:.2f} s; every change to every client "
              f"in {delivered:.2f} s: {complete}", flush=True)
        rows.append((before, idle, busy, cpu, delivered))
    med = [statistics.median(c) for c in zip(*rows)]
    print(f"| {a.clients} event clients (median of {a.runs}) | value |")
    print("|---|---|")
    print(f"| manager RSS, no client | {med[0]:.1f} MiB |")
    print(f"| manager RSS, {a.clients} idle clients | {med[1]:.1f} MiB (+{(med[1] - med[0]) * 1024 / a.clients:.1f} KiB per client) |")
    print(f"| {a.jobs} jobs announced to all ({3 * a.jobs} changes each): manager CPU | {med[3]:.2f} s |")
    print(f"| ... until every client had every change | {med[4]:.2f} s |")
    print(f"| manager RSS after | {med[2]:.1f} MiB |")


if __name__ == "__main__":
    main()
