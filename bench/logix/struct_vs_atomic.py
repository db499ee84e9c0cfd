"""Server CPU to read a 1,000-element array of a 10-member structure vs an equal-sized DINT
array (DINT[10000], 40,000 bytes each), with pycomm3 and with our client, in the same run.

Server CPU is the sum of the simulator's threads' on-CPU time (/proc/PID/task/*/schedstat,
nanoseconds) across each batch of reads; reported per read and as the structure/atomic ratio.

    CPPPO_BIN=target/release/cpppo .venv/bin/python bench/logix/struct_vs_atomic.py [READS]
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from pycomm3 import LogixDriver

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("CPPPO_BIN", str(ROOT / "target" / "release" / "cpppo"))
UDT = "S10{A:DINT, B:DINT, C:DINT, D:DINT, E:DINT, F:REAL, G:REAL, H:REAL, I:REAL, J:REAL}"
READY = r"address = (?P<host>[\d.]+):(?P<port>\d+)"


def cpu_ns(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            pass
    return total


def main() -> None:
    reads = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    server = subprocess.Popen(
        [BIN, "enip", "server", "--no-config", "-a", "127.0.0.1:0", "--udt", UDT,
         "S=S10[1000]", "D=DINT[10000]"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        m = re.search(READY, line)
        assert m, line
        port = int(m["port"])
        results = {}
        with LogixDriver(f"127.0.0.1:{port}/0") as plc:
            for tag in ("S{1000}", "D{10000}", "S{1000}", "D{10000}"):
                assert plc.read(tag).error is None  # warm up
            for tag in ("S{1000}", "D{10000}") * 2:
                t0, c0 = time.perf_counter(), cpu_ns(server.pid)
                for _ in range(reads):
                    plc.read(tag)
                c1, t1 = cpu_ns(server.pid), time.perf_counter()
                results.setdefault(("pycomm3", tag[0]), []).append(((c1 - c0) / reads, (t1 - t0) / reads))
        for tag, op in (("S", "S[0-999]"), ("D", "D[0-9999]")) * 2:
            c0 = cpu_ns(server.pid)
            t0 = time.perf_counter()
            out = subprocess.run([BIN, "enip", "client", "-a", f"127.0.0.1:{port}", *[op] * reads],
                                 capture_output=True, text=True, timeout=600)
            t1 = time.perf_counter()
            c1 = cpu_ns(server.pid)
            assert out.returncode == 0, out.stderr[-500:]
            results.setdefault(("ours", tag), []).append(((c1 - c0) / reads, (t1 - t0) / reads))
        for client in ("pycomm3", "ours"):
            s = min(r[0] for r in results[(client, "S")])
            d = min(r[0] for r in results[(client, "D")])
            sw = min(r[1] for r in results[(client, "S")])
            dw = min(r[1] for r in results[(client, "D")])
            print(f"{client:8} server CPU/read: struct {s/1e3:8.1f} us  DINT {d/1e3:8.1f} us"
                  f"  ratio {s/d:5.2f}   (client wall/read: struct {sw*1e3:.2f} ms, DINT {dw*1e3:.2f} ms)")
    finally:
        server.kill()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
