#!/usr/bin/env bash
# Fuzzes the fan map wire decoder and table update for SECONDS seconds
# (default 60) in JOBS processes (default 1: libFuzzer's -fork=JOBS when
# more). Exits non-zero on a crash; the input is left in
# fanmap/fuzz/artifacts/wire_table/.
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP lets stable rustc take
# the -Z flags cargo-fuzz passes, and --sanitizer none avoids needing a
# sanitizer runtime (the crate has no unsafe code for ASan to watch).
# --debug-assertions keeps overflow checks on, as in the kernel.
set -euo pipefail

seconds="${1:-60}"
jobs="${2:-1}"
fork=()
[ "$jobs" -gt 1 ] && fork=(-fork="$jobs")
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
mkdir -p corpus/wire_table
cargo fuzz run --sanitizer none --debug-assertions wire_table corpus/wire_table -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "${fork[@]}"
