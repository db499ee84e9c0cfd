"""Our poller CLI (`cpppo modbus poll`, `modbus_poll`) against a pymodbus server and our own
simulator: initial writes, change logging as cpppo does, and reconnecting."""
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from conftest import MODBUS_READY, cpppo_bin, pymodbus_server

def test_poll_pymodbus_server_writes_and_logs_changes(spawn, tmp_path):
    _, port = pymodbus_server(spawn)
    poll = spawn([cpppo_bin(), "modbus", "poll", "-a", f"127.0.0.1:{port}", "-R", "0.1",
                  "-u", "1", "40001-40003=7", "40001-40010", "1-4"])
    poll.wait_output(r"40001 ==     7 \(was: None\)")
    poll.wait_output(r"40003 ==     7 \(was: None\)")
    poll.wait_output(r"40004 ==  1003 \(was: None\)")
    poll.wait_output(r"40010 ==  1009 \(was: None\)")
    poll.wait_output(r"    1 ==     1 \(was: None\)")
    poll.wait_output(r"    2 ==     0 \(was: None\)")
    # Someone else writes: the poller logs the change.
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert c.connect()
    try:
        assert c.read_holding_registers(0, count=3).registers == [7, 7, 7]
        assert not c.write_register(8, 999).isError()
        assert not c.write_coil(1, True).isError()
    finally:
        c.close()
    poll.wait_output(r"40009 ==   999 \(was: 1008\)")
    poll.wait_output(r"    2 ==     1 \(was: 0\)")


def test_modbus_poll_binary_against_our_simulator(spawn):
    sim = spawn([cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0", "40001-40100=99"])
    port = sim.port(MODBUS_READY)
    poll_bin = Path(cpppo_bin()).parent / "modbus_poll"
    first = spawn([poll_bin, "-a", f"127.0.0.1:{port}", "-R", "0.1", "40001-40010=0",
                   "40001-40100"])
    first.wait_output(r"40001 ==     0 \(was: None\)")
    first.wait_output(r"40011 ==    99 \(was: None\)")
    # As in cpppo's README: a second poller writes, the first one sees it.
    spawn([poll_bin, "-a", f"127.0.0.1:{port}", "40009=999"])
    first.wait_output(r"40009 ==   999 \(was: 0\)")


def test_poller_survives_the_plc_going_away(spawn, tmp_path):
    server, port = pymodbus_server(spawn)
    poll = spawn([cpppo_bin(), "modbus", "poll", "-a", f"127.0.0.1:{port}", "-R", "0.1",
                  "-t", "0.5", "40002"])
    poll.wait_output(r"40002 ==  1001 \(was: None\)")
    server.close()
    poll.wait_output(r"40002 ==  None \(was: 1001\)")
    # The PLC comes back at its address (the port it had, so the poller finds it again).
    pymodbus_server(spawn, port)
    poll.wait_output(r"40002 ==  1001 \(was: None\)", timeout=20)
    assert poll.p.poll() is None


def test_poll_bad_arguments_exit_2(spawn):
    import subprocess
    for args in (["40001-x"], ["-a", "host:port", "40001"], ["-R", "0", "40001"]):
        p = subprocess.run([cpppo_bin(), "modbus", "poll", *args], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.strip()
