"""Issue 19 item 2: `cpppo enip historize` on a full disk. A write whose record cannot be
written is refused *and not applied*: the next read returns the last acknowledged value, and
the history file's last write record is that value.

The disk is a 32 KiB tmpfs mounted in a private mount namespace (`unshare -m`) that only the
simulator sees; it disappears with the process. pycomm3 1.2.16 is the client.
"""
import json
import os
import shutil

import pytest
from pycomm3 import LogixDriver

from conftest import cpppo_bin

READY = r"Started EtherNet/IP Simulator; PID = (\d+); address = 127\.0\.0\.1:(\d+)"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare (a private tmpfs)")
def test_a_write_that_cannot_be_recorded_is_refused_and_not_applied(spawn, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=32k cpppo-full {disk} && "
              f"exec {cpppo_bin()} enip historize {disk}/plant.hst --no-config "
              f"-a 127.0.0.1:0 SCADA=INT[100]")
    proc = spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    pid, port = map(int, proc.wait_output(READY).groups())
    acknowledged = None
    refused = None
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        for i in range(1, 1000):
            if plc.write("SCADA{100}", [i] * 100).error is None:
                acknowledged = i
            else:
                refused = i
                break
        assert refused is not None, "the disk never filled"
        assert acknowledged == refused - 1
        # The refused write did not happen.
        assert plc.read("SCADA{100}").value == [acknowledged] * 100
        # Nor does it happen later: the next write is refused too, and changes nothing.
        assert plc.write("SCADA[0]", -1).error is not None
        assert plc.read("SCADA[0]").value == acknowledged
    # The file (seen through the simulator's own mount namespace) ends with that value. Part
    # of the refused record may have reached the disk: a cut-off line, which readers skip.
    text = open(f"/proc/{pid}/root{disk}/plant.hst", errors="replace").read()
    writes = []
    for line in text.splitlines():
        fields = line.split("\t")
        try:
            payload = json.loads(fields[2])
        except (IndexError, ValueError):
            continue
        if "write" in payload:
            writes.append(payload["write"])
    assert writes[-1] == [acknowledged] * 100
    assert writes == [[i] * 100 for i in range(1, acknowledged + 1)]
