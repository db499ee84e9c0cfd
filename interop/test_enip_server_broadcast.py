"""ListIdentity by UDP broadcast, in a network namespace of our own (needs root and `ip`)."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import cpppo_bin

READY = r"Success; Started EtherNet/IP Simulator; PID = \d+; address = (\S+)"

CLIENT = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.settimeout(3)
s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0), ("10.9.9.255", 44818))
data, peer = s.recvfrom(1024)
family, port, addr = struct.unpack_from(">HH4s", data, 24 + 8)
print(peer[0], socket.inet_ntoa(addr), port, data[24:].hex())
"""


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    name = f"cpppo-enip-{os.getpid()}"
    ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True, timeout=10)
    try:
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ip("-n", name, "addr", "add", "10.9.9.1/24", "brd", "10.9.9.255", "dev", "v0")
        ip("-n", name, "link", "set", "v0", "up")
        ip("-n", name, "link", "set", "v1", "up")
    except subprocess.CalledProcessError as e:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        pytest.skip(f"cannot set up a network namespace: {e.stderr!r}")
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_list_identity_by_broadcast_reports_the_receiving_address(spawn, netns):
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "enip", "server", "--no-config", "A=INT"])
    proc.wait_output(READY)
    out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    peer, sin_addr, port, body = out.stdout.split()
    assert (peer, sin_addr, port) == ("10.9.9.1", "10.9.9.1", "44818")
    assert bytes.fromhex(body).find(b"1756-L61/B LOGIX5561") > 0
