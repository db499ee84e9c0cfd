#!/usr/bin/env bash
# EtherNet/IP simulator benchmark: our `cpppo enip server` and the Python cpppo 5.2.5
# `enip_server`, side by side in one run, driven by the same client (enip_bench, Rust).
#
#   bench/enip/run.sh            # SECS=5 per measurement; results on stdout (markdown)
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

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "no server on $1" >&2; return 1; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

run_server() { # name port cmd...
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port" || { kill "$pid"; return 1; }
  echo "$pid"
}

echo "# EtherNet/IP simulator benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${SECS}s each)"
echo
echo "Platform ceiling, same run: $(bench/baseline/run.sh)"
echo
for who in ours python; do
  port=$(free_port)
  if [ "$who" = ours ]; then
    pid=$(run_server ours "$port" "$TARGET/release/cpppo" enip server --no-config -a "127.0.0.1:$port" 'SCADA=INT[1000]')
  else
    pid=$(run_server python "$port" .venv/bin/enip_server -a "127.0.0.1:$port" 'SCADA=INT[1000]')
  fi
  PIDS+=("$pid")  # here, not inside the $(...) subshell, so the EXIT trap sees it
  echo "## $who (pid $pid)"
  "$BENCH" "127.0.0.1:$port" lockstep "$SECS" "$pid"
  "$BENCH" "127.0.0.1:$port" pipeline "$SECS" "$pid"
  "$BENCH" "127.0.0.1:$port" idle 1000 "$pid"
  if [ "$who" = ours ]; then
    "$BENCH" "127.0.0.1:$port" idle 10000 "$pid"
  fi
  kill "$pid"
  echo
done
