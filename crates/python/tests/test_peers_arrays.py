"""pycomm3 1.2.16 and pylogix 1.1.6 against a simulator started from Python: array reads and
writes, REAL and SSTRING values, the identity (List Identity, pycomm3's info), errors."""
from pycomm3 import CIPDriver, LogixDriver
from pylogix import PLC


def test_pycomm3_arrays_identity_and_errors(sim):
    host, port = sim.address
    with LogixDriver(f"{host}:{port}/0") as plc:
        assert plc.write("SCADA{4}", [11, -12, 13, 14]).error is None      # an array write
        assert plc.read("SCADA{6}").value == [11, -12, 13, 14, 0, 0]
        assert plc.write("Tag[5]{3}", [1 << 20, -7, 0]).error is None       # DINT, from element 5
        assert plc.write("FLOAT", -3.5).error is None and plc.read("FLOAT").value == -3.5
        assert plc.write("TEXT", "hey").error is None and plc.read("TEXT").value == "hey"
        many = plc.read("SCADA[0]", "Tag[5]", "Tag[6]", "FLOAT")        # one Multiple Service Packet
        assert [r.value for r in many] == [11, 1 << 20, -7, -3.5]
        assert plc.read("NOSUCH").error is not None
        info = plc.info
    assert sim.read("Tag", 5, 3) == [1 << 20, -7, 0] and sim.read("SCADA", 0, 4) == [11, -12, 13, 14]
    ident = CIPDriver.list_identity(f"{host}:{port}")
    assert ident and ident["product_name"] == info["product_name"]
    assert ident["serial"] == info["serial"] and ident["vendor"] == info["vendor"]


def test_pylogix_arrays_identity_and_errors(sim):
    host, port = sim.address
    comm = PLC()
    comm.IPAddress, comm.Port = host, port
    with comm:
        assert comm.Write("SCADA[10]", [5, 6, 7]).Status == "Success"       # an array write
        assert comm.Read("SCADA[9]", 5).Value == [0, 5, 6, 7, 0]            # an array read
        assert comm.Write("FLOAT", 2.25).Status == "Success"
        got = comm.Read(["SCADA[11]", "FLOAT", "Tag[0]"])                    # a list of tags
        assert [r.Value for r in got] == [6, 2.25, 0] and all(r.Status == "Success" for r in got)
        assert comm.Write("Tag[19]", 1 << 30).Status == "Success"
        assert comm.Write("Tag[20]", 1).Status != "Success"                 # past the end
        props = comm.GetDeviceProperties()
    assert props.Status == "Success" and props.Value.ProductName
    assert sim.read("SCADA", 10, 3) == [5, 6, 7] and sim.read("Tag", 19) == [1 << 30]
