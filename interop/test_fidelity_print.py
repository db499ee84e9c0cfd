"""Issue 17 item 4: `enip server -p` prints one line per tag I/O operation, as cpppo 5.2.5's does
(writes always, reads too with -v); the same client operations give the same lines."""
import re
import time

import pytest

from conftest import venv_tool
from fidelity_util import run, start_cpppo, start_ours

TAGS = ["SCADA=INT[10]", "TEXT=SSTRING[2]", "FLOAT=REAL"]
WRITES = [["SCADA[1]=(INT)99", "TEXT[0]=(SSTRING)\"hi\""],
          ["SCADA[2-3]=(INT)4,5", "FLOAT=(REAL)1.5"],
          ["SCADA[0-9]+4"]]
READS = [["SCADA[0-3]", "TEXT[0-1]"]]
LINE = re.compile(r"^ *\w+\[ *\d+-\d+ *\] (?:<=|==) .*$", re.M)


def operation_lines(proc, count, timeout=15.0):
    """The first `count` cpppo-style operation lines the server printed (exactly, spaces kept)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LINE.findall(proc.output())
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise TimeoutError(f"{count} operation lines wanted:\n{proc.output()}")


def drive(address, batches):
    for ops in batches:
        run([venv_tool("enip_client"), "-a", address, *ops], timeout=30)


@pytest.mark.parametrize("verbose,batches,count", [([], WRITES, 4), (["-v"], READS, 2)])
def test_print_lines_equal_cpppos(spawn, verbose, batches, count):
    theirs, their_addr = start_cpppo(spawn, "-p", *verbose, *TAGS)
    mine, my_addr = start_ours(spawn, "--no-config", "-p", *verbose, *TAGS)
    drive(their_addr, batches)
    drive(my_addr, batches)
    want = operation_lines(theirs, count)
    got = operation_lines(mine, count)
    assert got == want
    if not verbose:
        assert got[0] == "               SCADA[    1-1    ] <= [99] "
        assert not re.search(r"\d+ requests, \d+ replies", mine.output())
