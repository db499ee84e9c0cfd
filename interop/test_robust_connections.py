"""Issue 19: the connection limits of both simulators (the release binary) against real peers.

1,000 connections held open (idle, 3 bytes of a header, pipelining and never reading) must not
lock out a fresh pymodbus / pylogix client; the limits are in --help and /metrics; the
open-file limit is raised to the hard limit; every listener has the system's backlog.
"""
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import pytest
from pymodbus.client import ModbusTcpClient
from pylogix import PLC

from conftest import cpppo_bin

HELD = 1000
MODBUS_READY = r"Started Modbus/TCP Simulator; PID = (\d+); address = 127\.0\.0\.1:(\d+)"
ENIP_READY = r"Started EtherNet/IP Simulator; PID = (\d+); address = 127\.0\.0\.1:(\d+)"
WEB_READY = r"Web API and live page on http://([\d.]+:\d+)/"


@pytest.fixture(autouse=True)
def enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 3 * HELD:
        pytest.skip(f"needs {3 * HELD} open files (hard limit {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def modbus_read(t: int) -> bytes:
    """Read Holding Registers 40001-40010, transaction t."""
    return struct.pack(">HHHBBHH", t, 0, 6, 1, 3, 0, 10)


# One serving thread, so that connections are admitted in the order they connected (`hold`
# relies on it to know all are in, and the longest-idle check on which one makes room). With a
# thread per core, one busy answering pipelined bursts may admit the connections it accepted
# after the fresh client has come and gone: then none needs to make room.
ONE_CORE = dict(os.environ, CPPPO_CORES="1")

ENIP_LIST_SERVICES = struct.pack("<HHII8sI", 0x0004, 0, 0, 0, b"\0" * 8, 0)


def hold(port: int, header: bytes, request: bytes, reply_len: int):
    """HELD connections: a third idle, a third holding `header` (3 bytes of one), a third
    pipelining 20 `request`s and never reading. Returns once the server has accepted them all
    (the last one's first reply has come back: accepts are in order)."""
    held = []
    for i in range(HELD):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        part = i * 3 // HELD
        if part == 1:
            s.sendall(header)
        elif part == 2:
            s.sendall(request * 20)
        held.append(s)
    got = b""
    while len(got) < reply_len:
        chunk = held[-1].recv(reply_len - len(got))
        assert chunk, "the server closed the last connection"
        got += chunk
    return held


def closed(held) -> list:
    """Indexes of the held connections the server has closed."""
    out = []
    for i, s in enumerate(held):
        s.setblocking(False)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    out.append(i)
                    break
        except BlockingIOError:
            pass
        except OSError:
            out.append(i)
    return out


def test_modbus_sim_serves_pymodbus_past_a_thousand_held_connections(spawn):
    proc = spawn([cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0", "40001-40100=99"],
                 env=ONE_CORE)
    port = int(proc.wait_output(MODBUS_READY).group(2))
    held = hold(port, b"\x00\x01\x00", modbus_read(7), 9 + 20)
    try:
        started = time.monotonic()
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        assert client.connect()
        r = client.read_holding_registers(0, count=3, device_id=1)
        took = time.monotonic() - started
        client.close()
        assert not r.isError() and r.registers == [99, 99, 99], r
        assert took < 1.0, f"fresh client served after {took:.3f} s"
        time.sleep(0.3)
        gone = closed(held)
        assert len(gone) == 1 and gone[0] < HELD // 3, gone  # the longest idle made room
    finally:
        for s in held:
            s.close()


def test_enip_server_serves_pylogix_past_a_thousand_held_connections(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "SCADA=INT[10]"], env=ONE_CORE)
    port = int(proc.wait_output(ENIP_READY).group(2))
    held = hold(port, b"\x65\x00\x04", ENIP_LIST_SERVICES, 24)
    try:
        started = time.monotonic()
        with PLC() as comm:
            comm.IPAddress = "127.0.0.1"
            comm.Port = port
            comm.SocketTimeout = 1.0
            r = comm.Read("SCADA[0]")
        took = time.monotonic() - started
        assert r.Status == "Success" and r.Value == 0, r
        assert took < 1.0, f"fresh client served after {took:.3f} s"
        time.sleep(0.3)
        gone = closed(held)
        assert len(gone) == 1 and gone[0] < HELD // 3, gone
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("verb", [["modbus", "sim"], ["enip", "server"]])
def test_limits_are_in_help(verb):
    out = subprocess.run([cpppo_bin(), *verb, "--help"], capture_output=True, text=True,
                         timeout=20).stdout
    text = " ".join(out.split())
    for flag, default in (("--max-connections", "1000"), ("--idle-timeout", "600"),
                          ("--frame-timeout", "30"), ("--write-timeout", "30")):
        assert re.search(re.escape(flag) + r" <\w+> .*?\[default: " + default + r"\]", text), flag
    assert "longest-idle" in text


def test_idle_and_partial_connections_time_out_as_configured(spawn):
    proc = spawn([cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0", "--idle-timeout", "0.6",
                  "--frame-timeout", "0.3", "40001=1"])
    port = int(proc.wait_output(MODBUS_READY).group(2))
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    partial = socket.create_connection(("127.0.0.1", port), timeout=5)
    partial.sendall(b"\x00\x01\x00")
    started = time.monotonic()
    assert partial.recv(1) == b""
    partial_after = time.monotonic() - started
    assert idle.recv(1) == b""
    idle_after = time.monotonic() - started
    assert 0.25 <= partial_after < idle_after, (partial_after, idle_after)
    assert idle_after >= 0.55


def listen_backlog(port: int) -> int:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                         timeout=10).stdout
    return int(out.split()[2])


@pytest.mark.skipif(not shutil.which("prlimit") or not shutil.which("ss"),
                    reason="needs prlimit and ss")
def test_metrics_limits_open_files_and_backlogs(spawn):
    somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = f"--nofile=1024:{hard}"
    proc = spawn(["prlimit", low, cpppo_bin(), "enip", "server", "--no-config",
                  "-a", "127.0.0.1:0", "--web", "127.0.0.1:0", "--max-connections", "50",
                  "--idle-timeout", "120", "SCADA=INT[10]"])
    pid, port = map(int, proc.wait_output(ENIP_READY).groups())
    web = proc.wait_output(WEB_READY).group(1)
    limits = open(f"/proc/{pid}/limits").read()
    soft_now = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits)
    assert soft_now and soft_now.group(1) == soft_now.group(2) == str(hard), limits
    text = urllib.request.urlopen(f"http://{web}/metrics", timeout=5).read().decode()
    assert "\ncpppo_connection_limit 50\n" in text
    assert 'cpppo_connection_timeout_seconds{timeout="idle"} 120\n' in text
    assert 'cpppo_connection_timeout_seconds{timeout="frame"} 30\n' in text
    assert f'cpppo_open_files_limit{{bound="soft"}} {hard}\n' in text
    assert f"\ncpppo_listen_backlog {somaxconn}\n" in text
    assert listen_backlog(port) == somaxconn
    assert listen_backlog(int(web.rsplit(":", 1)[1])) == somaxconn
    sim = spawn(["prlimit", low, cpppo_bin(), "modbus", "sim", "-a", "127.0.0.1:0", "40001=1"])
    spid, sport = map(int, sim.wait_output(MODBUS_READY).groups())
    assert listen_backlog(sport) == somaxconn
    slimits = open(f"/proc/{spid}/limits").read()
    assert re.search(r"Max open files\s+%d\s+%d" % (hard, hard), slimits), slimits
