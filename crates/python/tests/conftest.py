"""Fixtures for the Python binding's tests; the process helpers are the interop suite's."""
import importlib.util
import time
from pathlib import Path

import pytest

from cpppo_rs.enip import Simulator

INTEROP = Path(__file__).resolve().parents[3] / "interop"


def _interop_module(name: str, file: str):
    """A module of the interop suite, loaded by path (its folder is not on sys.path here)."""
    spec = importlib.util.spec_from_file_location(name, INTEROP / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


interop = _interop_module("interop_conftest", "conftest.py")
netns_lan = _interop_module("interop_netns_lan", "netns_lan.py")  # bridged_lan(...)

spawn = interop.spawn  # spawn(args): a child process killed by PID when the test ends
pty_pair = interop.pty_pair  # a socat pseudo-terminal pair (a serial line)


def eventually(f, timeout=5.0):
    """f()'s first truthy value within `timeout` seconds (else its last value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = f()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)

TAGS = ["SCADA=INT[1000]", "TEXT=SSTRING[4]", "FLOAT=REAL", "FLT@22/1/3=REAL", "Tag=DINT[20]"]


@pytest.fixture
def sim():
    """Our simulator, started from Python on a port of its choosing; stopped at test end."""
    with Simulator(tags=TAGS, address="127.0.0.1:0") as s:
        yield s


@pytest.fixture
def cpppo_server(spawn):
    """cpppo 5.2.5's enip_server serving the same tags; yields its port."""
    _, port = interop.cpppo_enip_server(spawn, *TAGS, udp=False)
    return port
