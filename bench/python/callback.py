"""Cost of one Python attribute callback (a tag served by a Python object's __getitem__).

Reads the same DINT tag N times through our Python client, once stored in the Rust core
(NATIVE) and once served by a minimal Python object (PY), in the same simulator and run; the
difference per read is the callback's cost: taking the GIL on a server thread (handing the
thread's other sessions to another worker first), building the slice, calling __getitem__,
converting and encoding its result. Reported as µs per callback (CPU time of the whole
process, client and simulator, which a loaded machine does not inflate; and wall time), median
of ROUNDS rounds, for:
  - pipelined reads packed into Multiple Service Packets (network cost amortised: the
    callback dominates), and
  - lock-step reads (one request in flight: what one client sees per read).
Also reports the bare Python call (obj[0:1] from Python) for scale.

Usage: python bench/python/callback.py [N] [ROUNDS]   (needs the cpppo-rs wheel installed)
"""
import statistics
import sys
import time
import timeit

from cpppo_rs.enip import Simulator, client


class One:
    """The smallest useful Python attribute: one constant element."""

    def __getitem__(self, key):
        return [1]

    def __setitem__(self, key, value):
        pass


def per_read(conn, tag, n, depth, multiple):
    """(wall seconds, CPU seconds of the whole process: client and simulator) per read."""
    ops = client.parse_operations([tag] * n)
    wall, cpu = time.perf_counter(), time.process_time()
    for _, _, _, _, sts, val in conn.pipeline(ops, depth=depth, multiple=multiple):
        assert val == [1] or val == [0], (sts, val)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    bare = min(timeit.repeat(lambda o=One(), k=slice(0, 1): o[k], number=100000, repeat=5))
    print(f"bare Python __getitem__ call: {bare / 100000 * 1e6:.3f} µs")
    with Simulator(tags=["NATIVE=DINT", "PY=DINT"], attributes={"PY": One()}) as sim:
        with client.connector(*sim.address, timeout=10) as conn:
            for label, depth, multiple, count in (("pipelined, MSP 4000 B", 20, 4000, n),
                                                  ("lock-step", 1, 0, n // 4)):
                native, python = [], []
                for _ in range(rounds):
                    native.append(per_read(conn, "NATIVE", count, depth, multiple))
                    python.append(per_read(conn, "PY", count, depth, multiple))
                for i, what in ((1, "CPU"), (0, "wall")):
                    nat = statistics.median(r[i] for r in native)
                    py = statistics.median(r[i] for r in python)
                    print(f"{label:22} {what:4}: native {nat * 1e6:8.3f} µs/read, python "
                          f"{py * 1e6:8.3f} µs/read -> callback {(py - nat) * 1e6:8.3f} µs "
                          f"({count} reads x {rounds} rounds)")


if __name__ == "__main__":
    main()
