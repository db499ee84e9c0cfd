"""A LAN of network namespaces for tests whose peers each need their own ports (class 1 I/O:
every scanner and adapter binds UDP 2222). Shared by the interop suite and the Python
binding's tests (crates/python/tests/conftest.py loads it by path)."""
import contextlib
import os
import shutil
import subprocess

import pytest


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def _delete(names):
    for ns in names:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


@contextlib.contextmanager
def bridged_lan(prefix: str, net: str, hosts: dict):
    """Namespaces named `cpppo-{prefix}{key}-{pid}`, one a `hosts` entry {key: host number}
    on NET.0/24 (`net` is "10.93.0"): the first holds a bridge `br0` with its address (and the
    multicast route), each other one a veth `eth0` into that bridge. Yields {key: namespace};
    deletes them all after. Skips the test where namespaces cannot be made."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (network namespaces)")
    names = {k: f"cpppo-{prefix}{k}-{os.getpid() % 100000}" for k in hosts}
    (first, first_host), *rest = hosts.items()
    hub = names[first]
    try:
        for ns in names.values():
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", hub, "link", "add", "br0", "type", "bridge")
        ip("-n", hub, "addr", "add", f"{net}.{first_host}/24", "dev", "br0")
        ip("-n", hub, "link", "set", "br0", "up")
        ip("-n", hub, "route", "add", "224.0.0.0/4", "dev", "br0")
        for k, host in rest:
            ip("-n", hub, "link", "add", f"p{k}", "type", "veth", "peer", "name", "eth0",
               "netns", names[k])
            ip("-n", hub, "link", "set", f"p{k}", "master", "br0", "up")
            ip("-n", names[k], "addr", "add", f"{net}.{host}/24", "dev", "eth0")
            ip("-n", names[k], "link", "set", "eth0", "up")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        _delete(names.values())
        pytest.skip(f"cannot build the namespaces: {e}")
    try:
        yield names
    finally:
        _delete(names.values())
