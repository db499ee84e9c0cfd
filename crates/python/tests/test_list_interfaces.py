"""List Interfaces from Python: our client against our simulator (started from Python) answers
what cpppo 5.2.5's client reads from the same simulator, and the same as cpppo's own server."""
import importlib.util

import pytest

from cpppo_rs.enip import Simulator, client

needs_cpppo = pytest.mark.skipif(importlib.util.find_spec("cpppo") is None,
                                 reason="cpppo 5.2.5 (the peer) is not installed here")


def cpppo_list_interfaces(host, port):
    """(CPF count, [item type ids]) of cpppo 5.2.5's client's List Interfaces reply."""
    from cpppo.server.enip import client as theirs
    with theirs.connector(host=host, port=port, timeout=5.0) as conn:
        conn.list_interfaces()
        reply, _ = theirs.await_response(conn, timeout=5.0)
    assert reply is not None, "cpppo's client got no List Interfaces reply"
    assert reply.enip.status == 0
    cpf = reply.enip.CIP.list_interfaces.CPF
    items = cpf.get("item") or []
    return cpf.count, [item.type_id for item in items]


def ours(host, port):
    with client.connector(host, port, timeout=5.0) as conn:
        return conn.list_interfaces()


def test_our_simulator_lists_no_interfaces_to_our_client():
    with Simulator(tags=["SCADA=INT[10]"], address="127.0.0.1:0") as sim:
        assert ours(*sim.address) == []


@needs_cpppo
def test_cpppo_client_reads_the_same_list_from_our_simulator():
    with Simulator(tags=["SCADA=INT[10]"], address="127.0.0.1:0") as sim:
        mine = ours(*sim.address)
        count, types = cpppo_list_interfaces(*sim.address)
    assert count == len(mine) and types == [i["type_id"] for i in mine]


@needs_cpppo
def test_our_client_reads_cpppo_servers_list_as_cpppo_does(cpppo_server):
    count, types = cpppo_list_interfaces("127.0.0.1", cpppo_server)
    mine = ours("127.0.0.1", cpppo_server)
    assert (count, types) == (0, []) and mine == []
