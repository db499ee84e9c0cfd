#!/usr/bin/env bash
# The platform's ceiling for lock-step request/response on loopback: a minimal C echo pair.
# Run it in the same session as bench/enip/run.sh or bench/modbus/run.sh and compare.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O2 -o "$out/echo" echo.c
"$out/echo" "${PORT:-45999}" "${SECS:-3}"
