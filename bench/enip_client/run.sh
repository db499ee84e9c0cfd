#!/usr/bin/env bash
# EtherNet/IP client benchmark: `cpppo enip thruput` against our simulator and the Python
# cpppo 5.2.5 simulator side by side in one run, plus the peer clients (cpppo's Python client,
# pycomm3, pylogix) in bounded loops against our simulator.
#
#   bench/enip_client/run.sh          # results (markdown) on stdout
#
# Knobs (all loops are bounded in count, and the Python ones also in time):
#   N=200000     reads per lock-step / depth-20 thruput run against our simulator
#   NMSP=2000000 reads per depth-20 + Multiple Service Packet run against our simulator
#   PYN=5000     reads per run against the Python simulator
#   PEERN=50000  reads per peer-client loop
#   SECS=20      time cap of each peer-client loop
#   CPPPO        our simulator's binary (default: build the release cpppo)
#   CPPPO_CLIENT path of a binary with the `enip thruput` verb (default: $CPPPO)
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
N=${N:-200000}
NMSP=${NMSP:-2000000}
PYN=${PYN:-5000}
PEERN=${PEERN:-50000}
SECS=${SECS:-20}

if [ -z "${CPPPO:-}" ]; then
  cargo build --release -q -p cpppo --bin cpppo
  CPPPO="$TARGET/release/cpppo"
fi
CLIENT=${CPPPO_CLIENT:-$CPPPO}

. bench/ports.sh
PIDS=()
OUT=$(mktemp)
ERR=$(mktemp)
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$OUT" "$ERR"; }
trap cleanup EXIT

thruput() { # label addr args...: one table row from `cpppo enip thruput`
  local label=$1 addr=$2; shift 2
  local out tps cpu
  out=$("$CLIENT" enip thruput -t 30 -a "$addr" "$@" 2>"$ERR")
  tps=$(sed -n 's/.*; *\([0-9.]*\) TPS$/\1/p' <<<"$out")
  cpu=$(sed -n 's/^client CPU \([0-9.]*\) us\/op.*/\1/p' "$ERR")
  printf '| %s | %s | %s | %s |\n' "$label" "$(sed -n 's/^ *\([0-9]*\) operations.*/\1/p' <<<"$out")" "$tps" "$cpu"
}

echo "# EtherNet/IP client benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo
echo "## cpppo enip thruput (Rust client), reads of SCADA[1]"
echo
echo "| simulator / mode | reads | reads/s | client CPU µs/read |"
echo "|---|---|---|---|"
start_ready "$OUT" "$CPPPO" enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
PIDS+=("$SRV_PID"); OURS=$SRV_ADDR
start_listening .venv/bin/enip_server -a 127.0.0.1:0 'SCADA=INT[1000]'
PIDS+=("$SRV_PID"); PY=$SRV_ADDR
thruput "ours, lock-step (depth 1)" "$OURS" -d 1 -r "$N" 'SCADA[1]'
thruput "python cpppo, lock-step (depth 1)" "$PY" -d 1 -r "$PYN" 'SCADA[1]'
thruput "ours, depth 20" "$OURS" -d 20 -r "$N" 'SCADA[1]'
thruput "python cpppo, depth 20" "$PY" -d 20 -r "$PYN" 'SCADA[1]'
thruput "ours, depth 20 + MSP 4000 B" "$OURS" -d 20 -m 4000 -r "$NMSP" 'SCADA[1]'
thruput "python cpppo, depth 20 + MSP 4000 B" "$PY" -d 20 -m 4000 -r "$PYN" 'SCADA[1]'
thruput "ours, connected, depth 20 + MSP 4000 B (Large Forward Open)" "$OURS" -c -d 20 -m 4000 -r "$NMSP" 'SCADA[1]'
echo
echo "## Peer clients against our simulator (Python; bounded: $PEERN reads or ${SECS}s)"
echo
echo "| client | mode | reads | seconds | reads/s | client CPU µs/read |"
echo "|---|---|---|---|---|---|"
for tool in cpppo pycomm3 pylogix; do
  .venv/bin/python bench/enip_client/peers.py "$OURS" "$tool" "$PEERN" "$SECS"
done
