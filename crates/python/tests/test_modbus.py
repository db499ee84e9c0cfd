"""Modbus from Python: a simulator started from Python (pymodbus's client against it) and
poller_modbus (cpppo's seed example with only its import changed) against pymodbus's server and
ours."""
import threading
import time

import pytest
from pymodbus.client import ModbusTcpClient

from conftest import eventually, interop
from cpppo_rs import errors
from cpppo_rs.modbus import Simulator
from cpppo_rs.remote import plc_modbus
from cpppo_rs.remote.plc import PlcOffline


@pytest.fixture
def modbus_sim():
    with Simulator(["1-16=1", "10001-10004=0", "30001-30010=300", "40001-40100=99"]) as sim:
        yield sim


@pytest.fixture
def pymodbus_port(spawn):
    """interop's pymodbus server (holding registers 40001.. = 1000, 1001, ...): its port."""
    return interop.pymodbus_server(spawn)[1]


def test_pymodbus_reads_and_writes_a_simulator_started_from_python(modbus_sim):
    host, port = modbus_sim.address
    assert port != 0
    c = ModbusTcpClient(host, port=port, timeout=3)
    assert c.connect()
    try:
        assert c.read_holding_registers(0, count=3).registers == [99, 99, 99]
        assert c.read_input_registers(9, count=1).registers == [300]
        assert c.read_coils(0, count=2).bits[:2] == [True, True]
        assert not c.write_registers(4, [1, 2, 3]).isError()
        assert not c.write_coil(1, False).isError()
        assert modbus_sim.read(40004, 5) == [99, 1, 2, 3, 99]
        assert modbus_sim.read(1, 2) == [1, 0]
        modbus_sim.write(40010, [7, 8])
        modbus_sim.write(30001, 5)          # inputs too, from Python
        modbus_sim.write(10002, True)
        assert c.read_holding_registers(9, count=2).registers == [7, 8]
        assert c.read_input_registers(0, count=1).registers == [5]
        assert c.read_discrete_inputs(0, count=2).bits[:2] == [False, True]
        r = c.read_holding_registers(100, count=1)  # 40101: not simulated
        assert r.isError() and r.exception_code == 2
    finally:
        c.close()


def test_modbus_simulator_bad_input_and_stop(modbus_sim):
    with pytest.raises(errors.SimulatorError, match="40101 is not simulated"):
        modbus_sim.read(40100, 2)
    with pytest.raises(errors.InvalidValueError, match="20000 is not a Modbus register"):
        modbus_sim.read(20000)
    with pytest.raises(TypeError, match="cannot write a str"):
        modbus_sim.write(40001, "x")
    with pytest.raises(errors.InvalidValueError, match="70000 does not fit a register"):
        modbus_sim.write(40001, [1, 70000])
    assert modbus_sim.read(40001) == [99]  # nothing written
    with pytest.raises(errors.SimulatorError, match="40001-"):
        Simulator(["40001-"])
    port = modbus_sim.address[1]
    modbus_sim.stop()
    assert not modbus_sim.running
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    assert not c.connect()
    assert modbus_sim.read(40001) == [99]  # values stay readable


def test_poller_modbus_seed_example_with_import_changes_only(modbus_sim):
    port = modbus_sim.address[1]
    # cpppo's README poller_modbus example (the modbus_sim variant), import changed.
    from cpppo_rs.remote import plc_modbus

    p = plc_modbus.poller_modbus('fake', host="localhost", port=port, rate=.5)

    p.poll(40001)          # Begin polling address(es) in background Thread

    # ... later ...

    reg = p.read(40001)    # Will be None, 'til poll succeeds
    assert reg in (None, 99)
    assert eventually(lambda: p.read(40001)) == 99
    p.write(40001, 123)    # Change the value in the PLC synchronously
    assert modbus_sim.read(40001) == [123]
    assert eventually(lambda: p.read(40001) == 123)  # Will eventually be 123, after next poll
    one, five, fifteen = p.load
    assert 0.0 <= one <= 1.0 and 0.0 <= five <= 1.0 and 0.0 <= fifteen <= 1.0
    p.stop()
    assert not p.is_alive()


def test_poller_modbus_against_pymodbus(pymodbus_port):
    p = plc_modbus.poller_modbus("pymodbus", host="127.0.0.1", port=pymodbus_port, rate=.1)
    try:
        for a in (40001, 40002, 40010, 1, 2):
            p.poll(a)
        assert eventually(lambda: p.read(40010) is not None and p.read(2) is not None)
        assert [p.read(a) for a in (40001, 40002, 40010)] == [1000, 1001, 1009]
        assert (p.read(1), p.read(2)) == (1, 0)
        assert p.online
        p.write(40002, [5, 6])
        p.write(2, True)
        assert eventually(lambda: p.read(40002) == 5 and p.read(2) == 1)
        c = ModbusTcpClient("127.0.0.1", port=pymodbus_port, timeout=3)
        assert c.connect()
        assert c.read_holding_registers(1, count=2).registers == [5, 6]
        c.close()
        with pytest.raises(errors.InvalidValueError, match="read-only"):
            p.write(30001, 1)
    finally:
        p.stop()


def test_poller_modbus_offline_plc():
    sim = Simulator(["40001-40010=4"])
    port = sim.address[1]
    p = plc_modbus.poller_modbus("gone", host="127.0.0.1", port=port, rate=.1, timeout=.5)
    try:
        p.poll(40001)
        assert eventually(lambda: p.read(40001)) == 4
        sim.stop()
        # Offline: reads give None, writes raise PlcOffline (a CommunicationError).
        assert eventually(lambda: p.read(40001) is None)
        assert not p.online
        with pytest.raises(PlcOffline):
            p.write(40001, 1)
        assert issubclass(PlcOffline, errors.CommunicationError)
    finally:
        p.stop()
    with pytest.raises(PlcOffline, match="stopped"):
        p.read(40001)


def test_poller_write_does_not_hold_the_gil(modbus_sim):
    """A write waiting for a slow PLC lets other Python threads run."""
    slow = Simulator(["40001-40002=0"], delay=(0.5, 0.5))
    p = plc_modbus.poller_modbus("slow", host="127.0.0.1", port=slow.address[1], rate=5,
                                 timeout=3)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)
    t = threading.Thread(target=tick)
    t.start()
    try:
        before = len(ticks)
        p.write(40001, 42)
        assert len(ticks) - before >= 10  # the ticker ran during the ~0.5 s write
        assert slow.read(40001) == [42]
    finally:
        stop.set()
        t.join(5)
        p.stop()
        slow.stop()


def test_modbus_simulator_units_and_delay():
    with Simulator(["40001-40002=5"], units=[1], delay=(0.2, 0.2)) as sim:
        c = ModbusTcpClient(sim.address[0], port=sim.address[1], timeout=3)
        assert c.connect()
        try:
            began = time.monotonic()
            assert c.read_holding_registers(0, count=2, device_id=1).registers == [5, 5]
            assert time.monotonic() - began >= 0.2
            r = c.read_holding_registers(0, count=1, device_id=2)  # a unit it does not serve
            assert r.isError() and r.exception_code == 0x0B
        finally:
            c.close()
