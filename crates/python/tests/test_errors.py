"""Bad input raises the documented cpppo_rs.errors exception with a clear message."""
import os
import signal
import threading
import time

import pytest

import cpppo_rs
from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client


def test_an_unknown_tag_is_a_status_error_carrying_the_cip_status(sim):
    with client.connector(*sim.address) as conn:
        with pytest.raises(errors.StatusError) as e:
            conn.read("NOSUCH[0]")
        assert e.value.status == 5 and isinstance(e.value.extended_status, list)
        assert "NOSUCH" in str(e.value)
        assert conn.read("SCADA[0]") == [0]  # the session survives


def test_bad_operation_text_is_an_operation_error_naming_it(sim):
    with pytest.raises(errors.OperationError, match=r"SCADA\[1-"):
        client.parse_operations(["SCADA[1-"])
    with client.connector(*sim.address) as conn:
        with pytest.raises(errors.OperationError):
            conn.write("SCADA[0]=(INT)notanumber")
        with pytest.raises(errors.OperationError):
            list(conn.pipeline([42]))
    assert issubclass(errors.OperationError, ValueError)


def test_a_bad_route_or_send_path_is_an_operation_error(sim):
    with pytest.raises(errors.OperationError, match="send path"):
        client.connector(*sim.address, send_path="SCADA")
    with pytest.raises(errors.OperationError):
        client.connector(*sim.address, route_path="x/y/z")


def test_a_closed_connector_raises_communication_error(sim):
    conn = client.connector(*sim.address)
    conn.close()
    conn.close()  # idempotent
    assert conn.closed
    with pytest.raises(errors.CommunicationError, match="closed"):
        conn.read("SCADA[0]")


def test_a_stopped_simulator_or_refused_connection_is_a_communication_error():
    sim = Simulator(tags=["SCADA=INT[10]"])
    conn = client.connector(*sim.address, timeout=2.0)
    assert conn.read("SCADA[0]") == [0]
    sim.stop()
    assert not sim.running
    with pytest.raises(cpppo_rs.CommunicationError):
        conn.read("SCADA[0]")
    with pytest.raises(cpppo_rs.CommunicationError):
        client.connector(*sim.address, timeout=2.0)  # nobody listens there now


def test_no_reply_within_the_timeout_is_a_timeout_error():
    with Simulator(tags=["SCADA=INT[10]"], delay=(1.0, 1.0)) as slow:
        with client.connector(*slow.address, timeout=5.0) as ok:
            assert ok.read("SCADA[0]") == [0]
        with pytest.raises(errors.TimeoutError) as e:
            client.connector(*slow.address, timeout=0.2)  # its RegisterSession reply is late
        assert isinstance(e.value, TimeoutError)  # also the builtin


def test_simulator_bad_input():
    with pytest.raises(errors.SimulatorError, match="NOPE"):
        Simulator(tags=["X=NOPE[3]"])
    with pytest.raises(errors.SimulatorError, match="address"):
        Simulator(tags=["X=INT"], address="not an address")
    with Simulator(tags=["SCADA=INT[10]"]) as sim:
        with pytest.raises(errors.UnknownTagError, match="MISSING"):
            sim.read("MISSING")
        with pytest.raises(errors.InvalidValueError, match="INT"):
            sim.write("SCADA", ["text"])
        with pytest.raises(errors.InvalidValueError, match="70000 is out of range for INT"):
            sim.write("SCADA", [70000])
        with pytest.raises(TypeError):
            sim.write("SCADA", [object()])
        with pytest.raises(errors.SimulatorError, match="10 element"):
            sim.read("SCADA", 8, 5)
        assert sim.read("SCADA") == [0] * 10


def test_every_error_is_a_cpppo_rs_error():
    for cls in (errors.OperationError, errors.CommunicationError, errors.TimeoutError,
                errors.StatusError, errors.SimulatorError, errors.UnknownTagError,
                errors.InvalidValueError):
        assert issubclass(cls, cpppo_rs.Error)



def _interrupted(call, after=0.2):
    """Runs call() with a SIGINT sent to this process `after` seconds in; how long until
    KeyboardInterrupt was raised."""
    timer = threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        return time.monotonic() - start
    finally:
        timer.cancel()


def test_ctrl_c_interrupts_a_blocking_call_and_closes_the_connector():
    with Simulator(tags=["SCADA=INT[10]"], delay=(2.0, 2.0)) as slow:
        # Every reply takes 2 s, RegisterSession's too: interrupt a connect, then a read;
        # each must end well before its reply would have come.
        assert _interrupted(lambda: client.connector(*slow.address, timeout=30.0)) < 1.5
        conn = client.connector(*slow.address, timeout=30.0)
        assert _interrupted(lambda: conn.read("SCADA[0]")) < 1.5
        assert conn.closed  # its reply would arrive for the next request: not usable
        with pytest.raises(errors.CommunicationError, match="closed"):
            conn.read("SCADA[0]")


def test_a_connector_busy_in_another_thread_refuses_instead_of_deadlocking():
    with Simulator(tags=["A=INT"], delay=(0.5, 0.5)) as sim:
        conn = client.connector(*sim.address)
        t = threading.Thread(target=conn.read, args=("A",))
        t.start()
        time.sleep(0.1)
        with pytest.raises(errors.CommunicationError, match="another thread"):
            conn.read("A")
        t.join(10)
        assert conn.read("A") == [0]  # free again once the other call is done


def test_a_simulator_dropped_without_stop_closes_its_listener():
    import gc
    import socket
    sim = Simulator(tags=["A=INT"])
    address = sim.address
    del sim
    gc.collect()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2).close()
