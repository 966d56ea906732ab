#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md, one after the other (they must not share the 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench load
cargo bench --bench paging
cargo bench --bench alerts
cargo bench --bench knowledge
cargo bench --bench scheduler -- 10000 100000 1000000
if command -v gcc >/dev/null 2>&1; then
    bash benches/slow-disk.sh --secs 30
else
    echo "slow-disk run skipped: it needs gcc for its fsync shim"
fi
