"""Logix structures (UDTs), program scope and multi-dimensional arrays served by our simulator,
read and written by the real pycomm3 1.2.16, pylogix 1.1.6 and cpppo 5.2.5 clients."""
import json
import subprocess

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from conftest import ENIP_READY, cpppo_bin, venv_tool

UDTS = ["Cell{Volts:REAL, Ok:BOOL}",
        "Motor{Speed:REAL, Running:BOOL, Fault:BOOL, Faults:DINT[4], Name:STRING, Cell:Cell}"]
TAGS = ["M1=Motor", "Motors=Motor[10]", "Grid=DINT[4,5]", "Program:Main.Count=DINT",
        "Program:Main.Local=Motor", "SCADA=INT[10]"]


@pytest.fixture
def sim(spawn):
    """Our simulator with structure tags on a port of its choosing; yields the port."""
    udts = [a for u in UDTS for a in ("--udt", u)]
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *udts, *TAGS])
    return proc.port(ENIP_READY)


def test_pycomm3_uploads_tags_and_templates(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0", init_program_tags=True) as plc:
        m1 = plc.tags["M1"]
        assert m1["tag_type"] == "struct" and m1["data_type_name"] == "Motor"
        motor = plc.data_types["Motor"]
        assert motor["attributes"] == ["Speed", "Running", "Fault", "Faults", "Name", "Cell"]
        assert motor["internal_tags"]["Faults"]["array"] == 4
        assert motor["internal_tags"]["Running"]["bit"] == 0
        assert motor["internal_tags"]["Name"]["data_type_name"] == "STRING"
        assert motor["internal_tags"]["Cell"]["data_type_name"] == "Cell"
        assert plc.tags["Motors"]["dimensions"][0] == 10
        assert plc.tags["Grid"]["dimensions"][:2] == [4, 5] and plc.tags["Grid"]["dim"] == 2
        assert "Program:Main.Count" in plc.tags and "Program:Main.Local" in plc.tags
        assert "Main" in plc.info["programs"]


def test_pycomm3_reads_and_writes_structures(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        value = {"Speed": 1.5, "Running": True, "Fault": False, "Faults": [1, 2, 3, 4],
                 "Name": "pump", "Cell": {"Volts": 3.25, "Ok": True}}
        assert plc.write(("M1", value)).error is None
        got = plc.read("M1")
        assert got.error is None and got.value == value and got.type == "Motor"
        assert plc.write("Motors[2].Speed", 7.5).error is None
        assert plc.read("Motors[2].Speed").value == 7.5
        assert plc.read("Motors[2]").value["Speed"] == 7.5
        sl = plc.read("Motors[1]{3}")
        assert sl.error is None and [m["Speed"] for m in sl.value] == [0.0, 7.5, 0.0]
        assert plc.write("M1.Fault", True).error is None
        assert plc.read("M1.Fault").value is True and plc.read("M1.Running").value is True
        assert plc.read("M1.Name").value == "pump"
        assert plc.write("M1.Faults[2]", -9).error is None
        assert plc.read("M1.Faults{4}").value == [1, 2, -9, 4]
        assert plc.read("M1.Cell.Volts").value == 3.25
        assert plc.write("Grid[1,2]", 12).error is None
        assert plc.read("Grid[1,2]").value == 12
        assert plc.read("Grid{20}").value[7] == 12
        bad = plc.read("M1.Nope")
        assert bad.error is not None and bad.value is None


def test_pycomm3_program_tags(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0", init_program_tags=True) as plc:
        assert plc.write("Program:Main.Count", 42).error is None
        assert plc.read("Program:Main.Count").value == 42
        assert plc.write("Program:Main.Local.Speed", 2.5).error is None
        assert plc.read("Program:Main.Local").value["Speed"] == 2.5
        names = {t["tag_name"] for t in plc.get_tag_list(program="*")}
        assert {"M1", "Program:Main.Count"} <= names


def test_pylogix_members_programs_and_tag_list(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        assert plc.write("Motors[2].Speed", 4.0).error is None
        assert plc.write("Program:Main.Count", 7).error is None
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", sim
        assert comm.Read("Motors[2].Speed").Value == 4.0
        assert comm.Read("Program:Main.Count").Value == 7
        assert comm.Read("Grid[1,2]").Status == "Success"
        programs = comm.GetProgramsList()
        assert programs.Value == ["Program:Main"]
        tags = comm.GetTagList(True)
        assert tags.Status == "Success"
        names = {t.TagName for t in tags.Value}
        assert {"M1", "Motors", "Program:Main.Count"} <= names
        m1 = next(t for t in tags.Value if t.TagName == "M1")
        assert m1.DataType == "Motor"


def test_cpppo_client_reads_member_paths(sim):
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        assert plc.write("M1.Faults[1]", 31).error is None
    out = subprocess.run(
        [venv_tool("python"), "-m", "cpppo.server.enip.client", "-a", f"127.0.0.1:{sim}",
         "-p", "M1.Faults[1]", "M1.Faults[0-3]"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "M1.Faults[1]" in out.stdout and "[31]" in out.stdout
    assert "[0, 31, 0, 0]" in out.stdout


@pytest.mark.parametrize("udt,needle", [
    ("A{x:FOO}", 'unknown type "FOO"'),
    ("A{x:A}", "recursive"),
    ("A{x:INT, x:DINT}", 'duplicate member "x"'),
    ("A{x:LREAL[65535],y:LREAL[65535],z:LREAL[65535],w:LREAL[65535],v:LREAL[65535]}", "larger than"),
])
def test_bad_definitions_are_refused_in_one_line(udt, needle):
    out = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                          "--udt", udt, "X=INT"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


def test_defined_tags_json_from_pycomm3_is_served(sim, spawn, tmp_path):
    """Dump our own controller's tags with pycomm3 (as a user would from a real one) and
    serve them with -D: the structures come back with the same layout."""
    with LogixDriver(f"127.0.0.1:{sim}/0") as plc:
        dumped = plc.tags_json
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(dumped))
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", "-D", str(path)])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.data_types["Motor"]["template"]["structure_size"] == dumped["M1"]["data_type"]["template"]["structure_size"]
        assert plc.write(("Motors[3].Name", "again")).error is None
        assert plc.read("Motors[3].Name").value == "again"
        assert plc.read("Grid[3,4]").error is None


def test_cpppo_cfg_logix_section_defines_structures(spawn, tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text("[Logix]\nUDT = Pair{A:DINT, B:REAL}\n")
    proc = spawn([cpppo_bin(), "enip", "server", "-c", str(cfg), "-a", "127.0.0.1:0", "P=Pair[2]"])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.tags["P"]["data_type_name"] == "Pair"
        assert plc.write(("P[1]", {"A": 3, "B": 0.5})).error is None
        assert plc.read("P[1].B").value == 0.5


def test_our_client_members_multi_dim_and_structures_as_json(sim):
    run = lambda *ops: subprocess.run(
        [cpppo_bin(), "enip", "client", "-a", f"127.0.0.1:{sim}", *ops],
        capture_output=True, text=True, timeout=60)
    out = run("-p", "M1.Speed=(REAL)2.5", "M1.Running=(BOOL)1", "M1.Faults[1-2]=(DINT)7,8",
              "Grid[1,2]=(DINT)3", "Motors[1].Name.LEN=(DINT)0")
    assert out.returncode == 0, out.stderr
    assert "Grid[1,2][  2-2  ]+  0 <= [3]: 'OK'" in out.stdout
    out = run("--json", "Grid[1,2]", "M1", "Motors[0-1]", "M1.Speed")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["tag"] for line in lines][0] == "Grid[1,2]" and lines[0]["value"] == [3]
    m1 = lines[1]
    assert m1["type"] == "Motor" and m1["value"]["Speed"] == 2.5 and m1["value"]["Running"] is True
    assert m1["value"]["Faults"] == [0, 7, 8, 0] and m1["value"]["Cell"] == {"Volts": 0.0, "Ok": False}
    assert isinstance(lines[2]["value"], list) and len(lines[2]["value"]) == 2
    assert lines[3]["value"] == [2.5]


def test_our_client_decodes_program_scoped_structures(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--udt", "Only{X:DINT, Y:BOOL}", "Program:P.T=Only"])
    port = proc.port(ENIP_READY)
    out = subprocess.run([cpppo_bin(), "enip", "client", "--json", "-a", f"127.0.0.1:{port}",
                          "Program:P.T.X=(DINT)4", "Program:P.T"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    last = json.loads(out.stdout.splitlines()[-1])
    assert last["type"] == "Only" and last["value"] == {"X": 4, "Y": False}


def test_our_client_prints_structures_as_dicts_without_json(sim):
    """cpppo's line style, with a structure read shown as pycomm3's dict (members in order)."""
    out = subprocess.run(
        [cpppo_bin(), "enip", "client", "-a", f"127.0.0.1:{sim}", "-p",
         "M1.Speed=(REAL)1.5", "M1.Running=(BOOL)1", "M1.Faults[2]=(DINT)-9", "M1",
         "Motors[0-1]", "SCADA[1]"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[3] == ("                  M1              == {'Speed': 1.5, 'Running': True, "
                        "'Fault': False, 'Faults': [0, 0, -9, 0], 'Name': '', "
                        "'Cell': {'Volts': 0.0, 'Ok': False}}: 'OK'"), lines[3]
    assert lines[4].startswith("           Motors[0][  0-1  ]+  0 == [{'Speed': 0.0,")
    assert lines[4].count("'Cell'") == 2 and lines[4].endswith("}]: 'OK'")
    # What follows a structure keeps its place and cpppo's form.
    assert lines[5] == "            SCADA[1][  1-1  ]+  0 == [0]: 'OK'", lines[5]


def test_our_client_prints_a_program_only_structure(spawn):
    """A type only a program's tag uses: its template is uploaded from the program's list."""
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--udt", "Only{X:DINT, Y:BOOL}", "Program:P.T=Only", "C=DINT"])
    port = proc.port(ENIP_READY)
    out = subprocess.run([cpppo_bin(), "enip", "client", "-p", "-a", f"127.0.0.1:{port}",
                          "Program:P.T.Y=(BOOL)1", "Program:P.T"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].endswith("== {'X': 0, 'Y': True}: 'OK'"), out.stdout
