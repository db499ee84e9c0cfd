"""Broadcast discovery: one UDP List Identity broadcast, answered by two simulators on one
virtual LAN, built from network namespaces this test creates and removes.

    netns cpc-<id> (client)          netns cps1-<id>           netns cps2-<id>
      br0 10.93.0.1/24 --+-- veth --- eth0 10.93.0.2/24       (the Python cpppo simulator)
                         +-- veth ------------------------- eth0 10.93.0.3/24 (ours)

Needs root (ip netns); skipped with the reason otherwise.
"""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import cpppo_bin, venv_tool

from test_enip_client import _client_verbs_wired

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and iproute2 to create network namespaces",
    ),
    pytest.mark.skipif(
        not _client_verbs_wired(),
        reason="cpppo enip list-services is not wired into the cpppo binary",
    ),
]


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


@pytest.fixture
def lan():
    tag = f"{os.getpid()}"
    client, s1, s2 = f"cpc-{tag}", f"cps1-{tag}", f"cps2-{tag}"
    made = []
    try:
        for ns in (client, s1, s2):
            ip("netns", "add", ns)
            made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", client, "link", "add", "br0", "type", "bridge")
        ip("-n", client, "addr", "add", "10.93.0.1/24", "brd", "10.93.0.255", "dev", "br0")
        ip("-n", client, "link", "set", "br0", "up")
        for i, ns in ((2, s1), (3, s2)):
            ip("-n", client, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            ip("-n", client, "link", "set", f"p{i}", "master", "br0")
            ip("-n", client, "link", "set", f"p{i}", "up")
            ip("-n", ns, "addr", "add", f"10.93.0.{i}/24", "brd", "10.93.0.255", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
        yield client, s1, s2
    finally:
        for ns in made:
            ip("netns", "del", ns, check=False)


def wait_tcp(ns, addr, timeout=15.0):
    deadline = time.monotonic() + timeout
    probe = "import socket,sys; socket.create_connection((sys.argv[1], 44818), 0.3)"
    while time.monotonic() < deadline:
        r = subprocess.run(["ip", "netns", "exec", ns, venv_tool("python"), "-c", probe, addr],
                           capture_output=True, timeout=10)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {addr}:44818 in {ns}")


def test_one_broadcast_is_answered_by_both_simulators(lan, spawn):
    client, s1, s2 = lan
    spawn(["ip", "netns", "exec", s1, venv_tool("enip_server"), "-a", "0.0.0.0:44818", "X=INT"])
    spawn(["ip", "netns", "exec", s2, cpppo_bin(), "enip", "server", "-a", "0.0.0.0:44818", "X=INT"])
    wait_tcp(s1, "10.93.0.2")
    wait_tcp(s2, "10.93.0.3")
    r = subprocess.run(["ip", "netns", "exec", client, cpppo_bin(), "enip", "list-services",
                        "-u", "-b", "-i", "-t", "2", "--json", "-a", "10.93.0.255"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    replies = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    identities = [x for x in replies if x["command"] == "List Identity"]
    assert sorted(x["peer"] for x in identities) == ["10.93.0.2:44818", "10.93.0.3:44818"]
    assert all(x["items"][0]["product_name"] == "1756-L61/B LOGIX5561" for x in identities)

    # The client verb finds both too, cpppo-style text.
    r = subprocess.run(["ip", "netns", "exec", client, cpppo_bin(), "enip", "client",
                        "-u", "-b", "-i", "-t", "2", "-a", "10.93.0.255"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    found = [l for l in r.stdout.splitlines() if l.startswith("List Identity")]
    peers = {re.search(r" from (\S+): ", l).group(1) for l in found}
    assert len(found) == 2 and peers == {"10.93.0.2:44818", "10.93.0.3:44818"}
