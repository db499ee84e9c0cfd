#!/usr/bin/env bash
# Class 1 I/O benchmark (needs root: a network namespace and a TAP, deleted at exit).
#
#   bench/io/run.sh                  # COUNTS="1 25 50 100 200 400" SECS=10 RPI=10
#
# One fleet process (`cpppo net fleet --tap`) serves N devices, each an adapter at its own IP;
# our scanner (examples/io_bench, another process) opens one Exclusive Owner connection per
# device at RPI ms, each on its own UDP port, and measures T->O lateness (arrival after the
# previous packet plus the API) p50/p99/max, lost packets, and the CPU of both processes over
# SECS s. Reference in the same run: the ciplink 0.3.5 adapter (examples/ciplink_adapter) at
# N = 1, on the namespace's loopback. Results on stdout (markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
SECS=${SECS:-10}
RPI=${RPI:-10}
COUNTS=${COUNTS:-"1 25 50 100 200 400"}
# ADAPTER_CPUS / SCANNER_CPUS: optional CPU lists (taskset -c) to keep the two processes apart.
PIN_A=(); [ -n "${ADAPTER_CPUS:-}" ] && PIN_A=(taskset -c "$ADAPTER_CPUS")
PIN_S=(); [ -n "${SCANNER_CPUS:-}" ] && PIN_S=(taskset -c "$SCANNER_CPUS")
[ "$(id -u)" = 0 ] || { echo "bench/io/run.sh: needs root" >&2; exit 2; }

# FLEET_BIN: another `cpppo` binary for the fleet (an old build to compare; the scanner and
# ciplink stay this tree's). REF=0 skips the ciplink reference row.
# LABEL: a word before each fleet row. CPPPO_IO_CLOCK=tokio (exported): the fleet's adapters
# wait on tokio's millisecond timer instead of the timerfd I/O clock.
cargo build --release -q -p cpppo --bin cpppo
cargo build --release -q -p cpppo-enip --example io_bench --example ciplink_adapter
CPPPO="${FLEET_BIN:-$TARGET/release/cpppo}"
BENCH="$TARGET/release/examples/io_bench"
CIPLINK="$TARGET/release/examples/ciplink_adapter"
NS="cpppo-bench-io-$$"
TAGS=('Inputs@4/100/3=SINT[8]' 'Outputs@4/150/3=SINT[8]' 'Config@4/1/3=SINT[4]')
cleanup() {
  # Everything this script started runs inside its namespace.
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
tmp=$(mktemp -d)

stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; }
row() { # label, io_bench line
  local l=$2 f
  f() { sed -n "s/.* $1 \([^ ]*\).*/\1/p" <<<" $l"; }
  echo "| $1 | $(f open)/$(f n) | $(f p50_us) | $(f p75_us) | $(f p90_us) | $(f p99_us) | $(f p999_us) | $(f max_us) | $(f received) | $(f lost) | $(f adapter_cpu_pct) | $(f adapter_wakeups_per_s) | $(f cpu_pct) |"
}

echo "# Class 1 I/O benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "RPI $RPI ms, Exclusive Owner, 8 bytes each way, $SECS s window. Lateness in µs."
echo
echo "| adapter | open/N | p50 | p75 | p90 | p99 | p99.9 | max | T->O received | lost | adapter CPU % | adapter wake-ups/s | scanner CPU % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
# The reference: ciplink's adapter (threads of its own), one connection over loopback.
if [ "${REF:-1}" != 0 ]; then
  ip netns exec "$NS" "$CIPLINK" 127.0.0.1 0 0 8 8 </dev/null >"$tmp/ciplink.log" 2>&1 &
  cpid=$!
  for _ in $(seq 200); do grep -q '^ready' "$tmp/ciplink.log" && break; sleep 0.05; done
  read -r tcp io < <(sed -n 's/^ready tcp [0-9.]*:\([0-9]*\) io [0-9.]*:\([0-9]*\)/\1 \2/p' "$tmp/ciplink.log")
  line=$(ip netns exec "$NS" "$BENCH" "127.0.0.1:$tcp" 1 "$RPI" "$SECS" "$io" "$cpid")
  row "ciplink 0.3.5 (loopback)" "$line"
  stop "$cpid"
fi
for n in $COUNTS; do
  log="$tmp/fleet-$n.log"
  ip netns exec "$NS" "${PIN_A[@]}" "$CPPPO" net fleet --devices "$n" --subnet 10.91.0.0/16 --tap io0 "${TAGS[@]}" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q '^Success' "$log" && break; sleep 0.05; done
  grep -q '^Success' "$log" || { cat "$log" >&2; exit 1; }
  line=$(ip netns exec "$NS" "${PIN_S[@]}" "$BENCH" 10.91.0.2 "$n" "$RPI" "$SECS" 2222 "$pid")
  row "${LABEL:+$LABEL }fleet, $n devices (TAP)" "$line"
  stop "$pid"
  sleep 0.5
done
