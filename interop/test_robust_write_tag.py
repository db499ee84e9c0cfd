"""Issue 19 item 4: a Write Tag whose data does not match its element count (more data than
the count, or a count of 0) is refused 0xFF/0x2105 as the Python cpppo 5.2.5 refuses it, while
pycomm3 1.2.16 (which repeats its Write Tag request inside the item) keeps writing."""
import socket
import struct

import pytest
from pycomm3 import LogixDriver

from conftest import cpppo_bin, venv_tool

READY = r"Started EtherNet/IP Simulator; PID = \d+; address = 127\.0\.0\.1:(\d+)"
CPPPO_READY = r"Network TCP Server address = \('127\.0\.0\.1', (\d+)\)"
TAGS = ["SCADA=INT[10]"]


@pytest.fixture
def ours(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *TAGS])
    return int(proc.wait_output(READY).group(1))


@pytest.fixture
def cpppo(spawn):
    proc = spawn([venv_tool("enip_server"), "-A", "-a", "127.0.0.1:0", *TAGS])
    return int(proc.wait_output(CPPPO_READY, timeout=20).group(1))


def encap(command: int, session: int, body: bytes) -> bytes:
    return struct.pack("<HHII8sI", command, len(body), session, 0, b"\0" * 8, 0) + body


def exchange(s: socket.socket, frame: bytes) -> bytes:
    s.sendall(frame)
    head = b""
    while len(head) < 24:
        head += s.recv(24 - len(head))
    (length,) = struct.unpack_from("<H", head, 2)
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    return head + body


def write_scada(count: int, data: bytes) -> bytes:
    """Write Tag SCADA: type INT, count, data (a Message Router request)."""
    return b"\x4d\x04\x91\x05SCADA\x00" + struct.pack("<HH", 0xC3, count) + data


def read_scada0() -> bytes:
    return b"\x4c\x04\x91\x05SCADA\x00" + struct.pack("<H", 1)


def cip(port: int, requests):
    """Send each Message Router request unconnected in one session; their replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        reg = exchange(s, encap(0x65, 0, struct.pack("<HH", 1, 0)))
        (session,) = struct.unpack_from("<I", reg, 4)
        out = []
        for mr in requests:
            cpf = struct.pack("<IHHHHHH", 0, 5, 2, 0, 0, 0xB2, len(mr)) + mr
            reply = exchange(s, encap(0x6F, session, cpf))
            out.append(reply[40:])
        return out


REFUSED = b"\xcd\x00\xff\x01\x05\x21"  # 0xFF / 0x2105
TWO_UNDER_ONE = write_scada(1, struct.pack("<hh", 1, 2))  # two INTs under a count of 1


@pytest.mark.parametrize("server", ["ours", "cpppo"])
def test_data_beyond_its_count_is_refused_as_cpppo_does(server, request):
    port = request.getfixturevalue(server)
    good = cip(port, [write_scada(1, struct.pack("<h", 123))])
    assert good == [b"\xcd\x00\x00\x00"], server
    replies = cip(port, [TWO_UNDER_ONE, read_scada0()])
    assert replies[0] == REFUSED, (server, replies[0].hex())
    assert replies[1] == b"\xcc\x00\x00\x00\xc3\x00" + struct.pack("<h", 123), server


def test_a_stray_byte_or_a_count_of_zero_is_refused(ours):
    # cpppo 5.2.5 drops the connection on these two; we answer them as the case above.
    replies = cip(ours, [write_scada(1, struct.pack("<hB", 5, 0)), write_scada(0, b""),
                         read_scada0()])
    assert replies[:2] == [REFUSED, REFUSED], [r.hex() for r in replies]
    assert replies[2] == b"\xcc\x00\x00\x00\xc3\x00\x00\x00"


def test_pycomm3_writes_keep_working(ours):
    with LogixDriver(f"127.0.0.1:{ours}/0") as plc:
        assert plc.write("SCADA[3]", 1234).error is None
        assert plc.write("SCADA[4]{3}", [5, 6, 7]).error is None
        assert plc.read("SCADA[2]{6}").value == [0, 1234, 5, 6, 7, 0]
