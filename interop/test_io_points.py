"""Heartbeat points other than the defaults, end to end: an adapter started with
`--input-only-point N` / `--listen-only-point N` (`cpppo enip server`, `cpppo net fleet`) is opened
by our scanner with the same flags (`cpppo enip io --input-only --input-only-point N`), and
receives the inputs an explicit write (pycomm3) set; the default point against that adapter is
refused with the adapter's status, in one line on stderr, and the scanner exits 1 (a refusal
retrying cannot mend). Every process runs in network namespaces of its own (scanners bind
UDP 2222); tshark reads the connection points off the Forward Opens."""
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import cpppo_bin, tshark_fields
from test_io_class0 import explicit_write, in_ns, interrupt, start_capture, stop_capture
from test_io_scanner import lan, piped  # noqa: F401

TAGS = ["Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"]
# 0x01/0x0117 (279): the default point is no heartbeat point there, so it names an output
# assembly, and there is none at 238 (or 237).
REFUSED = (r"^Forward Open refused: Status 1 \[279\]: invalid produced or consumed application "
           r"path \(not retrying\)$")


def refused_once(argv):
    """Runs a scanner the adapter refuses for good: exit 1 and one refusal line on stderr."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, (out.returncode, out.stderr)
    lines = [line for line in out.stderr.splitlines() if "refused" in line]
    assert len(lines) == 1 and re.match(REFUSED, lines[0]), out.stderr
    assert out.stdout == "", out.stdout
    return lines[0]


def test_input_only_at_a_configured_point(spawn, netns, tmp_path):
    server = spawn(in_ns(netns, cpppo_bin(), "enip", "server", "--no-config", "-v", "-a",
                         "127.0.0.1:44818", "--input-only-point", "199", *TAGS))
    server.wait_output(r"I/O adapter \(class 1\) on udp 127\.0\.0\.1:2222", timeout=20)
    pcap = tmp_path / "points.pcap"
    cap = start_capture(spawn, netns, pcap, "tcp port 44818 or udp port 9")
    io = [cpppo_bin(), "enip", "io", "-a", "127.0.0.1", "--input", "100:8", "--input-only",
          "--rpi", "20", "--bind", "127.0.0.1:0"]
    scanner = spawn(in_ns(netns, *io, "--input-only-point", "199", "--json"))
    m = scanner.wait_output(r'\{"event":"opened".*\}', timeout=20)
    opened = json.loads(m.group(0))
    server.wait_output(rf"input-only connection 0x{opened['o_t_id']:08x} opened", timeout=10)
    scanner.wait_output(r'"data":\[0,0,0,0,0,0,0,0\]', timeout=20)
    explicit_write(netns, "127.0.0.1", "0102030405060708")
    scanner.wait_output(r'"data":\[1,2,3,4,5,6,7,8\]', timeout=20)
    # The default point (238) is an output assembly's instance to this adapter: none there.
    refused_once(in_ns(netns, *io))
    interrupt(server, opened["o_t_id"], scanner)
    if not cap:
        pytest.skip("tshark not installed (the data arrived, 238 was refused)")
    stop_capture(netns, cap, pcap)
    # The Forward Opens' connection points (O->T, T->O): ours at 199, then the default.
    fo = tshark_fields(pcap, "cip.service == 0x54", "cip.connpoint")
    assert [[int(p, 0) for p in points.split(",")] for points, in fo] == [[199, 100],
                                                                          [238, 100]], fo


def test_listen_only_at_a_configured_point(piped, lan):  # noqa: F811
    adapter = piped(in_ns(lan["ad"], cpppo_bin(), "enip", "server", "--no-config", "-v", "-a",
                          "10.93.0.2:44818", "--listen-only-point", "198", *TAGS))
    adapter.wait(r"I/O adapter \(class 1\) on udp 10\.93\.0\.2:2222", 20)
    io = [cpppo_bin(), "enip", "io", "-a", "10.93.0.2", "--input", "100:8", "--multicast",
          "--rpi", "20", "--json"]
    owner = piped(in_ns(lan["s1"], *io, "--output", "150:8", "7"))
    owner.wait(r'"event":"opened"', 20)
    listener = piped(in_ns(lan["s2"], *io, "--listen-only", "--listen-only-point", "198"))
    listener.wait(r'"event":"opened"', 20)
    adapter.wait(r"listen-only connection 0x[0-9a-f]{8} opened")
    explicit_write(lan["s2"], "10.93.0.2", "0908070605040302")
    listener.wait(r'"data":\[9,8,7,6,5,4,3,2\]', 20)
    owner.wait(r'"data":\[9,8,7,6,5,4,3,2\]', 20)
    # The default point (237) names no assembly here. (Bound to another port: the listener
    # holds UDP 2222 in s2; the refusal comes before any T->O.)
    refused_once(in_ns(lan["s2"], *[a for a in io if a != "--json"], "--listen-only",
                       "--bind", "0.0.0.0:0"))
    for p in (listener, owner):
        os.kill(p.p.pid, signal.SIGINT)
        assert p.p.wait(10) == 0, p.text()


FLEET_READY = r"Success; Started fleet of (\d+) devices"
DEVICE = "10.62.0.2"


def test_fleet_device_input_only_at_a_configured_point(spawn, netns):
    fleet = spawn(in_ns(netns, cpppo_bin(), "net", "fleet", "--devices", "2", "--subnet",
                        "10.62.0.0/24", "--tap", "fpt0", "--input-only-point", "199", *TAGS))
    fleet.wait_output(FLEET_READY, timeout=60)
    explicit_write(netns, DEVICE, "0a0b0c0d0e0f1011")
    io = [cpppo_bin(), "enip", "io", "-a", DEVICE, "--input", "100:8", "--input-only", "--rpi",
          "20"]
    scanner = spawn(in_ns(netns, *io, "--input-only-point", "199", "--json"))
    scanner.wait_output(r'"event":"opened"', timeout=20)
    scanner.wait_output(r'"data":\[10,11,12,13,14,15,16,17\]', timeout=20)
    explicit_write(netns, DEVICE, "2a2a2a2a2a2a2a2a")
    scanner.wait_output(r'"data":\[42,42,42,42,42,42,42,42\]', timeout=20)
    refused_once(in_ns(netns, *io, "--bind", "0.0.0.0:0"))
    os.killpg(scanner.p.pid, signal.SIGINT)
    assert scanner.p.wait(10) == 0, scanner.output()
