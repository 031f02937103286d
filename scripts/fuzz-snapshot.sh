#!/usr/bin/env bash
# A long run of the snapshot reader fuzz test: CASES mutated/truncated snapshots (default
# 200000) from SEED (default: the time). CI runs 3000 cases with a fixed seed.
set -euo pipefail
cd "$(dirname "$0")/.."
export JOBMODEL_FUZZ_CASES=${1:-200000}
export JOBMODEL_FUZZ_SEED=${2:-$(date +%s)}
echo "fuzzing the snapshot reader: $JOBMODEL_FUZZ_CASES cases, seed $JOBMODEL_FUZZ_SEED"
swift test -c release --filter SnapshotFuzzTests
