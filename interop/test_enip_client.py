"""`cpppo enip client | get-attribute | list-services | poll | thruput` against real simulators:
the Python cpppo 5.2.5 `enip_server` and ours (`cpppo enip server`), each on a free loopback
port. Where cpppo's own client can do the same thing, its output lines must equal ours.
"""
import json
import re
import subprocess

import pytest

from conftest import ENIP_READY, cpppo_bin, cpppo_enip_server, venv_tool

def _client_verbs_wired():
    """Whether `cpppo enip client` runs (not the placeholder of an unwired verb)."""
    try:
        r = subprocess.run([cpppo_bin(), "enip", "client", "-a", "127.0.0.1:9", "@bad"],
                           capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return "not implemented" not in r.stderr


pytestmark = pytest.mark.skipif(
    not _client_verbs_wired(),
    reason="cpppo enip client is not wired into the cpppo binary (crates/cpppo/src/cli/enip.rs)",
)

TAGS = [
    "SCADA=INT[1000]", "FLOAT=REAL", "TEXT=SSTRING", "DINTS=DINT[100]",
    "Motor_Velocity@0x93/3/10=REAL", "Output_Current@0x93/7/10=REAL",
    "Speed_Units@0x93/300/10=DINT",
]


@pytest.fixture(params=["python", "ours"])
def sim(request, spawn):
    if request.param == "python":
        _, port = cpppo_enip_server(spawn, *TAGS)
    else:
        port = spawn([cpppo_bin(), "enip", "server", "-a", "127.0.0.1:0", *TAGS]).port(ENIP_READY)
    return f"127.0.0.1:{port}"


def ours(verb, *args, stdin=None, timeout=60):
    return subprocess.run([cpppo_bin(), "enip", verb, *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout)


def theirs(tool, *args, timeout=60):
    return subprocess.run([venv_tool(tool), *args], capture_output=True, text=True, timeout=timeout)


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


# Operations whose output cpppo's client prints identically (reads of a reply's size or less);
# every value read is written first, so each run prints the same.
SAME = [
    "SCADA[0-9]=(INT)0,1,2,3,4,5,6,7,8,9", "@0x93/3/10=(REAL)2.5", "SCADA[1]=(INT)42", "SCADA[1]", "SCADA[0-9]", "SCADA[2-4]=(INT)1,2,3", "SCADA[0-9]",
    "FLOAT=(REAL)1.25", "FLOAT", "FLOAT=1.1", "FLOAT",
    'TEXT=(SSTRING)"Hello, world!"', "TEXT", "DINTS[3]=(DINT)-123456", "DINTS[0-4]",
    "SCADA[0-3]+2=(INT)7,8", "SCADA*4", "@0x93/3/10",
]


@pytest.mark.parametrize("mode", [[], ["-c"], ["-S"], ["-d", "4", "-m"], ["-f"]])
def test_client_prints_what_cpppo_prints(sim, mode):
    r = ours("client", "-a", sim, "-p", *mode, *SAME)
    py = theirs("enip_client", "-a", sim, "-p", *mode, *SAME)
    if mode == ["-f"]:
        # Strings cannot be written fragmented (both fail alike); compare the values only.
        assert [l.split("==")[-1] for l in lines(r.stdout) if "==" in l] == \
            [l.split("==")[-1] for l in lines(py.stdout) if "==" in l]
        return
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout) == [l for l in lines(py.stdout) if not re.match(r"^\d\d-\d\d ", l)]


def test_client_writes_and_reads_larger_than_a_message_whole(sim):
    values = [(i * 13) % 32768 for i in range(1000)]
    text = ",".join(map(str, values))
    for mode in ([], ["-c"]):
        r = ours("client", "-a", sim, "--json", *mode, f"SCADA[0-999]=(INT){text}", "SCADA[0-999]")
        assert r.returncode == 0, r.stderr
        wrote, read = [json.loads(l) for l in lines(r.stdout)]
        assert wrote["ok"] and read["value"] == values


def test_client_reads_larger_than_a_reply_whole(sim):
    values = ",".join(str(i) for i in range(200))
    assert ours("client", "-a", sim, f"SCADA[500-699]=(INT){values}").returncode == 0
    for mode in ([], ["-c"], ["-d", "10", "-m"]):
        r = ours("client", "-a", sim, "--json", *mode, "SCADA[0-999]", "SCADA[500-699]")
        assert r.returncode == 0, r.stderr
        full, part = [json.loads(l) for l in lines(r.stdout)]
        assert len(full["value"]) == 1000 and full["value"][500:700] == list(range(200))
        assert part["value"] == list(range(200))


def test_client_errors_are_statuses_and_exit_1(sim):
    r = ours("client", "-a", sim, "-p", "SCADA[1000]", "SCADA[2-4]=(DINT)1,2,3", "SCADA[1]")
    assert r.returncode == 1
    out = lines(r.stdout)
    assert out[0] == "         SCADA[1000][1000-1000]+  0 == None: 'Status 255 [8453]'"
    assert out[1].endswith("<= [1, 2, 3]: 'Status 255 [8455]'")
    assert out[2].endswith("'OK'")


@pytest.mark.parametrize("bad", ["SCADA[1", "SCADA[1-2]=(DINT)1", "SCADA=(NOPE)1", "@1/x"])
def test_malformed_operation_is_one_line_exit_2(bad):
    r = ours("client", "-a", "127.0.0.1:9", bad)
    assert r.returncode == 2
    assert len(lines(r.stderr)) == 1 and bad in r.stderr, r.stderr


def test_route_path_forms(sim):
    for rp in ["1/0", '[{"port":1,"link":0}]', '"1/0"', "false", "0"]:
        r = ours("client", "-a", sim, "-p", f"--route-path={rp}", "SCADA[1-2]")
        assert r.returncode == 0, (rp, r.stderr)
        assert lines(r.stdout)[0].startswith("            SCADA[1][  1-2  ]+  0 == [")


def test_operations_from_stdin(sim):
    r = ours("client", "-a", sim, "-p", "-", stdin="SCADA[5]=(INT)5\nSCADA[5]\n")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[-1] == "            SCADA[5][  5-5  ]+  0 == [5]: 'OK'"


def test_get_attribute_prints_what_cpppo_prints(sim):
    ops = ["@1/1", "@1/1/7", "@0x93/3/10=(REAL)3.5", "@0x93/3/10"]
    r = ours("get-attribute", "-a", sim, *ops)
    assert r.returncode == 0, r.stderr
    py = theirs("enip_get_attribute", "-a", sim, *ops)
    strip = lambda out: [l.split(": ", 1)[1] for l in lines(out) if re.match(r"^\w{3} \w{3} ", l)]
    assert strip(r.stdout) == strip(py.stdout)
    assert strip(r.stdout)[3].endswith("== [0, 0, 96, 64]")


def test_list_identity_tcp_and_udp(sim):
    for mode in ([], ["-u"]):
        r = ours("client", "-a", sim, "-i", *mode)
        assert r.returncode == 0, r.stderr
        assert "1756-L61/B LOGIX5561" in r.stdout
        r = ours("list-services", "-a", sim, "-i", "--json", "-t", "2", *mode)
        assert r.returncode == 0, r.stderr
        replies = [json.loads(l) for l in lines(r.stdout)]
        assert replies[0]["items"][0]["name"] == "Communications"
        assert replies[1]["items"][0]["product_name"] == "1756-L61/B LOGIX5561"


def test_poll_tcpip_identity_and_powerflex(sim):
    r = ours("poll", "-a", sim, "--cycles", "2", "-c", "0.1", "TCPIP", "Identity", "Motor Velocity")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert len(out) == 6
    assert out[1] == "       Identity: [1, 14, 54, 2836, 12640, 7079450, '1756-L61/B LOGIX5561', 255]"
    assert out[2].startswith(" Motor Velocity: [")


def test_thruput_summary_line(sim):
    r = ours("thruput", "-a", sim, "-d", "20", "-m", "500", "-r", "200", "SCADA[0-9]", "FLOAT")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^400 operations using +(\d+) requests in +\d+\.\d\ds at pipeline depth 20; +\d+\.\d TPS$",
                  r.stdout, re.M)
    assert m and int(m.group(1)) < 400, r.stdout  # -m 500: several operations a request
