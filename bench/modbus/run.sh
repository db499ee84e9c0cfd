#!/usr/bin/env bash
# Modbus/TCP server benchmark: `cpppo modbus sim` vs the pymodbus server, same load client,
# one run, loopback only. Prints a Markdown table (see bench/results-modbus.md).
#   BENCH_SECONDS=5 BENCH_MAX=5000000 bench/modbus/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p cpppo --bin cpppo
cargo build -q --release -p cpppo-modbus --example modbus_load
nproc_note="$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(date -u +%FT%TZ), ${nproc_note}"
echo "Platform ceiling, same run: $(bench/baseline/run.sh)"
.venv/bin/python bench/modbus/bench.py "${CPPPO_BIN:-$target/release/cpppo}" "$target/release/examples/modbus_load"
