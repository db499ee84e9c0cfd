"""`cpppo net fleet --web`: the fleet's summary and each device's own web API, behind a TAP in
a network namespace these tests create and delete (needs root, iproute2 and /dev/net/tun).

Tag changes made through one device's web API are read back by pycomm3 from that device's IP
(and only there); pycomm3's writes show up in that device's web API. With --device-web, each
device also serves its web API at its own IP on its userspace TCP/IP stack.
"""
import json
import re
import subprocess
import sys
import urllib.parse

import pytest

from conftest import cpppo_bin

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"
WEB = r"Web summary on http://(\S+)/"
SUBNET = "10.61.0.0/24"
FIRST = 2  # device k is at 10.61.0.(2 + k); the host (TAP) is 10.61.0.1

# GET a URL: prints the status, then the body.
FETCH = r"""
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers=dict(
    [sys.argv[2].split(": ", 1)] if len(sys.argv) > 2 else []))
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""

# pycomm3 at argv[1]: write SCADA[argv[2]] = argv[3] if given, then print SCADA[argv[2]].
PLC = r"""
import sys
import urllib.parse
from pycomm3 import LogixDriver
ip, index = sys.argv[1], int(sys.argv[2])
with LogixDriver(ip, init_program_tags=False) as plc:
    if len(sys.argv) > 3:
        w = plc.write(f"SCADA[{index}]", int(sys.argv[3]))
        assert w.error is None, w
    r = plc.read(f"SCADA[{index}]")
    assert r.error is None, r
    print(r.value)
"""


def dev(k):
    return f"10.61.0.{FIRST + k}"


def in_ns(ns, *argv):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def get(ns, url, *header):
    status, body = in_ns(ns, sys.executable, "-c", FETCH, url, *header).split("\n", 1)
    return int(status), json.loads(body)


def plc(ns, k, index, value=None):
    args = [dev(k), str(index)] + ([str(value)] if value is not None else [])
    return int(in_ns(ns, sys.executable, "-c", PLC, *args).strip())


def scada(env):
    return env["data"]["tags"]["SCADA"]["values"]


@pytest.fixture
def fleet(spawn, netns):
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "100",
                  "--subnet", SUBNET, "--tap", "fleet0", "--serial", "500", "--web", ":8080",
                  "--device-web", "80", "--web-token", "s3cret", "SCADA=INT[10]"])
    m = proc.wait_output(READY, timeout=60)
    assert m.group(1) == "100" and m.group(2) == SUBNET
    web = proc.wait_output(WEB, timeout=10).group(1)
    assert web == "127.0.0.1:8080"
    yield netns, f"http://{web}"
    assert proc.close() in (0, -15)


def test_fleet_summary_lists_every_device(fleet):
    ns, web = fleet
    status, summary = get(ns, f"{web}/devices")
    assert status == 200 and summary["count"] == 100 and summary["subnet"] == SUBNET
    devices = summary["devices"]
    assert [d["ip"] for d in devices] == [dev(k) for k in range(100)]
    assert [d["serial"] for d in devices] == list(range(500, 600))
    assert devices[7]["mac"] == "02:00:0a:3d:00:09"
    assert devices[0]["ports"] == {"enip_tcp": 44818, "enip_udp": 44818, "web": 80}
    page = in_ns(ns, sys.executable, "-c", FETCH, f"{web}/")
    assert page.startswith("200\n") and f'<a href="devices/{dev(99)}/">' in page


def test_web_writes_reach_only_that_device(fleet):
    ns, web = fleet
    a, b = 3, 4
    url = f"{web}/devices/{dev(a)}/api/tags/SCADA/attribute[2]=1234"
    assert get(ns, url)[0] == 403  # --web-token given: changes need it, even on loopback
    status, env = get(ns, url, "Authorization: Bearer s3cret")
    assert status == 200, env
    assert plc(ns, a, 2) == 1234
    assert plc(ns, b, 2) == 0
    assert scada(get(ns, f"{web}/devices/{dev(b)}/api/tags/SCADA")[1])[2] == 0


def test_pycomm3_writes_show_in_that_devices_web_api(fleet):
    ns, web = fleet
    assert plc(ns, 42, 5, 777) == 777
    assert scada(get(ns, f"{web}/devices/{dev(42)}/api/tags/SCADA")[1])[5] == 777
    assert scada(get(ns, f"{web}/devices/{dev(41)}/api/tags/SCADA")[1])[5] == 0
    # The device counted pycomm3's session and requests; the summary reports them.
    devices = get(ns, f"{web}/devices")[1]["devices"]
    assert devices[42]["sessions"] >= 1 and devices[42]["requests"] >= 3
    assert devices[41]["requests"] == 0


def test_bad_devices_and_paths_are_json_errors(fleet):
    ns, web = fleet
    for path in [f"/devices/{dev(100)}/api", "/devices/10.61.0.1/api", "/devices/nobody/api",
                 f"/devices/{dev(0)}/nowhere", f"/devices/{dev(0)}/api/nogroup", "/nowhere"]:
        status, env = get(ns, web + path)
        assert 400 <= status < 500 and env["command"]["success"] is False, (path, status, env)


def test_each_device_serves_its_api_at_its_own_ip(fleet):
    ns, _ = fleet
    url = f"http://{dev(9)}/api/tags/SCADA/attribute[1]=99"
    # Device addresses are off loopback: changes need the token.
    assert get(ns, url)[0] == 403
    assert get(ns, url, "Authorization: Bearer s3cret")[0] == 200
    assert plc(ns, 9, 1) == 99
    status, env = get(ns, f"http://{dev(10)}/api/tags/SCADA")
    assert status == 200 and scada(env)[1] == 0


def test_disable_closes_one_devices_listeners_until_enabled(fleet):
    ns, web = fleet
    auth = "Authorization: Bearer s3cret"
    ctl = f"{web}/devices/{dev(20)}/api/server/control"
    assert get(ns, f"{ctl}/disable=true", auth)[0] == 200
    refused = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PLC, dev(20), "0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "CommError" in refused.stderr
    assert plc(ns, 21, 0) == 0  # its neighbour still answers
    assert get(ns, f"{ctl}/disable=false", auth)[0] == 200
    assert plc(ns, 20, 0, 5) == 5
    assert get(ns, ctl)[1]["data"]["server"]["control"]["disable"] is False


def test_bad_web_options_are_refused_in_one_line():
    for extra, message in [(["--device-web", "44818"], "--device-web 44818"),
                           (["--web", ":http"], '--web ":http": port "http"')]:
        out = subprocess.run([cpppo_bin(), "net", "fleet", "--devices", "2", "--subnet", SUBNET,
                              *extra], capture_output=True, text=True, timeout=20)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert len(out.stderr.splitlines()) == 1, out.stderr


def test_a_devices_api_page_links_back_to_that_devices_live_page(fleet):
    ns, web = fleet
    for path in ("api", "api/", "api/tags/SCADA"):
        url = f"{web}/devices/{dev(3)}/{path}"
        page = in_ns(ns, sys.executable, "-c", FETCH, url, "Accept: text/html")
        assert page.startswith("200\n"), page[:200]
        href = re.search(r'<a href="([^"]*)">live page</a>', page).group(1)
        assert urllib.parse.urljoin(url, href) == f"{web}/devices/{dev(3)}/", (path, href)
