#!/usr/bin/env bash
# Regenerates the synthetic sample and the expected `jobstats analyze` output of every
# snapshot in samples/. Review the diff before committing: a changed expectation is a
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
