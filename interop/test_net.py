"""Internet of Threads: `cpppo net fleet` behind a TAP or a VDE switch, and `cpppo net run`.

Everything happens inside network namespaces these tests create and delete (needs root and
iproute2); the host's own interfaces are never touched.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import cpppo_bin

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"

# 50 devices spread over the fleet: pycomm3 reads a tag and the Identity serial number of
# each, then a raw RegisterSession + ListIdentity (TCP) checks the same devices without pycomm3.
CLIENTS = r"""
import socket, struct, sys
from pycomm3 import LogixDriver
first, count, step = (int(a) for a in sys.argv[1:4])
base = sys.argv[4].rsplit(".", 1)
net = [int(o) for o in sys.argv[4].split(".")]
def addr(i):
    n = (net[0] << 24 | net[1] << 16 | net[2] << 8 | net[3]) + first + i
    return socket.inet_ntoa(struct.pack(">I", n))
ok = 0
for k in range(0, count, step):
    ip = addr(k)
    with LogixDriver(ip, init_program_tags=False) as plc:
        plc.write("SCADA[3]", k)
        r = plc.read("SCADA[3]")
        assert r.error is None and r.value == k, (ip, r)
        assert int(plc.info["serial"], 16) == k + 1, (ip, plc.info)
    s = socket.create_connection((ip, 44818), timeout=5)
    s.sendall(struct.pack("<HHII8sIHH", 0x65, 4, 0, 0, b"\0" * 8, 0, 1, 0))
    reg = s.recv(1024)
    assert struct.unpack_from("<HHII", reg)[0::3] == (0x65, 0), reg.hex()
    s.sendall(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0))
    ident = s.recv(1024)
    assert ident[:2] == b"\x63\x00" and struct.unpack_from("<I", ident, 24 + 2 + 2 + 2 + 2 + 16 + 2 + 2 + 2 + 2 + 2)[0] == k + 1, ident.hex()
    s.close()
    ok += 1
print(ok)
"""

# One broadcast List Identity on the virtual LAN; count distinct answering devices.
BROADCAST = r"""
import socket, struct, sys, time
bcast, want = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: hold every answer of the burst
s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0), (bcast, 44818))
seen = set()
deadline = time.monotonic() + 20
s.settimeout(2)
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
    return subprocess.run(["ip", *args], check=check, capture_output=True, timeout=20)


def in_ns(ns, *argv, timeout=120):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_fleet_of_1000_behind_a_tap(spawn, netns, tmp_path):
    pcap = tmp_path / "lan.pcap"
    fleet = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "1000",
                   "--subnet", "10.60.0.0/21", "--tap", "fleet0", "--pcap", pcap])
    m = fleet.wait_output(READY, timeout=60)
    assert m.group(1) == "1000" and m.group(2) == "10.60.0.0/21"
    assert "devices 10.60.0.2 - 10.60.3.233" in fleet.output()
    # 50 different device IPs: every 20th of the 1,000 (device k is at 10.60.0.2 + k).
    assert in_ns(netns, sys.executable, "-c", CLIENTS, "2", "1000", "20", "10.60.0.0").strip() == "50"
    assert in_ns(netns, sys.executable, "-c", BROADCAST, "10.60.7.255", "1000").strip() == "1000"
    assert fleet.close() in (0, -15)
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "enip"], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "List Identity (Rsp)" in out.stdout and "Register Session" in out.stdout
    # The TAP went away with the fleet.
    assert b"fleet0" not in ip("-n", netns, "link", "show").stdout


def test_fleet_refuses_clearly(netns):
    out = subprocess.run([cpppo_bin(), "net", "fleet", "--devices", "10", "--subnet", "10.0.0.0/99"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "--subnet" in out.stderr and len(out.stderr.splitlines()) == 1
    out = subprocess.run([cpppo_bin(), "net", "fleet", "--subnet", "10.0.0.0/24", "--vde", "/nonexistent"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "no VDE switch at /nonexistent" in out.stderr
    out = subprocess.run([cpppo_bin(), "net", "fleet", "--devices", "300", "--subnet", "10.0.0.0/24"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "no room for 300 devices" in out.stderr
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", cpppo_bin(),
                          "net", "fleet", "--subnet", "10.0.0.0/24", "--tap", "t0"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "--tap needs root" in out.stderr, out.stderr


def test_fleet_over_a_vde_switch(spawn, netns, tmp_path):
    for tool in ("vde_switch", "vde_plug2tap"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} (Debian vde2) is absent")
    sock = tmp_path / "vde"
    pidfile = tmp_path / "vde.pid"
    subprocess.run(["ip", "netns", "exec", netns, "vde_switch", "-s", str(sock), "-d",
                    "-p", str(pidfile)], check=True, timeout=20)
    try:
        deadline = time.monotonic() + 10
        while not (sock / "ctl").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        ip("-n", netns, "tuntap", "add", "dev", "vtap0", "mode", "tap")
        ip("-n", netns, "addr", "add", "10.61.0.1/24", "dev", "vtap0")
        ip("-n", netns, "link", "set", "vtap0", "up")
        spawn(["ip", "netns", "exec", netns, "vde_plug2tap", "-s", sock, "vtap0"])
        fleet = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "200",
                       "--subnet", "10.61.0.0/24", "--vde", sock])
        fleet.wait_output(READY, timeout=60)
        assert in_ns(netns, sys.executable, "-c", CLIENTS, "2", "200", "40", "10.61.0.0").strip() == "5"
        assert in_ns(netns, sys.executable, "-c", BROADCAST, "10.61.0.255", "200").strip() == "200"
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (ValueError, ProcessLookupError):
                pass


def namespaces() -> set:
    """The names of the network namespaces now (other runs' too)."""
    return {line.split()[0] for line in ip("netns", "list").stdout.decode().splitlines() if line}


def run_namespace(run) -> str:
    """The namespace `cpppo net run` made (named after its PID: `ip netns exec` execs it, so
    the spawned process is cpppo itself). Only this one is checked: an overlapping test run
    may have its own."""
    return f"cpppo-run-{run.p.pid}"


def test_net_run_serves_an_unmodified_http_server(spawn, netns, tmp_path):
    ip("-n", netns, "link", "add", "br0", "type", "bridge")
    ip("-n", netns, "addr", "add", "10.78.0.1/24", "dev", "br0")
    ip("-n", netns, "link", "set", "br0", "up")
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "hello.txt").write_text("hello from its own IP\n")
    run = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "run", "--ip", "10.78.0.2/24",
                 "--bridge", "br0", "--", "python3", "-m", "http.server", "8000", "--bind",
                 "10.78.0.2", "--directory", tmp_path / "www"])
    fetch = ("import urllib.request, time\n"
             "for _ in range(100):\n"
             "    try:\n"
             "        print(urllib.request.urlopen('http://10.78.0.2:8000/hello.txt', timeout=2).read().decode(), end=''); break\n"
             "    except OSError: time.sleep(0.1)\n")
    assert in_ns(netns, sys.executable, "-c", fetch) == "hello from its own IP\n"
    assert run_namespace(run) in namespaces()
    run.close()
    # Everything it made is gone: its namespace and the veth on the bridge.
    assert run_namespace(run) not in namespaces()
    assert b"cpr" not in ip("-n", netns, "link", "show").stdout


def test_net_run_over_a_vde_switch(spawn, netns, tmp_path):
    for tool in ("vde_switch", "vde_plug2tap"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} (Debian vde2) is absent")
    sock = tmp_path / "vde"
    pidfile = tmp_path / "vde.pid"
    subprocess.run(["ip", "netns", "exec", netns, "vde_switch", "-s", str(sock), "-d",
                    "-p", str(pidfile)], check=True, timeout=20)
    try:
        ip("-n", netns, "tuntap", "add", "dev", "vtap0", "mode", "tap")
        ip("-n", netns, "addr", "add", "10.63.0.1/24", "dev", "vtap0")
        ip("-n", netns, "link", "set", "vtap0", "up")
        spawn(["ip", "netns", "exec", netns, "vde_plug2tap", "-s", sock, "vtap0"])
        (tmp_path / "www").mkdir()
        (tmp_path / "www" / "hello.txt").write_text("over VDE\n")
        run = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "run", "--ip", "10.63.0.2/24",
                     "--vde", sock, "--", "python3", "-m", "http.server", "8000", "--bind",
                     "10.63.0.2", "--directory", tmp_path / "www"])
        fetch = ("import urllib.request, time\n"
                 "for _ in range(100):\n"
                 "    try:\n"
                 "        print(urllib.request.urlopen('http://10.63.0.2:8000/hello.txt', timeout=2).read().decode(), end=''); break\n"
                 "    except OSError: time.sleep(0.1)\n")
        assert in_ns(netns, sys.executable, "-c", fetch) == "over VDE\n"
        assert run_namespace(run) in namespaces()
        run.close()
        assert run_namespace(run) not in namespaces()
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (ValueError, ProcessLookupError):
                pass


def test_fleet_across_two_vde_switches_joined_by_a_cable(spawn, netns, tmp_path):
    """How a fleet spans hosts: switch A (the fleet) and switch B (the clients' TAP) joined
    by a `dpipe vde_plug = vde_plug` cable; over ssh the cable's second half runs remotely."""
    for tool in ("vde_switch", "vde_plug2tap", "vde_plug", "dpipe"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} (Debian vde2) is absent")
    pids = []
    cable = None
    try:
        for name in ("a", "b"):
            pidfile = tmp_path / f"{name}.pid"
            subprocess.run(["ip", "netns", "exec", netns, "vde_switch", "-s", str(tmp_path / name),
                            "-d", "-p", str(pidfile)], check=True, timeout=20)
            pids.append(pidfile)
            deadline = time.monotonic() + 10
            while not (tmp_path / name / "ctl").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        # dpipe makes its own process group (so not through `spawn`, which starts a session);
        # the group is killed by its id (the dpipe PID) below.
        cable = subprocess.Popen(["dpipe", "vde_plug", str(tmp_path / "a"), "=", "vde_plug",
                                  str(tmp_path / "b")], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ip("-n", netns, "tuntap", "add", "dev", "vtap1", "mode", "tap")
        ip("-n", netns, "addr", "add", "10.65.0.1/24", "dev", "vtap1")
        ip("-n", netns, "link", "set", "vtap1", "up")
        spawn(["ip", "netns", "exec", netns, "vde_plug2tap", "-s", tmp_path / "b", "vtap1"])
        fleet = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "50",
                       "--subnet", "10.65.0.0/24", "--vde", tmp_path / "a"])
        fleet.wait_output(READY, timeout=60)
        # The cable is up once a device answers across it (bounded wait).
        probe = ("import socket, time\n"
                 "for _ in range(100):\n"
                 "    try: socket.create_connection(('10.65.0.2', 44818), timeout=0.5).close(); break\n"
                 "    except OSError: time.sleep(0.1)\n"
                 "else: raise SystemExit('no answer across the cable')\n")
        in_ns(netns, sys.executable, "-c", probe)
        assert in_ns(netns, sys.executable, "-c", CLIENTS, "2", "50", "10", "10.65.0.0").strip() == "5"
        assert in_ns(netns, sys.executable, "-c", BROADCAST, "10.65.0.255", "50").strip() == "50"
    finally:
        if cable is not None:
            try:
                os.killpg(cable.pid, 15)
            except OSError:
                cable.terminate()
            cable.wait(5)
        for pidfile in pids:
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (OSError, ValueError):
                pass
