#!/usr/bin/env bash
# Issue 18: instructions per lock-step request (callgrind), server and client, for one build.
# Instruction counts do not depend on the machine's load, unlike wall-clock rates.
#
#   bench/latency/callgrind.sh DIR [N]     # DIR holds `cpppo` (and examples/ or the tools)
#   CPPPO_HOT_MS=0 bench/latency/callgrind.sh DIR   # the reactor path (no hot connection)
#   KEEP=/tmp/prof bench/latency/callgrind.sh DIR   # also keep each server dump (KEEP/*.cg),
#       then: callgrind_annotate --inclusive=yes KEEP/read-tag.cg | head -60
#
# Server: the simulator runs under callgrind; after a warm-up its counters are zeroed, our
# Rust client does N lock-step requests (Read Tag `SCADA[1]`; Read Holding Registers), and
# the dump's total is divided by N. Client: `cpppo enip thruput` under callgrind for N and 2N
# requests, the difference divided by N.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:?directory of the build}
N=${2:-20000}
W=$(mktemp -d)
trap 'kill "${SRV_PID:-}" 2>/dev/null || true; rm -rf "$W"' EXIT
tool() { if [ -x "$DIR/$1" ]; then echo "$DIR/$1"; else echo "$DIR/examples/$1"; fi; }
total() { sed -n 's/^totals: \([0-9]*\).*/\1/p;s/^summary: \([0-9]*\).*/\1/p' "$@" | head -1; }

serve() { # out cmd...: start a server under callgrind, wait (bounded) for its ready line
  local out=$1; shift
  valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$W/cg.%p" "$@" >"$out" 2>"$W/vg.err" &
  SRV_PID=$!
  SRV_ADDR=
  for _ in $(seq 600); do
    SRV_ADDR=$(sed -n 's/.*address = \([0-9.]*:[0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$SRV_ADDR" ] && return 0
    sleep 0.1
  done
  echo "no ready line: $*" >&2; exit 1
}

measure() { # label client-cmd-with-N...: zero, run N requests, dump; prints Ir per request
  local label=$1; shift
  "$@" "$((N / 10))" >/dev/null 2>&1 || true # warm-up
  timeout 60 callgrind_control -z "$SRV_PID" >/dev/null
  "$@" "$N" >/dev/null 2>&1
  timeout 60 callgrind_control -d "$SRV_PID" >/dev/null
  local f ir
  f=$(ls -t "$W"/cg.* | grep -v '\.err$' | head -1)
  ir=$(total "$f")
  echo "$label server instructions per request: $((ir / N)) ($ir / $N)"
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$f" "$KEEP/$(tr 'A-Z ' 'a-z-' <<<"$label").cg"
  fi
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
  rm -f "$W"/cg.*
}

enip_client() { timeout 600 "$DIR/cpppo" enip thruput -t 60 -a "$SRV_ADDR" -d 1 -r "$1" 'SCADA[1]'; }
mb_client() { timeout 600 "$(tool modbus_load)" "$SRV_ADDR" lockstep --seconds 600 --max "$1"; }

serve "$W/out" "$DIR/cpppo" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
measure "Read Tag" enip_client
serve "$W/out" "$DIR/cpppo" modbus sim -a 127.0.0.1:0 40001-40200=7
measure "Read Holding Registers" mb_client

# Client: our Rust client against a native server, N and 2N requests.
"$DIR/cpppo" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]' >"$W/out" 2>/dev/null &
SRV_PID=$!
for _ in $(seq 100); do
  SRV_ADDR=$(sed -n 's/.*address = \([0-9.]*:[0-9]*\).*/\1/p' "$W/out" | head -1)
  [ -n "$SRV_ADDR" ] && break; sleep 0.1
done
irs=()
for n in "$N" "$((2 * N))"; do
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$W/cl.$n" \
    "$DIR/cpppo" enip thruput -t 60 -a "$SRV_ADDR" -d 1 -r "$n" 'SCADA[1]' >/dev/null 2>&1
  irs+=("$(total "$W/cl.$n")")
done
echo "Read Tag client instructions per request: $(( (irs[1] - irs[0]) / N ))"
