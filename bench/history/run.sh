#!/usr/bin/env bash
# History files, side by side in one run on the same records: ours (cpppo-history, release)
# vs the Python cpppo 5.2.5 history module. Writes plain (buffered; and flushed per record),
# gzip level 1 and 6, and reads plain and gzip (payload JSON decoded, as Python's json.loads;
# ours also without decoding). Prints each rate and ours/python.
#   bench/history/run.sh [COUNT_OURS] [COUNT_PYTHON]    (defaults 1000000 and 200000)
# Needs the venv from scripts/setup. Files go to ${HISTORY_BENCH_DIR:-/tmp/history-bench}.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${HISTORY_BENCH_DIR:-/tmp/history-bench}
n_ours=${1:-1000000}
n_py=${2:-200000}
rm -rf "$dir" && mkdir -p "$dir"
cargo build -q --release --manifest-path bench/history/Cargo.toml
bin=${CARGO_TARGET_DIR:-bench/history/target}/release/history-bench
ours=$("$bin" "$dir" "$n_ours")
py=$(.venv/bin/python bench/history/cpppo_history.py "$dir" "$n_py")
# The same data: the first COUNT_PYTHON lines of both plain files are identical.
if cmp -s <(head -n "$n_py" "$dir/ours.hst") "$dir/python.hst"; then
  same="identical"
else
  same="DIFFERENT"
fi
echo "records per second (ours: $n_ours records, python cpppo 5.2.5: $n_py records; plain lines $same)"
printf '%-22s %12s %12s %8s\n' what ours python ratio
join <(echo "$ours" | awk '{print $1, $4}' | sort) <(echo "$py" | awk '{print $1, $4}' | sort) |
  awk '{ printf "%-22s %12d %12d %7.0fx\n", $1, $2, $3, $2 / $3 }'
# Ours only (no Python counterpart): reading without decoding each payload into a JSON value.
echo "$ours" | awk '/validated/ { printf "%-22s %12d\n", $1, $4 }'
rm -rf "$dir"
