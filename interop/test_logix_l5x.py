"""Studio 5000 exports (interop/fixtures/plant.L5X, a controller; mixer_program.L5X, a program
with its context) served with `--l5x`, read and
written by the real pycomm3 1.2.16 and pylogix 1.1.6 clients: every tag comes back with the
L5X's type and initial value, writes round-trip, Read Only tags refuse writes, and what cannot
be served is named at start-up, one line each."""
import subprocess
from pathlib import Path

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from conftest import ENIP_READY, cpppo_bin

PLANT = Path(__file__).resolve().parent / "fixtures" / "plant.L5X"

MOTOR = {"Speed": 1.5, "Running": True, "Fault": False, "Faults": [1, 2, -3, 16],
         "Name": "pump", "Cell": {"Volts": 3.25, "Ok": True}}


@pytest.fixture
def served(spawn):
    """Our simulator serving plant.L5X on a port of its choosing: (port, process)."""
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--l5x", str(PLANT)])
    return proc.port(ENIP_READY), proc


def test_skipped_things_are_named_once_each(served):
    _, proc = served
    lines = [ln for ln in proc.output().splitlines() if "skipped" in ln]
    for needle in ["Add-On Instruction Valve", "module DI1 Input tag",
                   'tag Secret: ExternalAccess="None"', "alias RunAlias for M1.Running",
                   "tag V1: of Valve"]:
        assert sum(needle in ln for ln in lines) == 1, (needle, lines)
    assert len(lines) == 5, lines


def test_pycomm3_reads_every_initial_value(served):
    port, _ = served
    with LogixDriver(f"127.0.0.1:{port}/0", init_program_tags=True) as plc:
        assert plc.get_plc_name() == "PlantSim"
        assert plc.info["programs"].keys() >= {"Main"}
        m1 = plc.read("M1")
        assert m1.error is None and m1.type == "Motor"
        flags32 = m1.value.pop("Flags")
        assert {k: m1.value[k] for k in MOTOR} == MOTOR
        assert flags32[0] is True and flags32[9] is True and flags32[1] is False
        assert plc.read("Motors[1].Speed").value == 7.5
        assert plc.read("Motors[1].Fault").value is True
        assert plc.read("Motors[0].Speed").value == 0.0
        flags = plc.read("Flags{64}")
        assert flags.error is None
        assert [i for i, b in enumerate(flags.value) if b] == [0, 33, 63]
        assert plc.read("Grid[1,2]").value == 12 and plc.read("Grid[3,4]").value == 34
        assert plc.read("Grid[0,0]").value == 1 and plc.read("Grid[2,2]").value == 0
        temp = plc.read("Temp")
        assert (temp.value, temp.type) == (21.5, "REAL")
        assert plc.read("Count16").value == 255 and plc.read("Count16").type == "INT"
        assert plc.read("Label").value == "hello"
        assert plc.read("Msg").value == "it's $5!"
        assert plc.read("Limit").value == 100
        assert plc.read("TempAlias").value == 21.5
        assert plc.read("Program:Main.Count").value == 7
        assert plc.read("Program:Main.CountAlias").value == 7
        assert plc.read("Program:Main.Local.Speed").value == 2.5
        names = {t["tag_name"] for t in plc.get_tag_list(program="*")}
        assert {"M1", "Motors", "Flags", "Grid", "Label", "Program:Main.Count",
                "Program:Main.Local"} <= names
        assert not names & {"Secret", "V1", "RunAlias"}
        assert plc.tags["Grid"]["dimensions"][:2] == [4, 5]
        assert plc.tags["Label"]["data_type_name"] == "STRING20"
        # Symbol attribute 10 as a Logix lists it (pycomm3 reads it from firmware 18 on).
        assert plc.tags["Limit"]["external_access"] == "Read Only"
        assert plc.tags["M1"]["external_access"] == "Read/Write"
        assert plc.read("Secret").error is not None


def test_pycomm3_writes_round_trip_and_read_only_refuses(served):
    port, _ = served
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        new = dict(MOTOR, Speed=9.0, Name="fan", Cell={"Volts": 1.0, "Ok": False})
        new["Flags"] = [i % 2 == 1 for i in range(32)]
        assert plc.write(("M1", new)).error is None
        assert plc.read("M1").value == new
        assert plc.write("Label", "bye").error is None and plc.read("Label").value == "bye"
        assert plc.write("Flags[33]", False).error is None
        assert plc.read("Flags[33]").value is False
        assert plc.write("Grid[3,4]", -5).error is None and plc.read("Grid[3,4]").value == -5
        assert plc.write("Temp", 3.5).error is None
        assert plc.read("TempAlias").value == 3.5
        assert plc.write("Program:Main.Count", 70).error is None
        assert plc.read("Program:Main.CountAlias").value == 70
        refused = plc.write("Limit", 5)
        assert refused.error == "Permission denied"  # pycomm3's words for 0x0F
        assert plc.read("Limit").value == 100


def test_pylogix_reads_members_programs_and_tag_list(served):
    port, _ = served
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", port
        assert comm.Read("M1.Speed").Value == 1.5
        assert comm.Read("M1.Faults[2]").Value == -3
        assert comm.Read("Motors[1].Speed").Value == 7.5
        assert comm.Read("Program:Main.Count").Value == 7
        assert comm.Read("Temp").Value == 21.5
        assert comm.Write("Program:Main.Count", 8).Status == "Success"
        assert comm.Read("Program:Main.Count").Value == 8
        assert comm.Write("Limit", 1).Status != "Success"
        assert comm.GetProgramsList().Value == ["Program:Main"]
        tags = comm.GetTagList(True)
        assert tags.Status == "Success"
        types = {t.TagName: t.DataType for t in tags.Value}
        assert types["M1"] == "Motor" and types["Label"] == "STRING20"
        assert types["Temp"] == "REAL" and "Program:Main.Local" in types


@pytest.mark.parametrize("text,needle", [
    ("<RSLogix5000Content><Controller>", "not XML"),
    ("<Project/>", "not an L5X file"),
    ('<RSLogix5000Content><Controller><Tags><Tag Name="T" DataType="FOO"/></Tags>'
     "</Controller></RSLogix5000Content>", 'tag T: unknown data type "FOO"'),
])
def test_bad_l5x_is_refused_in_one_line(tmp_path, text, needle):
    path = tmp_path / "bad.L5X"
    path.write_text(text)
    out = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                          "--l5x", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "bad.L5X" in lines[0], out.stderr


def test_cpppo_cfg_names_the_l5x(spawn, tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text(f"[Logix]\nL5X = {PLANT}\n")
    proc = spawn([cpppo_bin(), "enip", "server", "-c", str(cfg), "-a", "127.0.0.1:0"])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.read("Program:Main.Count").value == 7


# Every tag plant.L5X serves: pycomm3's type name and the L5X initial value (a structure
# compared member by member on what the file sets; BOOL arrays and grids as full lists).
GRID = [1, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 34]
EVERY_TAG = {
    "M1": ("Motor", MOTOR),
    "Motors{3}": ("Motor[3]", [{"Speed": 0.0, "Fault": False}, {"Speed": 7.5, "Fault": True},
                               {"Speed": 0.0, "Fault": False}]),
    "Flags{64}": ("BOOL[64]", [i in (0, 33, 63) for i in range(64)]),
    "Grid{20}": ("DINT[20]", GRID),
    "Temp": ("REAL", 21.5),
    "Count16": ("INT", 255),
    "Label": ("STRING20", "hello"),
    "Msg": ("STRING", "it's $5!"),
    "Limit": ("DINT", 100),
    "TempAlias": ("REAL", 21.5),
    "Program:Main.Count": ("DINT", 7),
    "Program:Main.Local": ("Motor", {"Speed": 2.5, "Running": False, "Faults": [0, 0, 0, 0]}),
    "Program:Main.CountAlias": ("DINT", 7),
}


def _matches(value, expected):
    """`value` holds `expected` (dicts: the members `expected` names; lists element-wise)."""
    if isinstance(expected, dict):
        return all(_matches(value[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return len(value) == len(expected) and all(map(_matches, value, expected))
    return value == expected


def test_every_served_tag_reads_back_its_l5x_value_and_type(served):
    port, _ = served
    with LogixDriver(f"127.0.0.1:{port}/0", init_program_tags=True) as plc:
        listed = {t["tag_name"] for t in plc.get_tag_list(program="*")}
        assert listed == {name.split("{")[0] for name in EVERY_TAG}, listed
        for name, (type_name, expected) in EVERY_TAG.items():
            got = plc.read(name)
            assert got.error is None, (name, got)
            assert got.type == type_name, (name, got.type)
            assert _matches(got.value, expected), (name, got.value)


def _pylogix_string(value):
    """pylogix decodes only Logix's own STRING; a custom string type arrives as its bytes."""
    if isinstance(value, bytes):
        length = int.from_bytes(value[:4], "little")
        return value[4:4 + length].decode()
    return value


def test_pylogix_reads_every_served_value(served):
    port, _ = served
    leaves = {
        "M1.Speed": 1.5, "M1.Running": True, "M1.Fault": False, "M1.Faults[0]": 1,
        "M1.Faults[1]": 2, "M1.Faults[2]": -3, "M1.Faults[3]": 16, "M1.Flags[0]": True,
        "M1.Flags[9]": True, "M1.Flags[1]": False, "M1.Name": "pump", "M1.Cell.Volts": 3.25,
        "M1.Cell.Ok": True, "Motors[1].Speed": 7.5, "Motors[1].Fault": True,
        "Motors[2].Speed": 0.0, "Grid[0,0]": 1, "Grid[1,2]": 12, "Grid[3,4]": 34,
        "Grid[2,2]": 0, "Temp": 21.5, "Count16": 255, "Label": "hello", "Msg": "it's $5!",
        "Limit": 100, "TempAlias": 21.5, "Program:Main.Count": 7,
        "Program:Main.Local.Speed": 2.5, "Program:Main.CountAlias": 7,
    }
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", port
        for name, expected in leaves.items():
            got = comm.Read(name)
            assert got.Status == "Success", (name, got.Status)
            assert _pylogix_string(got.Value) == expected, (name, got.Value)
        # BOOL[64]: pylogix reads each bit from the DWORD holding it.
        bits = [comm.Read(f"Flags[{i}]") for i in range(64)]
        assert all(b.Status == "Success" for b in bits)
        assert [i for i, b in enumerate(bits) if b.Value] == [0, 33, 63]


MIXER = Path(__file__).resolve().parent / "fixtures" / "mixer_program.L5X"


def test_a_program_export_with_its_context_is_served(spawn):
    """A program export (`TargetType="Program"`): its program's tags, the data types and
    controller tags it carries as context."""
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--l5x", str(MIXER)])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0", init_program_tags=True) as plc:
        assert plc.get_plc_name() == "PlantSim"
        names = {t["tag_name"] for t in plc.get_tag_list(program="*")}
        assert names == {"Shared", "Program:Mixer.Current", "Program:Mixer.Steps"}
        current = plc.read("Program:Mixer.Current")
        assert (current.type, current.value) == ("Batch", {"Id": 17, "Weight": 12.5})
        assert plc.read("Program:Mixer.Steps{3}").value == [1, 2, 3]
        assert plc.read("Shared").value == 3
        assert plc.write("Program:Mixer.Current.Weight", 20.0).error is None
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", port
        assert comm.GetProgramsList().Value == ["Program:Mixer"]
        assert comm.Read("Program:Mixer.Current.Weight").Value == 20.0
        assert comm.Read("Program:Mixer.Current.Id").Value == 17


def test_bits_of_integer_tags_and_members_read_and_write(served):
    """`Tag.5` bit access, as both clients spell it (Limit = 100 = 0b1100100)."""
    port, _ = served
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.read("Limit.2").value is True and plc.read("Limit.0").value is False
        assert plc.read("M1.Faults[3].4").value is True  # 16
        assert plc.write("Program:Main.Count.4", True).error is None
        assert plc.read("Program:Main.Count").value == 7 | 16
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", port
        assert comm.Read("Limit.2").Value is True and comm.Read("Limit.0").Value is False
        assert comm.Write("Program:Main.Count.0", False).Status == "Success"
        assert comm.Read("Program:Main.Count").Value == 6 | 16
