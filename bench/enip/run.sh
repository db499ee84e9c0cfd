#!/usr/bin/env bash
# EtherNet/IP simulator benchmark: our `cpppo enip server` and the Python cpppo 5.2.5
# `enip_server`, side by side in one run, driven by the same client (enip_bench, Rust).
#
#   bench/enip/run.sh            # SECS=5 per measurement; results on stdout (markdown)
#   OLD=/path/to/old/bin ROUNDS=3 bench/enip/run.sh
#                                # also an older build's `cpppo` (same client), lock-step and
#                                # pipelined, alternating with ours ROUNDS times before the rest
#
# Measures: lock-step Read Tag reads/s on one connection; tag reads/s pipelined (depth 20,
# Multiple Service Packets of 40 reads (what fits one unconnected reply)); server CPU µs per request (from /proc/PID/stat);
# server RSS with 1,000 (both) and 10,000 (ours) idle registered sessions.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
SECS=${SECS:-5}
ulimit -n 20000 2>/dev/null || true

cargo build --release -q -p cpppo --bin cpppo
cargo build --release -q -p cpppo-enip --example enip_bench
BENCH="$TARGET/release/examples/enip_bench"

. bench/ports.sh
OUT=$(mktemp)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$OUT"; }
trap cleanup EXIT

echo "# EtherNet/IP simulator benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${SECS}s each)"
echo
echo "Platform ceiling, same run: $(bench/baseline/run.sh)"
echo
# Old and new servers alternately (each round flips the order), the same client.
if [ -n "${OLD:-}" ]; then
  for round in $(seq "${ROUNDS:-3}"); do
    order="new old"; [ $((round % 2)) = 0 ] && order="old new"
    for build in $order; do
      bin="$TARGET/release/cpppo"; [ "$build" = old ] && bin="$OLD/cpppo"
      start_ready "$OUT" "$bin" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
      PIDS+=("$SRV_PID")
      echo "## $build, round $round (pid $SRV_PID, $bin)"
      "$BENCH" "$SRV_ADDR" lockstep "$SECS" "$SRV_PID"
      "$BENCH" "$SRV_ADDR" pipeline "$SECS" "$SRV_PID"
      kill "$SRV_PID"
      echo
    done
  done
fi
for who in ours python; do
  if [ "$who" = ours ]; then
    # More than the 10,000 idle sessions measured below (the default limit is 1,000).
    start_ready "$OUT" "$TARGET/release/cpppo" enip server --no-config --max-connections 20000 -a 127.0.0.1:0 'SCADA=INT[1000]'
  else
    start_listening .venv/bin/enip_server -a 127.0.0.1:0 'SCADA=INT[1000]'
  fi
  pid=$SRV_PID addr=$SRV_ADDR
  PIDS+=("$pid")
  echo "## $who (pid $pid)"
  "$BENCH" "$addr" lockstep "$SECS" "$pid"
  "$BENCH" "$addr" pipeline "$SECS" "$pid"
  "$BENCH" "$addr" idle 1000 "$pid"
  if [ "$who" = ours ]; then
    "$BENCH" "$addr" idle 10000 "$pid"
  fi
  kill "$pid"
  echo
done
