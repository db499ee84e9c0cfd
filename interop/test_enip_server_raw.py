"""Raw EtherNet/IP frames against our simulator over real sockets: every row of the vectors
README's "where we must answer differently from cpppo 5.2.5" table, and hostile input."""
import os
import random
import socket
import struct
import time

import pytest

from conftest import ENIP_READY, cpppo_bin

TAGS = ["SCADA=INT[1000]", "BIG=INT[3000]", "TEXT=SSTRING[100]", "FLOAT=REAL", "FLT@22/1/3=REAL"]


@pytest.fixture
def sim(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *TAGS])
    yield proc.port(ENIP_READY)
    assert "panicked" not in proc.output()
    assert proc.p.poll() is None, "the simulator died:\n" + proc.output()


def frame(command, body=b"", session=0, context=b"\0" * 8):
    return struct.pack("<HHII8sI", command, len(body), session, 0, context, 0) + body


def recv_frame(sock):
    head = b""
    while len(head) < 24:
        chunk = sock.recv(24 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    (length,) = struct.unpack_from("<H", head, 2)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    command, _, session, status = struct.unpack_from("<HHII", head)
    return command, session, status, body


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.session = 0

    def request(self, command, body=b"", session=None):
        self.sock.sendall(frame(command, body, self.session if session is None else session))
        return recv_frame(self.sock)

    def register(self, version=1):
        cmd, session, status, body = self.request(0x65, struct.pack("<HH", version, 0))
        if status == 0:
            self.session = session
        return status

    def rr(self, mr):
        """SendRRData without Unconnected Send: the CIP reply."""
        body = struct.pack("<IHH", 0, 5, 2) + struct.pack("<HH", 0, 0) + struct.pack("<HH", 0xB2, len(mr)) + mr
        cmd, _, status, reply = self.request(0x6F, body)
        assert status == 0, hex(status)
        return reply[16:]

    def unit(self, conn, seq, mr):
        """SendUnitData on connection `conn`: (T->O id, sequence, CIP reply)."""
        body = struct.pack("<IHH", 0, 0, 2) + struct.pack("<HHI", 0xA1, 4, conn)
        body += struct.pack("<HHH", 0xB1, len(mr) + 2, seq) + mr
        cmd, _, status, reply = self.request(0x70, body)
        assert status == 0, hex(status)
        (t_o,) = struct.unpack_from("<I", reply, 12)
        (seq_back,) = struct.unpack_from("<H", reply, 20)
        return t_o, seq_back, reply[22:]

    def large_forward_open(self, size=4002, t_o_id=0x12345678):
        params = (0x4200 << 16) | size
        fo = struct.pack("<BBIIHHIB3xIIII", 0x0A, 0x05, 0, t_o_id, 0x2704, 0x1009, 0xAC8EE8D8, 7, 2113537, params, 2113537, params)
        fo += bytes.fromhex("a303010020022401")
        reply = self.rr(bytes.fromhex("5b0220062401") + fo)
        assert reply[:4] == b"\xdb\x00\x00\x00", reply.hex()
        (o_t,) = struct.unpack_from("<I", reply, 4)
        return o_t

    def close(self):
        self.sock.close()


def read_tag(name, count=1, element=None):
    path = bytes([0x91, len(name)]) + name.encode() + (b"\0" if len(name) % 2 else b"")
    if element is not None:
        path += bytes([0x29, 0]) + struct.pack("<H", element)
    return bytes([0x4C, len(path) // 2]) + path + struct.pack("<H", count)


def unconnected_send(mr, route=b"\x01\x00"):
    data = struct.pack("<BBH", 0x0A, 0x05, len(mr)) + mr + (b"\0" if len(mr) % 2 else b"")
    data += struct.pack("<BB", len(route) // 2, 0) + route
    return bytes.fromhex("520220062401") + data


def test_unknown_tag_is_0x05_and_the_session_stays(sim):
    c = Client(sim)
    c.register()
    assert c.rr(unconnected_send(read_tag("NOSUCH"))).hex() == "cc0005010000"
    assert c.rr(read_tag("NOSUCH")).hex() == "cc0005010000"
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3000000"


def test_unknown_class_instance_attribute_service(sim):
    c = Client(sim)
    c.register()
    assert c.rr(bytes.fromhex("0e0320992401300101")[:8]).hex() == "8e000500"  # @0x99/1/1
    assert c.rr(bytes.fromhex("0e03200124093001")).hex() == "8e001600"  # @1/9/1
    assert c.rr(bytes.fromhex("0e03200124013063")).hex() == "8e001400"  # @1/1/99
    assert c.rr(bytes.fromhex("3302200124 01".replace(" ", ""))).hex() == "b3000800"  # service 0x33
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3000000"


def test_unknown_encapsulation_command_gets_0x0001_and_the_connection_stays(sim):
    c = Client(sim)
    c.register()
    cmd, _, status, body = c.request(0xFF)
    assert (cmd, status, body) == (0xFF, 0x0001, b"")
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3000000"


def test_register_session_version_2_is_0x0069(sim):
    c = Client(sim)
    assert c.register(version=2) == 0x69
    assert c.register(version=1) == 0


def test_bad_session_handle_is_0x0064(sim):
    c = Client(sim)
    c.register()
    body = struct.pack("<IHHHHHH", 0, 5, 2, 0, 0, 0xB2, len(read_tag("SCADA"))) + read_tag("SCADA")
    cmd, _, status, reply = c.request(0x6F, body, session=c.session ^ 0xFFFF)
    assert status == 0x64 and reply == b""
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3000000"


def test_large_forward_open_replies_fill_the_negotiated_size(sim):
    c = Client(sim)
    c.register()
    conn = c.large_forward_open(4002, t_o_id=0xCAFEF00D)
    t_o, seq, reply = c.unit(conn, 7, read_tag("SCADA", 1000))
    assert (t_o, seq) == (0xCAFEF00D, 7)
    assert reply[:6].hex() == "cc000000c300" and len(reply) == 6 + 2000
    # BIG is 6000 bytes: beyond the connection size, a partial transfer (0x06).
    _, _, reply = c.unit(conn, 8, read_tag("BIG", 3000))
    assert reply[:4].hex() == "cc000600" and len(reply) <= 4002 - 2
    # Unconnected replies stay small (as the Python cpppo: 488 data bytes).
    assert c.rr(read_tag("SCADA", 1000))[:4].hex() == "cc000600"
    # Forward Close, then the connection is gone.
    fc = struct.pack("<BBHHI", 0x0A, 0x05, 0x2704, 0x1009, 0xAC8EE8D8) + bytes.fromhex("03000100 20022401".replace(" ", ""))
    assert c.rr(bytes.fromhex("4e0220062401") + fc)[:4].hex() == "ce000000"
    _, _, reply = c.unit(conn, 9, read_tag("SCADA"))
    assert reply[2] == 0x01  # connection failure: not found


def test_write_tag_repeated_as_pycomm3_does_is_performed(sim):
    c = Client(sim)
    c.register()
    one = bytes.fromhex("4d0591055343414441002800c30001007b00")  # SCADA[0] = 123
    assert c.rr(one + one).hex() == "cd000000"
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3007b00"
    # Other bytes after the data (issue 19): refused as cpppo refuses them, nothing written.
    two = bytes.fromhex("4d0591055343414441002800c30001007c00")  # SCADA[0] = 124
    assert c.rr(two + two[:-1]).hex() == "cd00ff010521"
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3007b00"


def test_tag_list_upload_with_get_instance_attribute_list(sim):
    c = Client(sim)
    c.register()
    conn = c.large_forward_open()
    # pycomm3's request: attributes 1, 2, 3, 5, 6, 8, 10 of every Symbol instance from 0.
    _, _, reply = c.unit(conn, 1, bytes.fromhex("5502206b240007000100020003000500060008000a00"))
    assert reply[:4].hex() == "d5000000", reply.hex()
    data, names = reply[4:], {}
    while data:
        inst, n = struct.unpack_from("<IH", data)
        name = data[6:6 + n].decode()
        sym_type, _, _, _, d1, d2, d3, access = struct.unpack_from("<HIIIIIIB", data, 6 + n)
        names[name] = (inst, sym_type, d1)
        data = data[6 + n + 27:]
    assert names["SCADA"] == (1, 0x2000 | 0xC3, 1000)
    assert names["FLOAT"][1:] == (0xCA, 0)
    assert names["TEXT"][1:] == (0x2000 | 0xDA, 100)


def test_tag_list_upload_continues_with_0x06_when_a_reply_is_full(spawn):
    tags = [f"TAG_{n:03d}_WITH_A_LONG_NAME=DINT" for n in range(200)]
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *tags])
    port = proc.port(ENIP_READY)
    c = Client(port)
    c.register()
    seen, start, rounds = [], 0, 0
    while True:
        rounds += 1
        assert rounds < 50
        req = bytes.fromhex("5503206b2500") + struct.pack("<H", start) + bytes.fromhex("03000100020008 00".replace(" ", ""))
        reply = c.rr(req)
        assert reply[2] in (0, 6), reply[:4].hex()
        data = reply[4:]
        while data:
            inst, n = struct.unpack_from("<IH", data)
            seen.append(data[6:6 + n].decode())
            data = data[6 + n + 2 + 12:]
            start = inst + 1
        if reply[2] == 0:
            break
    assert rounds > 1 and seen == [t.split("=")[0] for t in tags]


def test_wall_clock_get_attribute_list(sim):
    c = Client(sim)
    c.register()
    for attr in (6, 11):
        reply = c.rr(bytes.fromhex("0302208b2401") + struct.pack("<HH", 1, attr))
        count, got, status, usec = struct.unpack_from("<HHHQ", reply, 4)
        assert reply[:4].hex() == "83000000" and (count, got, status) == (1, attr, 0)
        assert abs(usec / 1e6 - time.time()) < 24 * 3600


@pytest.mark.parametrize("udp", [False, True])
def test_list_identity_reports_the_address_the_request_arrived_on(sim, udp):
    if udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(frame(0x63), ("127.0.0.1", sim))
        reply, _ = s.recvfrom(1024)
        body = reply[24:]
    else:
        _, _, _, body = Client(sim).request(0x63)
    family, port, addr = struct.unpack_from(">HH4s", body, 8)
    assert (family, port, socket.inet_ntoa(addr)) == (2, sim, "127.0.0.1")
    assert b"1756-L61/B LOGIX5561" in body


def test_nop_and_unregister_get_no_reply(sim):
    c = Client(sim)
    c.register()
    c.sock.sendall(frame(0x00, b"\x01\x02\x03\x04"))
    assert c.rr(read_tag("SCADA")).hex() == "cc000000c3000000"  # the NOP was silent
    c.sock.sendall(frame(0x66, session=c.session))
    assert c.sock.recv(100) == b""  # closed without a reply


def alive(port):
    c = Client(port)
    assert c.register() == 0
    assert c.rr(read_tag("SCADA"))[:4].hex() == "cc000000"
    c.close()


def test_hostile_input_never_harms_other_sessions(sim):
    rng = random.Random(1234)
    bystander = Client(sim)
    bystander.register()
    # Garbage, truncated frames, absurd lengths, random commands and bodies: bounded count.
    for n in range(300):
        s = socket.create_connection(("127.0.0.1", sim), timeout=5)
        kind = n % 5
        if kind == 0:
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 200))))
        elif kind == 1:
            s.sendall(frame(0x6F, bytes(rng.getrandbits(8) for _ in range(40)))[: rng.randrange(1, 60)])
        elif kind == 2:
            s.sendall(struct.pack("<HH", 0x6F, 0xFFFF) + bytes(30))
        elif kind == 3:
            s.sendall(frame(0x65, struct.pack("<HH", 1, 0)))
            recv_frame(s)
            body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120)))
            s.sendall(frame(rng.choice([0x6F, 0x70, 0x63, 0x04, 0x64, 0x01]), body))
        else:
            c = Client.__new__(Client)
            c.sock, c.session = s, 0
            c.register()
            mr = bytes([rng.choice([0x4C, 0x4D, 0x52, 0x53, 0x4E, 0x0A, 0x01, 0x03, 0x04, 0x0E, 0x10, 0x55, 0x54, 0x5B])])
            mr += bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 60)))
            try:
                c.rr(mr)
            except (AssertionError, struct.error):
                pass
        s.close()
        if n % 50 == 0:
            alive(sim)
    assert bystander.rr(read_tag("SCADA"))[:4].hex() == "cc000000"
    # UDP garbage is ignored.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(50):
        u.sendto(os.urandom(rng.randrange(1, 100)), ("127.0.0.1", sim))
    alive(sim)


def test_a_client_that_stops_reading_does_not_block_others(sim):
    stuck = Client(sim)
    stuck.register()
    stuck.sock.setblocking(False)
    mr = read_tag("SCADA", 1000)
    request = frame(0x6F, struct.pack("<IHHHHHH", 0, 5, 2, 0, 0, 0xB2, len(mr)) + mr, stuck.session)
    sent, deadline = 0, time.monotonic() + 10
    while time.monotonic() < deadline and sent < 20000:  # fill both socket buffers
        try:
            stuck.sock.send(request)
            sent += 1
        except BlockingIOError:
            break
    alive(sim)
    stuck.close()
    alive(sim)
