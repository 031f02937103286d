"""What the service benchmarks share: starting a release server on a temporary state
directory, and the kernel's figures of its process."""
import os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(binary, state, *settings, run_directory=None):
    """`jobrunner serve` on config.json, an ephemeral port and STATE, with SETTINGS
    (`key=value`) on top; returns (process, host, port) once it listens."""
    os.makedirs(state, exist_ok=True)
    arguments = [binary, "serve", "--config", os.path.join(ROOT, "config.json"), "--set", f"stateDirectory={state}",
                 "--set", "listen.port=0", "--set", "log.level=error", "--set", "jobs.defaultRetries=0",
                 "--set", f"runDirectory={run_directory or os.path.join(state, 'run')}"]
    for setting in settings:
        arguments += ["--set", setting]
    proc = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = os.path.join(state, "jobrunner.addr")
    for _ in range(400):
        if os.path.exists(addr):
            host, port = open(addr).read().strip().rsplit(":", 1)
            return proc, host, int(port)
        time.sleep(0.025)
    proc.kill()
    sys.exit("jobrunner did not start")


def cpu_seconds(pid):
    """utime + stime of /proc/PID/stat, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    """VmRSS of /proc/PID/status, in MiB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
