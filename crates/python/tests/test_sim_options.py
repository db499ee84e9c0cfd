"""The simulator started from Python: web API, route paths, delay, stopping on garbage
collection and at interpreter exit, and the memory it adds to the interpreter."""
import gc
import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest
from pycomm3 import LogixDriver

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client


def refused(address, timeout=5.0):
    """True once nothing accepts TCP connections at address (within timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(address, timeout=0.5).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_web_api_is_served_on_the_address_reported():
    with Simulator(tags=["SCADA=INT[10]"], web="127.0.0.1:0") as sim:
        host, port = sim.web_address
        assert host == "127.0.0.1" and port != 0
        url = f"http://{host}:{port}/api/tags/SCADA/attribute[3]=42"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert json.loads(r.read())["command"]["success"] is True
        assert sim.read("SCADA", 3, 1) == [42]
        with client.connector(*sim.address) as conn:
            assert conn.read("SCADA[3]") == [42]
    assert refused((host, port))
    assert Simulator(tags=["A=INT"]).web_address is None
    with pytest.raises(errors.SimulatorError, match="web"):
        Simulator(tags=["A=INT"], web="127.0.0.1:x")


def test_simple_and_route_path_choose_which_route_paths_are_served():
    with Simulator(tags=["A=INT"], simple=True) as sim:
        with client.connector(*sim.address, route_path="1/0") as conn:
            with pytest.raises(errors.StatusError):
                conn.read("A")
        with client.connector(*sim.address, simple=True) as conn:  # no route path
            assert conn.read("A") == [0]
    with Simulator(tags=["A=INT"], route_path='[{"port": 1, "link": 3}]') as sim:
        with LogixDriver(f"127.0.0.1:{sim.address[1]}/3") as plc:  # pycomm3 routes to 1/3
            assert plc.read("A").value == 0
        with client.connector(*sim.address, route_path="1/0") as conn:
            with pytest.raises(errors.StatusError):
                conn.read("A")
    with pytest.raises(errors.SimulatorError, match="route_path"):
        Simulator(tags=["A=INT"], route_path="[{")


def test_delay_slows_each_reply():
    with Simulator(tags=["A=INT"], delay=(0.3, 0.3)) as sim:
        with client.connector(*sim.address) as conn:
            began = time.monotonic()
            conn.read("A")
            assert time.monotonic() - began >= 0.3


def test_a_garbage_collected_simulator_stops_serving():
    sim = Simulator(tags=["A=INT"])
    address = sim.address
    del sim
    gc.collect()
    assert refused(address)


EXITING = textwrap.dedent('''
    import sys
    from cpppo_rs.enip import Simulator
    from cpppo_rs.server.enip import device

    class Echo(device.Attribute):
        pass

    # Left running: the interpreter must still exit promptly and cleanly.
    sim = Simulator(tags=["A=INT", "B=REAL"], attribute_class=Echo)
    keep = [Simulator(tags=["C=INT"]) for _ in range(3)]
    print("serving", sim.address[1], flush=True)
''')


def test_the_interpreter_exits_cleanly_with_simulators_left_running():
    began = time.monotonic()
    p = subprocess.run([sys.executable, "-c", EXITING], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("serving "), p.stdout
    assert p.stderr == ""
    assert time.monotonic() - began < 15


MEMORY = textwrap.dedent('''
    from cpppo_rs.enip import Simulator, client

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    def serve_and_read():
        sim = Simulator(tags=["SCADA=INT[1000]", "TEXT=SSTRING[100]", "FLOAT=REAL"])
        with client.connector(*sim.address) as conn:
            for _ in range(200):
                conn.read("SCADA[0-99]")
        return sim

    # The first simulator counts everything it brings (threads, the client used to read it,
    # the library's pages touched); a second one what each further simulator adds.
    before = rss()
    first = serve_and_read()
    middle = rss()
    second = serve_and_read()
    print(middle - before, rss() - middle)
''')


def test_a_simulator_adds_at_most_10_mb_to_the_interpreter():
    p = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    first, second = (int(n) for n in p.stdout.split())
    print(f"RSS added: first simulator {first / 1e6:.2f} MB, second {second / 1e6:.2f} MB")
    assert first <= 10_000_000 and second <= 10_000_000, (first, second)


def test_main_refuses_bad_tags_with_one_line_and_status_2(capsys):
    from cpppo_rs.server.enip.main import main
    assert main(["-a", "127.0.0.1:0", "X=BOGUS"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BOGUS" in err, err
