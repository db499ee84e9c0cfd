"""Our EtherNet/IP simulator against the Python cpppo 5.2.5 client tools, as its README uses them."""
import subprocess

import pytest

from conftest import ENIP_READY, cpppo_bin, venv_tool

TAGS = ["SCADA=INT[1000]", "TEXT=SSTRING[100]", "FLOAT=REAL", "FLT@22/1/3=REAL"]


@pytest.fixture
def sim(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", *TAGS])
    return proc.port(ENIP_READY)


def run(tool, *args, ok=True):
    """Run a cpppo client tool (bounded in time); return its combined output."""
    cmd = [venv_tool(tool), *args] if not tool.startswith("-m") else [venv_tool("python"), *tool.split(), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    if ok:
        assert p.returncode == 0, out
    return out


def client(port, *args, ok=True):
    return run("enip_client", "-a", f"127.0.0.1:{port}", "--print", *args, ok=ok)


def test_reads_and_writes_with_casts(sim):
    out = client(
        sim,
        "SCADA[1]=(INT)42",
        "SCADA[2-4]=(INT)1,2,3",
        "FLOAT=(REAL)1.25",
        'TEXT=(SSTRING)"Hello World"',
        "SCADA[0-4]",
        "FLOAT",
        "TEXT",
    )
    assert "== [0, 42, 1, 2, 3]: 'OK'" in out
    assert "== [1.25]: 'OK'" in out
    assert "== ['Hello World']: 'OK'" in out


def test_write_with_the_wrong_type_is_refused_and_reading_continues(sim):
    out = client(sim, "SCADA[2-4]=(DINT)1,2,3", "SCADA[1]", ok=False)
    assert "Status 255 [8455]" in out  # 0xFF / 0x2107 type mismatch
    assert "SCADA[1][  1-1  ]+  0 == [0]: 'OK'" in out


def test_unknown_tag_and_out_of_range(sim):
    out = client(sim, "NOSUCH", "SCADA[1000]", "SCADA[995-1005]", "SCADA[1]", ok=False)
    assert "Status 255 [8453]" in out  # 0xFF / 0x2105 out of range
    assert "SCADA[1][  1-1  ]+  0 == [0]: 'OK'" in out


def test_multiple_service_packet(sim):
    out = client(sim, "-m", "SCADA[5]=(INT)55", "SCADA[0]", "SCADA[1-5]", "FLOAT", "TEXT")
    assert "== [0, 0, 0, 0, 55]: 'OK'" in out


def test_fragmented(sim):
    values = ",".join(str(v) for v in range(300))
    out = client(sim, "-f", f"SCADA[100-399]=(INT){values}", "SCADA[100-109]")
    assert "== [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]: 'OK'" in out
    # Explicit byte offsets into a 2000-byte read, as cpppo's README shows.
    out = client(sim, "SCADA[0-999]+488", "SCADA[0-999]+1952", ok=False)
    assert "+488 == [144, 145, 146" in out  # SCADA[244] onwards, 244 elements, status 0x06
    assert "Status 6" in out
    assert "SCADA[0][  0-23 ]+1952 == [0, 0, 0" in out  # the last 24 elements: complete


@pytest.mark.parametrize("flag", ["-c", "-S"])
def test_connected_and_simple(sim, flag):
    client(sim, "SCADA[1]=(INT)9")
    out = client(sim, flag, "SCADA[0-3]", "SCADA[2]=(INT)5", "SCADA[0-3]")
    assert "== [0, 9, 0, 0]: 'OK'" in out
    assert "== [0, 9, 5, 0]: 'OK'" in out


def test_get_attribute_and_set_attribute_single(sim):
    out = run("enip_get_attribute", "-a", f"127.0.0.1:{sim}", "@1/1", "@1/1/7")
    assert "== [1, 0, 14, 0, 54, 0, 20, 11, 96, 49, 26, 6, 108, 0, 20, 49, 55, 53, 54" in out
    assert "@0x0001/1/7 == [20, 49, 55, 53, 54, 45, 76, 54, 49, 47, 66, 32, 76, 79, 71, 73, 88, 53, 53, 54, 49]" in out
    run("enip_get_attribute", "-a", f"127.0.0.1:{sim}", "@22/1/3=(REAL)3.5")
    out = run("enip_get_attribute", "-a", f"127.0.0.1:{sim}", "@22/1/3")
    assert "== [0, 0, 96, 64]" in out
    out = run("enip_get_attribute", "-a", f"127.0.0.1:{sim}", "-S", "@1/1/1")
    assert "== [1, 0]" in out


@pytest.mark.parametrize("udp", [[], ["-u"]])
def test_list_services_identity_interfaces(sim, udp):
    out = run("-m cpppo.server.enip.list_services", "-a", f"127.0.0.1:{sim}", *udp, "-i", "-I")
    assert "'1756-L61/B LOGIX5561'" in out
    assert "identity_object.sin_addr': '127.0.0.1'" in out
    assert "list_interfaces.CPF.count': 0" in out
    out = run("-m cpppo.server.enip.list_services", "-a", f"127.0.0.1:{sim}", *udp)
    assert "Communications" in out


def test_client_list_services_flags(sim):
    out = run("enip_client", "-a", f"127.0.0.1:{sim}", "-u", "-i", "-s", "-I")
    assert "1756-L61/B LOGIX5561" in out
    assert "Communications" in out
