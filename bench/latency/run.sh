#!/usr/bin/env bash
# Issue 18: lock-step request/response against the floor (the C echo pair, bench/baseline),
# two builds alternated in one run so that load changes hit both alike.
#
#   OLD=/tmp/old NEW=target/release ROUNDS=3 SECS=3 CONNS="100 1000" bench/latency/run.sh
#
# OLD and NEW are directories each holding `cpppo` and the examples `lockstep_clients`,
# `modbus_clients` (NEW's are used for OLD too when OLD lacks them) and `modbus_load`.
# Per round and build: lock-step Read Tag (`cpppo enip thruput -d 1 -r SECS*RATE`, our Rust
# client, against our simulator; RATE=40000 reads per second expected) and Read Holding Registers (`modbus_load lockstep` against `cpppo modbus sim`),
# with the server's CPU µs per request (/proc/PID/stat); then CONNS concurrent lock-step
# clients in one process against both simulators and the C echo pair. Every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
OLD=${OLD:?directory of the old build}
NEW=${NEW:-target/release}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
CONNS=${CONNS:-100 1000}
ulimit -n 20000 2>/dev/null || true
OUT=$(mktemp)
ECHO=$(mktemp)
trap 'kill "${SRV_PID:-}" 2>/dev/null || true; rm -f "$OUT" "$ECHO"' EXIT
gcc -O2 -o "$ECHO" bench/baseline/echo.c

tool() { # dir name: the build's tool, else NEW's
  if [ -x "$1/$2" ]; then echo "$1/$2"; else echo "$NEW/examples/$2"; fi
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
per_us() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / 100 / n : 0) }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", (b > 0 ? 100 * a / b : 0) }'; }
echo_rate() { # conns: round trips/s and the echo server's CPU µs per round trip
  local line
  line=$(timeout $((SECS + 60)) "$ECHO" "$SECS" "$1")
  ECHO_RATE=$(sed -n 's/.*round trips\/s: \([0-9]*\).*/\1/p' <<<"$line")
  ECHO_CPU=$(sed -n 's/.*per round trip: \([0-9.]*\).*/\1/p' <<<"$line")
}

lockstep() { # dir: sets ENIP_RATE ENIP_CPU MB_RATE MB_CPU
  local dir=$1 t0 out n
  start_ready "$OUT" "$dir/cpppo" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
  t0=$(ticks "$SRV_PID")
  out=$(timeout $((SECS + 60)) "$dir/cpppo" enip thruput -t 10 -a "$SRV_ADDR" -d 1 -r $((SECS * ${RATE:-40000})) \
        'SCADA[1]' 2>/dev/null || true)
  n=$(sed -n 's/^ *\([0-9]*\) operations.*/\1/p' <<<"$out")
  ENIP_RATE=$(sed -n 's/.*; *\([0-9.]*\) TPS$/\1/p' <<<"$out")
  ENIP_CPU=$(per_us $(( $(ticks "$SRV_PID") - t0 )) "${n:-0}")
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
  start_ready "$OUT" "$dir/cpppo" modbus sim -a 127.0.0.1:0 40001-40200=7
  t0=$(ticks "$SRV_PID")
  out=$(timeout $((SECS + 60)) "$(tool "$dir" modbus_load)" "$SRV_ADDR" lockstep --seconds "$SECS" --max 100000000)
  n=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<<"$out")
  MB_RATE=$(sed -n 's/.*"requests_per_s":\([0-9]*\).*/\1/p' <<<"$out")
  MB_CPU=$(per_us $(( $(ticks "$SRV_PID") - t0 )) "${n:-0}")
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
}

many() { # dir conns: sets ENIP_RATE ENIP_CPU MB_RATE MB_CPU
  local dir=$1 conns=$2 out
  start_ready "$OUT" "$dir/cpppo" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
  out=$(timeout $((SECS + 120)) "$(tool "$dir" lockstep_clients)" "$SRV_ADDR" "$conns" "$SECS" "$SRV_PID")
  ENIP_RATE=$(sed -n 's/.* = \([0-9]*\) reads\/s.*/\1/p' <<<"$out")
  ENIP_CPU=$(sed -n 's/.*request: \([0-9.]*\).*/\1/p' <<<"$out")
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
  start_ready "$OUT" "$dir/cpppo" modbus sim -a 127.0.0.1:0 40001-40200=7
  out=$(timeout $((SECS + 120)) "$(tool "$dir" modbus_clients)" "$SRV_ADDR" "$conns" "$SECS" "$SRV_PID")
  MB_RATE=$(sed -n 's/.* = \([0-9]*\) requests\/s.*/\1/p' <<<"$out")
  MB_CPU=$(sed -n 's/.*request: \([0-9.]*\).*/\1/p' <<<"$out")
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
}

echo "# Issue 18 latency run ($(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${SECS}s each)"
echo
echo "| round | conns | build | C echo /s (server CPU µs) | Read Tag /s | of echo | server CPU µs/req | Read Holding Registers /s | of echo | server CPU µs/req |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for conns in 1 $CONNS; do
    for build in old new; do
      dir=$OLD; [ "$build" = new ] && dir=$NEW
      echo_rate "$conns"
      if [ "$conns" = 1 ]; then lockstep "$dir"; else many "$dir" "$conns"; fi
      echo "| $round | $conns | $build | $ECHO_RATE ($ECHO_CPU) | ${ENIP_RATE%.*} | $(pct "$ENIP_RATE" "$ECHO_RATE") | $ENIP_CPU | $MB_RATE | $(pct "$MB_RATE" "$ECHO_RATE") | $MB_CPU |"
    done
  done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
