"""Our Modbus/TCP simulator (`cpppo modbus sim`, `modbus_sim`) against pymodbus's client."""
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from conftest import cpppo_bin

MAP = ["1-16=1", "10001-10016=0,1", "30001-30010=300", "40001-40100=99", "400201-400205=7"]
READY = r"Success; Started Modbus/TCP Simulator; PID = (\d+); address = 127\.0\.0\.1:(\d+)"


@pytest.fixture
def sim(spawn):
    proc = spawn([cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0",
                  "--exception", "40090=0x0C", *MAP])
    m = proc.wait_output(READY)
    port = int(m.group(2))
    assert port != 0
    assert int(m.group(1)) == proc.p.pid
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert client.connect()
    yield client, port, proc
    client.close()


def test_every_function_code(sim):
    c, _, _ = sim
    assert c.read_holding_registers(0, count=3, device_id=1).registers == [99, 99, 99]
    assert c.read_holding_registers(200, count=5).registers == [7] * 5  # 400201-400205
    assert c.read_input_registers(9, count=1).registers == [300]
    assert c.read_coils(0, count=3).bits[:3] == [True] * 3
    assert c.read_discrete_inputs(0, count=4).bits[:4] == [False, True, False, True]
    assert not c.write_coil(1, False).isError()
    assert not c.write_coils(2, [False, True, False]).isError()
    assert c.read_coils(0, count=5).bits[:5] == [True, False, False, True, False]
    assert not c.write_register(0, 1234).isError()
    assert not c.write_registers(1, [5, 6, 7]).isError()
    assert not c.mask_write_register(address=3, and_mask=0x00F2, or_mask=0x0025).isError()
    r = c.readwrite_registers(read_address=0, read_count=4, write_address=10, values=[42, 43])
    assert r.registers == [1234, 5, 6, (7 & 0xF2) | (0x25 & ~0xF2 & 0xFFFF)]
    assert c.read_holding_registers(10, count=2).registers == [42, 43]
    # Long reads and writes (40090 is configured to fail).
    assert not c.write_registers(0, list(range(80))).isError()
    assert c.read_holding_registers(0, count=80).registers == list(range(80))
    assert c.read_coils(0, count=16).bits[5:16] == [True] * 11


def test_exceptions(sim):
    c, port, _ = sim
    for r in (c.read_holding_registers(100, count=1),      # 40101: not configured
              c.read_holding_registers(95, count=10),      # runs past 40100
              c.read_coils(16, count=1),
              c.read_input_registers(10, count=1),
              c.write_register(5000, 1),
              c.write_coils(15, [True, True])):
        assert r.isError() and r.exception_code == 2, r
    r = c.read_holding_registers(85, count=10)             # touches 40090
    assert r.isError() and r.exception_code == 0x0C
    # Bad values (03) and unknown functions (01): pymodbus will not send these, so raw.
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        def ask(pdu):
            s.sendall(struct.pack(">HHHB", 9, 0, len(pdu) + 1, 1) + pdu)
            head = s.recv(7)
            tid, _, length, _ = struct.unpack(">HHHB", head)
            assert tid == 9
            return s.recv(length - 1)
        assert ask(bytes([3, 0, 0, 0, 0])) == bytes([0x83, 3])        # quantity 0
        assert ask(bytes([3, 0, 0, 0, 126])) == bytes([0x83, 3])      # quantity 126
        assert ask(bytes([5, 0, 0, 0x12, 0x34])) == bytes([0x85, 3])  # coil value
        assert ask(bytes([0x2B, 0x0E, 1, 0])) == bytes([0xAB, 1])
        assert ask(bytes([0x41])) == bytes([0xC1, 1])
    # The connection pymodbus holds is unharmed.
    assert c.read_holding_registers(0, count=1).registers == [99]


def test_pipelined_requests_answered_in_order(sim):
    _, port, _ = sim
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        reqs = b"".join(struct.pack(">HHHBBHH", tid, 0, 6, 1, 3, tid % 80, 1)
                        for tid in range(1, 201))
        s.sendall(reqs)
        want = 200 * 11
        got = b""
        while len(got) < want:
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        tids = [struct.unpack(">H", got[i:i + 2])[0] for i in range(0, want, 11)]
        assert tids == list(range(1, 201))


def test_garbage_closes_only_its_connection(sim):
    c, port, _ = sim
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(b"\x00\x01\x00\x00\xff\xff" + bytes(range(256)))
        assert s.recv(100) == b""
    assert c.read_holding_registers(0, count=1).registers == [99]


def test_sigterm_exits_cleanly(sim):
    _, _, proc = sim
    proc.p.terminate()
    assert proc.p.wait(5) == 0


def test_modbus_sim_binary_and_unit_ids(spawn):
    sim = Path(cpppo_bin()).parent / "modbus_sim"
    proc = spawn([sim, "-a", "127.0.0.1:0", "-u", "1,5", "40001-40010=3"])
    port = int(proc.wait_output(READY).group(2))
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert c.connect()
    try:
        assert c.read_holding_registers(0, count=2, device_id=5).registers == [3, 3]
        r = c.read_holding_registers(0, count=2, device_id=2)
        assert r.isError() and r.exception_code == 0x0B
    finally:
        c.close()


@pytest.mark.parametrize("bad", ["40001-39999", "100000", "40001=x", "1=5"])
def test_bad_register_range_is_one_line_exit_2(bad):
    p = subprocess.run([cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0", bad],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert bad in p.stderr and len(p.stderr.strip().splitlines()) == 1
