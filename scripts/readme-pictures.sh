#!/usr/bin/env bash
# Renders the README's pictures (docs/live-page.png, docs/report.png) in headless Chromium:
# the live page of a service running a small mixed workload, and the HTML report of
# samples/synth-small.jrsnap. Needs chromium (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product jobrunner >/dev/null
swift build --product jobshim >/dev/null
swift build --product jobstats >/dev/null
bin=$(swift build --show-bin-path)
state=$(mktemp -d)
# Jobs outlive the manager: cancel what still runs or waits before it stops.
cleanup() {
    "$bin/jobrunner" ls --url "$url" --status running --status pending --json 2>/dev/null \
        | python3 -c 'import json, sys; print(" ".join(str(j["id"]) for j in json.load(sys.stdin)))' \
        | xargs -r "$bin/jobrunner" cancel --url "$url" >/dev/null 2>&1 || true
    sleep 1
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$state"
}
url=""
trap cleanup EXIT
"$bin/jobrunner" serve --config config.json --set "stateDirectory=$state" --set listen.port=0 \
    --set "runDirectory=$state/run" --set log.level=error --set jobs.retryDelaySeconds=0.2 \
    --set 'queues={"nightly": {"maxConcurrent": 1}}' &
pid=$!
for _ in $(seq 200); do [ -s "$state/jobrunner.addr" ] && break; sleep 0.05; done
url="http://$(cat "$state/jobrunner.addr")"
submit() { "$bin/jobrunner" submit --url "$url" "$@" >/dev/null; }
for i in $(seq 12); do submit --name healthcheck -- /bin/true; done
for i in 1 2 3; do submit --name sync-crm --retries 1 -- /bin/sh -c 'echo "syncing"; echo "error: upstream 503 from crm.example" >&2; exit 75'; done
submit --name report-finance --retries 0 -- /bin/sh -c 'kill -SEGV $$'
submit --name etl-load --timeout 1 --retries 0 -- /bin/sleep 5
submit --name index-build -- /usr/bin/python3 -c 'import time
x = []
for i in range(600):
    x.append(bytearray(1 << 20)); time.sleep(0.05)'
submit --name video-encode -- /bin/sh -c 'while :; do :; done'
submit --name backup-db --queue nightly -- /bin/sleep 120
submit --name backup-files --queue nightly -- /bin/sleep 120
submit --name backup-logs --queue nightly -- /bin/sleep 120
sleep 20
python3 scripts/render-page.py "$url/" docs/live-page.png --wait 6 --width 1400 --height 640 \
    >/dev/null
"$bin/jobstats" report samples/synth-small.jrsnap --tz UTC -o "$state/report.html" 2>/dev/null
python3 scripts/render-page.py "file://$state/report.html" docs/report.png --wait 1 --width 1100 --height 1250 \
    --expect "What stands out" >/dev/null
echo "wrote docs/live-page.png and docs/report.png"
