"""pycomm3 1.2.16 and pylogix 1.1.6 against a simulator started from Python."""
from pycomm3 import LogixDriver
from pylogix import PLC


def test_pycomm3_reads_and_writes_a_simulator_started_from_python(sim):
    host, port = sim.address
    sim.write("SCADA", [5, 6, 7], start=3)
    with LogixDriver(f"{host}:{port}/0") as plc:
        assert {"SCADA", "TEXT", "FLOAT"} <= set(plc.tags)
        assert plc.read("SCADA{5}").value == [0, 0, 0, 5, 6]
        assert plc.write("SCADA[999]", -5).error is None
        assert plc.write("FLOAT", 1.25).error is None
    assert sim.read("SCADA", 999) == [-5] and sim.read("FLOAT") == [1.25]


def test_pylogix_reads_and_writes_a_simulator_started_from_python(sim):
    host, port = sim.address
    sim.write("TEXT", "from python")
    comm = PLC()
    comm.IPAddress, comm.Port = host, port
    with comm:
        assert comm.Read("TEXT").Value == "from python"
        assert comm.Write("SCADA[2]", 77).Status == "Success"
        assert comm.Read("NOSUCH").Status != "Success"
    assert sim.read("SCADA", 2, 1) == [77]
