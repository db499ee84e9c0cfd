#!/usr/bin/env bash
# Automata throughput, side by side in one run: our regex machine vs stepping the raw
# regex-automata DFA (the limit) vs the Python cpppo regex machine, on the pattern
# `(ab+)((,[ ]*)(ab+))*` over "abbbb, abbbbbbb, ...". Needs the venv from scripts/setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
ours=$(cargo run -q --release -p cpppo-automata --example automata_throughput)
echo "$ours"
py=$(.venv/bin/python bench/automata/cpppo_regex.py "${PY_BYTES:-200000}")
echo "$py"
machine=$(echo "$ours" | awk '/regex machine, slice/ {print $5}')
python=$(echo "$py" | awk '{print $5}')
awk -v m="$machine" -v p="$python" 'BEGIN { printf "ratio ours/python: %.0fx\n", m / p }'
