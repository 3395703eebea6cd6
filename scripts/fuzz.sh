#!/usr/bin/env bash
# Fuzzes what Sluice takes from outside: DSL source (grammar + compiler), socket bytes
# (the receiver's line framer) and write-ahead log segments (recovery).
# usage: scripts/fuzz.sh [SECONDS per target, default 60]
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the one stable toolchain serve.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
mkdir -p corpus/flow_source corpus/socket_bytes corpus/wal_segments
cp ../examples/*.flow ../tests/fixtures/*.flow ../tests/fixtures/codes/*.flow corpus/flow_source/
for target in flow_source socket_bytes wal_segments; do
  cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$secs"
done
