"""``sim.read``/``sim.write`` on the Python simulator object name members of a structure
(``udt=``) tag as clients do (``M1.Speed``, ``Motors[2].Faults``, ``M1.Cell``: a dict), and
elements (``SCADA[2]``); what they write is what pycomm3 1.2.16 reads over the network, and
what pycomm3 writes they read. Bad paths and values raise one line naming them."""
import pytest
from pycomm3 import LogixDriver

from cpppo_rs import errors
from cpppo_rs.enip import Simulator

UDTS = ["Cell{Volts:REAL, Ok:BOOL}",
        "Motor{Speed:REAL, Running:BOOL, Faults:DINT[4], Name:STRING, Cell:Cell}"]
MOTOR = {"Speed": 1.5, "Running": True, "Faults": [1, 2, -3, 4], "Name": "pump",
         "Cell": {"Volts": 3.25, "Ok": True}}


@pytest.fixture
def sim():
    with Simulator(udt=UDTS, tags=["M1=Motor", "Motors=Motor[3]", "SCADA=INT[4]"]) as s:
        yield s


def plc(sim):
    host, port = sim.address
    return LogixDriver(f"{host}:{port}/0")


def test_members_written_by_the_simulator_are_read_by_pycomm3(sim):
    sim.write("M1.Speed", 1.5)
    sim.write("M1.Running", True)
    sim.write("M1.Faults", [1, 2, -3, 4])
    sim.write("M1.Name", "pump")
    sim.write("M1.Cell", {"Volts": 3.25, "Ok": True})
    sim.write("Motors[1].Faults", [9], start=3)
    with plc(sim) as p:
        got = p.read("M1")
        assert got.error is None and got.value == MOTOR
        assert p.read("Motors[1].Faults{4}").value == [0, 0, 0, 9]
    assert sim.read("M1.Speed") == [1.5]
    assert sim.read("M1.Running") == [True]
    assert sim.read("M1.Faults") == [1, 2, -3, 4]
    assert sim.read("M1.Faults", 1, 2) == [2, -3]
    assert sim.read("M1.Faults[2]") == [-3]
    assert sim.read("M1.Name") == ["pump"]
    assert sim.read("M1.Cell") == [MOTOR["Cell"]]
    assert sim.read("M1.Cell.Volts") == [3.25]


def test_members_written_by_pycomm3_are_read_by_the_simulator(sim):
    with plc(sim) as p:
        assert p.write(("Motors[2]", MOTOR)).error is None
        assert p.write("Motors[0].Cell.Ok", True).error is None
        assert p.write("SCADA{4}", [5, 6, 7, 8]).error is None
    assert sim.read("Motors[2]") == [MOTOR]
    assert sim.read("Motors[2].Name") == ["pump"]
    assert sim.read("Motors[0].Cell.Ok") == [True]
    assert sim.read("Motors[0].Running") == [False]
    assert [m["Speed"] for m in sim.read("Motors[0]", count=3)] == [0.0, 0.0, 1.5]
    # An element of a plain tag, read and written by index.
    assert sim.read("SCADA[2]") == [7]
    sim.write("SCADA[1]", [-1, -2])
    assert sim.read("SCADA") == [5, -1, -2, 8]
    # The structure tag by its name alone: its bytes, as before (SINT values).
    assert len(sim.read("M1")) > 0 and all(-128 <= b < 128 for b in sim.read("M1"))


@pytest.mark.parametrize("call, kind, message", [
    (lambda s: s.read("M1.Nope"), errors.UnknownTagError,
     "M1.Nope: names a member Motor does not have, or a bad index"),
    (lambda s: s.read("Nope.Speed"), errors.UnknownTagError, 'Nope.Speed: no tag "Nope"'),
    (lambda s: s.read("M1.Faults", 3, 2), errors.SimulatorError,
     "M1.Faults has 4 element(s): elements 3..5 do not exist"),
    (lambda s: s.write("M1.Faults", [1] * 5), errors.SimulatorError,
     "M1.Faults has 4 element(s): elements 0..5 do not exist"),
    (lambda s: s.write("M1.Faults", [2**40]), errors.InvalidValueError,
     "cannot write M1.Faults: 1099511627776 is out of range for DINT"),
    (lambda s: s.write("M1.Cell", {"Nope": 1}), errors.InvalidValueError,
     'cannot write M1.Cell: Cell has no member "Nope"'),
    (lambda s: s.write("M1.Name", "x" * 83), errors.InvalidValueError,
     "cannot write M1.Name: ASCIISTRING82 takes at most 82 characters"),
    (lambda s: s.write("M1.Speed", object()), TypeError, "cannot use a object as a tag value"),
])
def test_bad_paths_and_values_are_one_line(sim, call, kind, message):
    with pytest.raises(kind) as e:
        call(sim)
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)
    assert sim.read("M1.Faults") == [0, 0, 0, 0]  # nothing was written
