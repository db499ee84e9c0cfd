"""A fleet device's multicast T->O leaves the virtual LAN through the TAP as real multicast:
`cpppo net fleet --tap` in a network namespace, our scanner (`cpppo enip io --multicast
--input-only`, the host's kernel stack, in the same namespace) joins the device's group and
sees its inputs change as pycomm3 writes them; tshark decodes the T->O frames in the LAN's
capture: to the group's MAC and address, TTL 1, with the connection id the scanner opened.
(Several scanners on one LAN sharing the group: crates/fleet/tests/io.rs.)"""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import cpppo_bin, tshark_fields
from test_io_adapter import EXPLICIT

READY = r"Success; Started fleet of (\d+) devices"
DEVICE = "10.61.0.2"
# Logix-style allocation for host 2 of the /24: 239.192.1.0 + 32 * (2 - 1).
GROUP = "239.192.1.32"


def set_inputs(ns, hexdata):
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", EXPLICIT, DEVICE,
                          "100", hexdata], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_fleet_multicast_reaches_the_host_through_the_tap(spawn, netns, tmp_path):
    pcap = tmp_path / "lan.pcap"
    fleet = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "2",
                   "--subnet", "10.61.0.0/24", "--tap", "fio0", "--pcap", str(pcap),
                   "Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"])
    fleet.wait_output(READY, timeout=60)
    set_inputs(netns, "0102030405060708")
    scanner = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "enip", "io", "-a", DEVICE,
                     "--input", "100:8", "--input-only", "--multicast", "--rpi", "20", "--json"])
    m = scanner.wait_output(r'\{"event":"opened".*\}', timeout=20)
    opened = json.loads(m.group(0))
    assert opened["multicast"] == f"{GROUP}:2222", opened
    scanner.wait_output(r'"data":\[1,2,3,4,5,6,7,8\]', timeout=20)
    for value in ("0909090909090909", "2a2a2a2a2a2a2a2a"):
        set_inputs(netns, value)
        data = ",".join(str(b) for b in bytes.fromhex(value))
        scanner.wait_output(rf'"data":\[{data}\]', timeout=20)
    os.killpg(scanner.p.pid, signal.SIGINT)
    assert scanner.p.wait(10) == 0, scanner.output()
    assert fleet.close() in (0, -15)
    if not shutil.which("tshark"):
        pytest.skip("tshark not installed (the data arrived)")
    rows = tshark_fields(pcap, f"ip.dst == {GROUP} && udp", "eth.dst", "ip.ttl",
                         "enip.cpf.sai.connid", "cip.seq", "cipio.data")
    assert len(rows) >= 3, rows
    for mac, ttl, connid, seq, _ in rows:
        assert mac == "01:00:5e:40:01:20" and ttl == "1", rows[:3]
        assert int(connid, 16) == opened["t_o_id"] and seq, rows[:3]
    datas = {r[4].replace(":", "") for r in rows}
    assert {"0909090909090909", "2a2a2a2a2a2a2a2a"} <= datas, datas
