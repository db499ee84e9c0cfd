"""Issue 17 item 10: `--source-address` (cpppo list_services' `-S`, the client's
`source_address`) binds the local interface requests leave from; `poll -v` says which device it
polls ("Polling begins via: <product name> via <address>[<session>]"), as cpppo's README shows."""
import re
import socket

import pytest

from fidelity_util import ours, python, start_ours


@pytest.fixture
def udp_peer():
    """A UDP socket on 127.0.0.1:0 that records who sends to it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10)
    yield s
    s.close()


@pytest.mark.parametrize("tool", ["ours", "cpppo"])
def test_list_services_udp_leaves_from_the_source_address(udp_peer, tool):
    port = udp_peer.getsockname()[1]
    args = ["-u", "-S", "127.0.0.2", "-a", f"127.0.0.1:{port}", "-t", "0.5"]
    if tool == "ours":
        ours("enip", "list-services", *args, ok=False, timeout=30)
    else:
        python("-m", "cpppo.server.enip.list_services", *args, ok=False, timeout=30)
    _, sender = udp_peer.recvfrom(4096)
    assert sender[0] == "127.0.0.2"


def test_client_tcp_connects_from_the_source_address(spawn):
    proc, address = start_ours(spawn, "--no-config", "-v", "SCADA=INT[10]")
    ours("enip", "client", "--source-address", "127.0.0.3", "-a", address, "SCADA[0]")
    proc.wait_output(r"127\.0\.0\.3:\d+")


def test_bad_source_address_is_one_line():
    p = ours("enip", "list-services", "-S", "nowhere", ok=False)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "nowhere" in p.stderr


def test_poll_verbose_names_the_device_it_polls(spawn):
    _, address = start_ours(spawn, "--no-config", "SCADA=INT[10]")
    p = ours("enip", "poll", "-v", "-a", address, "--cycles", "1", "TCPIP", "Identity", timeout=30)
    assert re.search(rf"Polling begins via: 1756-L61/B LOGIX5561 via {re.escape(address)}\[\d+\]",
                     p.stderr), p.stderr
    assert "TCPIP: [2, 48, 0," in p.stdout
