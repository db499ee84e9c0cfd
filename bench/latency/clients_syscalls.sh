#!/usr/bin/env bash
# Issue 18, our clients' side: system calls and context switches per lock-step request, counted
# by the kernel's tracepoints (`perf stat`; strace slows the client until every reply is already
# waiting, which hides the reads that find nothing), for one build, next to the C echo pair.
#
#   bench/latency/clients_syscalls.sh DIR [CONNS] [SECS]
#
# DIR holds `cpppo` and the examples `lockstep_clients`, `modbus_clients` (directly or in
# DIR/examples). Per client: the client process's counts and the server's (perf stat -p), each
# divided by the requests answered. The echo pair runs client and server in one process tree,
# so its row is both sides together (its server and client loops are the same: epoll_wait per
# batch, read, write).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
DIR=${1:?directory of the build}
CONNS=${2:-100}
SECS=${3:-3}
W=$(mktemp -d)
trap 'kill "${SRV_PID:-}" "${PERF_PID:-}" 2>/dev/null || true; rm -rf "$W"' EXIT
ulimit -n 20000 2>/dev/null || true
gcc -O2 -o "$W/echo" bench/baseline/echo.c
tool() { if [ -x "$DIR/$1" ]; then echo "$DIR/$1"; else echo "$DIR/examples/$1"; fi; }
EVENTS=(-e syscalls:sys_enter_sendto -e syscalls:sys_enter_write
  -e syscalls:sys_enter_recvfrom -e syscalls:sys_enter_read
  -e syscalls:sys_exit_recvfrom --filter 'ret < 0' -e syscalls:sys_exit_read --filter 'ret < 0'
  -e syscalls:sys_enter_epoll_wait -e syscalls:sys_enter_futex -e raw_syscalls:sys_enter
  -e context-switches -e task-clock)
# per label n file: one table row from perf's CSV output, each count divided by n
row() {
  awk -F, -v label="$1" -v n="$2" '
    { v[$3] = $1 }
    END {
      w = v["syscalls:sys_enter_sendto"] + v["syscalls:sys_enter_write"]
      r = v["syscalls:sys_enter_recvfrom"] + v["syscalls:sys_enter_read"]
      e = v["syscalls:sys_exit_recvfrom"] + v["syscalls:sys_exit_read"]
      printf "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", label, n,
        w / n, r / n, e / n, v["syscalls:sys_enter_epoll_wait"] / n,
        v["syscalls:sys_enter_futex"] / n, v["raw_syscalls:sys_enter"] / n,
        v["context-switches"] / n, v["task-clock"] * 1000 / n
    }' "$3"
}
client() { # label tool server-args...: our server, our client under perf stat, both counted
  local label=$1 t=$2; shift 2
  start_ready "$W/ready" "$DIR/cpppo" "$@"
  timeout $((SECS + 30)) perf stat -x, -o "$W/srv" "${EVENTS[@]}" -p "$SRV_PID" &
  PERF_PID=$!
  sleep 0.2
  out=$(timeout $((SECS + 60)) perf stat -x, -o "$W/cli" "${EVENTS[@]}" \
    "$(tool "$t")" "$SRV_ADDR" "$CONNS" "$SECS")
  kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
  n=$(echo "$out" | sed -n 's/.*: \([0-9]*\) [a-z]* in .*/\1/p')
  row "$label, client" "$n" "$W/cli"
  row "$label, server (whole run)" "$n" "$W/srv"
}
echo "# Client system calls per request ($(date -u +%FT%TZ), $CONNS connections, ${SECS}s, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| process | requests | writes | reads | reads failing (EAGAIN) | epoll_wait | futex | all syscalls | context switches | CPU µs |"
echo "|---|---|---|---|---|---|---|---|---|---|"
out=$(timeout $((SECS + 60)) perf stat -x, -o "$W/echo.stat" "${EVENTS[@]}" "$W/echo" "$SECS" "$CONNS")
rate=$(sed -n 's/.*round trips\/s: \([0-9]*\).*/\1/p' <<<"$out")
n=$(awk -v r="$rate" -v s="$SECS" 'BEGIN { printf "%d", r * s }')
row "C echo pair (both sides)" "$n" "$W/echo.stat"
client "lockstep_clients (Read Tag)" lockstep_clients enip server --no-config -a 127.0.0.1:0 'SCADA=INT[1000]'
client "modbus_clients (Read Holding Registers)" modbus_clients modbus sim -a 127.0.0.1:0 40001-40200=7
