"""Our Python client against the fleet's devices (`cpppo net fleet`: one userspace TCP/IP
stack per device behind a TAP), all inside a network namespace this test creates and deletes;
the client runs in it through `ip netns exec`."""
import subprocess
import sys

from conftest import interop

netns = interop.netns  # a fresh namespace (loopback up) per test; skips where one cannot be made

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"

CLIENT = r"""
import struct, sys
from cpppo_rs.enip import client
from cpppo_rs import errors
count, step = int(sys.argv[1]), int(sys.argv[2])
ok = 0
for k in range(0, count, step):
    ip = "10.64.0.%d" % (2 + k)                       # device k is at 10.64.0.2 + k
    with client.connector(ip, timeout=5.0) as conn:
        conn.write("SCADA[3]=(INT)%d" % (100 + k))
        assert conn.read("SCADA[2-3]") == [0, 100 + k], ip
        # Identity serial number (class 1, instance 1, attribute 6): device k has k + 1.
        serial = struct.unpack("<I", conn.get_attribute_single(1, 1, 6))[0]
        assert serial == k + 1, (ip, serial)
        ident = conn.list_identity()
        assert len(ident) == 1 and ident[0]["serial_number"] == k + 1, ident
        failures, values = conn.process(["SCADA[0-9]", "SCADA[3]=(INT)7", "SCADA[3]"], depth=2)
        assert failures == 0 and values[2] == [7], values
        try:
            conn.read("NOSUCH")
            raise AssertionError("NOSUCH read")
        except errors.StatusError as e:
            assert e.status == 5
    ok += 1
# UDP broadcast List Identity on the virtual LAN: every device answers.
with client.connector("10.64.0.255", udp=True, broadcast=True, timeout=3.0) as conn:
    peers = {r["peer"][0] if isinstance(r["peer"], (tuple, list)) else str(r["peer"]).split(":")[0]
             for r in conn.list_identity()}
print(ok, len(peers))
"""


def test_our_python_client_talks_to_fleet_devices_in_a_namespace(spawn, netns):
    fleet = spawn(["ip", "netns", "exec", netns, interop.cpppo_bin(), "net", "fleet",
                   "--devices", "40", "--subnet", "10.64.0.0/24", "--tap", "pyfleet0"])
    m = fleet.wait_output(READY, timeout=60)
    assert m.group(1) == "40"
    out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, "40", "8"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["5", "40"]
    assert fleet.close() in (0, -15)
    links = subprocess.run(["ip", "-n", netns, "link", "show"], capture_output=True, timeout=20)
    assert b"pyfleet0" not in links.stdout  # the TAP went away with the fleet
