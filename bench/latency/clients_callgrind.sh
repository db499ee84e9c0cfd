#!/usr/bin/env bash
# Issue 18, our clients' side: instructions per lock-step request (callgrind) of the client,
# against native (not instrumented) servers, for one build.
#
#   bench/latency/clients_callgrind.sh DIR [N] [SECS]
#
# DIR holds `cpppo` and the examples `lockstep_clients`, `modbus_clients` (directly or in
# DIR/examples). `cpppo enip thruput -d 1` runs N and 2N Read Tags: (Ir(2N) - Ir(N)) / N.
# The many-connection examples (100 connections on one thread: a `cpppo_net::drive::Driver`, or
# with LOCKSTEP_TOKIO=1 in the environment one current-thread tokio runtime) and
# `modbus_clients` with one connection run SECS and 2*SECS seconds under callgrind:
# (Ir(long) - Ir(short)) / (requests(long) - requests(short)).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:?directory of the build}
N=${2:-20000}
SECS=${3:-3}
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT
tool() { if [ -x "$DIR/$1" ]; then echo "$DIR/$1"; else echo "$DIR/examples/$1"; fi; }
total() { sed -n 's/^totals: \([0-9]*\).*/\1/p;s/^summary: \([0-9]*\).*/\1/p' "$@" | head -1; }
. bench/ports.sh
# The native servers, started in this shell (not a command substitution's subshell, whose PIDs
# the trap would never see: they were left running).
start_ready "$W/enip" "$DIR/cpppo" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
PIDS+=("$SRV_PID")
ENIP=$SRV_ADDR
start_ready "$W/mb" "$DIR/cpppo" modbus sim -a 127.0.0.1:0 40001-40200=7
PIDS+=("$SRV_PID")
MB=$SRV_ADDR

cg() { # out-file cmd...: run under callgrind (bounded), print its stdout
  local f=$1; shift
  timeout 900 valgrind --tool=callgrind --callgrind-out-file="$f" "$@" 2>/dev/null
}
irs=()
for n in "$N" "$((2 * N))"; do
  cg "$W/t.$n" "$DIR/cpppo" enip thruput -t 60 -a "$ENIP" -d 1 -r "$n" 'SCADA[1]' >/dev/null
  irs+=("$(total "$W/t.$n")")
done
echo "cpppo enip thruput -d 1 (Read Tag): $(( (irs[1] - irs[0]) / N )) instructions per request"

timed() { # label conns tool args...: SECS and 2*SECS under callgrind
  local label=$1 conns=$2 t=$3; shift 3
  local ir=() n=()
  for s in "$SECS" "$((2 * SECS))"; do
    out=$(cg "$W/c.$s" "$(tool "$t")" "$@" "$conns" "$s")
    n+=("$(echo "$out" | sed -n 's/.*: \([0-9]*\) [a-z]* in .*/\1/p')")
    ir+=("$(total "$W/c.$s")")
  done
  echo "$label, $conns connections: $(( (ir[1] - ir[0]) / (n[1] - n[0]) )) instructions per request (${n[0]} / ${n[1]} requests)"
}
timed "lockstep_clients (Read Tag)" 100 lockstep_clients "$ENIP"
timed "modbus_clients (Read Holding Registers)" 100 modbus_clients "$MB"
timed "modbus_clients (Read Holding Registers)" 1 modbus_clients "$MB"
