#!/usr/bin/env bash
# Fleet scale (issue 11, part 8): HOSTS snapshots of JOBS jobs each (one per host, as a
# fleet's managers write them), analysed in one `jobstats analyze` run, release build:
# whole-process time and peak resident memory, medians of RUNS runs. For comparison, in
# the same run: the memory of holding the same jobs in one table (`jobstats jobs` over the
# same inputs, which merges them before filtering to none), what analysis needed before
# it read inputs one at a time.
#   scripts/bench-fleet.sh [HOSTS] [JOBS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-100}
jobs=${2:-100000}
runs=${3:-3}
make -s deps
swift build -c release --product jobstats >/dev/null
bin=$(swift build -c release --show-bin-path)/jobstats
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
seq 1 "$hosts" | xargs -P "$(nproc)" -I{} "$bin" synth --jobs "$jobs" --days 90 --seed {} --instance host-{} \
    -o "$dir/host-{}.jrsnap"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

wall=(); rss=(); whole=()
for _ in $(seq "$runs"); do
    t=$( { /usr/bin/time -f '%e %M' "$bin" analyze "$dir"/host-*.jrsnap --tz UTC --format json >/dev/null; } 2>&1 | tail -1)
    wall+=("${t% *}")
    rss+=("${t#* }")
done
t=$( { /usr/bin/time -f '%M' "$bin" jobs "$dir"/host-*.jrsnap --name 'no such job' --format csv >/dev/null; } 2>&1 | tail -1)
whole+=("$t")
printf '| figure (%d snapshots of %d jobs, median of %d) | value |\n|---|---|\n' "$hosts" "$jobs" "$runs"
printf '| jobstats analyze, all patterns, whole process | %.2f s |\n' "$(printf '%s\n' "${wall[@]}" | median)"
printf '| jobstats analyze, peak resident memory | %.0f MB |\n' "$(echo "$(printf '%s\n' "${rss[@]}" | median) / 1024" | bc -l)"
printf '| the same jobs in one table (jobstats jobs), peak resident memory | %.0f MB |\n' "$(echo "${whole[0]} / 1024" | bc -l)"
