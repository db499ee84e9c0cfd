"""connector.read_many: many operations in one call, results consumed in Rust."""
import pytest

from cpppo_rs import errors
from cpppo_rs.enip import client


def test_read_many_returns_results_values_in_order(sim):
    sim.write("SCADA", list(range(100)))
    tags = ["SCADA[%d]" % (i % 100) for i in range(5000)]
    with client.connector(*sim.address) as conn:
        got = conn.read_many(tags, depth=20, multiple=4000)
        lockstep = conn.read_many(tags[:50], depth=1, multiple=0)
        assert got == [[i % 100] for i in range(5000)]
        assert lockstep == got[:50]
        assert got[:300] == list(conn.results(tags[:300], depth=4, multiple=500))


def test_read_many_mixes_writes_failures_and_parsed_operations(sim):
    ops = ["SCADA[1-2]=(INT)7,8", "NOSUCH[0]", client.Operation("SCADA[1-2]"), "FLOAT"]
    with client.connector(*sim.address) as conn:
        assert conn.read_many(ops) == [True, None, [7, 8], [0.0]]


def test_read_many_rejects_bad_operations_before_sending_any(sim):
    with client.connector(*sim.address) as conn:
        with pytest.raises(errors.OperationError, match=r"SCADA\[1-"):
            conn.read_many(["SCADA[1]=(INT)3", "SCADA[1-"])
        with pytest.raises(errors.OperationError, match="not int"):
            conn.read_many(["SCADA[1]", 7])
        assert conn.read("SCADA[1]") == [0]  # nothing was sent
    with pytest.raises(errors.CommunicationError, match="closed"):
        conn.read_many(["SCADA[1]"])


def test_read_many_against_cpppos_server(cpppo_server):
    with client.connector("127.0.0.1", cpppo_server) as conn:
        assert conn.read_many(["SCADA[0-1]=(INT)3,4", "SCADA[0-1]"] * 10, depth=4,
                              multiple=500) == [True, [3, 4]] * 10
