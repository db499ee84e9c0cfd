"""Bad input to the client side (connector arguments, bulk reads, proxies, polls) raises the
documented exception with a clear message; nothing crashes the interpreter."""
import pytest

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client
from cpppo_rs.enip.get_attribute import proxy_simple


def test_wrong_argument_types_name_the_argument(sim):
    host, port = sim.address
    with pytest.raises(TypeError, match="port must be an int, not str"):
        client.connector(host, str(port))
    with pytest.raises(ValueError, match="port must be 1..65535, not 70000"):
        client.connector(host, 70000)
    with pytest.raises(TypeError, match="host must be a str"):
        client.connector(("127.0.0.1",), port)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        client.connector(host, port, timeout=-1)
    with client.connector(host, port) as conn:
        with pytest.raises(TypeError):
            conn.read_many(42)
        with pytest.raises(TypeError):
            conn.read(7)
        assert conn.read("SCADA[0]") == [0]  # still usable


def test_an_unknown_tag_in_bulk_is_none_and_in_a_direct_read_a_status_error(sim):
    with client.connector(*sim.address) as conn:
        assert conn.read_many(["NOSUCH", "SCADA[0]"]) == [None, [0]]
        with pytest.raises(errors.StatusError) as e:
            conn.read("NOSUCH")
        assert e.value.status == 5


def test_a_proxy_with_a_bad_parameter_table_raises_operation_error(sim):
    class broken(proxy_simple):
        PARAMETERS = dict(proxy_simple.PARAMETERS,
                          bad=proxy_simple.parameter("@1/1/1", "NOTATYPE", None))
    via = broken(host=sim.address[0], port=sim.address[1])
    with pytest.raises(errors.OperationError, match="'NOTATYPE'"):
        list(via.read(via.parameter_substitution("Bad")))
    with pytest.raises(errors.OperationError, match="SCADA"):
        list(via.read("SCADA[1-"))


def test_a_proxy_for_a_closed_port_raises_communication_error():
    from conftest import interop
    via = proxy_simple(host="127.0.0.1", port=interop.closed_port(), timeout=1.0)
    with pytest.raises(errors.CommunicationError):
        list(via.read("SCADA[0]"))
    assert via.gateway is None and str(via) == "None at None"


def test_a_bulk_read_on_a_stopped_simulator_raises_communication_error():
    sim = Simulator(tags=["SCADA=INT[10]"])
    conn = client.connector(*sim.address, timeout=2.0)
    sim.stop()
    with pytest.raises(errors.CommunicationError):
        conn.read_many(["SCADA[0]"] * 100)


def test_a_proxy_refuses_keywords_it_does_not_know(sim):
    with pytest.raises(TypeError, match="unexpected keyword arguments: hots"):
        proxy_simple(host=sim.address[0], hots="x")
    with pytest.raises(TypeError, match="gateway_class"):
        proxy_simple(host=sim.address[0], gateway_class=object)
    proxy_simple(host=sim.address[0], priority_time_tick=5, timeout_ticks=157)  # cpppo's
