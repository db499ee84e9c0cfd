"""Routing wherever an Unconnected Send or a routed connection appears, with real clients: a
router simulator whose `Route` sends backplane slots 1-15 to a second simulator.

- cpppo's `enip_client --multiple` (a Multiple Service Packet inside a routed Unconnected
  Send) and `--connected` (Unconnected Sends inside connected messages);
- pycomm3 with a path "HOST:PORT/1/3" and pylogix with ProcessorSlot 3 (the route goes into
  the Forward Open's connection path; requests then travel connected);
- the legacy command 0x0001, byte for byte as the Python cpppo 5.2.5 simulator answers it.
"""
import socket
import struct
import subprocess

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from conftest import ENIP_READY, closed_port, cpppo_bin, cpppo_enip_server, venv_tool



def start(spawn, tmp_path, name, config, *tags):
    cfg = tmp_path / f"{name}.cfg"
    cfg.write_text(config)
    proc = spawn([cpppo_bin(), "enip", "server", "--config", str(cfg), "-a", "127.0.0.1:0", *tags])
    return proc.port(ENIP_READY)


@pytest.fixture
def pair(spawn, tmp_path):
    """(router port, remote port): slots 1-15 of the router are the remote simulator."""
    remote = start(
        spawn, tmp_path, "remote",
        "[Identity]\nProduct Name = REMOTE DEVICE\nController Name = remote\n",
        "REMOTE=DINT[600]", "NAME=SSTRING[20]",
    )
    router = start(
        spawn, tmp_path, "router",
        "[Identity]\nProduct Name = ROUTER\nController Name = router\n"
        f'[UCMM]\nRoute = {{"1/1-15": "127.0.0.1:{remote}"}}\n',
        "LOCAL=INT[4]",
    )
    return router, remote


def enip_client(port, *args):
    p = subprocess.run(
        [venv_tool("enip_client"), "-a", f"127.0.0.1:{port}", "--print", *args],
        capture_output=True, text=True, timeout=60,
    )
    return p.stdout + p.stderr


def test_cpppo_client_multiple_service_packets_through_the_route(pair):
    router, remote = pair
    out = enip_client(router, "--route-path", "1/3", "--multiple",
                      "REMOTE[0-3]=(DINT)10,11,12,13", "REMOTE[1]", "REMOTE[0-3]", "NAME=(SSTRING)\"far\"", "NAME")
    assert "REMOTE[0][  0-3  ]+  0 == [10, 11, 12, 13]: 'OK'" in out, out
    assert "== ['far']: 'OK'" in out, out
    # It really is the remote device's tag, and the router's own tag is not there.
    assert "== [11]: 'OK'" in enip_client(remote, "REMOTE[1]")
    assert "'OK'" not in enip_client(router, "--route-path", "1/3", "LOCAL[0]")
    # The router's own slot 0 is served locally, in the same kind of packet.
    out = enip_client(router, "--route-path", "1/0", "--multiple", "LOCAL[0-1]=(INT)5,6", "LOCAL[0-3]")
    assert "== [5, 6, 0, 0]: 'OK'" in out, out


def test_cpppo_client_connected_with_a_routed_path(pair):
    router, _ = pair
    # --connected: a Forward Open (to the router's slot 0), then each request in an Unconnected
    # Send carried in a connected message with the route path 1/3.
    out = enip_client(router, "--connected", "--route-path", "1/3", "REMOTE[5]=(DINT)55", "REMOTE[4-5]")
    assert "== [0, 55]: 'OK'" in out, out
    out = enip_client(router, "--connected", "--route-path", "1/3", "--multiple", "REMOTE[5]", "NAME")
    assert "== [55]: 'OK'" in out, out
    out = enip_client(router, "--connected", "--route-path", "1/0", "LOCAL[3]=(INT)3", "LOCAL[3]")
    assert "== [3]: 'OK'" in out, out


def test_pycomm3_with_a_route_in_its_path_talks_to_the_routed_device(pair):
    router, remote = pair
    with LogixDriver(f"127.0.0.1:{router}/1/3") as plc:
        assert plc.info["product_name"] == "REMOTE DEVICE"  # unconnected, routed
        assert plc.get_plc_name() == "remote"  # connected on the routed connection
        assert "REMOTE" in plc.tags and "LOCAL" not in plc.tags
        assert plc.write(("REMOTE[7]", 77), ("NAME", "pycomm3"))[0].error is None
        # 2,400 bytes in one reply: the Large Forward Open's size holds on the routed device.
        got = plc.read("REMOTE[7]", "NAME", "REMOTE[0]{600}")
        assert [g.value for g in got[:2]] == [77, "pycomm3"]
        assert got[2].error is None and len(got[2].value) == 600 and got[2].value[7] == 77
    with LogixDriver(f"127.0.0.1:{remote}/0") as plc:
        assert plc.read("REMOTE[7]").value == 77
    with LogixDriver(f"127.0.0.1:{router}/0") as plc:
        assert plc.get_plc_name() == "router" and "LOCAL" in plc.tags


def _plc(port, slot):
    comm = PLC()
    comm.IPAddress = "127.0.0.1"
    comm.Port = port
    comm.ProcessorSlot = slot
    return comm


def test_pylogix_with_a_processor_slot_talks_to_the_routed_device(pair):
    router, _ = pair
    with _plc(router, 3) as comm:
        assert comm.Write("REMOTE[9]", 99).Status == "Success"
        assert comm.Read("REMOTE[9]").Value == 99
        multi = comm.Read(["REMOTE[9]", "NAME"])  # a Multiple Service Packet, connected
        assert [m.Status for m in multi] == ["Success", "Success"] and multi[0].Value == 99
        big = list(range(600))
        assert comm.Write("REMOTE", big).Status == "Success"  # fragmented writes
        assert comm.Read("REMOTE", 600).Value == big  # fragmented reads
        assert comm.Read("LOCAL[0]").Status != "Success"
        assert comm.GetModuleProperties(3).Value.ProductName == "REMOTE DEVICE"
        assert comm.GetModuleProperties(0).Value.ProductName == "ROUTER"
    with _plc(router, 0) as comm:
        assert comm.Write("LOCAL[1]", 4).Status == "Success"
        assert comm.Read("LOCAL[1]").Value == 4
        assert comm.Read("REMOTE[9]").Status != "Success"


def test_a_routed_connection_to_an_unreachable_device_answers_errors(spawn, tmp_path):
    dead = closed_port()
    router = start(spawn, tmp_path, "router", f'[UCMM]\nRoute = {{"1/1-15": "127.0.0.1:{dead}"}}\n', "LOCAL=INT[4]")
    with _plc(router, 3) as comm:
        # The router asks the device for its side of the connection: refused (0x01/0x0204).
        assert comm.Read("X").Status == "Forward open failed"
        assert comm.GetModuleProperties(3).Status != "Success"  # unconnected: 0x01/0x0204 too
    with _plc(router, 0) as comm:
        assert comm.Read("LOCAL[0]").Value == 0


LEGACY = struct.pack("<HHII8sI", 0x0001, 0, 0, 0, b"route2!!", 0)


def _legacy_replies(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(LEGACY)
        tcp = b""
        while len(tcp) < 24 or len(tcp) < 24 + struct.unpack("<H", tcp[2:4])[0]:
            chunk = s.recv(1024)
            assert chunk, "connection closed"
            tcp += chunk
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(LEGACY, ("127.0.0.1", port))
        udp = u.recv(1024)
    return tcp, udp


@pytest.mark.parametrize("config", ["", '[TCPIP]\nInterface Configuration = {"ip_address": "10.1.2.3"}\n'])
def test_legacy_0x0001_replies_are_byte_identical_to_cpppo(spawn, tmp_path, config):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text(config)
    _, ref = cpppo_enip_server(spawn, "-c", str(cfg), "X=INT")
    ours = spawn([cpppo_bin(), "enip", "server", "--config", str(cfg), "-a", "127.0.0.1:0",
                  "X=INT"]).port(ENIP_READY)
    want_tcp, want_udp = _legacy_replies(ref)
    got_tcp, got_udp = _legacy_replies(ours)
    assert got_tcp == want_tcp and got_udp == want_udp, (got_tcp.hex(), want_tcp.hex())
    assert want_tcp[:2] == b"\x01\x00" and len(want_tcp) == 24 + 42
    # And cpppo's own client reads it.
    out = enip_client(ours, "-L", "0x0001", "-u")
    assert "legacy_CPF_0x0001" in out or "0x0001" in out, out
