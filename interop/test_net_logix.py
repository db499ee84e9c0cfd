"""Logix structures in the fleet (issue 16): `cpppo net fleet --udt ... M1=Motor` gives every
device the structure tags `cpppo enip server` would serve, read by the real pycomm3 1.2.16 as
dicts over the fleet's virtual LAN. The fleet runs behind a TAP in a network namespace the
`netns` fixture creates and deletes."""
import subprocess
import sys

from conftest import cpppo_bin

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"

# pycomm3 on device argv[1]: write M1 as a dict when argv[2] is "write", then print repr(M1)
# and the BOOL array's bit 33.
STRUCTS = r"""
import sys
from pycomm3 import LogixDriver
with LogixDriver(sys.argv[1], init_program_tags=False) as plc:
    assert plc.tags["M1"]["data_type_name"] == "Motor", plc.tags["M1"]
    if sys.argv[2] == "write":
        w = plc.write(("M1", {"Speed": 1.5, "Running": True, "Faults": [1, 2, 3, 4]}))
        assert w.error is None, w
        assert plc.write("Flags[33]", True).error is None
    r = plc.read("M1")
    assert r.error is None, r
    print(repr(r.value), plc.read("Flags[33]").value)
"""


def in_ns(ns, *argv):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


def test_fleet_devices_serve_structures_as_dicts(spawn, netns):
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "3",
                  "--subnet", "10.89.0.0/24", "--tap", "fleetlgx",
                  "--udt", "Motor{Speed:REAL, Running:BOOL, Faults:DINT[4]}",
                  "M1=Motor", "Flags=BOOL[64]"])
    proc.wait_output(READY, timeout=60)
    out = in_ns(netns, sys.executable, "-c", STRUCTS, "10.89.0.3", "write")
    assert out.strip() == "{'Speed': 1.5, 'Running': True, 'Faults': [1, 2, 3, 4]} True", out
    # Each device has its own values: device 2 still holds its zeroes.
    out = in_ns(netns, sys.executable, "-c", STRUCTS, "10.89.0.4", "read")
    assert out.strip() == "{'Speed': 0.0, 'Running': False, 'Faults': [0, 0, 0, 0]} False", out


def test_fleet_refuses_a_bad_structure_in_one_line():
    out = subprocess.run([cpppo_bin(), "net", "fleet", "--devices", "2", "--subnet",
                          "10.89.0.0/24", "--udt", "A{x:FOO}", "T=A"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'unknown type "FOO"' in lines[0], out.stderr
