#!/usr/bin/env bash
# Tag reads/s from Python (cpppo-rs binding vs cpppo, pycomm3, pylogix; Rust client and C echo
# ceiling in the same run) and the RSS a simulator started from Python adds. Markdown on stdout.
#
#   bench/python/run.sh
#
# Knobs: N=20000 (lock-step reads), NBULK=2000000 (reads per bulk call), PEERN=20000 (reads
# per peer loop), SECS=10 (time cap of each Python loop), CPPPO (our binary; default: build
# the release cpppo), CPPPO_VENV (venv with the cpppo-rs wheel and the peers; default .venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${CPPPO:-}" ]; then
  timeout 1800 cargo build --release -q -p cpppo --bin cpppo
  export CPPPO="${CARGO_TARGET_DIR:-$PWD/target}/release/cpppo"
fi
exec timeout 1200 "${CPPPO_VENV:-.venv}"/bin/python bench/python/bench.py
