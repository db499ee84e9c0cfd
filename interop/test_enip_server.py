"""Our EtherNet/IP simulator against the real third-party clients pycomm3 1.2.16 and pylogix 1.1.6."""
import datetime

import pytest
from pycomm3 import CIPDriver, LogixDriver, Services
from pylogix import PLC

from conftest import ENIP_READY, cpppo_bin

TAGS = ["SCADA=INT[1000]", "TEXT=SSTRING[100]", "FLOAT=REAL", "FLT@22/1/3=REAL"]


@pytest.fixture
def sim(spawn):
    """Our simulator with the vectors' tags on a port of its choosing; yields the port."""
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *TAGS])
    return proc.port(ENIP_READY)


def test_pycomm3_open_uploads_the_tag_list_and_plc_info(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        assert {"SCADA", "TEXT", "FLOAT", "FLT"} <= set(plc.tags)
        scada = plc.tags["SCADA"]
        assert scada["data_type"] == "INT" and scada["dimensions"][0] == 1000 and scada["dim"] == 1
        assert plc.tags["FLOAT"]["data_type"] == "REAL" and plc.tags["FLOAT"]["dim"] == 0
        info = plc.get_plc_info()
        assert info["product_name"] == "1756-L61/B LOGIX5561"
        assert info["revision"] == {"major": 20, "minor": 11}
        assert plc.info["name"] == "cpppo"


def test_pycomm3_reads_and_writes(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        assert plc.write("SCADA[3]", 1234).error is None
        assert plc.read("SCADA[3]").value == 1234
        assert plc.write("SCADA{3}", [7, 8, 9]).error is None
        assert plc.read("SCADA{10}").value == [7, 8, 9, 1234, 0, 0, 0, 0, 0, 0]
        assert plc.write("SCADA[999]", -5).error is None
        big = plc.read("SCADA{1000}")  # 2000 bytes: one reply on the Large Forward Open connection
        assert big.error is None and len(big.value) == 1000 and big.value[999] == -5
        six = plc.read("SCADA{600}")
        assert six.error is None and len(six.value) == 600
        assert plc.write("TEXT", "Hello World").error is None
        assert plc.read("TEXT").value == "Hello World"
        assert plc.write("FLOAT", 1.25).error is None
        assert plc.read("FLOAT").value == 1.25
        many = plc.read("SCADA[3]", "FLOAT", "TEXT")  # a Multiple Service Packet
        assert [t.value for t in many] == [1234, 1.25, "Hello World"]
        assert plc.read("NOSUCH").error  # an error, and the connection keeps working
        assert plc.read("SCADA[1]").value == 8


def test_pycomm3_large_forward_open_negotiates_4000_bytes(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        assert plc.connection_size == 4000


def test_pycomm3_plc_time(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        t = plc.get_plc_time()
        assert t.error is None
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs((t.value["datetime"] - now).total_seconds()) < 60
        # Setting the clock moves what later reads report.
        assert plc.set_plc_time(microseconds=1_000_000_000_000_000).error is None
        assert abs(plc.get_plc_time().value["microseconds"] - 1_000_000_000_000_000) < 60_000_000


@pytest.mark.parametrize("connected", [False, True])
def test_pycomm3_generic_message_get_attribute_single(sim, connected):
    with CIPDriver(f"127.0.0.1:{sim}/1/0") as drv:
        r = drv.generic_message(
            service=Services.get_attribute_single,
            class_code=0x01,
            instance=1,
            attribute=7,
            connected=connected,
            unconnected_send=not connected,
        )
        assert r.error is None, r.error
        assert r.value == b"\x141756-L61/B LOGIX5561"


def test_pycomm3_list_identity(sim):
    with CIPDriver(f"127.0.0.1:{sim}") as drv:
        ident = drv.list_identity(f"127.0.0.1:{sim}")
    assert ident["product_name"] == "1756-L61/B LOGIX5561"
    assert ident["ip_address"] == "127.0.0.1"


def _plc(port):
    comm = PLC()
    comm.IPAddress = "127.0.0.1"
    comm.Port = port
    return comm


def test_pylogix_read_write(sim):
    with _plc(sim) as comm:
        assert comm.Write("FLOAT", 2.5).Status == "Success"
        assert comm.Read("FLOAT").Value == 2.5
        assert comm.Write("SCADA[2]", 77).Status == "Success"
        assert comm.Read("SCADA[2]").Value == 77
        assert comm.Write("SCADA[599]", 599).Status == "Success"
        r = comm.Read("SCADA", 600)  # fragmented reads
        assert r.Status == "Success" and len(r.Value) == 600 and r.Value[2] == 77 and r.Value[599] == 599
        assert comm.Write("TEXT", "pylogix").Status == "Success"
        assert comm.Read("TEXT").Value == "pylogix"
        multi = comm.Read(["SCADA[2]", "FLOAT"])
        assert [(m.Value, m.Status) for m in multi] == [(77, "Success"), (2.5, "Success")]
        assert comm.Read("NOSUCH").Status != "Success"
        assert comm.Read("SCADA[2]").Value == 77
        many = list(range(1000, 1600))
        assert comm.Write("SCADA", many).Status == "Success"  # 600 elements: fragmented writes
        assert comm.Read("SCADA", 600).Value == many


def test_pylogix_tag_list_time_and_properties(sim):
    with _plc(sim) as comm:
        tags = comm.GetTagList()
        assert tags.Status == "Success"
        found = {t.TagName: t for t in tags.Value}
        assert {"SCADA", "TEXT", "FLOAT", "FLT"} <= set(found)
        assert found["SCADA"].DataType == "INT" and found["SCADA"].Array == 1 and found["SCADA"].Size == 1000
        assert found["FLOAT"].DataType == "REAL"
        assert comm.SetPLCTime().Status == "Success"
        t = comm.GetPLCTime()
        assert t.Status == "Success"
        assert abs((t.Value - datetime.datetime.utcnow()).total_seconds()) < 60 * 60 * 24
        dev = comm.GetDeviceProperties()
        assert dev.Status == "Success" and dev.Value.ProductName == "1756-L61/B LOGIX5561"
        mod = comm.GetModuleProperties(0)
        assert mod.Status == "Success" and mod.Value.ProductName == "1756-L61/B LOGIX5561"


def test_pycomm3_symbol_instance_addressing_on_revision_32(spawn, tmp_path):
    """With a major revision of 21 or more, pycomm3 addresses tags by Symbol instance id."""
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text("[Identity]\nProduct Revision = 32.11\n")
    proc = spawn([cpppo_bin(), "enip", "server", "--config", str(cfg), "-a", "127.0.0.1:0", *TAGS])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.revision_major == 32 and plc._cfg["use_instance_ids"]
        assert plc.write("SCADA[5]", 55).error is None
        assert plc.read("SCADA{6}").value == [0, 0, 0, 0, 0, 55]
        assert plc.write("FLOAT", 2.5).error is None
        assert [t.value for t in plc.read("FLOAT", "SCADA[5]")] == [2.5, 55]
