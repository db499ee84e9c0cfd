"""Top-level BOOL arrays as a Logix stores them (issue 16): in Logix mode (`--udt`, `-D`,
`[Logix]`) `Flags=BOOL[64]` is `DWORD[2]` (symbol type 0x20D3, dimension 2, element index
counting DWORDs), so the real pycomm3 1.2.16 and pylogix 1.1.6 read and write its bits the way
they do on a controller: whole DWORDs for reads, Read-Modify-Write (0x4E) masks for one bit.
Without Logix mode a BOOL[n] tag stays cpppo's one byte per BOOL."""
from pycomm3 import LogixDriver
from pylogix import PLC

import pytest

from conftest import ENIP_READY, cpppo_bin


@pytest.fixture
def sim(spawn):
    """Our simulator in Logix mode with a 64-bit and a 40-bit BOOL array; yields the port."""
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--udt", "Pair{A:DINT, B:BOOL}", "Flags=BOOL[64]", "Few=BOOL[40]",
                  "Program:Main.Bits=BOOL[32]"])
    return proc.port(ENIP_READY)


def plc_at(port):
    return LogixDriver(f"127.0.0.1:{port}/0", init_program_tags=True)


def test_bool_arrays_are_listed_as_dwords(sim):
    with plc_at(sim) as plc:
        for name, words in [("Flags", 2), ("Few", 2), ("Program:Main.Bits", 1)]:
            tag = plc.tags[name]
            assert tag["data_type"] == "DWORD" and tag["dim"] == 1, tag
            assert tag["dimensions"][0] == words, tag
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", sim
        listed = {t.TagName: t for t in comm.GetTagList(False).Value}
        assert listed["Flags"].DataType == "DWORD" and listed["Flags"].Array == 1


def test_pycomm3_reads_and_writes_single_bits(sim):
    with plc_at(sim) as plc:
        for bit in (0, 5, 33, 63):
            assert plc.write(f"Flags[{bit}]", True).error is None, bit
        assert plc.read("Flags[5]").value is True
        assert plc.read("Flags[6]").value is False
        assert plc.read("Flags[33]").value is True
        assert plc.write("Flags[5]", False).error is None
        assert plc.read("Flags[5]").value is False
        got = plc.read("Flags[0]{64}")
        assert got.error is None and len(got.value) == 64
        assert [i for i, on in enumerate(got.value) if on] == [0, 33, 63]
        assert plc.write("Program:Main.Bits[31]", True).error is None
        assert plc.read("Program:Main.Bits[31]").value is True
        # Past the last DWORD: the controller's out-of-range answer, not a value.
        assert plc.read("Few[64]").error is not None


def test_pycomm3_writes_whole_dwords_of_bools(sim):
    with plc_at(sim) as plc:
        want = [i % 3 == 0 for i in range(64)]
        assert plc.write("Flags[0]{64}", want).error is None
        assert plc.read("Flags[0]{64}").value == want
        assert plc.read("Flags[33]").value is True and plc.read("Flags[34]").value is False


def test_pylogix_reads_and_writes_bits_and_whole_arrays(sim):
    with PLC() as comm:
        comm.IPAddress, comm.Port = "127.0.0.1", sim
        assert comm.Write("Few[37]", True).Status == "Success"
        assert comm.Write("Few[2]", 1).Status == "Success"
        assert comm.Read("Few[37]").Value is True
        assert comm.Read("Few[36]").Value is False
        whole = comm.Read("Few[0]", 40)
        assert whole.Status == "Success" and len(whole.Value) == 40
        assert [i for i, on in enumerate(whole.Value) if on] == [2, 37]
        assert comm.Write("Few[37]", False).Status == "Success"
        assert comm.Read("Few[37]").Value is False
    with plc_at(sim) as plc:
        assert plc.read("Few[2]").value is True


def test_plain_bool_arrays_stay_one_byte_per_bool(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", "X=BOOL[8]"])
    port = proc.port(ENIP_READY)
    with plc_at(port) as plc:
        assert plc.tags["X"]["data_type"] == "BOOL" and plc.tags["X"]["dimensions"][0] == 8
        assert plc.write("X[3]", True).error is None
        assert plc.read("X{8}").value == [False, False, False, True, False, False, False, False]


def test_defined_tags_dump_keeps_bool_arrays_as_dwords(sim, spawn, tmp_path):
    """pycomm3's dump of our BOOL arrays (DWORD, dimension 2) served again with -D."""
    import json
    with plc_at(sim) as plc:
        path = tmp_path / "tags.json"
        path.write_text(json.dumps(plc.tags_json))
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", "-D", str(path)])
    port = proc.port(ENIP_READY)
    with plc_at(port) as plc:
        assert plc.tags["Flags"]["data_type"] == "DWORD" and plc.tags["Flags"]["dimensions"][0] == 2
        assert plc.write("Flags[45]", True).error is None
        assert [i for i, on in enumerate(plc.read("Flags[0]{64}").value) if on] == [45]
