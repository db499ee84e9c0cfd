"""The seed's client examples as whole scripts (tests/examples, imports changed only), run with
this interpreter against our simulator (started from Python) and cpppo 5.2.5's enip_server."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent / "examples"


def run_example(name, *args, timeout=60):
    return subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=["ours", "cpppo"])
def server(request, sim):
    """(host, port) of our simulator, or of cpppo 5.2.5's enip_server."""
    if request.param == "ours":
        return sim.address
    return ("127.0.0.1", request.getfixturevalue("cpppo_server"))


def test_io_example_script_writes_reads_and_exits_zero(server):
    done = run_example("io_example.py", *server)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip().startswith("Tag[0]")
    assert lines[0].endswith("<= [4, 5, 6, 7, 8, 9]: 'OK'")
    assert lines[2].strip() == "Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'"


def test_thruput_script_pipelines_with_multiple_service_packets(server):
    done = run_example("thruput.py", "-a", server[0], "-p", server[1], "-d", 5, "-m", 300,
                       "-r", 40, "-t", 5, "SCADA[1]", "FLOAT")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 81
    assert [int(line.split(":")[3]) for line in lines[:80]] == list(range(80))
    assert all(line.endswith(("[0]", "[0.0]")) for line in lines[:80])
    assert lines[80].startswith(" 80 operations using  80 requests") and "TPS" in lines[80]


def test_io_example_fails_with_exit_status_one_against_a_device_without_its_tags(spawn):
    from cpppo_rs.enip import Simulator
    with Simulator(tags=["Other=DINT[10]"]) as other:
        done = run_example("io_example.py", *other.address)
    assert done.returncode == 1
    assert "None: 'Status 5" in done.stdout  # cpppo's summary line for a failure
