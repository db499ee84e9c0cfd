"""Tag reads/s from Python: the cpppo-rs binding (lock-step and bulk) against cpppo's Python
client, pycomm3 and pylogix, all reading SCADA[1] from one of our simulators, with our Rust
client (`cpppo enip thruput`) and the C echo ceiling (bench/baseline) in the same run; plus the
memory a simulator started from Python adds. Prints markdown with ratios.

    python bench/python/bench.py          (see run.sh for the knobs)

Every loop is bounded in count and in time.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CPPPO = os.environ.get("CPPPO", str(ROOT / "target" / "release" / "cpppo"))
N = int(os.environ.get("N", "20000"))            # lock-step reads per run
NBULK = int(os.environ.get("NBULK", "2000000"))  # reads per bulk call
PEERN = int(os.environ.get("PEERN", "20000"))    # reads per peer-client loop
SECS = float(os.environ.get("SECS", "10"))       # time cap of each Python loop
ROUNDS = int(os.environ.get("ROUNDS", "3"))      # alternating rounds of ours vs Rust
READY = re.compile(r"address = (?P<host>[\d.]+):(?P<port>\d+)")


def start_simulator():
    """Our simulator (the Rust binary) on a port of its choosing; (process, (host, port))."""
    proc = subprocess.Popen([CPPPO, "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                             "SCADA=INT[1000]"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    for line in proc.stdout:
        m = READY.search(line)
        if m:
            return proc, (m["host"], int(m["port"]))
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("simulator did not report its address")


def rust_thruput(addr, depth, multiple, count):
    """Our Rust client: (reads, reads/s, CPU µs/read)."""
    args = [CPPPO, "enip", "thruput", "-t", "30", "-a", "%s:%d" % addr, "-d", str(depth),
            "-r", str(count)]
    if multiple:
        args += ["-m", str(multiple)]
    done = subprocess.run(args + ["SCADA[1]"], capture_output=True, text=True, timeout=300)
    tps = float(re.search(r";\s*([\d.]+) TPS$", done.stdout, re.M).group(1))
    cpu = re.search(r"client CPU ([\d.]+) us/op", done.stderr)
    return count, tps, float(cpu.group(1)) if cpu else float("nan")


def c_echo():
    done = subprocess.run(["bash", str(ROOT / "bench" / "baseline" / "run.sh")],
                          capture_output=True, text=True, timeout=120)
    return float(re.search(r"round trips/s: ([\d.]+)", done.stdout).group(1))


def timed(loop):
    """(reads, reads/s, CPU µs/read) of loop() -> reads."""
    cpu, t0 = time.process_time(), time.monotonic()
    n = loop()
    dt, cpu = time.monotonic() - t0, time.process_time() - cpu
    return n, n / dt, cpu * 1e6 / max(n, 1)


def ours_lockstep(addr):
    from cpppo_rs.enip import client
    with client.connector(*addr, timeout=5) as conn:
        conn.read("SCADA[1]")
        deadline = time.monotonic() + SECS

        def loop():
            n = 0
            while n < N and time.monotonic() < deadline:
                for _ in range(100):
                    conn.read("SCADA[1]")
                n += 100
            return n
        return timed(loop)


def ours_pipeline(addr, depth, multiple):
    """The cpppo-shaped generator: one 6-tuple per read."""
    from cpppo_rs.enip import client
    ops = client.parse_operations(["SCADA[1]"]) * min(N * 10, 200000)
    with client.connector(*addr, timeout=5) as conn:
        return timed(lambda: sum(1 for t in conn.pipeline(ops, depth=depth, multiple=multiple)
                                 if t[5] is not None))


def ours_bulk(addr):
    from cpppo_rs.enip import client
    tags = ["SCADA[1]"] * NBULK
    with client.connector(*addr, timeout=5) as conn:
        conn.read_many(tags[:1000])
        return timed(lambda: len([v for v in conn.read_many(tags, depth=20, multiple=4000)
                                  if v is not None]))


def median(runs):
    """The run with the median rate, and the range of rates (lo, hi)."""
    runs = sorted(runs, key=lambda r: r[1])
    return runs[len(runs) // 2], (runs[0][1], runs[-1][1])


def peer(addr, tool):
    """Rows of bench/enip_client/peers.py: [(mode, reads, reads/s, CPU µs/read)]."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "enip_client" / "peers.py"),
                           "%s:%d" % addr, tool, str(PEERN), str(SECS)],
                          capture_output=True, text=True, timeout=300)
    rows = []
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[1], int(cells[2]), float(cells[4].replace(",", "")),
                     float(cells[5])))
    return rows


def rss_kib():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def memory():
    """RSS before/after importing cpppo_rs, and after starting a simulator from Python and
    serving reads from it (run in a fresh interpreter)."""
    code = (
        "import re,sys\n"
        "sys.path.insert(0, %r)\n"
        "from bench import rss_kib\n"
        "a = rss_kib()\n"
        "from cpppo_rs.enip import Simulator, client\n"
        "b = rss_kib()\n"
        "sim = Simulator(tags=['SCADA=INT[1000]'])\n"
        "with client.connector(*sim.address) as c:\n"
        "    c.read_many(['SCADA[1]'] * 10000)\n"
        "c = rss_kib()\n"
        "sim.stop()\n"
        "print(a, b, c)\n") % str(Path(__file__).parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout.split()
    return [int(x) for x in out]


def main():
    load = os.getloadavg()
    sim, addr = start_simulator()
    try:
        echo = c_echo()
        # Ours and the Rust client alternate, ROUNDS times each, so load changes on this
        # shared machine hit both alike; the medians are compared.
        runs = {"rust1": [], "lock": [], "rust20": [], "bulk": []}
        for _ in range(ROUNDS):
            runs["rust1"].append(rust_thruput(addr, 1, 0, N))
            runs["lock"].append(ours_lockstep(addr))
            runs["rust20"].append(rust_thruput(addr, 20, 4000, NBULK))
            runs["bulk"].append(ours_bulk(addr))
        (rust1, r_rust1), (lock, r_lock), (rust20, r_rust20), (bulk, r_bulk) = (
            median(runs[k]) for k in ("rust1", "lock", "rust20", "bulk"))
        pipe1 = ours_pipeline(addr, 1, 0)
        pipe20 = ours_pipeline(addr, 20, 4000)
        peers = {tool: peer(addr, tool) for tool in ("pycomm3", "pylogix", "cpppo")}
    finally:
        sim.kill()
        sim.wait(10)
    mem = memory()

    print("# Python client benchmark (%s, %d cores, load average %.1f/%.1f/%.1f at start)"
          % (time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), os.cpu_count(), *load))
    print()
    print("Every client reads `SCADA[1]` (INT) from one of our simulators (`cpppo enip server`)"
          " over loopback.")
    print()
    print("| client | mode | reads | reads/s | CPU µs/read |")
    print("|---|---|---|---|---|")
    print("| C echo ceiling (bench/baseline) | lock-step round trips | — | %s | — |"
          % f"{echo:,.0f}")
    def ranged(label, r):
        return "%s (median of %d; %s–%s)" % (label, ROUNDS, f"{r[0]:,.0f}", f"{r[1]:,.0f}")
    rows = [("Rust client (`cpppo enip thruput`)", ranged("lock-step (depth 1)", r_rust1),
             rust1),
            ("Rust client (`cpppo enip thruput`)", ranged("depth 20 + MSP 4000 B", r_rust20),
             rust20),
            ("**cpppo-rs from Python**", ranged("lock-step: `conn.read()` loop", r_lock), lock),
            ("**cpppo-rs from Python**", "`conn.pipeline(depth=1)` 6-tuples", pipe1),
            ("**cpppo-rs from Python**", "`conn.pipeline(depth=20, multiple=4000)`", pipe20),
            ("**cpppo-rs from Python**",
             ranged("bulk `conn.read_many(depth=20, multiple=4000)`", r_bulk), bulk)]
    for tool, tool_rows in peers.items():
        rows += [(tool, mode, (n, rate, cpu)) for mode, n, rate, cpu in tool_rows]
    for client, mode, (n, rate, cpu) in rows:
        print("| %s | %s | %d | %s | %.2f |" % (client, mode, n, f"{rate:,.0f}", cpu))
    print()
    pyc = next(r for m, _, r, _ in peers["pycomm3"] if m == "lock-step")
    pyl = next(r for m, _, r, _ in peers["pylogix"] if m == "lock-step")
    print("| ratio | value | target |")
    print("|---|---|---|")
    print("| lock-step `read()` / pycomm3 lock-step | %.1f× | ≥ 3× |" % (lock[1] / pyc))
    print("| lock-step `read()` / pylogix lock-step | %.1f× | — |" % (lock[1] / pyl))
    print("| lock-step `read()` / Rust client lock-step | %.0f %% | ≥ 90 %% |"
          % (100 * lock[1] / rust1[1]))
    print("| lock-step `read()` / C echo ceiling | %.0f %% | — |" % (100 * lock[1] / echo))
    print("| lock-step client CPU per read: Rust / `read()` (load-robust) | %.0f %% | — |"
          % (100 * rust1[2] / lock[2]))
    print("| bulk `read_many` reads/s | %s | ≥ 1,000,000 |" % f"{bulk[1]:,.0f}")
    print("| bulk `read_many` / Rust client depth 20 + MSP | %.0f %% | — |"
          % (100 * bulk[1] / rust20[1]))
    print("| bulk client CPU per read: Rust / `read_many` (load-robust) | %.0f %% | — |"
          % (100 * rust20[2] / bulk[2]))
    print()
    print("Memory (RSS of a fresh interpreter): %.1f MB before import, +%.1f MB importing "
          "cpppo_rs, +%.1f MB starting a simulator from Python and serving 10,000 reads from "
          "it (target ≤ 10 MB)." % (mem[0] / 1024, (mem[1] - mem[0]) / 1024,
                                    (mem[2] - mem[1]) / 1024))


if __name__ == "__main__":
    main()
