"""`cpppo net fleet --tap` is routed: 4,000 devices behind one TAP, one neighbour entry.

The host's kernel keeps one neighbour (ARP) entry per address it talks to on a connected
subnet, and its neighbour table is limited (gc_thresh3, 1,024 by default, global on recent
kernels), so past ~1,000 devices first contact failed. The fleet now gives the TAP the host
address as a /32 and routes the subnet via a virtual gateway the switch answers for; devices'
ARP requests for the host are answered by the switch. These tests run a fleet four times that
size inside a network namespace they create and delete, and check that the host reaches every
part of it while its neighbour table holds the gateway alone.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Proc, cpppo_bin

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"
DEVICES = 4000
SUBNET = "10.70.0.0/20"
NETWORK = "10.70.0.0"
BROADCAST_ADDR = "10.70.15.255"
LAST = "10.70.15.161"  # device 3,999: the host is 10.70.0.1, device k is at 10.70.0.2 + k
GATEWAY = "169.254.44.18"
GATEWAY_MAC = "02:63:70:70:70:6f"
TAP = "fleet0"
UNOWNED = "10.70.15.200"  # inside the subnet, past the last device

# A connection to an address no device owns fails at once: "No route to host" (errno, seconds).
UNREACHABLE = r"""
import socket, sys, time
t0 = time.monotonic()
try:
    socket.create_connection((sys.argv[1], 44818), timeout=10).close()
    print("connected")
except OSError as e:
    print(e.errno, round(time.monotonic() - t0, 3))
"""

# Device k of the fleet (k from argv); pycomm3 writes and reads a tag and checks the Identity
# serial number (device k has serial k + 1).
PYCOMM3 = r"""
import socket, struct, sys
from pycomm3 import LogixDriver
net = struct.unpack(">I", socket.inet_aton(sys.argv[1]))[0]
ok = 0
for k in (int(a) for a in sys.argv[2:]):
    ip = socket.inet_ntoa(struct.pack(">I", net + 2 + k))
    with LogixDriver(ip, init_program_tags=False) as plc:
        plc.write("SCADA[5]", k % 30000)
        r = plc.read("SCADA[5]")
        assert r.error is None and r.value == k % 30000, (ip, r)
        assert int(plc.info["serial"], 16) == k + 1, (ip, plc.info)
    ok += 1
print(ok)
"""

# First contact with every device: a TCP connection to each, one after the other.
CONNECT_ALL = r"""
import socket, struct, sys
net, count = struct.unpack(">I", socket.inet_aton(sys.argv[1]))[0], int(sys.argv[2])
ok = 0
for k in range(count):
    ip = socket.inet_ntoa(struct.pack(">I", net + 2 + k))
    try:
        socket.create_connection((ip, 44818), timeout=2).close()
        ok += 1
    except OSError as e:
        print(ip, e, file=sys.stderr)
print(ok)
"""

# One broadcast List Identity to the subnet's broadcast address; count distinct answers.
BROADCAST = r"""
import socket, struct, sys, time
bcast, want = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: hold every answer of the burst
s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0), (bcast, 44818))
seen = set()
deadline = time.monotonic() + 30
s.settimeout(3)
while len(seen) < want and time.monotonic() < deadline:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        break
    if data[:2] == b"\x63\x00":
        seen.add(peer[0])
print(len(seen))
"""


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=20)


def in_ns(ns, *argv, timeout=50):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    """A namespace with a 4,000-device fleet behind TAP fleet0: (namespace, fleet process)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (namespaces, TAP devices)")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun")
    ns = f"cpppo-routed-{os.getpid()}"
    try:
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as e:
        ip("netns", "del", ns, check=False)
        pytest.skip(f"cannot create a network namespace: {e.stderr!r}")
    # No gc_thresh tuning here: the point is that the defaults suffice.
    log = Path(tmp_path_factory.mktemp("routed")) / "fleet.log"
    fleet = Proc(["ip", "netns", "exec", ns, cpppo_bin(), "net", "fleet", "--devices",
                  str(DEVICES), "--subnet", SUBNET, "--tap", TAP], log)
    try:
        m = fleet.wait_output(READY, timeout=50)
        assert m.group(1) == str(DEVICES) and m.group(2) == SUBNET
        assert f"devices 10.70.0.2 - {LAST}" in fleet.output()
        yield ns, fleet
        assert fleet.close() in (0, -15)
        # The TAP, its address and its route went away with the fleet.
        assert TAP not in ip("-n", ns, "link", "show").stdout
    finally:
        fleet.close()
        ip("netns", "del", ns, check=False)


def neighbours(ns):
    """The host's neighbour entries on the TAP (IPv4 and IPv6)."""
    return [line for line in ip("-n", ns, "neigh", "show", "dev", TAP).stdout.splitlines()
            if line.strip()]


def assert_gateway_only(ns):
    entries = neighbours(ns)
    assert len(entries) <= 2, entries
    assert not [e for e in entries if e.startswith("10.70.")], entries
    assert any(e.startswith(GATEWAY + " ") and GATEWAY_MAC in e for e in entries), entries


def test_the_tap_is_routed_via_the_gateway(routed):
    ns, _ = routed
    addrs = ip("-n", ns, "-4", "addr", "show", "dev", TAP).stdout
    assert "inet 10.70.0.1/32" in addrs, addrs
    routes = ip("-n", ns, "route", "show", "dev", TAP).stdout
    assert re.search(rf"^{re.escape(SUBNET)} via {GATEWAY} .*onlink", routes, re.M), routes


def test_pycomm3_and_our_client_reach_devices_across_the_whole_range(routed):
    ns, _ = routed
    # 50 devices: every 80th from the first, then the very last one instead of the 50th.
    picks = [k * 80 for k in range(49)] + [DEVICES - 1]
    out = in_ns(ns, sys.executable, "-c", PYCOMM3, NETWORK, *map(str, picks))
    assert out.strip() == "50"
    # Our own client on the last device: reads back what pycomm3 wrote (3999 % 30000).
    out = in_ns(ns, cpppo_bin(), "enip", "client", "-a", LAST, "--json", "SCADA[5]")
    assert '"value":[3999]' in out, out
    assert_gateway_only(ns)


def test_first_contact_with_all_4000_devices(routed):
    ns, _ = routed
    # Four times the default neighbour table: each device answers a TCP connection.
    assert in_ns(ns, sys.executable, "-c", CONNECT_ALL, NETWORK, str(DEVICES)).strip() == str(DEVICES)
    assert_gateway_only(ns)


def test_broadcast_list_identity_counts_4000_answers(routed):
    ns, _ = routed
    assert in_ns(ns, sys.executable, "-c", BROADCAST, BROADCAST_ADDR, str(DEVICES)).strip() == str(DEVICES)
    assert_gateway_only(ns)


def test_an_address_no_device_owns_is_unreachable_at_once(routed):
    ns, _ = routed
    # The gateway answers ICMP host unreachable (as the kernel's failed ARP did before, in 3 s).
    errno, secs = in_ns(ns, sys.executable, "-c", UNREACHABLE, UNOWNED).split()
    assert int(errno) == 113 and float(secs) < 2, (errno, secs)  # EHOSTUNREACH
    assert_gateway_only(ns)


# A client whose address is outside the subnet (another host routing through this one).
FROM_OUTSIDE = r"""
import socket, struct, sys
s = socket.socket()
s.settimeout(5)
s.bind((sys.argv[1], 0))
s.connect((sys.argv[2], 44818))
# List Identity over TCP: the answer carries the device's own address.
s.sendall(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0))
print(len(s.recv(4096)))
"""


def test_a_client_outside_the_subnet_is_answered_through_the_host(routed):
    ns, _ = routed
    # Devices route everything beyond the subnet to the host's address.
    ip("-n", ns, "addr", "add", "192.168.77.1/32", "dev", "lo")
    try:
        out = in_ns(ns, sys.executable, "-c", FROM_OUTSIDE, "192.168.77.1", LAST)
        assert int(out) > 24, out
    finally:
        ip("-n", ns, "addr", "del", "192.168.77.1/32", "dev", "lo", check=False)
    assert_gateway_only(ns)
