#!/usr/bin/env bash
# Client instructions per lock-step `conn.read("SCADA[1]")` from Python (and per bulk
# `read_many` read), counted by callgrind: a Python client runs N1 and then N2 operations
# under valgrind against our simulator; (I2 - I1) / (N2 - N1) leaves out start-up and import.
# Instruction counts do not depend on the machine's load, unlike wall clock.
#
#   bench/python/callgrind.sh            (knobs: PY=.venv/bin/python, CPPPO, N1, N2, MODE)
#
# MODE=read (default) or MODE=bulk (read_many of N operations, depth 20, MSP 4000 B).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-${CPPPO_VENV:-.venv}/bin/python}"
CPPPO="${CPPPO:-${CARGO_TARGET_DIR:-$PWD/target}/release/cpppo}"
MODE="${MODE:-read}"
N1="${N1:-500}"
N2="${N2:-2500}"
out=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; rm -rf "$out"' EXIT
"$CPPPO" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]' >"$out/sim" 2>&1 &
sim=$!
for _ in $(seq 100); do
  addr=$(grep -soE 'address = [0-9.]+:[0-9]+' "$out/sim" | head -1 | cut -d' ' -f3) && [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "${addr:-}" ] || { echo "simulator did not report its address" >&2; exit 1; }
count() {
  local n=$1
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" "$PY" -c "
import sys
from cpppo_rs.enip import client
host, port = sys.argv[1].rsplit(':', 1)
with client.connector(host, int(port)) as c:
    c.read('SCADA[1]')
    if sys.argv[2] == 'bulk':
        assert len(c.read_many(['SCADA[1]'] * int(sys.argv[3]))) == int(sys.argv[3])
    else:
        for _ in range(int(sys.argv[3])):
            c.read('SCADA[1]')
" "$addr" "$MODE" "$n" 2>"$out/log.$n" >/dev/null
  grep -oE 'Collected : [0-9]+' "$out/log.$n" | awk '{print $3}'
}
i1=$(count "$N1")
i2=$(count "$N2")
echo "$MODE: $(( (i2 - i1) / (N2 - N1) )) client instructions per read (I($N1)=$i1, I($N2)=$i2)"
