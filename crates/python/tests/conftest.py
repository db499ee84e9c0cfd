"""Fixtures for the Python binding's tests; the process helpers are the interop suite's."""
import importlib.util
from pathlib import Path

import pytest

from cpppo_rs.enip import Simulator

_spec = importlib.util.spec_from_file_location(
    "interop_conftest", Path(__file__).resolve().parents[3] / "interop" / "conftest.py")
interop = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(interop)

spawn = interop.spawn  # spawn(args): a child process killed by PID when the test ends

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
