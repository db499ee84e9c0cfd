#!/usr/bin/env bash
# Internet-of-Threads benchmark (needs root: namespaces and TAP devices; all inside a network
# namespace this script creates and deletes).
#
#   bench/net/run.sh          # DEVICES=10000 SECS=5; results on stdout (markdown)
#
# Measures: fleet start-up time and RSS per device (N devices vs 1), idle CPU of the N-device
# fleet over 10 s, one broadcast List Identity answered by every device through the TAP
# (switched frames/s), and lock-step / pipelined Read Tag reads/s through a userspace-stack
# device (TAP + switch + smoltcp) vs our simulator on an OS socket, same client (enip_bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
SECS=${SECS:-5}
DEVICES=${DEVICES:-10000}
[ "$(id -u)" = 0 ] || { echo "bench/net/run.sh: needs root" >&2; exit 2; }

cargo build --release -q -p cpppo --bin cpppo
cargo build --release -q -p cpppo-enip --example enip_bench
cargo build --release -q -p cpppo-net --example switch_bench
CPPPO="$TARGET/release/cpppo"
BENCH="$TARGET/release/examples/enip_bench"
SWITCH="$TARGET/release/examples/switch_bench"
NS="cpppo-bench-net-$$"
PIDS=()
cleanup() {
  # Everything this script started runs inside its namespace.
  for p in "${PIDS[@]}" $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_fleet() { # log devices subnet [args...]; prints "PID seconds-to-ready"
  local log=$1 n=$2 subnet=$3; shift 3
  local t0; t0=$(date +%s.%N)
  # `ip netns exec` execs the program: $! is the fleet itself.
  ip netns exec "$NS" "$CPPPO" net fleet --devices "$n" --subnet "$subnet" "$@" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do grep -q '^Success' "$log" && break; sleep 0.05; done
  grep -q '^Success' "$log" || { cat "$log" >&2; kill "$pid"; exit 1; }
  local t1; t1=$(date +%s.%N)
  echo "$pid $(echo "$t1 - $t0" | bc)"
}
stop() { kill "$1"; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; }

echo "# Internet-of-Threads benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo
tmp=$(mktemp -d)
read -r one _ < <(start_fleet "$tmp/one.log" 1 10.81.0.0/24)
sleep 1
rss1=$(rss_kb "$one")
stop "$one"
read -r big ready < <(start_fleet "$tmp/big.log" "$DEVICES" 10.80.0.0/16)
sleep 2
rssn=$(rss_kb "$big")
echo "| measure | value |"
echo "|---|---|"
echo "| devices in one process | $DEVICES |"
echo "| start-up (command to ready line) | ${ready} s ($(grep -o 'started in [0-9.]* s' "$tmp/big.log")) |"
echo "| RSS, 1 device / $DEVICES devices | $rss1 KB / $rssn KB |"
echo "| RSS per device | $(( (rssn - rss1) * 1024 / (DEVICES - 1) )) bytes |"
c0=$(cpu_ticks "$big"); sleep 10; c1=$(cpu_ticks "$big")
echo "| idle CPU, $DEVICES devices, 10 s | $(echo "scale=2; ($c1 - $c0) * 100 / $(getconf CLK_TCK) / 10" | bc) % of one core |"
stop "$big"
for extra in "--modbus" "--modbus --no-enip"; do
  # shellcheck disable=SC2086
  read -r one _ < <(start_fleet "$tmp/one.log" 1 10.81.0.0/24 $extra)
  sleep 1; r1=$(rss_kb "$one"); stop "$one"
  # shellcheck disable=SC2086
  read -r big _ < <(start_fleet "$tmp/big.log" "$DEVICES" 10.80.0.0/16 $extra)
  sleep 2; rn=$(rss_kb "$big"); stop "$big"
  echo "| RSS per device, $extra | $(( (rn - r1) * 1024 / (DEVICES - 1) )) bytes ($DEVICES devices: $rn KB) |"
done
echo "| switch, in-process UDP ping-pong (one thread) | $("$SWITCH" 1000 "$SECS") |"

# One broadcast List Identity through the TAP: every device answers (ARP + reply). The TAP is
# routed via the fleet's virtual gateway, so the host's neighbour table (global on recent
# kernels, 1,024 entries by default) holds one entry however many devices answer.
BCAST=${BCAST:-$DEVICES}
read -r mid _ < <(start_fleet "$tmp/mid.log" "$BCAST" 10.83.0.0/16 --tap bench0)
sleep 1
read -r answers secs < <(ip netns exec "$NS" .venv/bin/python - "$BCAST" <<'PY'
import socket, struct, sys, time
want = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)
t0 = time.monotonic(); last = t0
s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0), ("10.83.255.255", 44818))
seen = set(); s.settimeout(3)
while len(seen) < want:
    try: data, peer = s.recvfrom(2048)
    except socket.timeout: break
    seen.add(peer[0]); last = time.monotonic()
print(len(seen), round(last - t0, 3))
PY
)
# Per answer: the broadcast copy in, the device's ARP request for the host + the switch's
# reply, the answer out (4 frames).
echo "| broadcast List Identity, $BCAST devices via TAP | $answers answers, last after $secs s (~$(echo "$answers * 4 / $secs" | bc) frames/s switched, ARP included) |"
stop "$mid"

# Read Tag reads/s: userspace device (through the TAP) vs our simulator on an OS socket.
ip netns exec "$NS" "$CPPPO" enip server --no-config -a 127.0.0.1:44818 'SCADA=INT[1000]' >/dev/null 2>&1 &
PIDS+=("$!")
read -r small _ < <(start_fleet "$tmp/small.log" 1 10.82.0.0/24 --tap bench1 'SCADA=INT[1000]')
sleep 1
read -r jumbo _ < <(start_fleet "$tmp/jumbo.log" 1 10.84.0.0/24 --tap bench2 --mtu 9000 'SCADA=INT[1000]')
sleep 1
for mode in lockstep pipeline; do
  for run in 1 2; do
    a=$(ip netns exec "$NS" "$BENCH" 10.82.0.2:44818 "$mode" "$SECS" "$small" | tail -1)
    b=$(ip netns exec "$NS" "$BENCH" 127.0.0.1:44818 "$mode" "$SECS" "${PIDS[-1]}" | tail -1)
    c=$(ip netns exec "$NS" "$BENCH" 10.84.0.2:44818 "$mode" "$SECS" "$jumbo" | tail -1)
    echo "| $mode #$run, userspace device via TAP (MTU 1500) | $a |"
    echo "| $mode #$run, OS socket (loopback) | $b |"
    echo "| $mode #$run, userspace device via TAP, --mtu 9000 | $c |"
  done
done
stop "$small"
stop "$jumbo"
rm -rf "$tmp"
