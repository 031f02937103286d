#!/usr/bin/env bash
# Offline figures of issue 2 on a 1,000,000-job synthetic history, release build:
# snapshot size per job, write and load time, and `jobstats analyze` whole-process time
# (all patterns), each the median of RUNS runs. Optional: the size of the same jobs as
# zstd Parquet written by DuckDB (needs `pip install duckdb`). Histories from elsewhere:
# the same jobs as CSV and JSON Lines loaded by jobstats (load phase, MB/s, and the whole
# conversion to a snapshot), and the CSV read into a table by DuckDB in the same run.
#   scripts/bench-offline.sh [JOBS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-1000000}
runs=${2:-5}
make -s deps
swift build -c release --product jobstats >/dev/null
bin=$(swift build -c release --show-bin-path)/jobstats
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" synth --jobs "$jobs" --days 90 --seed 1 -o "$dir/h.jrsnap"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

write=(); load=(); analyze=(); csvload=(); csvtotal=(); jsonlload=(); duck=()
"$bin" convert "$dir/h.jrsnap" -o "$dir/h.csv"
"$bin" convert "$dir/h.jrsnap" -o "$dir/h.jsonl"
for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    t=$(JOBSTATS_TIMING=1 "$bin" convert "$dir/h.csv" -o "$dir/from-csv.jrsnap" 2>&1)
    e=$(date +%s.%N)
    csvload+=("$(echo "$t" | awk '/timing: load/ { print $3 }')")
    csvtotal+=("$(echo "$e - $s" | bc -l)")
    t=$(JOBSTATS_TIMING=1 "$bin" convert "$dir/h.jsonl" -o "$dir/from-jsonl.jrsnap" 2>&1)
    jsonlload+=("$(echo "$t" | awk '/timing: load/ { print $3 }')")
    rm -f "$dir/from-csv.jrsnap" "$dir/from-jsonl.jrsnap"
    if python3 -c 'import duckdb' 2>/dev/null; then
        duck+=("$(python3 -c "
import duckdb, sys, time
s = time.monotonic()
duckdb.connect().execute(\"CREATE TABLE t AS SELECT * FROM read_csv('$dir/h.csv', header=true)\")
print(time.monotonic() - s)")")
    fi
    t=$(JOBSTATS_TIMING=1 "$bin" convert "$dir/h.jrsnap" -o "$dir/copy.jrsnap" 2>&1)
    load+=("$(echo "$t" | awk '/timing: load/ { print $3 }')")
    write+=("$(echo "$t" | awk '/timing: write/ { print $3 }')")
    s=$(date +%s.%N); "$bin" analyze "$dir/h.jrsnap" --format json >/dev/null; e=$(date +%s.%N)
    analyze+=("$(echo "$e - $s" | bc -l)")
done
size=$(stat -c %s "$dir/h.jrsnap")
printf '| figure (%d jobs, median of %d) | value |\n|---|---|\n' "$jobs" "$runs"
printf '| snapshot size | %.1f bytes/job (%d bytes) |\n' "$(echo "$size / $jobs" | bc -l)" "$size"
printf '| snapshot write | %.3f s |\n' "$(printf '%s\n' "${write[@]}" | median)"
printf '| snapshot load (in jobstats) | %.3f s |\n' "$(printf '%s\n' "${load[@]}" | median)"
printf '| jobstats analyze, all patterns, whole process | %.3f s |\n' "$(printf '%s\n' "${analyze[@]}" | median)"
csvsize=$(stat -c %s "$dir/h.csv"); jsonlsize=$(stat -c %s "$dir/h.jsonl")
cl=$(printf '%s\n' "${csvload[@]}" | median); jl=$(printf '%s\n' "${jsonlload[@]}" | median)
printf '| CSV load (%d MB) | %.3f s (%.0f MB/s) |\n' "$((csvsize / 1000000))" "$cl" "$(echo "$csvsize / 1000000 / $cl" | bc -l)"
printf '| CSV to snapshot, whole process | %.3f s |\n' "$(printf '%s\n' "${csvtotal[@]}" | median)"
printf '| JSON Lines load (%d MB) | %.3f s (%.0f MB/s) |\n' "$((jsonlsize / 1000000))" "$jl" "$(echo "$jsonlsize / 1000000 / $jl" | bc -l)"
if [ ${#duck[@]} -gt 0 ]; then
    printf '| DuckDB read_csv of the same CSV into a table | %.3f s |\n' "$(printf '%s\n' "${duck[@]}" | median)"
fi
if python3 -c 'import duckdb' 2>/dev/null; then
    python3 - "$dir" "$jobs" <<'PY'
import duckdb, os, sys
d, n = sys.argv[1], int(sys.argv[2])
duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{d}/h.csv', header=true)) TO '{d}/h.parquet' (FORMAT parquet, COMPRESSION zstd)")
print(f"| same jobs as CSV | {os.path.getsize(d + '/h.csv') / n:.1f} bytes/job |")
print(f"| same jobs as zstd Parquet (DuckDB {duckdb.__version__}) | {os.path.getsize(d + '/h.parquet') / n:.1f} bytes/job |")
PY
fi
