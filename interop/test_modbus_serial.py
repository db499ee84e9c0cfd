"""Our simulator on a serial line (a socat pseudo-terminal pair), Modbus/RTU and Modbus/ASCII,
against pymodbus's serial client, with line noise injected between frames."""
import os
import select
import struct
import time

import pytest
from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient

from conftest import cpppo_bin

MAP = ["1-8=1", "40001-40010=5"]


def crc16(data: bytes) -> bytes:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def start_sim(spawn, dev, *extra):
    proc = spawn([cpppo_bin(), "modbus", "sim", "--serial", dev, "--baud", "19200",
                  "-u", "1,2", *extra, *MAP])
    kind = "ASCII" if "--ascii" in extra else "RTU"
    proc.wait_output(f"Success; Started Modbus/{kind} Simulator; PID = \\d+; address = {dev}")
    return proc


def noise(dev, data: bytes):
    fd = os.open(dev, os.O_WRONLY | os.O_NOCTTY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


RTU_NOISE = [b"\x00", b"\xff\xfe\x10\x10\x01", b"\x01\x03\x00", b"\x13\x37" * 7,
             bytes(range(40))]
ASCII_NOISE = [b"garbage", b":0103", b"\r\n", b":ZZ\r\n", b"::", b":01030000000AF1\r\n"]


@pytest.mark.parametrize("framer,extra,junk", [
    (FramerType.RTU, [], RTU_NOISE),
    (FramerType.ASCII, ["--ascii"], ASCII_NOISE),
])
def test_serial_client_through_noise(spawn, pty_pair, framer, extra, junk):
    a, b = pty_pair
    start_sim(spawn, a, *extra)
    c = ModbusSerialClient(str(b), framer=framer, baudrate=19200, timeout=2, retries=0)
    assert c.connect()
    try:
        for i, bad in enumerate(junk):
            noise(b, bad)
            if i % 2:
                time.sleep(0.05)  # a silence after the noise; otherwise glued to the frame
            assert c.read_holding_registers(0, count=2, device_id=1).registers == [5 + i, 5]
            assert not c.write_register(0, 6 + i, device_id=2).isError()
        assert c.read_coils(0, count=8, device_id=1).bits == [True] * 8
        assert not c.write_coils(0, [False, True], device_id=1).isError()
        assert not c.mask_write_register(address=5, and_mask=0xF0, or_mask=0x03,
                                         device_id=1).isError()
        r = c.readwrite_registers(read_address=4, read_count=2, write_address=9,
                                  values=[77], device_id=1)
        assert r.registers == [5, (5 & 0xF0) | 0x03]
        assert c.read_holding_registers(9, count=1, device_id=2).registers == [77]
        r = c.read_holding_registers(10, count=1, device_id=1)
        assert r.isError() and r.exception_code == 2
    finally:
        c.close()


def read_reply(fd, timeout=1.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            got += os.read(fd, 256)
        elif got:
            break
    return got


def test_rtu_units_broadcast_and_unknown_function(spawn, pty_pair):
    a, b = pty_pair
    start_sim(spawn, a)
    fd = os.open(b, os.O_RDWR | os.O_NOCTTY)
    try:
        def ask(frame):
            os.write(fd, frame + crc16(frame))
            return read_reply(fd)
        read = bytes([1, 3, 0, 0, 0, 1])
        assert ask(read) == bytes([1, 3, 2, 0, 5]) + crc16(bytes([1, 3, 2, 0, 5]))
        assert ask(bytes([3, 3, 0, 0, 0, 1])) == b"", "unit 3 is not ours: silence"
        assert ask(bytes([0, 6, 0, 0, 0, 42])) == b"", "broadcasts get no answer"
        assert ask(read)[3:5] == bytes([0, 42]), "but are performed"
        exc = bytes([2, 0xAB, 1])
        assert ask(bytes([2, 0x2B, 0x0E, 1, 0])) == exc + crc16(exc)
        corrupt = read + b"\x00\x00"
        os.write(fd, corrupt)
        assert read_reply(fd, 0.3) == b"", "bad CRC: no answer"
        assert ask(read)[3:5] == bytes([0, 42])
    finally:
        os.close(fd)


@pytest.mark.parametrize("extra", [[], ["--ascii"]])
def test_our_poller_over_the_serial_line(spawn, pty_pair, extra):
    a, b = pty_pair
    start_sim(spawn, a, *extra)
    poll = spawn([cpppo_bin(), "modbus", "poll", "-a", b, *extra, "-u", "2", "-R", "0.1",
                  "40001-40002=8", "40001-40004", "1-2"])
    poll.wait_output(r"40001 ==     8 \(was: None\)")
    poll.wait_output(r"40003 ==     5 \(was: None\)")
    poll.wait_output(r"    2 ==     1 \(was: None\)")


def test_serial_poll_needs_a_unit(pty_pair):
    import subprocess
    _, b = pty_pair
    p = subprocess.run([cpppo_bin(), "modbus", "poll", "--serial", b, "40001"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "-u UNIT" in p.stderr
