"""Class 0 Input Only: our scanner (`cpppo enip io --input-only --class0`) against our adapter
(`cpppo enip server`), in a network namespace of their own on loopback; tshark decodes the
capture by the Forward Open it saw: transport class 0, and T->O frames whose data is the
input alone (no CIP sequence count)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import cpppo_bin, tshark_fields
from test_io_adapter import EXPLICIT


def in_ns(ns, *argv):
    return ["ip", "netns", "exec", ns, *[str(a) for a in argv]]


PROBE = ("import socket; "
         "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))")


def capturing(ns, pcap):
    """Waits until the capture holds a probe packet: tshark says "Capturing on" a moment
    before it captures, and the Forward Open must be in the capture."""
    start = pcap.stat().st_size if pcap.exists() else 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        subprocess.run(in_ns(ns, sys.executable, "-c", PROBE), check=True, timeout=20)
        time.sleep(0.1)
        if pcap.exists() and pcap.stat().st_size > start:
            return
    raise TimeoutError("the capture saw no probe")


def start_capture(spawn, ns, pcap, bpf: str):
    """tshark on `ns`'s loopback writing `pcap` (`bpf` must let UDP port 9 through, for the
    probes), once it captures; None where tshark is not installed."""
    if not shutil.which("tshark"):
        return None
    cap = spawn(in_ns(ns, "tshark", "-i", "lo", "-w", pcap, "-f", bpf))
    cap.wait_output(r"Capturing on", timeout=20)
    capturing(ns, pcap)
    return cap


def stop_capture(ns, cap, pcap):
    """Stops `cap` once a probe sent now is in `pcap` (so is everything before it)."""
    capturing(ns, pcap)
    os.kill(cap.p.pid, signal.SIGINT)  # tshark writes out its capture
    cap.p.wait(10)


def interrupt(server, o_t_id, *scanners):
    """SIGINT ends each scanner (exit 0); the adapter logs connection `o_t_id` closed by
    Forward Close."""
    for s in scanners:
        os.killpg(s.p.pid, signal.SIGINT)
        assert s.p.wait(10) == 0, s.output()
    server.wait_output(rf"connection 0x{o_t_id:08x} closed by Forward Close")


def explicit_write(ns, host, hexdata, instance="100"):
    """Sets assembly `instance`'s data by explicit Set Attribute Single (pycomm3, from `ns`)."""
    out = subprocess.run(in_ns(ns, sys.executable, "-c", EXPLICIT, host, instance, hexdata),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_class_0_input_only(spawn, netns, tmp_path):
    server = spawn(in_ns(netns, cpppo_bin(), "enip", "server", "--no-config", "-v", "-a",
                         "127.0.0.1:44818", "Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]",
                         "Inputs2@4/101/3=SINT[8]"))
    server.wait_output(r"I/O adapter \(class 1\) on udp 127\.0\.0\.1:2222", timeout=20)
    pcap = tmp_path / "class0.pcap"
    cap = start_capture(spawn, netns, pcap, "tcp port 44818 or udp")
    scanner = spawn(in_ns(netns, cpppo_bin(), "enip", "io", "-a", "127.0.0.1", "--input",
                          "100:8", "--input-only", "--class0", "--rpi", "20", "--bind",
                          "127.0.0.1:0", "--json"))
    m = scanner.wait_output(r'\{"event":"opened".*\}', timeout=20)
    opened = json.loads(m.group(0))
    scanner.wait_output(r'"data":\[0,0,0,0,0,0,0,0\]', timeout=20)
    # A class 1 scanner of the other input is unaffected (its T->O keeps the sequence count).
    other = spawn(in_ns(netns, cpppo_bin(), "enip", "io", "-a", "127.0.0.1", "--input", "101:8",
                        "--input-only", "--rpi", "20", "--bind", "127.0.0.1:0", "--json"))
    other.wait_output(r'"data":\[0,0,0,0,0,0,0,0\]', timeout=20)
    # An explicit write of the inputs shows at the class 0 scanner.
    explicit_write(netns, "127.0.0.1", "0102030405060708")
    scanner.wait_output(r'"data":\[1,2,3,4,5,6,7,8\]', timeout=20)
    interrupt(server, opened["o_t_id"], scanner, other)
    if not cap:
        pytest.skip("tshark not installed (the data arrived)")
    stop_capture(netns, cap, pcap)
    # Our scanner's and the class 1 one's Forward Opens: transport class 0, then 1.
    fo = tshark_fields(pcap, "cip.service == 0x54", "cip.cm.fwo.transport")
    assert [int(c, 0) for c, in fo] == [0, 1], fo
    rows = tshark_fields(pcap, f"enip.cpf.sai.connid == {opened['t_o_id']}",
                         "enip.cpf.sai.connid", "cip.seq", "cipio.data")
    assert len(rows) >= 3, rows
    assert all(seq == "" for _, seq, _ in rows), rows[:3]
    assert {d.replace(":", "") for _, _, d in rows} == {"00" * 8, "0102030405060708"}, rows
