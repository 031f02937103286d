#!/usr/bin/env python3
"""Records samples/recorded-service.jrsnap from real runs of the service.

Runs the release `jobrunner` on a temporary state directory, launches a realistic mix of
jobs for about MINUTES minutes (successes, failures that retries rescue or not, crashes,
timeouts, a memory leak, I/O bursts, connection bursts, stalls), stops it (SIGTERM: final
snapshot) and copies the snapshot to samples/. Then run scripts/update-samples.sh to
record its expected `jobstats analyze` output.

  scripts/record-sample.py [--minutes 3]
"""
import argparse, http.client, json, os, random, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Bursts and leaks show against a run's own average, over the 10 s rolling window: the
# jobs that carry them run for tens of seconds, as real ones do.
LEAK = "import time\nl = []\nfor _ in range(100):\n    l.append(bytearray(2 * 1024 * 1024))\n    time.sleep(0.1)"
IOBURST = ("import os, time\ntime.sleep(25)\nfd = os.open('/dev/null', os.O_WRONLY)\n"
           "for _ in range(40000):\n    os.write(fd, b'x')\ntime.sleep(25)")
STORM = ("import socket, time, sys\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(200)\n"
         "time.sleep(20)\nc = [socket.create_connection(s.getsockname()) for _ in range(60)]\n"
         "a = [s.accept()[0] for _ in range(60)]\ntime.sleep(20)\nsys.exit(1)")


def mix(rng, flaky_dir):
    """One job spec, drawn from a realistic mix."""
    r = rng.random()
    if r < 0.25:
        return {"name": "etl-hourly", "command": ["/bin/sh", "-c", f"sleep {rng.uniform(0.1, 1.5):.2f}; exit {3 if rng.random() < 0.1 else 0}"]}
    if r < 0.35:
        return {"name": "report-sales", "command": ["/bin/sh", "-c", f"sleep {rng.uniform(0.2, 2):.2f}"], "retries": 0}
    if r < 0.45:
        marker = os.path.join(flaky_dir, str(rng.random()))
        # Fails the first time (exit 75), succeeds on its retry: the retry rescues it.
        return {"name": "sync-crm", "command": ["/bin/sh", "-c", f"if [ -e {marker} ]; then exit 0; fi; touch {marker}; exit 75"]}
    if r < 0.50:
        return {"name": "report-finance", "command": ["/bin/sh", "-c", "sleep 0.3; kill -SEGV $$"], "retries": 0}
    if r < 0.55:
        return {"name": "feed-gameday", "command": ["sleep", "5"], "timeoutSeconds": 1, "retries": 0}
    if r < 0.58:
        return {"name": "feed-odds", "command": ["python3", "-c", STORM], "retries": 0}
    if r < 0.63:
        return {"name": "index-build", "command": ["python3", "-c", LEAK], "retries": 0}
    if r < 0.66:
        return {"name": "backup-db", "command": ["python3", "-c", IOBURST], "retries": 0}
    if r < 0.72:
        return {"name": "sync-ledger", "command": ["sleep", "65"], "retries": 0}
    return {"name": "healthcheck", "command": ["/bin/true"], "retries": 0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=3)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    binary = os.path.join(subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True).strip(), "jobrunner")
    state = tempfile.mkdtemp(prefix="jobrunner-sample-")
    flaky = tempfile.mkdtemp(prefix="jobrunner-flaky-")
    proc = subprocess.Popen([binary, "serve", "--config", os.path.join(ROOT, "config.json"), "--set", f"stateDirectory={state}",
                             "--set", "listen.port=0", "--set", "instance=sample-host", "--set", "log.level=warning",
                             "--set", "jobs.retryDelaySeconds=0.5"])
    addr = os.path.join(state, "jobrunner.addr")
    while not os.path.exists(addr):
        time.sleep(0.05)
    host, port = open(addr).read().strip().rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    rng = random.Random(a.seed)
    end = time.time() + a.minutes * 60
    launched = 0
    while time.time() < end - 70:  # leave time for the last jobs (stalls last 65 s) to end
        conn.request("POST", "/v1/jobs", json.dumps(mix(rng, flaky)), {"Content-Type": "application/json"})
        reply = conn.getresponse(); reply.read()
        if reply.status != 201:
            sys.exit(f"launch failed: {reply.status}")
        launched += 1
        time.sleep(rng.uniform(0.05, 0.4))
    while time.time() < end:
        conn.request("GET", "/v1/health"); h = json.loads(conn.getresponse().read())
        if h["runningJobs"] == 0 and h["pendingJobs"] == 0:
            break
        time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    snaps = sorted(f for f in os.listdir(os.path.join(state, "snapshots")) if f.endswith(".jrsnap"))
    shutil.copy(os.path.join(state, "snapshots", snaps[-1]), os.path.join(ROOT, "samples", "recorded-service.jrsnap"))
    print(f"launched {launched} jobs; wrote samples/recorded-service.jrsnap", file=sys.stderr)
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(flaky, ignore_errors=True)


if __name__ == "__main__":
    main()
