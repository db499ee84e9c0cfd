#!/usr/bin/env bash
# The platform's ceiling for lock-step request/response on loopback: a minimal C echo pair
# (binds port 0). Run it in the same session as bench/enip/run.sh or bench/modbus/run.sh and
# compare. CONNS > 1: that many concurrent lock-step connections, both sides on epoll.
#   SECS=3 CONNS=1 bench/baseline/run.sh
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ulimit -n 20000 2>/dev/null || true
gcc -O2 -o "$out/echo" echo.c
timeout $(( ${SECS:-3} + 30 )) "$out/echo" "${SECS:-3}" "${CONNS:-1}"
