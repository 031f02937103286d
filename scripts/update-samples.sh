#!/usr/bin/env bash
# Regenerates the synthetic sample, the expected `jobstats analyze` output of every
# snapshot in samples/ and the HTML report of the recorded service history. Review the diff before committing: a changed expectation is a
# changed answer.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product jobstats
bin=$(swift build --show-bin-path)/jobstats
export SOURCE_DATE_EPOCH=1767571200
"$bin" synth --jobs 5000 --days 30 --seed 1 -o samples/synth-small.jrsnap
for snapshot in samples/*.jrsnap; do
    base=${snapshot%.jrsnap}
    "$bin" analyze "$snapshot" --tz UTC --format json > "$base.analyze.json"
    "$bin" analyze "$snapshot" --tz UTC --format csv > "$base.analyze.csv"
    echo "wrote $base.analyze.json and $base.analyze.csv"
done
# The HTML report of the recorded service history (README shows its picture).
"$bin" report samples/recorded-service.jrsnap --tz UTC -o samples/recorded-service.report.html
