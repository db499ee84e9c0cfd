"""Modbus/TCP server benchmark: our simulator and pymodbus's server, driven by the same load
client (crates/modbus/examples/modbus_load.rs) in one run, on 127.0.0.1.

Each case is bounded by a request count and a time limit. Server CPU comes from
/proc/<pid>/stat (user + system) before and after each case.
"""
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
MAX = int(os.environ.get("BENCH_MAX", "5000000"))
TICK = os.sysconf("SC_CLK_TCK")


def ready_address(proc, timeout=20):
    """Our server's bound address, from its ready line ("...; address = HOST:PORT")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"address = ([0-9.]+):([0-9]+)", line)
        if m:
            return m.group(1), int(m.group(2))
    raise TimeoutError("no ready line from our server")


def listening_address(pid, timeout=20):
    """A peer server's bound address (it was told port 0 and does not report it): from the
    kernel's table of listening sockets."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if f"pid={pid}," in line:
                host, port = line.split()[3].rsplit(":", 1)
                return host, int(port)
        time.sleep(0.05)
    raise TimeoutError(f"pid {pid} is not listening")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def main():
    cpppo, load = sys.argv[1], sys.argv[2]
    cases = [
        ("lock-step, 1 register", ["lockstep"]),
        ("pipelined depth 64, 1 register", ["pipelined", "--depth", "64"]),
        ("pipelined depth 64, 10 registers", ["pipelined", "--depth", "64", "--count", "10"]),
    ]
    servers = []
    ours_proc = subprocess.Popen([cpppo, "modbus", "sim", "-a", "127.0.0.1:0", "40001-40200=7"],
                            stdout=subprocess.PIPE, text=True)
    theirs_proc = subprocess.Popen([str(ROOT / ".venv/bin/python"),
                               str(ROOT / "bench/modbus/pymodbus_server.py"), "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    lockstep_theirs = None
    try:
        servers.append(("cpppo-rs modbus sim", ours_proc, ready_address(ours_proc)[1]))
        servers.append(("pymodbus 3.16.1 server", theirs_proc,
                        listening_address(theirs_proc.pid)[1]))
        for case, args in cases:
            results = {}
            for name, proc, port in servers:
                before = cpu_seconds(proc.pid)
                out = subprocess.run([load, f"127.0.0.1:{port}", *args, "--seconds", str(SECONDS),
                                      "--max", str(MAX)], capture_output=True, text=True,
                                     timeout=SECONDS + 60, check=True).stdout
                r = json.loads(out)
                r["cpu_us_per_request"] = (cpu_seconds(proc.pid) - before) * 1e6 / max(r["requests"], 1)
                results[name] = r
                rows.append((case, name, r))
            theirs = results["pymodbus 3.16.1 server"]
            if theirs["requests"] == 0:
                # pymodbus answers none of a pipelined window (they are lost), so compare
                # with the best it does on one connection: lock-step.
                theirs = lockstep_theirs
                label = "ratio (ours / pymodbus lock-step)"
            else:
                lockstep_theirs = theirs
                label = "ratio (ours / pymodbus)"
            ratio = results["cpppo-rs modbus sim"]["requests_per_s"] / max(theirs["requests_per_s"], 1)
            rows.append((case, label, {"ratio": ratio}))
    finally:
        for proc in (ours_proc, theirs_proc):
            proc.terminate()
            proc.wait(10)
    print("| case | server | answered | exceptions | lost | requests/s | registers/s | server CPU µs/request |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for case, name, r in rows:
        if "ratio" in r:
            print(f"| {case} | **{name}** | | | | **{r['ratio']:.1f}×** | | |")
        elif r["requests"] == 0:
            print(f"| {case} | {name} | 0 | 0 | {r['lost']} | none answered | | |")
        else:
            print(f"| {case} | {name} | {r['requests']} | {r['errors']} | {r['lost']} | "
                  f"{r['requests_per_s']:,.0f} | {r['registers_per_s']:,.0f} | "
                  f"{r['cpu_us_per_request']:.2f} |")


if __name__ == "__main__":
    main()
