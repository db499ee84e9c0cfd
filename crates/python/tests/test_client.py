"""cpppo_rs.enip.client against our simulator (started from Python) and cpppo 5.2.5's."""
import struct
import threading
import time

import pytest

from cpppo_rs.enip import Simulator, client


@pytest.fixture(params=["ours", "cpppo"])
def server(request, sim):
    """(host, port) of our simulator, or of cpppo 5.2.5's enip_server."""
    if request.param == "ours":
        return sim.address
    return ("127.0.0.1", request.getfixturevalue("cpppo_server"))


def test_pipeline_yields_cpppos_six_tuples_in_order(server):
    ops = client.parse_operations(["SCADA[1-3]=(INT)11,22,33", "SCADA[0-4]", "FLOAT"])
    with client.connector(*server, timeout=5.0) as conn:
        got = list(conn.pipeline(operations=ops, depth=2))
    assert [t[0] for t in got] == [0, 1, 2]
    (_, dsc, req, rpy, sts, val) = got[1]
    assert "SCADA" in dsc and isinstance(req, bytes) and isinstance(rpy, bytes)
    assert sts == 0 and val == [0, 11, 22, 33, 0]
    assert got[0][5] is True  # a successful write is True, as cpppo's
    assert got[2][5] == [0.0]


def test_a_failed_operation_yields_its_status_and_no_value(sim):
    # (Only ours: cpppo 5.2.5's enip_server ends the session on an unknown tag.)
    with client.connector(*sim.address) as conn:
        got = list(conn.pipeline(client.parse_operations(["NOSUCH[0]", "SCADA[0]"]), depth=2))
    assert got[0][4] == (5, (0,)) and got[0][5] is None
    assert got[1][4] == 0 and got[1][5] == [0]


def test_results_process_and_multiple_service_packets(server):
    tags = ["Tag[0-9]+16=(DINT)4,5,6,7,8,9", "Tag[3-5]", "FLOAT=(REAL)1.25", "FLOAT"] * 5
    with client.connector(*server) as conn:
        plain = list(conn.results(client.parse_operations(tags)))
        batched = list(conn.results(client.parse_operations(tags), depth=4, multiple=400))
        failures, values = conn.process(client.parse_operations(tags), depth=3)
    assert plain == batched == values and failures == 0
    assert values[1] == [0, 4, 5] and values[3] == [1.25]  # "+16": from byte 16, Tag[4]


def test_process_printing_prints_cpppos_summary_lines(sim, capsys):
    sim.write("SCADA", [42], start=1)
    with client.connector(*sim.address) as conn:
        failures, _ = conn.process(client.parse_operations(["SCADA[1]", "NOSUCH"]),
                                   printing=True)
    out = capsys.readouterr().out.splitlines()
    assert failures == 1
    assert out[0] == "            SCADA[1][  1-1  ]+  0 == [42]: 'OK'"
    assert out[1].strip().startswith("NOSUCH") and "None: 'Status 5" in out[1]


def test_read_and_write_go_through_the_simulator(sim):
    with client.connector(*sim.address) as conn:
        conn.write("SCADA[10-12]=(INT)1,-2,3")
        assert sim.read("SCADA", 10, 3) == [1, -2, 3]
        sim.write("TEXT", ["hi", "there"], start=1)
        assert conn.read("TEXT[1-2]") == ["hi", "there"]
        sim.write("FLOAT", 2.5)
        assert conn.read("FLOAT") == [2.5]


def test_attribute_services_and_list_identity(server):
    with client.connector(*server) as conn:
        name = conn.get_attribute_single(1, 1, 7)
        assert name[1:] == b"1756-L61/B LOGIX5561" and name[0] == 20
        assert len(conn.get_attributes_all(1, 1)) > 20
        conn.set_attribute_single(0x16, 1, 3, struct.pack("<f", 1.5))
        assert conn.read("FLT") == [1.5]
        assert conn.get_attribute_single(0x16, 1, 3) == struct.pack("<f", 1.5)
        [ident] = conn.list_identity()
    assert ident["product_name"] == "1756-L61/B LOGIX5561" and ident["vendor_id"] == 1
    assert ident["peer"] == server


def test_pipeline_attributes_uses_get_attribute_services(sim):
    ops = client.parse_operations(["@1/1/7", "@22/1/3=(REAL)3.0", "@22/1/3"])
    with client.connector(*sim.address) as conn:
        got = list(conn.pipeline(ops, depth=2, attributes=True))
    assert got[0][5][0] == 20 and bytes(got[0][5][1:]) == b"1756-L61/B LOGIX5561"
    assert got[1][5] is True and bytes(got[2][5]) == struct.pack("<f", 3.0)
    assert sim.read("FLT") == [3.0]


def test_io_example_runs_with_import_changes_only(server, capsys):
    # cpppo's README io_example (client section), with only the import changed.
    from cpppo_rs.enip import client
    address = server

    host = 'localhost'    # Controller IP address
    port = address[1]     # default is port 44818
    depth = 1             # Allow 1 transaction in-flight
    multiple = 0          # Don't use Multiple Service Packet
    fragment = False      # Don't force Read/Write Tag Fragmented
    timeout = 1.0         # Any PLC I/O fails if it takes > 1s
    printing = True       # Print a summary of I/O
    tags = ["Tag[0-9]+16=(DINT)4,5,6,7,8,9", "@0x2/1/1", "Tag[3-5]"]

    with client.connector(host=host, port=port, timeout=timeout) as connection:
        operations = client.parse_operations(tags)
        failures, transactions = connection.process(
            operations=operations, depth=depth, multiple=multiple,
            fragment=fragment, printing=printing, timeout=timeout)

    out = capsys.readouterr().out
    assert failures == 0, out
    assert transactions[2] == [0, 4, 5]
    assert "Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'" in out
    with client.connector(*server) as conn:
        assert conn.read("Tag[4-9]") == [4, 5, 6, 7, 8, 9]


def test_thruput_example_pipelines_with_import_changes_only(sim):
    # cpppo's README thruput example's loop, with only the import changed.
    from cpppo_rs.enip import client
    operations = client.parse_operations(["SCADA[1]", "FLOAT"] * 25)
    seen = []
    with client.connector(host=sim.address[0], port=sim.address[1], timeout=None) as conn:
        for num, (idx, dsc, op, rpy, sts, val) in enumerate(conn.pipeline(
                operations=operations, depth=20, multiple=250, timeout=None)):
            seen.append((num, idx, val))
    assert [n for n, _, _ in seen] == list(range(50))
    assert all(v == [0] or v == [0.0] for _, _, v in seen)


def test_the_gil_is_released_while_waiting_for_a_reply():
    """A slow reply (0.5 s delay) must not stop other Python threads from running."""
    with Simulator(tags=["SCADA=INT[10]"], delay=(0.5, 0.5)) as slow:
        with client.connector(*slow.address, timeout=5.0) as conn:
            window = {}

            def reader():
                window["start"] = time.monotonic()
                conn.read("SCADA[0]")
                window["end"] = time.monotonic()

            t = threading.Thread(target=reader)
            ticks = []
            t.start()
            while t.is_alive():
                ticks.append(time.monotonic())
                time.sleep(0.01)
            t.join(10)
    inside = [x for x in ticks if window["start"] + 0.1 < x < window["end"] - 0.1]
    assert window["end"] - window["start"] >= 0.4 and len(inside) >= 5


@pytest.mark.parametrize("kwds", [
    dict(route_path="1/0"),
    dict(route_path=[{"port": 1, "link": 0}], send_path="@6/1"),
    dict(route_path=False, send_path=""),
    dict(simple=True),
    dict(connected=True),
])
def test_route_send_path_simple_and_connected_sessions(sim, kwds):
    sim.write("SCADA", [9, 8], start=4)
    with client.connector(*sim.address, **kwds) as conn:
        assert conn.read("SCADA[4-5]") == [9, 8]
        assert list(conn.results(["SCADA[4]", "SCADA[5]"], depth=2, multiple=200)) == [[9], [8]]


def test_list_identity_over_udp():
    with Simulator(tags=["SCADA=INT[10]"], udp=True) as sim:
        with client.connector(*sim.address, udp=True, timeout=2.0) as conn:
            [ident] = conn.list_identity()
            services = conn.list_services()
    assert ident["product_name"] == "1756-L61/B LOGIX5561"
    assert ident["peer"] == sim.address
    assert any("Communications" in s.get("service_name", "") for s in services)


def test_pipeline_streams_an_endless_generator(sim):
    """Operations may be a generator with no end: results come as the replies arrive."""
    import itertools
    sim.write("SCADA", [5])

    def forever():
        for n in itertools.count():
            yield "SCADA[0]" if n % 2 == 0 else "SCADA[0]=(INT)5"

    with client.connector(*sim.address) as conn:
        got = list(itertools.islice(conn.pipeline(forever(), depth=8), 250))
    assert [t[0] for t in got] == list(range(250))
    assert all(t[5] == ([5] if t[0] % 2 == 0 else True) for t in got)


def test_a_simulator_reads_cpppo_cfg_files(tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text("[Identity]\nProduct Name = PYTHON RIG\n")
    with Simulator(tags=["A=INT"], config=[str(cfg)]) as sim:
        with client.connector(*sim.address) as conn:
            assert conn.get_attribute_single(1, 1, 7) == b"\x0aPYTHON RIG"
    from cpppo_rs import errors
    with pytest.raises(errors.SimulatorError, match="missing.cfg"):
        Simulator(config=[str(tmp_path / "missing.cfg")])
