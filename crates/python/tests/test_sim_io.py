"""A Simulator started from Python is a class 1 I/O adapter, as `cpppo enip server` is: its
assembly tags are served over UDP 2222, our scanner (`cpppo enip io`) exchanges data with it,
and the Python side sees the outputs change through its tag reads. Adapter and scanner sit in
two network namespaces on one LAN (each needs its own UDP 2222)."""
import sys

import pytest

from conftest import interop, netns_lan

ADAPTER = r"""
import sys, time
from cpppo_rs.enip import Simulator
with Simulator(tags=["Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"],
               address="10.94.0.2:44818") as sim:
    sim.write("Inputs", [3, 1, 4, 1, 5, 9, 2, 6])
    print("ready io", sim.io_address, flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sim.read("Outputs") != [7, 8, 9, 0, 0, 0, 0, 0]:
        time.sleep(0.02)
    print("outputs", sim.read("Outputs"), flush=True)
    time.sleep(60)
"""


@pytest.fixture
def pair():
    """Namespaces `ad` (10.94.0.2) and `sc` (10.94.0.11) on one LAN; {name: namespace}."""
    with netns_lan.bridged_lan("simio", "10.94.0", {"ad": 2, "sc": 11}) as names:
        yield names


def test_python_simulator_serves_class_1_io_to_our_scanner(spawn, pair):
    adapter = spawn(["ip", "netns", "exec", pair["ad"], sys.executable, "-c", ADAPTER])
    adapter.wait_output(r"ready io \('10\.94\.0\.2', 2222\)", 30)
    scanner = spawn(["ip", "netns", "exec", pair["sc"], interop.cpppo_bin(), "enip", "io",
                     "-a", "10.94.0.2", "--input", "100:8", "--output", "150:8", "--rpi", "20",
                     "--json", "7,8,9"])
    scanner.wait_output(r'"event":"opened"', 20)
    # T->O: the inputs the Python side wrote; O->T: the outputs, seen by Python's tag reads.
    scanner.wait_output(r'"data":\[3,1,4,1,5,9,2,6\]', 20)
    adapter.wait_output(r"outputs \[7, 8, 9, 0, 0, 0, 0, 0\]", 20)


def test_io_false_serves_none_and_a_bad_io_address_is_named():
    from cpppo_rs import errors
    from cpppo_rs.enip import Simulator
    with Simulator(tags=["Inputs@4/100/3=SINT[8]"], io=False) as sim:
        assert sim.io_address is None
    with Simulator(tags=["Inputs@4/100/3=SINT[8]"], io="127.0.0.1:0") as sim:
        host, port = sim.io_address
        assert host == "127.0.0.1" and port != 0
    with pytest.raises(errors.SimulatorError, match="io"):
        Simulator(tags=["A=INT"], io="127.0.0.1:notaport")
