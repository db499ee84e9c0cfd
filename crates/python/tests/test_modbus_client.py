"""``poller_modbus(description, client=...)`` with an already-made pymodbus client, as cpppo
takes: a ``ModbusTcpClient`` (our simulator started from Python), and a
``ModbusSerialClient`` on a socat pseudo-terminal pair served by ``cpppo modbus sim
--serial`` (Modbus/RTU and Modbus/ASCII)."""
import pytest
from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient

from conftest import eventually, interop
from cpppo_rs import errors
from cpppo_rs.modbus import Simulator
from cpppo_rs.remote import plc_modbus


def poll_and_write(p, check_written):
    """Polls 40001-40002, writes 40002 and sees it polled back; stops the poller."""
    try:
        p.poll(40001)
        p.poll(40002)
        assert eventually(lambda: p.read(40002)) == 77
        assert p.read(40001) == 77 and p.online
        p.write(40002, 1234)
        assert check_written() == 1234
        assert eventually(lambda: p.read(40002) == 1234)
    finally:
        p.stop()


def test_poller_modbus_takes_a_pymodbus_tcp_client():
    with Simulator(["40001-40010=77"], address="127.0.0.1:0") as sim:
        c = ModbusTcpClient("127.0.0.1", port=sim.address[1], timeout=2)
        p = plc_modbus.poller_modbus("tcp", client=c, rate=.1)
        poll_and_write(p, lambda: sim.read(40002)[0])
        assert not c.connected  # its settings were used, not its socket


@pytest.mark.parametrize("framer,extra", [(FramerType.RTU, []),
                                          (FramerType.ASCII, ["--ascii"])])
def test_poller_modbus_takes_a_pymodbus_serial_client(spawn, pty_pair, framer, extra):
    a, b = pty_pair
    kind = "ASCII" if extra else "RTU"
    spawn([interop.cpppo_bin(), "modbus", "sim", "--serial", a, "--baud", "9600",
           "-u", "3", *extra, "40001-40010=77"]).wait_output(
        f"Started Modbus/{kind} Simulator")
    # (No parity here: pyserial cannot set one on a pseudo-terminal.)
    c = ModbusSerialClient(str(b), framer=framer, baudrate=9600, timeout=2)
    p = plc_modbus.poller_modbus("serial", client=c, unit=3, rate=.1)
    # One line, one master: the pymodbus client stays closed while the poller runs, and reads
    # the simulator's registers once it has stopped.
    poll_and_write(p, lambda: 1234)
    assert eventually(c.connect)  # once the stopped poller has let go of the line
    try:
        assert c.read_holding_registers(0, count=2, device_id=3).registers == [77, 1234]
    finally:
        c.close()


def test_poller_modbus_refuses_clients_and_units_it_cannot_use(tmp_path):
    with pytest.raises(TypeError, match="pymodbus"):
        plc_modbus.poller_modbus("x", client=object())
    c = ModbusSerialClient(str(tmp_path / "tty"), framer=FramerType.RTU)
    with pytest.raises(errors.InvalidValueError, match="unit 1-247"):
        plc_modbus.poller_modbus("x", client=c)  # unit 0: a broadcast, never answered
    c = ModbusSerialClient(str(tmp_path / "tty"), bytesize=7)
    with pytest.raises(ValueError, match="data bits"):
        plc_modbus.poller_modbus("x", client=c, unit=1)
