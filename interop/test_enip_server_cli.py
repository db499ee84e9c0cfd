"""The `cpppo enip server` / `enip_server` command line: tags, options, config file, signals."""
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
from pycomm3 import CIPDriver, LogixDriver

from conftest import ENIP_READY, cpppo_bin



def start(spawn, *args):
    proc = spawn([cpppo_bin(), "enip", "server", "-a", "127.0.0.1:0", *args])
    return proc, proc.port(ENIP_READY)


def list_identity(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0))
        data = b""
        while len(data) < 24 or len(data) < 24 + struct.unpack_from("<H", data, 2)[0]:
            chunk = s.recv(4096)
            assert chunk
            data += chunk
    return data[24:]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["X=FOO"], '"FOO"'),
        (["SCADA=INT[0]"], '"0"'),
        (["X@1/2=INT"], '"1/2"'),
        (["SCADA=INT", "scada=DINT"], '"scada"'),
        (["X@1/1/7=INT"], "@1/1/7"),
        (["--route-path", "x/1", "A=INT"], '"x"'),
        (["--delay", "abc", "A=INT"], '"abc"'),
        (["--address", "127.0.0.1:notaport", "A=INT"], '"notaport"'),
        (["--config", "/nonexistent/cpppo.cfg", "A=INT"], "/nonexistent/cpppo.cfg"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, needle):
    a = [] if "--address" in args else ["-a", "127.0.0.1:0"]
    p = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", *a, *args],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr


def test_bad_config_value_names_the_file_and_text(tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text('[TCPIP]\nInterface Configuration = {"ip_address": "300.1.2.3"}\n')
    p = subprocess.run([cpppo_bin(), "enip", "server", "--config", str(cfg), "-a", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and str(cfg) in p.stderr and "300.1.2.3" in p.stderr, p.stderr


def test_config_file_sets_identity_and_tcpip(spawn, tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text(
        "[Identity]\n# Generally, strings are not quoted\nProduct Name = 1756-L83E/B TEST\n\n"
        "[TCPIP]\nInterface Configuration = {\n    \"ip_address\": \"192.168.0.201\",\n"
        "    \"network_mask\": \"255.255.255.0\",\n    \"domain_name\": \"example.com\"\n}\n"
        "Host Name = controller\n"
    )
    _, port = start(spawn, "--config", str(cfg), "A=INT")
    assert b"1756-L83E/B TEST" in list_identity(port)
    with LogixDriver(f"127.0.0.1:{port}/0", init_tags=False) as plc:
        host = plc.generic_message(service=0x0E, class_code=0xF5, instance=1, attribute=6, connected=False)
        assert host.value == b"\x0a\x00controller", host
        iface = plc.generic_message(service=0x0E, class_code=0xF5, instance=1, attribute=5, connected=False)
        assert iface.value[:8] == bytes([201, 0, 168, 192, 0, 255, 255, 255])  # UDINTs, as cpppo and b"example.com" in iface.value


def test_config_is_read_from_the_working_directory(spawn, tmp_path, monkeypatch):
    (tmp_path / "cpppo.cfg").write_text("[Identity]\nProduct Name = FROM CWD\n")
    monkeypatch.chdir(tmp_path)
    _, port = start(spawn, "A=INT")
    assert b"FROM CWD" in list_identity(port)


def test_demo_controller_without_tags(spawn):
    _, port = start(spawn, "--no-config")
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert {"SCADA", "TEXT", "FLOAT", "CLOCK"} <= set(plc.tags)
        assert plc.tags["SCADA"]["dimensions"][0] == 1000
        t1 = plc.read("CLOCK").value
        time.sleep(0.05)
        assert plc.read("CLOCK").value > t1  # computed on each read
        assert abs(t1 / 1e6 - time.time()) < 60


def test_delay_holds_each_reply(spawn):
    _, port = start(spawn, "--no-config", "-d", "0.3", "A=INT")
    t0 = time.monotonic()
    list_identity(port)
    assert time.monotonic() - t0 >= 0.25


def test_print_shows_each_write(spawn):
    # cpppo's -p: one line per write (see test_fidelity_print.py for the comparison with cpppo).
    proc, port = start(spawn, "--no-config", "-p", "A=INT")
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write(("A", 7)).error is None
    proc.wait_output(r"(?m)^ {19}A\[    0-0    \] <= \[7\] $")


def test_log_file_and_verbose(spawn, tmp_path):
    log = tmp_path / "server.log"
    _, port = start(spawn, "--no-config", "-v", "-l", str(log), "A=INT")
    list_identity(port)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "session" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    assert "session" in log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_down_cleanly(spawn, sig):
    proc, port = start(spawn, "--no-config", "A=INT")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)  # an open session does not hold it up
    os.kill(proc.p.pid, sig)
    assert proc.p.wait(5) == 0
    s.close()


def test_enip_server_compatibility_binary(spawn):
    binary = Path(cpppo_bin()).with_name("enip_server")
    proc = spawn([binary, "--no-config", "-a", "127.0.0.1:0", "SCADA=INT[10]"])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write("SCADA[9]", 9).error is None and plc.read("SCADA[9]").value == 9


def test_simple_device_refuses_routed_requests(spawn):
    _, port = start(spawn, "--no-config", "-S", "SCADA=INT[10]")
    with CIPDriver(f"127.0.0.1:{port}/1/0") as drv:
        ask = dict(service=0x0E, class_code=1, instance=1, attribute=7, connected=False)
        assert drv.generic_message(**ask, unconnected_send=False).value == b"\x141756-L61/B LOGIX5561"
        routed = drv.generic_message(**ask, unconnected_send=True, route_path=True)
        assert routed.error and "312" in routed.error


def test_cpppo_compatible_flags(spawn):
    proc, port = start(spawn, "--no-config", "-A", "-u", "--no-print", "-U", "A=INT")
    proc.wait_output(r"running on \('127\.0\.0\.1', %d\)" % port)
    assert b"1756-L61/B LOGIX5561" in list_identity(port)  # TCP still served
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.5)
    u.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0), ("127.0.0.1", port))
    with pytest.raises(socket.timeout):
        u.recvfrom(512)  # -U after -u: no UDP
