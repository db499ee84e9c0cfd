"""`pipeline`/`results`/`process` stream as cpppo's generators do: operations are taken from the
caller's iterable only as requests can be sent, each result is yielded as its reply arrives, an
early exit leaves the connector ready for its next call, and a failed operation is yielded in
its place."""
import threading
import time

import pytest

from cpppo_rs.enip import Simulator, client
from test_robust import interrupt


def counted(ops, seen):
    """Yields `ops`, counting in `seen["taken"]` how many were taken."""
    for op in ops:
        seen["taken"] += 1
        yield op


@pytest.mark.parametrize("depth", [1, 5, 20])
def test_results_arrive_before_the_operations_are_exhausted(sim, depth):
    sim.write("SCADA", list(range(100)))
    seen = {"taken": 0}
    ops = counted(("SCADA[%d]" % i for i in range(100)), seen)
    with client.connector(*sim.address) as conn:
        taken_at = []
        for idx, dsc, req, rpy, sts, val in conn.pipeline(ops, depth=depth):
            taken_at.append(seen["taken"])
            assert val == [idx]
    assert taken_at[0] <= depth + 1
    assert all(taken <= n + depth + 1 for n, taken in enumerate(taken_at))
    assert len(taken_at) == 100


def test_results_and_process_stream_too(sim):
    sim.write("SCADA", [7, 8, 9])
    seen = {"taken": 0}
    with client.connector(*sim.address) as conn:
        values = conn.results(counted(("SCADA[%d]" % (i % 3) for i in range(1000)), seen),
                              depth=4)
        assert next(values) == [7] and seen["taken"] <= 5
        assert next(values) == [8]
        values.close()
        assert conn.read("SCADA[2]") == [9]
        failures, got = conn.process(counted(["SCADA[0]", "SCADA[1]=(INT)3"], seen), depth=2)
    assert (failures, got) == (0, [[7], True])


def rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_50000_operation_generator_runs_in_bounded_memory(sim):
    """cpppo's pipeline takes huge (or endless) generated sequences without holding them;
    50,000 operations (with their replies and 6-tuples) add well under 4 MB of RSS."""
    def reads(n):
        for i in range(n):
            yield "SCADA[%d]" % (i % 1000)

    with client.connector(*sim.address) as conn:
        for _ in conn.pipeline(reads(5000), depth=20):   # warm up the allocator
            pass
        before = rss_kb()
        count = 0
        for idx, dsc, req, rpy, sts, val in conn.pipeline(reads(50000), depth=20):
            assert idx == count and val == [0]
            count += 1
        grown = rss_kb() - before
    assert count == 50000
    assert grown < 4096, "RSS grew %d kB over 50,000 streamed operations" % grown


def test_breaking_out_early_leaves_the_connector_usable(sim):
    sim.write("SCADA", [1234], 7)
    seen = {"taken": 0}
    with client.connector(*sim.address) as conn:
        for n, (idx, dsc, req, rpy, sts, val) in enumerate(
                conn.pipeline(counted(["SCADA[0-9]"] * 100, seen), depth=10)):
            if n == 2:
                break
        assert seen["taken"] <= 3 + 10
        assert conn.read("SCADA[7]") == [1234]      # no stale reply answers it
        conn.write("SCADA[7]=(INT)99")
        assert sim.read("SCADA", 7, 1) == [99]
        assert [v for v in conn.results(["SCADA[7]"] * 50, depth=10)] == [[99]] * 50


def test_a_new_call_ends_an_unfinished_pipeline_first(sim):
    """An iterator still referenced (not exhausted) holds the session: the next call on the
    connector reads and drops its replies in flight, and the old iterator then stops."""
    sim.write("SCADA", [5], 3)
    with client.connector(*sim.address) as conn:
        pending = conn.pipeline(["SCADA[3]"] * 100, depth=10)
        assert next(pending)[5] == [5]
        assert conn.read("SCADA[3]") == [5]
        assert list(pending) == []
        again = conn.results(["SCADA[3]"] * 30, depth=10)
        assert next(again) == [5]
    assert conn.closed


def test_an_error_status_mid_stream_is_yielded_in_its_place(sim):
    sim.write("SCADA", [10, 11])
    ops = ["SCADA[0]", "NOSUCHTAG[0]", "SCADA[1]", "SCADA[999-1000]", "SCADA[0]=(INT)10"]
    with client.connector(*sim.address) as conn:
        got = list(conn.pipeline(iter(ops), depth=3))
    assert [t[0] for t in got] == [0, 1, 2, 3, 4]
    assert [t[5] for t in got] == [[10], None, [11], None, True]
    assert got[0][4] == 0 and got[1][4] not in (0, None) and got[3][4] not in (0, None)


def test_an_exception_from_the_operations_comes_after_the_results_before_it(sim):
    sim.write("SCADA", [42])

    def broken():
        yield "SCADA[0]"
        yield "SCADA[0]"
        raise RuntimeError("the generator broke")

    with client.connector(*sim.address) as conn:
        got = []
        with pytest.raises(RuntimeError, match="the generator broke"):
            for t in conn.pipeline(broken(), depth=5):
                got.append(t[5])
        assert got == [[42], [42]]
        with pytest.raises(client.OperationError):
            list(conn.pipeline(["SCADA[0]", "SCADA[[bad"], depth=2))
        assert conn.read("SCADA[0]") == [42]


def test_the_gil_is_released_while_a_pipeline_waits():
    """A pipeline waiting for slow replies (0.3 s each) lets other Python threads run."""
    with Simulator(tags=["SCADA=INT[10]"], delay=(0.3, 0.3)) as slow:
        with client.connector(*slow.address, timeout=5.0) as conn:
            ticks, done = [], threading.Event()

            def ticker():
                while not done.is_set():
                    ticks.append(time.monotonic())
                    time.sleep(0.01)

            t = threading.Thread(target=ticker)
            t.start()
            try:
                start = time.monotonic()
                got = list(conn.results(["SCADA[0]"] * 4, depth=2))
                end = time.monotonic()
            finally:
                done.set()
                t.join(10)
    assert got == [[0]] * 4
    assert len([x for x in ticks if start < x < end]) >= 10


def test_sigint_interrupts_a_streaming_pipeline_with_requests_in_flight():
    took, err = interrupt("""
from cpppo_rs.enip import Simulator, client
sim = Simulator(tags=["SCADA=INT[10]"], delay=(1.0, 1.0))    # every reply is 1 s late
def endless():
    while True:
        yield "SCADA[0]"
with client.connector(*sim.address, timeout=None) as c:
    print("ready", flush=True)
    for t in c.pipeline(endless(), depth=4):
        pass
""")
    assert "KeyboardInterrupt" in err and took < 2.0


def test_lock_step_reads_still_run_20000_times_after_a_pipeline(sim):
    """The lock-step `read()` path (blocking mode) is unchanged by a pipeline before it."""
    sim.write("SCADA", [321], 5)
    with client.connector(*sim.address) as conn:
        assert list(conn.results(["SCADA[5]"] * 100, depth=20)) == [[321]] * 100
        tag = "SCADA[5]"
        assert all(conn.read(tag) == [321] for _ in range(20000))


def test_a_change_of_route_mid_stream_stays_lazy_and_early_exit_restores_the_route():
    """Runs of operations on two routes from a generator: each run's first result comes
    before the generator is drained; breaking out mid-run leaves the connector's own route."""
    with Simulator(tags=["SCADA=INT[10]"], route_path="1/3") as sim:
        sim.write("SCADA", [33], 1)
        seen = {"taken": 0}

        def runs():
            for n in range(1000):
                route = "1/3" if (n // 10) % 2 == 0 else "1/0"   # 10 on 1/3, 10 on 1/0, ...
                yield client.parse_operations(["SCADA[1]"], route_path=route)[0]

        with client.connector(*sim.address, route_path="1/3") as conn:
            got = []
            for idx, dsc, req, rpy, sts, val in conn.pipeline(counted(runs(), seen), depth=4):
                got.append((idx, val, seen["taken"]))
                if idx == 14:
                    break
            assert [v for _, v, _ in got[:10]] == [[33]] * 10     # on 1/3: served
            assert [v for _, v, _ in got[10:]] == [None] * 5      # on 1/0: refused
            assert all(taken <= idx + 4 + 1 for idx, _, taken in got)
            assert conn.read("SCADA[1]") == [33]                  # the connector's 1/3 again
