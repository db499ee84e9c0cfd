"""The simulator started from Python takes the CLI's tag sources: Logix structures (``udt=``),
a pycomm3 tag JSON file (``defined_tags=``), a Studio 5000 export (``l5x=``) and cpppo.cfg
(``config=``: [Tags], [Logix], identity, [I/O]); read back by pycomm3 1.2.16, pylogix 1.1.6 and
our client. Each bad source raises one clear line naming it."""
import json
import struct
from pathlib import Path

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client

FIXTURES = Path(__file__).resolve().parents[3] / "interop" / "fixtures"
PLANT = FIXTURES / "plant.L5X"

UDTS = ["Cell{Volts:REAL, Ok:BOOL}",
        "Motor{Speed:REAL, Running:BOOL, Faults:DINT[4], Name:STRING, Cell:Cell}"]
MOTOR = {"Speed": 1.5, "Running": True, "Faults": [1, 2, -3, 4], "Name": "pump",
         "Cell": {"Volts": 3.25, "Ok": True}}


def _host_port(sim):
    host, port = sim.address
    return f"{host}:{port}"


def test_a_udt_tag_is_served_to_pycomm3_and_our_client():
    with Simulator(udt=UDTS, tags=["M1=Motor", "Motors=Motor[3]", "SCADA=INT[4]"]) as sim:
        with LogixDriver(f"{_host_port(sim)}/0") as plc:
            assert plc.data_types["Motor"]["attributes"] == list(MOTOR)
            assert plc.write(("M1", MOTOR)).error is None
            got = plc.read("M1")
            assert got.error is None and got.type == "Motor" and got.value == MOTOR
            assert plc.write("Motors[2].Speed", 7.5).error is None
        with client.connector(*sim.address) as conn:
            assert conn.read("M1.Speed") == [1.5]
            assert conn.read("M1.Faults[0]*4") == [1, 2, -3, 4]
            assert conn.read("Motors[2].Speed") == [7.5]
            conn.write("M1.Cell.Volts=(REAL)9.5")
        with LogixDriver(f"{_host_port(sim)}/0") as plc:
            assert plc.read("M1.Cell.Volts").value == 9.5


def test_a_defined_tags_file_is_served(tmp_path):
    # The tag JSON pycomm3 uploads from a simulator serving a UDT, saved as -D reads it.
    with Simulator(udt=UDTS, tags=["M1=Motor", "Count=DINT"]) as sim:
        with LogixDriver(f"{_host_port(sim)}/0") as plc:
            uploaded = plc.tags
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(uploaded, default=str))
    with Simulator(defined_tags=str(path)) as sim:
        assert set(sim.tags) >= {"M1", "Count"}
        with LogixDriver(f"{_host_port(sim)}/0") as plc:
            assert plc.data_types["Motor"]["attributes"] == list(MOTOR)
            assert plc.write("M1.Name", "valve").error is None
            assert plc.read("M1.Name").value == "valve"
        with client.connector(*sim.address) as conn:
            conn.write("Count=(DINT)42")
            assert conn.read("Count") == [42]


def test_an_l5x_project_is_served_with_its_initial_values_and_name(caplog):
    with Simulator(l5x=PLANT) as sim:
        with LogixDriver(f"{_host_port(sim)}/0") as plc:
            assert plc.get_plc_name() == "PlantSim"
            m1 = plc.read("M1")
            assert m1.error is None and m1.type == "Motor"
            assert m1.value["Speed"] == 1.5 and m1.value["Name"] == "pump"
            assert plc.read("Temp").value == 21.5
        with PLC() as comm:
            comm.IPAddress, comm.Port = sim.address
            assert comm.Read("Count16").Value == 255
            assert comm.Read("M1.Faults[2]").Value == -3
        with client.connector(*sim.address) as conn:
            assert conn.read("Motors[1].Speed") == [7.5]
    # What the project has that is not served is logged, one warning each, naming the file.
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 5 and all("plant.L5X" in line for line in skipped), skipped
    assert any("Add-On Instruction Valve" in line for line in skipped), skipped


CFG = """\
[Identity]
Vendor Number = 1337
Product Name = cpppo-rs sources

[Logix]
UDT = Pair{A:DINT, B:REAL}

[Tags]
Inputs@4/100/3  = SINT[8]
Outputs@4/150/3 = SINT[8]
P1 = Pair

[I/O]
Address = 127.0.0.1:0
"""


def test_a_cpppo_cfg_supplies_tags_udts_identity_and_assemblies(tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text(CFG)
    with Simulator(config=cfg, tags=["Extra=INT"]) as sim:
        assert sim.tags[-1] == "Extra" and {"Inputs", "Outputs", "P1"} <= set(sim.tags)
        assert sim.io_address is not None and sim.io_address[1] != 0
        sim.write("Inputs", [1, 2, 3, 4, -1, -2, 127, -128])
        with client.connector(*sim.address) as conn:
            # The Input assembly's data, by explicit Get Attribute Single (class 4).
            assert conn.get_attribute_single(4, 100, 3) == struct.pack(
                "<8b", 1, 2, 3, 4, -1, -2, 127, -128)
            assert conn.get_attribute_single(1, 1, 1) == struct.pack("<H", 1337)
            assert conn.get_attribute_single(1, 1, 7) == b"\x10cpppo-rs sources"
            conn.write("P1.B=(REAL)2.5")
            assert conn.read("P1.B") == [2.5]


def test_config_takes_one_path_or_a_list_later_files_winning(tmp_path):
    first, second = tmp_path / "a.cfg", tmp_path / "b.cfg"
    first.write_text("[Identity]\nProduct Name = first\n[Tags]\nA = INT\n")
    second.write_text("[Identity]\nProduct Name = second\n")
    with Simulator(config=[str(first), second]) as sim:
        assert "A" in sim.tags
        with client.connector(*sim.address) as conn:
            assert conn.get_attribute_single(1, 1, 7) == b"\x06second"
    with pytest.raises(TypeError, match="config must be a path"):
        Simulator(config=42)


@pytest.mark.parametrize("kwargs, kind, needle", [
    (dict(udt=["A{x:FOO}"], tags=["T=A"]), errors.TagSourceError, r'^--udt: .*"FOO"'),
    (dict(tags=["X=NOPE"]), errors.TagSourceError, "NOPE"),
    (dict(defined_tags="/nonexistent/tags.json"), errors.TagFileError,
     r"^--defined-tags /nonexistent/tags\.json: No such file"),
    (dict(l5x="/nonexistent/plant.L5X"), errors.TagFileError,
     r"^--l5x /nonexistent/plant\.L5X: No such file"),
    (dict(config="/nonexistent/cpppo.cfg"), errors.TagFileError,
     r"^config /nonexistent/cpppo\.cfg: No such file"),
])
def test_each_missing_or_bad_source_is_one_line_naming_it(kwargs, kind, needle):
    with pytest.raises(kind, match=needle) as e:
        Simulator(**kwargs)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, errors.SimulatorError)
    assert isinstance(e.value, OSError if kind is errors.TagFileError else ValueError)


@pytest.mark.parametrize("name, text, needle", [
    ("tags.json", "{not json", r"^--defined-tags .*tags\.json: "),
    ("bad.L5X", "<RSLogix5000Content><Controller", r"^--l5x .*bad\.L5X: "),
    ("cpppo.cfg", "[Tags]\nX = NOPE\n", r"^config \[Tags\] X = NOPE|^config \[Tags\] X=NOPE"),
    ("udt.cfg", "[Logix]\nUDT = B{y:BAR}\n", r'^config \[Logix\] UDT: .*"BAR"'),
])
def test_each_malformed_file_is_one_line_naming_it(tmp_path, name, text, needle):
    path = tmp_path / name
    path.write_text(text)
    option = {"tags.json": "defined_tags", "bad.L5X": "l5x"}.get(name, "config")
    with pytest.raises(errors.TagSourceError, match=needle) as e:
        Simulator(**{option: str(path)})
    assert "\n" not in str(e.value)
