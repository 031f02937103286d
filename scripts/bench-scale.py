#!/usr/bin/env python3
"""Whole-process figures of the jobrunner service with a large history (release build).

  scripts/bench-scale.py [--history 1000000] [--runs 5] [--requests 2000] [--wrk-seconds 10]

The history is a `jobstats synth` snapshot placed in a fresh state directory. Measured:
- start-up: process start to a healthy /v1/health (snapshot load + recovery);
- recovery: kill -9 of the server under `jobrunner start` to a healthy new server;
- memory: the server's VmRSS with the history loaded, after list and stats calls;
- GET /v1/jobs?limit=100 at random pages (cursor), one keep-alive client: p50, p99;
  the same with a 1,000-job history, to show the cost does not grow with the history;
- GET /v1/jobs/{id} while snapshots of the whole history are written (a job is launched
  every 0.5 s so that each snapshot has something new): p99 of the requests sent while
  a snapshot was being written (windows from the audit log), and of all requests;
- snapshot write time (audit log), GET /v1/stats first (computed) and second (cached);
- GET /v1/health with wrk -t2 -c50 (Debian package `wrk`), requests/s.
Medians over RUNS runs where a figure is measured per run. Stdlib only.
"""
import argparse, calendar, http.client, json, os, random, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bin_path():
    return subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True).strip()


def make_state(binary_dir, history, parent, cache):
    state = tempfile.mkdtemp(prefix="jobrunner-scale-", dir=parent)
    os.makedirs(os.path.join(state, "snapshots"))
    if history > 0:
        if not os.path.exists(cache):
            subprocess.run([os.path.join(binary_dir, "jobstats"), "synth", "--jobs", str(history), "-o", cache],
                           check=True, stdout=subprocess.DEVNULL)
        shutil.copy(cache, os.path.join(state, "snapshots", "snapshot-00000001.jrsnap"))
    return state


def run_directory(state):
    """The run files on tmpfs (as by default), in a directory the script removes."""
    return "/dev/shm/jobrunner-bench-" + os.path.basename(state)


def wait_address(state, timeout=60):
    path = os.path.join(state, "jobrunner.addr")
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            text = open(path).read()
            if text.endswith("\n"):
                host, port = text.strip().rsplit(":", 1)
                return host, int(port)
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    sys.exit("jobrunner did not start")


def healthy(host, port):
    try:
        conn = http.client.HTTPConnection(host, port, timeout=1)
        conn.request("GET", "/v1/health")
        reply = conn.getresponse()
        ok = reply.status == 200 and json.loads(reply.read()).get("status") == "ok"
        conn.close()
        return ok
    except OSError:
        return False


def serve(binary_dir, state, *settings):
    args = [os.path.join(binary_dir, "jobrunner"), "serve", "--config", os.path.join(ROOT, "config.json"),
            "--set", f"stateDirectory={state}", "--set", "listen.port=0", "--set", "log.level=error",
            "--set", f"runDirectory={run_directory(state)}"]
    for s in settings:
        args += ["--set", s]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_gets(host, port, paths):
    conn = http.client.HTTPConnection(host, port)
    out = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            sys.exit(f"GET {path}: {reply.status}")
        out.append((time.time(), time.perf_counter() - t0))
    conn.close()
    return out


def cursor(after):
    import base64
    return base64.b64encode(f"after:{after}".encode()).decode().rstrip("=")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--history", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--state-parent", default=None)
    a = p.parse_args()
    bdir = bin_path()
    cache = os.path.join(tempfile.gettempdir(), f"jobrunner-synth-{a.history}.jrsnap")
    starts, recoveries, rss, rss_after = [], [], [], []
    list_p50, list_p99, small_p50, small_p99 = [], [], [], []
    get_snap_p99, get_all_p99, snap_ms, stats_first, stats_cached, wrk_rates = [], [], [], [], [], []
    for run in range(a.runs):
        # Start-up, memory, list latency, stats.
        state = make_state(bdir, a.history, a.state_parent, cache)
        t0 = time.perf_counter()
        proc = serve(bdir, state, "snapshot.intervalSeconds=3600")
        host, port = wait_address(state)
        while not healthy(host, port):
            time.sleep(0.002)
        starts.append(time.perf_counter() - t0)
        rss.append(rss_mb(proc.pid))
        pages = [f"/v1/jobs?limit=100&cursor={cursor(random.randrange(0, max(1, a.history - 100)))}"
                 for _ in range(a.requests)]
        lat = [d for _, d in timed_gets(host, port, pages)]
        list_p50.append(percentile(lat, 50) * 1e3); list_p99.append(percentile(lat, 99) * 1e3)
        conn = http.client.HTTPConnection(host, port)
        for target in (stats_first, stats_cached):
            t = time.perf_counter(); conn.request("GET", "/v1/stats"); conn.getresponse().read()
            target.append(time.perf_counter() - t)
        conn.close()
        rss_after.append(rss_mb(proc.pid))
        if shutil.which("wrk"):
            out = subprocess.run(["wrk", "-t2", "-c50", f"-d{a.wrk_seconds}s", f"http://{host}:{port}/v1/health"],
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                if line.startswith("Requests/sec:"):
                    wrk_rates.append(float(line.split()[1]))
        stop(proc)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(run_directory(state), ignore_errors=True)

        # The same list calls on a small history.
        state = make_state(bdir, 0, a.state_parent, cache)
        proc = serve(bdir, state)
        host, port = wait_address(state)
        conn = http.client.HTTPConnection(host, port)
        for i in range(1000):
            conn.request("POST", "/v1/jobs", json.dumps({"name": "t", "command": ["/bin/true"]}))
            conn.getresponse().read()
        conn.close()
        pages = [f"/v1/jobs?limit=100&cursor={cursor(random.randrange(0, 900))}" for _ in range(a.requests)]
        lat = [d for _, d in timed_gets(host, port, pages)]
        small_p50.append(percentile(lat, 50) * 1e3); small_p99.append(percentile(lat, 99) * 1e3)
        stop(proc)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(run_directory(state), ignore_errors=True)

        # GET /v1/jobs/{id} while snapshots are written.
        state = make_state(bdir, a.history, a.state_parent, cache)
        proc = serve(bdir, state, "snapshot.intervalSeconds=1")
        host, port = wait_address(state)
        launcher = http.client.HTTPConnection(host, port)
        samples = []
        end = time.perf_counter() + 12
        while time.perf_counter() < end:
            launcher.request("POST", "/v1/jobs", json.dumps({"name": "tick", "command": ["/bin/true"]}))
            launcher.getresponse().read()
            ids = [random.randrange(1, a.history + 1) for _ in range(50)]
            samples += timed_gets(host, port, [f"/v1/jobs/{i}" for i in ids])
        launcher.close()
        stop(proc)
        windows = []
        for line in open(os.path.join(state, "audit.jsonl")):
            event = json.loads(line)
            if event.get("event") == "snapshotWritten" and event.get("jobs", 0) >= a.history:
                t = event["time"]
                ended = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + t[20:26])
                windows.append((ended - event["durationMs"] / 1e3, ended))
                snap_ms.append(event["durationMs"])
        during = [d for (at, d) in samples if any(s <= at <= e for s, e in windows)]
        get_all_p99.append(percentile([d for _, d in samples], 99) * 1e3)
        if during:
            get_snap_p99.append(percentile(during, 99) * 1e3)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(run_directory(state), ignore_errors=True)

        # kill -9 to healthy under the watchdog.
        state = make_state(bdir, a.history, a.state_parent, cache)
        watchdog = subprocess.Popen(
            [os.path.join(bdir, "jobrunner"), "start", "--config", os.path.join(ROOT, "config.json"),
             "--set", f"stateDirectory={state}", "--set", "listen.port=0", "--set", "log.level=error",
             "--set", f"runDirectory={run_directory(state)}", "--set", "watchdog.intervalSeconds=0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host, port = wait_address(state)
        while not healthy(host, port):
            time.sleep(0.01)
        pid = int(open(os.path.join(state, "jobrunner.pid")).read())
        os.remove(os.path.join(state, "jobrunner.addr"))
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        host, port = wait_address(state)
        while not healthy(host, port):
            time.sleep(0.002)
        recoveries.append(time.perf_counter() - t0)
        stop(watchdog)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(run_directory(state), ignore_errors=True)
        print(f"run {run + 1}: start {starts[-1]:.2f} s, recovery {recoveries[-1]:.2f} s, RSS {rss[-1]:.0f} MB, "
              f"list p99 {list_p99[-1]:.2f} ms (small history {small_p99[-1]:.2f} ms), "
              f"get p99 during snapshot {get_snap_p99[-1] if get_snap_p99 else float('nan'):.2f} ms, "
              f"stats {stats_first[-1]:.3f} s / cached {stats_cached[-1] * 1e3:.1f} ms", file=sys.stderr)

    m = statistics.median
    h = f"{a.history:,}"
    print(f"| figure ({h} jobs in history; median of {a.runs} runs) | value |\n|---|---|")
    print(f"| start-up to healthy (snapshot load + recovery) | {m(starts):.2f} s |")
    print(f"| recovery: kill -9 to healthy under `jobrunner start` | {m(recoveries):.2f} s |")
    print(f"| memory: resident size after start-up / after list and stats | {m(rss):.0f} / {m(rss_after):.0f} MB |")
    print(f"| GET /v1/jobs?limit=100, random page: p50 / p99 | {m(list_p50):.2f} / {m(list_p99):.2f} ms |")
    print(f"| the same with 1,000 jobs in history: p50 / p99 | {m(small_p50):.2f} / {m(small_p99):.2f} ms |")
    if get_snap_p99:
        print(f"| GET /v1/jobs/{{id}} p99 while a snapshot is written / overall | {m(get_snap_p99):.2f} / {m(get_all_p99):.2f} ms |")
    if snap_ms:
        print(f"| snapshot write in the service (audit durationMs) | {m(snap_ms):.0f} ms |")
    print(f"| GET /v1/stats: computed / cached | {m(stats_first):.3f} s / {m(stats_cached) * 1e3:.1f} ms |")
    if wrk_rates:
        print(f"| GET /v1/health, wrk -t2 -c50 -d{a.wrk_seconds}s | {m(wrk_rates):,.0f} req/s |")
    else:
        print("| GET /v1/health, wrk | wrk not installed (apt-get install wrk) |")


if __name__ == "__main__":
    main()
