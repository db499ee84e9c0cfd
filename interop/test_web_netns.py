"""--web on a non-loopback address, in a network namespace of our own (needs root and `ip`):
reads stay open; changes need --web-token, and without one the API is read-only."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import cpppo_bin

WEB = r"Web API and live page on http://(\S+)/"
ADDR = "10.9.8.1"

CLIENT = r"""
import sys, urllib.request, urllib.error
req = urllib.request.Request("http://10.9.8.1:8080/api/" + sys.argv[1], headers=dict(
    [sys.argv[2].split(": ", 1)] if len(sys.argv) > 2 else []))
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    name = f"cpppo-web-{os.getpid()}"
    ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True, timeout=10)
    try:
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ip("-n", name, "addr", "add", f"{ADDR}/24", "dev", "v0")
        ip("-n", name, "link", "set", "v0", "up")
        ip("-n", name, "link", "set", "v1", "up")
    except subprocess.CalledProcessError as e:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        pytest.skip(f"cannot set up a network namespace: {e.stderr!r}")
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def get(netns, path, *header):
    out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, path, *header],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    status, body = out.stdout.split("\n", 1)
    return int(status), json.loads(body)


def server(spawn, netns, *extra):
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "enip", "server", "--no-config",
                  "-a", f"{ADDR}:44818", "-w", f"{ADDR}:8080", *extra, "SCADA=INT[10]"])
    assert proc.wait_output(WEB).group(1) == f"{ADDR}:8080"
    return proc


def test_off_loopback_without_token_is_read_only(spawn, netns):
    server(spawn, netns)
    status, env = get(netns, "tags/SCADA")
    assert status == 200 and env["data"]["tags"]["SCADA"]["values"][0] == 0
    status, env = get(netns, "tags/SCADA/attribute[0]=5")
    assert status == 403 and "web-token" in env["command"]["message"]
    assert get(netns, "tags/SCADA")[1]["data"]["tags"]["SCADA"]["values"][0] == 0


def test_off_loopback_changes_need_the_token(spawn, netns):
    server(spawn, netns, "--web-token", "k3y")
    assert get(netns, "tags/SCADA/attribute[0]=5")[0] == 403
    assert get(netns, "tags/SCADA/attribute[0]=6", "Authorization: Bearer k3y")[0] == 200
    assert get(netns, "tags/SCADA/attribute[1]=7?token=k3y")[0] == 200
    assert get(netns, "tags/SCADA")[1]["data"]["tags"]["SCADA"]["values"][:2] == [6, 7]
