#!/usr/bin/env python3
"""Whole-process figures of the jobrunner service (release build), medians of RUNS runs.

  scripts/bench-service.py [--runs 5] [--jobs 1000] [--clients 8] [--sleepers 500,5000] [--seconds 20]

- launch throughput: JOBS `/bin/true` jobs through POST /v1/jobs from CLIENTS concurrent
  keep-alive clients; jobs/s = JOBS / time until the last POST was answered (each answer
  means the job's record is durable and the job was started). Also the time until all ended.
- launch with wrk (Debian package `wrk`, a C client that leaves the cores to the service):
  POST /v1/jobs of `/bin/true` from 8 connections for 2 s (about 1,500 jobs), jobs/s.
- monitoring cost: SLEEPERS `sleep` jobs running (each count in the comma-separated list,
  in a fresh server); the manager's own CPU time (utime+stime of
  its /proc/PID/stat) over SECONDS, per monitored job per second, in microseconds; the same
  with no job running is printed as the idle floor.
Stdlib only; the service runs on 127.0.0.1 with a temporary state directory.
"""
import argparse, http.client, json, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

from benchlib import ROOT, cpu_seconds, start as start_server


def start(binary, state):
    return start_server(binary, state, run_directory=run_directory(state))


def run_directory(state):
    """The run files on tmpfs (as by default), in a directory the script removes."""
    return "/dev/shm/jobrunner-bench-" + os.path.basename(state)


def launch_many(host, port, count, clients, spec):
    per = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    ids, errors = [], []
    lock = threading.Lock()
    body = json.dumps(spec)

    def worker(n):
        conn = http.client.HTTPConnection(host, port)
        for _ in range(n):
            conn.request("POST", "/v1/jobs", body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
            with lock:
                if reply.status == 201:
                    ids.append(json.loads(data)["id"])
                else:
                    errors.append(reply.status)
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in per]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return time.perf_counter() - t0, ids, errors


def count(host, port, status):
    conn = http.client.HTTPConnection(host, port)
    total, cursor = 0, None
    while True:
        path = f"/v1/jobs?status={status}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", path)
        page = json.loads(conn.getresponse().read())
        total += len(page["jobs"])
        cursor = page.get("nextCursor")
        if not cursor:
            return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--sleepers", default="500,5000", help="comma-separated counts of sleeping jobs")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--binary", default=None)
    p.add_argument("--state-parent", default=None, help="where the temporary state directories go (default: $TMPDIR)")
    a = p.parse_args()
    binary = a.binary or os.path.join(
        subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True).strip(),
        "jobrunner")
    sleeper_counts = [int(x) for x in str(a.sleepers).split(",")]
    rates, ends, idles, wrk_rates = [], [], [], []
    lua = os.path.join(tempfile.gettempdir(), "jobrunner-post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = \'{"name":"true","command":["/bin/true"]}\'\n'
                'wrk.headers["Content-Type"] = "application/json"\n')
    costs = {n: [] for n in sleeper_counts}
    for run in range(a.runs):
        state = tempfile.mkdtemp(prefix="jobrunner-bench-", dir=a.state_parent)
        proc, host, port = start(binary, state)
        try:
            elapsed, ids, errors = launch_many(host, port, a.jobs, a.clients, {"name": "true", "command": ["/bin/true"]})
            if errors:
                sys.exit(f"{len(errors)} launches failed: {errors[:5]}")
            rates.append(a.jobs / elapsed)
            t0 = time.perf_counter()
            while count(host, port, "succeeded") < a.jobs:
                time.sleep(0.02)
            ends.append(elapsed + time.perf_counter() - t0)

            c0 = cpu_seconds(proc.pid); time.sleep(a.seconds / 2); idle = cpu_seconds(proc.pid) - c0
            idles.append(idle * 1e6 / (a.seconds / 2))
            if shutil.which("wrk"):
                out = subprocess.run(["wrk", "-t2", "-c8", "-d2s", "-s", lua, f"http://{host}:{port}/v1/jobs"],
                                     capture_output=True, text=True).stdout
                for line in out.splitlines():
                    if line.startswith("Requests/sec:"):
                        wrk_rates.append(float(line.split()[1]))
                time.sleep(3)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(run_directory(state), ignore_errors=True)
        for n in sleeper_counts:
            state = tempfile.mkdtemp(prefix="jobrunner-bench-", dir=a.state_parent)
            proc, host, port = start(binary, state)
            try:
                launch_many(host, port, n, a.clients, {"name": "sleeper", "command": ["sleep", "3600"]})
                time.sleep(3 + n / 1000)  # every sleeper sampled at least once
                c0 = cpu_seconds(proc.pid)
                time.sleep(a.seconds)
                used = cpu_seconds(proc.pid) - c0
                costs[n].append(used * 1e6 / (n * a.seconds))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
                subprocess.run(["pkill", "-f", f"jobshim {state}"], check=False)
                shutil.rmtree(state, ignore_errors=True)
                shutil.rmtree(run_directory(state), ignore_errors=True)
            shutil.rmtree(run_directory(state), ignore_errors=True)
        print(f"run {run + 1}: launch {rates[-1]:.0f} jobs/s, all ended after {ends[-1]:.2f} s, "
              + ", ".join(f"monitor {n}: {costs[n][-1]:.1f} us/job/s" for n in sleeper_counts)
              + f", idle {idles[-1]:.0f} us/s", file=sys.stderr)
    print(f"| figure (median of {a.runs}) | value |\n|---|---|")
    print(f"| launch: {a.jobs} `/bin/true` jobs via POST /v1/jobs, {a.clients} clients | {statistics.median(rates):.0f} jobs/s |")
    print(f"| launch: time until all {a.jobs} ended | {statistics.median(ends):.2f} s |")
    if wrk_rates:
        print(f"| launch: POST /v1/jobs `/bin/true` with wrk -t2 -c8 -d2s | {statistics.median(wrk_rates):.0f} jobs/s |")
    for n in sleeper_counts:
        print(f"| monitor: manager CPU per running job per second, {n} sleeping jobs | {statistics.median(costs[n]):.1f} us |")
    print(f"| manager CPU with no job running | {statistics.median(idles):.0f} us/s |")


if __name__ == "__main__":
    main()
