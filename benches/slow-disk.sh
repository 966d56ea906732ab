#!/usr/bin/env bash
# The load benchmark with every fsync of the bot delayed (SLOW_FSYNC_US, default 2500 µs), as on
# a slow disk: `bash benches/slow-disk.sh --secs 30`. Needs gcc (for the LD_PRELOAD shim).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/target/slow-disk"
mkdir -p "$out"
gcc -shared -fPIC -O2 -o "$out/slow-fsync.so" benches/slow-fsync.c -ldl
cargo build --release --bin servicedesk
cat > "$out/desk.sh" <<WRAP
#!/bin/sh
LD_PRELOAD=$out/slow-fsync.so SLOW_FSYNC_US=${SLOW_FSYNC_US:-2500} exec $PWD/target/release/servicedesk "\$@"
WRAP
chmod +x "$out/desk.sh"
echo "fsync and fdatasync of the bot delayed by ${SLOW_FSYNC_US:-2500} µs"
BENCH_DESK="$out/desk.sh" cargo bench --bench load -- --only servicedesk "$@"
