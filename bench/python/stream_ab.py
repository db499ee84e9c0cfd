"""A/B check for issue 14's streamed pipeline: best of 3 runs of pipeline(depth=20) 6-tuples
and of a 20,000-read lock-step loop, against our simulator in-process. Run it with PYTHONPATH
pointing at an unpacked old and new wheel, back to back (bench/RESULTS.md, "PY (session 6)").
Usage: python stream_ab.py [OPERATIONS]"""
import sys, time
from cpppo_rs.enip import client, Simulator
print(client.__file__)  # which build ran
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
with Simulator(tags=["SCADA=INT[1000]"], address="127.0.0.1:0") as sim:
    h, p = sim.address
    with client.connector(host=h, port=p) as conn:
        ops = client.parse_operations(["SCADA[1]"]) * N
        best = 0
        for _ in range(3):
            t = time.perf_counter(); n = 0
            for idx, dsc, op, rpy, sts, val in conn.pipeline(operations=ops, depth=20):
                n += 1
            dt = time.perf_counter() - t
            assert n == N
            best = max(best, N / dt)
        print("pipeline(depth=20) reads/s: %.0f" % best)
        best = 0
        for _ in range(3):
            t = time.perf_counter()
            for i in range(20000):
                conn.read("SCADA[1]")
            best = max(best, 20000 / (time.perf_counter() - t))
        print("read() lock-step reads/s: %.0f" % best)
