"""Issue 19 items 3 and 5: the web API of `cpppo enip server --web` cannot be driven by a web
page of another site (foreign Origin/Referer, DNS rebinding), --web-token applies on loopback
too, curl keeps working, and non-finite REAL text is refused with 400.

The checks are made as a browser would send them (the headers it adds), over real HTTP, and
the tag values are read back over EtherNet/IP with pycomm3.
"""
import json
import urllib.error
import urllib.request

import pytest
from pycomm3 import LogixDriver

from conftest import cpppo_bin

READY = r"Success; Started EtherNet/IP Simulator; PID = \d+; address = 127\.0\.0\.1:(\d+)"
WEB = r"Web API and live page on http://(\S+)/"


def start(spawn, *extra):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--web", "127.0.0.1:0", *extra, "SCADA=INT[10]", "FLOAT=REAL", "BIG=LREAL"])
    port = int(proc.wait_output(READY).group(1))
    web = proc.wait_output(WEB).group(1)
    return proc, port, web


def get(web, path, headers=None):
    req = urllib.request.Request(f"http://{web}/api/{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def scada0(port):
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        return plc.read("SCADA[0]").value


@pytest.fixture
def sim(spawn):
    return start(spawn)


def test_a_foreign_page_cannot_change_tags_or_stop_the_simulator(sim):
    proc, port, web = sim
    evil = {"Origin": "http://evil.example", "Referer": "http://evil.example/page.html"}
    status, env = get(web, "tags/SCADA/attribute[0]=666", evil)
    assert status == 403, env
    assert "another site" in env["command"]["message"]
    assert "evil.example" in env["command"]["message"]
    # An <img src=...> sends only a Referer.
    status, _ = get(web, "tags/SCADA/attribute[0]=667", {"Referer": "http://evil.example/"})
    assert status == 403
    status, _ = get(web, "server/control/done=true", {"Origin": "null"})
    assert status == 403
    assert scada0(port) == 0
    assert proc.p.poll() is None, "the simulator was stopped"
    # Reads stay open to anyone (cpppo's API; the page itself polls them).
    status, env = get(web, "tags/SCADA", evil)
    assert status == 200


def test_dns_rebinding_names_are_refused(sim):
    _, port, web = sim
    status, env = get(web, "tags/SCADA/attribute[0]=5",
                      {"Host": f"rebind.evil.example:{web.rsplit(':', 1)[1]}"})
    assert status == 403, env
    assert "Host" in env["command"]["message"]
    assert scada0(port) == 0


def test_curl_and_the_live_page_keep_working(sim):
    _, port, web = sim
    assert get(web, "tags/SCADA/attribute[0]=5")[0] == 200  # curl: no Origin, no Referer
    page = {"Referer": f"http://{web}/", "Accept": "application/json"}
    assert get(web, "tags/SCADA/attribute[1]=6", page)[0] == 200
    assert get(web, "tags/SCADA/attribute[2]=7", {"Origin": f"http://{web}"})[0] == 200
    host = {"Host": f"localhost:{web.rsplit(':', 1)[1]}"}
    assert get(web, "tags/SCADA/attribute[3]=8", host)[0] == 200
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.read("SCADA[0]{4}").value == [5, 6, 7, 8]


def test_the_web_token_applies_on_loopback_too(spawn):
    _, port, web = start(spawn, "--web-token", "s3cret")
    status, env = get(web, "tags/SCADA/attribute[0]=5")
    assert status == 403 and "token" in env["command"]["message"]
    assert get(web, "tags/SCADA/attribute[0]=6?token=s3cret")[0] == 200
    # A foreign page does not get through by knowing the token's name.
    status, _ = get(web, "tags/SCADA/attribute[0]=7?token=s3cret",
                    {"Origin": "http://evil.example"})
    assert status == 403
    assert scada0(port) == 6


@pytest.mark.parametrize("text", ["1e400", "-1e400", "inf", "nan", "1e39"])
def test_non_finite_real_text_is_refused(sim, text):
    _, port, web = sim
    assert get(web, "tags/FLOAT/attribute[0]=2.5")[0] == 200
    status, env = get(web, f"tags/FLOAT/attribute[0]={text}")
    assert status == 400, env
    assert "out of range" in env["command"]["message"]
    status, env = get(web, "tags/FLOAT/attribute[0]")
    assert env["command"]["value"] == [2.5]
    big = "1e39"  # fine for an LREAL
    if text == big:
        assert get(web, f"tags/BIG/attribute[0]={text}")[0] == 200
    else:
        assert get(web, f"tags/BIG/attribute[0]={text}")[0] == 400


def test_non_finite_values_written_over_cip_are_shown(sim):
    _, port, web = sim
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write("FLOAT", float("inf")).error is None
    status, env = get(web, "tags/FLOAT/attribute[0]")
    assert status == 200 and env["command"]["value"] == ["inf"], env
