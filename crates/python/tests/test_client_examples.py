"""The seed's client examples as whole scripts (tests/examples, the seed's text with imports
changed only), run with this interpreter inside a network namespace against our simulator and
cpppo 5.2.5's enip_server listening on localhost:44818 there (seedrun)."""
import pytest

import conftest
import seedrun

netns = conftest.interop.netns


@pytest.fixture(params=["ours", "cpppo"])
def server(request, spawn, netns):
    """A namespace with our simulator, or cpppo 5.2.5's enip_server, on localhost:44818."""
    seedrun.server(spawn, netns, request.param, *conftest.TAGS)
    return netns


def test_io_example_script_writes_reads_and_exits_zero(server):
    done = seedrun.example(server, "io_example.py")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip().startswith("Tag[0]")
    assert lines[0].endswith("<= [4, 5, 6, 7, 8, 9]: 'OK'")
    assert lines[2].strip() == "Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'"


def test_thruput_script_pipelines_with_multiple_service_packets(server):
    done = seedrun.example(server, "thruput.py", "-d", 5, "-m", 300, "-r", 40, "-t", 5,
                           "SCADA[1]", "FLOAT")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 81
    assert [int(line.split(":")[3]) for line in lines[:80]] == list(range(80))
    assert all(line.endswith(("[0]", "[0.0]")) for line in lines[:80])
    assert lines[80].startswith(" 80 operations using  80 requests") and "TPS" in lines[80]


def test_io_example_fails_with_exit_status_one_against_a_device_without_its_tags(spawn, netns):
    seedrun.server(spawn, netns, "ours", "Other=DINT[10]")
    done = seedrun.example(netns, "io_example.py")
    assert done.returncode == 1
    assert "None: 'Status 5" in done.stdout  # cpppo's summary line for a failure
