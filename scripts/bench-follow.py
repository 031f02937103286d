#!/usr/bin/env python3
"""Manager CPU while followers stream one job's output (GET /v1/jobs/{id}/logs?follow=true).

  scripts/bench-follow.py [--followers 100] [--mbps 10] [--seconds 10] [--runs 3] [--binary PATH]

One job writes MBPS MB/s to stdout for SECONDS; FOLLOWERS clients follow it from the start to
its end. Prints, per run: the manager's CPU (utime+stime of /proc/PID/stat over the job's
life) as % of one core, the same with no follower, and whether every follower received every
byte. Medians of RUNS. Release build; the service runs on 127.0.0.1 with a temporary state.
"""
import argparse, http.client, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

from benchlib import ROOT, cpu_seconds, start


def request(host, port, method, path, body=None):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, data


def one_run(binary, followers, mbps, seconds):
    state = tempfile.mkdtemp(prefix="jobrunner-follow-")
    proc, host, port = start(binary, state, "jobs.maxLogBytes=null")
    try:
        chunk = mbps * 1_000_000 // 100
        script = (f"import sys, time\nb = b'x' * {chunk - 1} + b'\\n'\nt = time.time()\n"
                  f"for i in range({int(seconds * 100)}):\n    sys.stdout.buffer.write(b); sys.stdout.flush()\n"
                  f"    time.sleep(max(0, t + (i + 1) / 100 - time.time()))\n")
        expected = chunk * int(seconds * 100)
        before = cpu_seconds(proc.pid)
        started = time.time()
        status, data = request(host, port, "POST", "/v1/jobs", {"name": "talker", "command": ["python3", "-c", script]})
        job = json.loads(data)["id"]
        received = [0] * followers

        def follow(i):
            conn = http.client.HTTPConnection(host, port, timeout=120)
            conn.request("GET", f"/v1/jobs/{job}/logs?follow=true")
            reply = conn.getresponse()
            while True:
                part = reply.read(1 << 16)
                if not part:
                    break
                received[i] += len(part)
            conn.close()

        threads = [threading.Thread(target=follow, args=(i,)) for i in range(followers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        while json.loads(request(host, port, "GET", f"/v1/jobs/{job}")[1])["status"] in ("pending", "running"):
            time.sleep(0.05)
        elapsed = time.time() - started
        cpu = cpu_seconds(proc.pid) - before
        complete = followers == 0 or all(r == expected for r in received)
        return 100 * cpu / elapsed, complete, elapsed
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--followers", type=int, default=100)
    p.add_argument("--mbps", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build/release/jobrunner"))
    a = p.parse_args()
    rows = []
    for followers in (0, a.followers):
        figures = []
        for run in range(a.runs):
            cpu, complete, elapsed = one_run(a.binary, followers, a.mbps, a.seconds)
            print(f"{followers} followers, run {run + 1}: manager CPU {cpu:.1f} % of a core over {elapsed:.1f} s, "
                  f"every byte to every follower: {complete}", flush=True)
            figures.append(cpu)
        rows.append((followers, statistics.median(figures)))
    print(f"| followers of one job writing {a.mbps} MB/s for {a.seconds:g} s | manager CPU, % of a core (median of {a.runs}) |")
    print("|---|---|")
    for followers, cpu in rows:
        print(f"| {followers} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
