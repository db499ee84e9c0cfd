# Sourced by the bench scripts: start servers on port 0 and learn the port they bound (never
# "pick a free port and bind it later"). Every wait is bounded.

# start_ready OUT cmd...: start a server of ours that prints a ready line
# ("...; PID = N; address = HOST:PORT") on stdout; sets SRV_PID and SRV_ADDR.
start_ready() {
  local out=$1; shift
  : >"$out" # not a previous server's ready line
  "$@" >"$out" 2>/dev/null &
  SRV_PID=$!
  SRV_ADDR=
  for _ in $(seq 200); do
    SRV_ADDR=$(sed -n 's/.*address = \([0-9.]*:[0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$SRV_ADDR" ] && return 0
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "no ready line from: $*" >&2
  kill "$SRV_PID" 2>/dev/null || true
  return 1
}

# start_listening cmd...: start a peer server told to bind port 0 that does not report its
# port; reads it from the kernel's table of listening sockets (ss). Sets SRV_PID, SRV_ADDR.
start_listening() {
  "$@" >/dev/null 2>&1 &
  SRV_PID=$!
  SRV_ADDR=
  for _ in $(seq 300); do
    SRV_ADDR=$(ss -Htlnp 2>/dev/null | awk -v p="pid=$SRV_PID," 'index($0, p) { print $4; exit }')
    [ -n "$SRV_ADDR" ] && return 0
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "not listening: $*" >&2
  kill "$SRV_PID" 2>/dev/null || true
  return 1
}
