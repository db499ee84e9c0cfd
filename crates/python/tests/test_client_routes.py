"""Per-operation route and send paths (cpppo's ``parse_operations(tags, route_path=...,
send_path=...)``): one connection, one pipeline, each operation sent along its own path;
against our simulator (``route_path=``, ``simple=``) and cpppo 5.2.5's (``--route-path``,
``-S``)."""
import pytest

from conftest import interop
from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client

OK = 0


def statuses_and_values(conn, ops, depth, multiple=0):
    """[(status, value)] of a pipeline over ops, checking its indices run 0..n."""
    out = list(conn.pipeline(ops, depth=depth, multiple=multiple))
    assert [t[0] for t in out] == list(range(len(ops)))
    return [(t[4], t[5]) for t in out]


def mixed_on_slot_3():
    """A write and a read along route 1/3 around a read along the connector's 1/0."""
    return (client.parse_operations(["SCADA[1]=(INT)11"], route_path="1/3")
            + client.parse_operations(["SCADA[1]"])
            + client.parse_operations(["SCADA[1]"], route_path=[{"port": 1, "link": 3}]))


def check_slot_3(port):
    with client.connector("127.0.0.1", port) as conn:  # route 1/0 by default
        for depth, multiple in ((1, 0), (2, 0), (2, 500)):  # 500: Multiple Service Packets
            got = statuses_and_values(conn, mixed_on_slot_3() * 2, depth, multiple)[3:]
            assert got[0] == (OK, True)
            assert got[1][0] != OK and got[1][1] is None  # 1/0 is not served
            assert got[2] == (OK, [11])
        # The connector's own route is back afterwards.
        with pytest.raises(errors.StatusError):
            conn.read("SCADA[1]")


def mixed_on_a_simple_device():
    """A direct write (no Unconnected Send), a routed read, a direct read."""
    return (client.parse_operations(["SCADA[2]=(INT)22"], send_path="")
            + client.parse_operations(["SCADA[2]"])
            + client.parse_operations(["SCADA[2]"], send_path="", route_path=False))


def check_simple(port):
    with client.connector("127.0.0.1", port) as conn:
        for depth, multiple in ((1, 0), (3, 0), (3, 500)):
            got = statuses_and_values(conn, mixed_on_a_simple_device() * 2, depth, multiple)[3:]
            assert got[0] == (OK, True)
            assert got[1][0] != OK and got[1][1] is None  # routed: refused
            assert got[2] == (OK, [22])
        assert conn.process(mixed_on_a_simple_device())[0] == 1


def test_each_operation_goes_along_its_own_route_path_on_our_simulator():
    with Simulator(tags=["SCADA=INT[10]"], route_path="1/3") as sim:
        check_slot_3(sim.address[1])


def test_send_path_empty_sends_an_operation_directly_to_our_simple_simulator():
    with Simulator(tags=["SCADA=INT[10]"], simple=True) as sim:
        check_simple(sim.address[1])


# cpppo 5.2.5 answers a request on a route it does not serve with an encapsulation error
# (status 0x08) instead of a CIP status, so these pipelines hold only operations it serves,
# each on a path other than the connector's (route 1/0, which it would refuse).

def test_each_operation_goes_along_its_own_route_path_on_cpppo(spawn):
    _, port = interop.cpppo_enip_server(spawn, "--route-path", "1/3", "SCADA=INT[10]",
                                        udp=False)
    with client.connector("127.0.0.1", port) as conn:
        for depth in (1, 2):
            ops = (client.parse_operations(["SCADA[1]=(INT)11"], route_path="1/3")
                   + client.parse_operations(["SCADA[1]", "SCADA[2]"], send_path="")
                   + client.parse_operations(["SCADA[1]"], route_path=[{"port": 1, "link": 3}]))
            assert statuses_and_values(conn, ops, depth) == [
                (OK, True), (OK, [11]), (OK, [0]), (OK, [11])]
        with pytest.raises(errors.CommunicationError):
            conn.read("SCADA[1]")  # the connector's own route 1/0


def test_send_path_empty_sends_an_operation_directly_to_cpppo_simple(spawn):
    _, port = interop.cpppo_enip_server(spawn, "-S", "SCADA=INT[10]", udp=False)
    with client.connector("127.0.0.1", port) as conn:
        ops = client.parse_operations(["SCADA[2]=(INT)22", "SCADA[2]"], send_path="")
        assert statuses_and_values(conn, ops, 2) == [(OK, True), (OK, [22])]


def test_operations_carry_the_paths_they_were_given():
    op, = client.parse_operations(["SCADA[1]"], route_path=False, send_path="@6/1")
    assert (op.route_path, op.send_path) == ("false", "@6/1")
    assert repr(op) == 'Operation("SCADA[1]", route_path="false", send_path="@6/1")'
    plain, = client.parse_operations(["SCADA[1]"])
    assert (plain.route_path, plain.send_path) == (None, None)
    # Paths given again are stamped over an operation's own; None keeps them.
    again, = client.parse_operations([op], route_path="1/2")
    assert (again.route_path, again.send_path) == ("1/2", "@6/1")
    assert client.Operation("A", send_path="").send_path == ""


def test_a_bad_path_raises_operation_error_naming_it():
    with pytest.raises(errors.OperationError, match="route_path"):
        client.parse_operations(["SCADA[1]"], route_path="1/x")
    with pytest.raises(errors.OperationError, match="send_path"):
        client.parse_operations(["SCADA[1]"], send_path="@zz")


def test_read_many_refuses_operations_with_their_own_paths():
    with Simulator(tags=["SCADA=INT[10]"]) as sim, client.connector(*sim.address) as conn:
        ops = client.parse_operations(["SCADA[1]"], route_path="1/3")
        with pytest.raises(errors.OperationError, match="pipeline"):
            conn.read_many(ops)
        assert conn.read_many(["SCADA[1]"]) == [[0]]
