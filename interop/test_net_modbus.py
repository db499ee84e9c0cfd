"""Modbus fleets: `cpppo net fleet --modbus` behind a TAP, driven by pymodbus and by our own
`cpppo modbus poll`, every device with its own registers, EtherNet/IP alongside on the same IP.

Everything happens inside a network namespace these tests create and delete (needs root and
iproute2); the host's own interfaces are never touched.
"""
import subprocess
import sys
import time

import pytest

from conftest import cpppo_bin

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"

# 20 devices spread over the fleet: write distinct values into each one's holding registers,
# then (only after all the writes) read every one back. Shared registers would show the last
# device's values everywhere. A device never written keeps its initial values.
WRITE_THEN_READ = r"""
import socket, struct, sys, time
from pymodbus.client import ModbusTcpClient
net, first, count, step, untouched = sys.argv[1], *(int(a) for a in sys.argv[2:6])
base = struct.unpack(">I", socket.inet_aton(net))[0]
def addr(i):
    return socket.inet_ntoa(struct.pack(">I", base + first + i))
def client(ip):
    c = ModbusTcpClient(ip, port=502, timeout=3)
    for _ in range(50):  # first contact: ARP and the handshake through the TAP
        if c.connect():
            return c
        time.sleep(0.1)
    raise SystemExit(f"cannot connect to {ip}:502")
devices = list(range(0, count, step))
for k in devices:
    c = client(addr(k))
    r = c.write_registers(0, [k, 1000 + k, 7 * k], device_id=1)
    assert not r.isError(), (addr(k), r)
    assert not c.write_coil(k % 100, True, device_id=1).isError()
    c.close()
ok = 0
for k in devices:
    c = client(addr(k))
    r = c.read_holding_registers(0, count=4, device_id=1)
    assert not r.isError() and r.registers == [k, 1000 + k, 7 * k, 0], (addr(k), r)
    coils = c.read_coils(0, count=100, device_id=1).bits[:100]
    assert [i for i, b in enumerate(coils) if b] == [k % 100], (addr(k), coils)
    c.close()
    ok += 1
c = client(addr(untouched))
assert c.read_holding_registers(0, count=3, device_id=1).registers == [0, 0, 0]
c.close()
print(ok)
"""

# Modbus then EtherNet/IP (pycomm3) on the same device address.
BOTH = r"""
import sys
from pycomm3 import LogixDriver
from pymodbus.client import ModbusTcpClient
ip = sys.argv[1]
c = ModbusTcpClient(ip, port=502, timeout=3)
assert c.connect()
assert not c.write_register(9, 4242, device_id=1).isError()
assert c.read_holding_registers(9, count=1, device_id=1).registers == [4242]
c.close()
with LogixDriver(ip, init_program_tags=False) as plc:
    plc.write("SCADA[3]", 77)
    r = plc.read("SCADA[3]")
    assert r.error is None and r.value == 77, r
    print(int(plc.info["serial"], 16))
"""

# A Modbus-only device: its registers as given, exception 2 past them, nothing on 44818.
MODBUS_ONLY = r"""
import socket, sys
from pymodbus.client import ModbusTcpClient
ip = sys.argv[1]
c = ModbusTcpClient(ip, port=502, timeout=3)
assert c.connect()
assert c.read_holding_registers(0, count=10, device_id=1).registers == [5] * 10
r = c.read_holding_registers(10, count=1, device_id=1)
assert r.isError() and r.exception_code == 2, r
assert c.read_coils(0, count=16, device_id=1).bits[:16] == [True] * 16
c.close()
try:
    socket.create_connection((ip, 44818), timeout=3).close()
    print("44818 open")
except ConnectionRefusedError:
    print("44818 refused")
"""


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, timeout=20)


def in_ns(ns, *argv, timeout=120):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def fleet(spawn, netns, *args):
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--tap", "mbfleet0",
                  *args])
    proc.wait_output(r"started in", timeout=60)
    return proc


def test_fleet_of_200_modbus_devices_each_with_its_own_registers(spawn, netns):
    f = fleet(spawn, netns, "--devices", "200", "--subnet", "10.70.0.0/24", "--modbus")
    assert "Started fleet of 200 devices on 10.70.0.0/24" in f.output()
    assert "devices 10.70.0.2 - 10.70.0.201 (EtherNet/IP TCP+UDP 44818, Modbus/TCP 502)" in f.output()
    # Devices 0, 10, ..., 190 (at 10.70.0.2 + k); device 5 is never written.
    assert in_ns(netns, sys.executable, "-c", WRITE_THEN_READ, "10.70.0.0", "2", "200", "10",
                 "5").strip() == "20"
    # Our own poller reads one of them: device 30 at 10.70.0.32 holds 30, 1030, 210.
    poll = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "modbus", "poll", "-a",
                  "10.70.0.32:502", "-u", "1", "-R", "0.2", "40001-40003"])
    poll.wait_output(r"40001 ==    30 \(was: None\)", timeout=20)
    poll.wait_output(r"40002 ==  1030 \(was: None\)", timeout=20)
    poll.wait_output(r"40003 ==   210 \(was: None\)", timeout=20)
    poll.close()
    assert f.close() in (0, -15)
    assert b"mbfleet0" not in ip("-n", netns, "link", "show").stdout


def test_modbus_and_ethernet_ip_on_the_same_device(spawn, netns):
    f = fleet(spawn, netns, "--devices", "20", "--subnet", "10.71.0.0/24", "--modbus",
              "--serial", "500")
    # Device 7 (10.71.0.9): Modbus answers, then pycomm3 reads a tag and its serial number.
    assert in_ns(netns, sys.executable, "-c", BOTH, "10.71.0.9").strip() == "507"
    assert f.close() in (0, -15)


def test_modbus_only_fleet_with_given_registers(spawn, netns):
    f = fleet(spawn, netns, "--devices", "10", "--subnet", "10.72.0.0/24", "--no-enip",
              "--modbus-registers", "40001-40010=5", "--modbus-registers", "1-16=1")
    assert "devices 10.72.0.2 - 10.72.0.11 (Modbus/TCP 502), host 10.72.0.1" in f.output()
    assert in_ns(netns, sys.executable, "-c", MODBUS_ONLY, "10.72.0.11").strip() == "44818 refused"
    assert f.close() in (0, -15)


def test_modbus_fleet_refuses_clearly():
    for args, want in (
        (["--no-enip"], "--no-enip leaves nothing to serve: add --modbus"),
        (["--modbus-registers", "40001-30001"], "--modbus-registers: bad register range"),
        (["--no-enip", "--modbus", "X=INT"], "tags are EtherNet/IP's"),
    ):
        out = subprocess.run([cpppo_bin(), "net", "fleet", "--subnet", "10.0.0.0/24", *args],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 2 and want in out.stderr, (args, out.stderr)
        assert len(out.stderr.splitlines()) == 1, out.stderr


def test_modbus_costs_little_memory_per_device(spawn):
    """RSS of 1,000 devices with and without --modbus (no host link: nothing but the fleet)."""
    def rss(*args):
        p = spawn([cpppo_bin(), "net", "fleet", "--devices", "1000", "--subnet",
                   "10.73.0.0/20", *args])
        try:
            p.wait_output(r"started in", timeout=60)  # bounded, and fails if the fleet exits
            time.sleep(0.5)  # not a synchronisation: the devices' tasks settle before measuring
            with open(f"/proc/{p.p.pid}/status") as status:
                return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
        finally:
            p.close()
    per_device_kb = (rss("--modbus") - rss()) / 1000
    print(f"Modbus costs {per_device_kb:.1f} KB per device")
    # Measured 4.3 KB: the store (~1 KB for the default 400 registers), the listening socket's
    # 1 + 1 KB buffers, the simulator and its task. 4 KB EtherNet/IP-sized buffers would add 6.
    assert per_device_kb < 8, per_device_kb
