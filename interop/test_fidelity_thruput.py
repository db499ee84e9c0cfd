"""Issue 17 item 8: `thruput` counts the requests it actually sent (cpppo: "50 operations using 6
requests" with -m), checked against the requests our simulator counted, and cpppo 5.2.5's
thruput (which reaches only port 44818: run in a namespace of its own) counting the same way."""
import re
import urllib.request

from conftest import cpppo_bin, venv_tool
from fidelity_util import ours, run, start_ours

OPS = ["SCADA[0]", "SCADA[1-2]", "SCADA[0-2]", "SCADA[2]", "SCADA[1]"]
SUMMARY = r"^ *(\d+) operations using +(\d+) requests in "


def served_requests(web):
    """CIP requests the simulator received (its metrics; encapsulation commands excluded)."""
    with urllib.request.urlopen(f"http://{web}/metrics", timeout=10) as r:
        text = r.read().decode()
    counts = re.findall(r'^cpppo_requests_total\{service="(0x[0-9A-F]+)"[^}]*\} (\d+)$', text, re.M)
    return sum(int(n) for code, n in counts if code != "0x00")


def test_thruput_counts_the_requests_sent(spawn):
    proc, address = start_ours(spawn, "--no-config", "-w", "127.0.0.1:0", "SCADA=INT[10]")
    web = proc.wait_output(r"Web API and live page on http://(\S+)/").group(1)
    out = ours("enip", "thruput", "-a", address, "-m", "250", "-r", "10", *OPS).stdout
    ops, requests = map(int, re.search(SUMMARY, out, re.M).groups())
    assert ops == 50
    assert requests == served_requests(web) < 50
    out = ours("enip", "thruput", "-a", address, "-r", "7", "SCADA[0]").stdout
    assert re.search(SUMMARY, out, re.M).groups() == ("7", "7")


def test_cpppo_thruput_counts_the_same_way(spawn, netns):
    ns = ["ip", "netns", "exec", netns]
    spawn([*ns, cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:44818",
           "SCADA=INT[10]"]).wait_output(r"Success; Started")
    theirs = run([*ns, venv_tool("python"), "-m", "cpppo.server.enip.thruput", "-a", "127.0.0.1",
                  "-m", "250", "-r", "10", *OPS]).stdout
    mine = run([*ns, cpppo_bin(), "enip", "thruput", "-a", "127.0.0.1", "-m", "250", "-r", "10",
                *OPS]).stdout
    for out in (theirs, mine):
        ops, requests = map(int, re.search(SUMMARY, out, re.M).groups())
        assert ops == 50 and 1 < requests < 50, out
