"""Lock-step calls from several Python threads at once.

A connector's ``read``/``write`` is the blocking path: one ``write`` and one ``read`` system
call on the calling thread, with the GIL released and no event loop between them. Several
threads, each with its own connector (or sharing one under a lock), must each get their own
answers while the others' calls are in flight.
"""
import threading

from cpppo_rs.enip import client

THREADS = 4
ROUNDS = 300


def _run(workers):
    """Runs each worker in its own thread (bounded); the exceptions they raised."""
    errors = []

    def guarded(work):
        try:
            work()
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish in 60 s"
    return errors


def test_threads_with_their_own_connectors_each_read_back_what_they_wrote(sim):
    def worker(i):
        def work():
            with client.connector(*sim.address, timeout=5.0) as conn:
                for n in range(ROUNDS):
                    value = i * 1000 + n
                    conn.write(f"SCADA[{i}]=(INT){value}")
                    got = conn.read(f"SCADA[{i}]")
                    assert got == [value], f"thread {i} round {n}: {got}"
        return work

    assert _run([worker(i) for i in range(THREADS)]) == []
    assert sim.read("SCADA", 0, THREADS) == [i * 1000 + ROUNDS - 1 for i in range(THREADS)]


def test_threads_sharing_one_connector_under_a_lock_each_get_their_own_answers(sim):
    lock = threading.Lock()
    with client.connector(*sim.address, timeout=5.0) as conn:
        def worker(i):
            def work():
                for n in range(ROUNDS):
                    value = 20000 + i * 1000 + n
                    with lock:
                        conn.write(f"SCADA[{10 + i}]=(INT){value}")
                        got = conn.read(f"SCADA[{10 + i}]")
                    assert got == [value], f"thread {i} round {n}: {got}"
            return work

        assert _run([worker(i) for i in range(THREADS)]) == []
        assert conn.read(f"SCADA[10-{10 + THREADS - 1}]") == [
            20000 + i * 1000 + ROUNDS - 1 for i in range(THREADS)]
