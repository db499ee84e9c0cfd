"""`cpppo net run --vde DIR`: refused at once when no switch listens at DIR; `-c/--create-switch`
starts a switch there for the program (as pyco-wrapper -c does) and removes it afterwards.

Everything runs inside a network namespace the `netns` fixture creates and deletes.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import cpppo_bin


@pytest.fixture(autouse=True)
def vde2():
    for tool in ("vde_switch", "vde_plug2tap"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} (Debian vde2) is absent")


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=20)


def run_in(ns, *argv, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          timeout=timeout)


def switches_at(path):
    """PIDs of vde_switch processes serving the control directory `path`."""
    pids = []
    for proc in os.listdir("/proc"):
        try:
            argv = open(f"/proc/{proc}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue  # not a process, or gone meanwhile
        if argv[0].endswith(b"vde_switch") and str(path).encode() in argv:
            pids.append(int(proc))
    return pids


def test_net_run_refuses_a_vde_dir_with_no_switch(netns, tmp_path):
    marker = tmp_path / "ran"
    # Nothing at all there; then a socket file left behind by a switch that is gone.
    stale = tmp_path / "stale"
    stale.mkdir()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale / "ctl"))
    s.close()
    for sw in (tmp_path / "none", stale):
        out = run_in(netns, cpppo_bin(), "net", "run", "--ip", "10.64.0.2/24", "--vde", str(sw),
                     "--", "touch", str(marker))
        assert out.returncode == 2, (out.returncode, out.stderr)
        assert not marker.exists(), "the program ran without a network"
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and f"no VDE switch at {sw}" in lines[0], out.stderr
        assert "-c" in lines[0], lines  # names the way out


def test_net_run_create_switch_refuses_a_taken_dir(netns, tmp_path):
    sw, pidfile = tmp_path / "sw", tmp_path / "sw.pid"
    run_in(netns, "vde_switch", "-s", str(sw), "-d", "-p", str(pidfile))
    try:
        out = run_in(netns, cpppo_bin(), "net", "run", "-c", "--vde", str(sw), "--ip",
                     "10.64.0.2/24", "--", "true")
        assert out.returncode == 2 and "already listens" in out.stderr, out.stderr
        assert (sw / "ctl").exists(), "someone else's switch was touched"
    finally:
        os.kill(int(pidfile.read_text().strip()), 15)
    # -c needs --vde.
    out = run_in(netns, cpppo_bin(), "net", "run", "-c", "--ip", "10.64.0.2/24", "--", "true")
    assert out.returncode == 2 and "--vde" in out.stderr, out.stderr


# Serves one HTTP request at its own address, then exits 3.
ONE_REQUEST = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"on its own switch\n")
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], 8000), H).handle_request()
sys.exit(3)
"""

FETCH = r"""
import sys, time, urllib.request
for _ in range(150):
    try:
        print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode(), end=""); break
    except OSError:
        time.sleep(0.1)
"""


def test_net_run_create_switch_starts_and_removes_a_switch(spawn, netns, tmp_path):
    sw = tmp_path / "plc.sw"
    run = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "run", "-c", "--vde", sw,
                 "--ip", "10.64.0.32/24", "--", sys.executable, "-c", ONE_REQUEST, "10.64.0.32"])
    deadline = time.monotonic() + 10
    while not (sw / "ctl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (sw / "ctl").exists(), run.output()
    assert len(switches_at(sw)) == 1
    # The host side joins the new switch through a TAP of its own, as any VDE user would.
    ip("-n", netns, "tuntap", "add", "dev", "vtap0", "mode", "tap")
    ip("-n", netns, "addr", "add", "10.64.0.1/24", "dev", "vtap0")
    ip("-n", netns, "link", "set", "vtap0", "up")
    spawn(["ip", "netns", "exec", netns, "vde_plug2tap", "-s", sw, "vtap0"])
    out = run_in(netns, sys.executable, "-c", FETCH, "http://10.64.0.32:8000/")
    assert out.stdout == "on its own switch\n", (out.stdout, out.stderr, run.output())
    # The program exits by itself: its exit code is ours, and the switch is gone with it.
    run.p.wait(15)
    assert run.p.returncode == 3, run.output()
    assert not sw.exists()
    deadline = time.monotonic() + 5
    while switches_at(sw) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert switches_at(sw) == []
    # `ip netns exec` execs cpppo: its PID names the namespace it made.
    assert f"cpppo-run-{run.p.pid}" not in ip("netns", "list").stdout
