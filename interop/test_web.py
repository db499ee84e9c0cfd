"""The web API of `cpppo enip server --web` over HTTP, with pycomm3 as the EtherNet/IP client.

Covers each group and command of cpppo's API and each cpppo bug we fix: `error=0` clears a
forced error; `disable` closes TCP and UDP and `disable=false` reopens them; `done` shuts down
cleanly; an API-set delay delays replies.
"""
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from pycomm3 import LogixDriver

from conftest import ENIP_READY, cpppo_bin, wait_port

WEB = r"Web API and live page on http://(\S+)/"
TAGS = ["SCADA=INT[1000]", "TEXT=SSTRING[100]", "FLOAT=REAL", "FLT@22/1/3=REAL"]


class Sim:
    def __init__(self, proc, port, web):
        self.proc, self.port, self.web = proc, port, web

    def get(self, path, headers=None, expect=200):
        """GET http://web/<path>; returns (status, body text)."""
        req = urllib.request.Request(f"http://{self.web}/{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode()
        assert status == expect, f"{path}: HTTP {status}: {body}"
        return body

    def api(self, path, expect=200, **kw):
        return json.loads(self.get("api/" + path, expect=expect, **kw))

    def plc(self):
        return LogixDriver(f"127.0.0.1:{self.port}/0")


def start(spawn, *extra, env=None):
    args = [cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
            "-w", ":0", *extra, *TAGS]
    proc = spawn(args, env=env)
    port = proc.port(ENIP_READY)
    addr = proc.wait_output(WEB).group(1)
    assert addr.startswith("127.0.0.1:") and not addr.endswith(":0")  # ":PORT" is loopback
    return Sim(proc, port, addr)


@pytest.fixture
def sim(spawn):
    return start(spawn)


def test_envelope_lists_every_group_as_cpppo(sim):
    env = sim.api("")
    assert set(env) == {"alarm", "command", "data", "since", "until"}
    assert env["alarm"] == [] and env["command"] == {} and env["since"] is None
    assert abs(env["until"] - time.time()) < 60
    data = env["data"]
    assert {"options", "server", "tags"} <= set(data)
    assert data["options"]["delay"]["value"] == 0.0
    ctl = data["server"]["control"]
    assert ctl["address"] == ["127.0.0.1", sim.port] and ctl["disable"] is False
    scada = data["tags"]["SCADA"]
    assert re.match(r"SCADA\s+INT\[1000\] == \[0, 0, 0, 0, 0, 0, \.\.\.\]", scada["attribute"])
    assert scada["error"] == 0 and scada["path"] is None and len(scada["values"]) == 1000
    flt = data["tags"]["FLT"]["path"]["segment"]
    assert flt == [{"class": 22}, {"instance": 1}, {"attribute": 3}]
    # A group alone, and the trailing-slash spelling, give just that group.
    assert set(sim.api("options")["data"]) == {"options"}
    assert sim.api("tags/SCADA/")["data"]["tags"].keys() == {"SCADA"}


def test_globs_match_names(sim):
    assert set(sim.api("tags/*")["data"]["tags"]) == {"SCADA", "TEXT", "FLOAT", "FLT"}
    assert set(sim.api("tags/F*")["data"]["tags"]) == {"FLOAT", "FLT"}
    assert set(sim.api("tags/%3FEXT")["data"]["tags"]) == {"TEXT"}
    sim.api("tags/F*/error=5")
    tags = sim.api("tags")["data"]["tags"]
    assert (tags["FLOAT"]["error"], tags["FLT"]["error"], tags["SCADA"]["error"]) == (5, 5, 0)


def test_api_writes_are_read_by_a_client_and_client_writes_by_the_api(sim):
    env = sim.api("tags/SCADA/attribute[3]=4")
    assert env["command"] == {"message": "tags.SCADA.attribute[3]='4' (4)", "success": True}
    sim.api("tags/SCADA/attribute[4]/5")
    sim.api("tags/TEXT/attribute[1]=hello%20there")
    sim.api("tags/FLOAT/attribute[0]=2.5")
    with sim.plc() as plc:
        assert plc.read("SCADA{6}").value == [0, 0, 0, 4, 5, 0]
        assert plc.read("TEXT[1]").value == "hello there"
        assert plc.read("FLOAT").value == 2.5
        assert plc.write("SCADA[7]", -321).error is None
    env = sim.api("tags/SCADA/attribute[7]")
    assert env["command"]["value"] == [-321]
    assert sim.api("tags/SCADA")["data"]["tags"]["SCADA"]["values"][:8] == [0, 0, 0, 4, 5, 0, 0, -321]


def test_forced_error_fails_client_access_and_error_0_clears_it(sim):
    with sim.plc() as plc:
        assert plc.write("SCADA[1]", 11).error is None
        sim.api("tags/SCADA/error=8")
        assert sim.api("tags/SCADA/error")["command"]["value"] == [8]
        assert plc.read("SCADA[1]").error is not None
        assert plc.write("SCADA[1]", 12).error is not None
        env = sim.api("tags/SCADA/error=0")  # cpppo 5.2.5 leaves the error set
        assert env["data"]["tags"]["SCADA"]["error"] == 0
        assert plc.read("SCADA[1]").value == 11
        assert plc.write("SCADA[1]", 12).error is None


def test_a_repeated_read_sees_api_writes_errors_and_other_clients_writes(sim):
    """The server answers a repeat of the same read request from its memory of the request's
    bytes; the value is still read afresh each time: web API writes, a forced error and its
    clearing, and another connection's writes are all seen by the very next read."""
    with sim.plc() as plc, sim.plc() as other:
        for _ in range(3):
            assert plc.read("SCADA[1]").value == 0
        sim.api("tags/SCADA/attribute[1]=77")
        assert plc.read("SCADA[1]").value == 77
        assert other.write("SCADA[1]", 88).error is None
        assert plc.read("SCADA[1]").value == 88
        sim.api("tags/SCADA/error=8")
        assert plc.read("SCADA[1]").error is not None
        assert plc.read("SCADA[1]").error is not None
        sim.api("tags/SCADA/error=0")
        assert plc.read("SCADA[1]").value == 88
        for i in range(50):
            assert other.write("SCADA[1]", i).error is None
            assert plc.read("SCADA[1]").value == i


def timed_read(plc):
    t0 = time.monotonic()
    assert plc.read("SCADA[0]").error is None
    return time.monotonic() - t0


def test_api_delay_visibly_delays_replies(sim):
    with sim.plc() as plc:
        env = sim.api("options/delay/value=0.5")
        assert env["command"]["success"] and env["data"]["options"]["delay"]["value"] == 0.5
        assert timed_read(plc) >= 0.45  # cpppo 5.2.5 accepts the value but never delays
        sim.api("options/delay/range=0.3-0.4")
        assert timed_read(plc) >= 0.28
        assert sim.api("options/delay/range")["data"]["options"]["delay"]["range"] == [0.3, 0.4]
        sim.api("options/delay/value=0")
        assert timed_read(plc) < 0.45  # no longer delayed by 0.5 s


def port_free(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_disable_closes_tcp_and_udp_and_reenable_reopens_them(sim):
    env = sim.api("server/control/disable/true")
    assert env["data"]["server"]["control"]["disable"] is True
    deadline = time.monotonic() + 5
    while not (port_free(sim.port, socket.SOCK_STREAM) and port_free(sim.port, socket.SOCK_DGRAM)):
        assert time.monotonic() < deadline, "listeners still bound after disable"
        time.sleep(0.05)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()
    time.sleep(0.5)
    assert sim.proc.p.poll() is None  # cpppo 5.2.5 exits when it tries to rebind
    sim.api("server/control/disable=false")
    wait_port(sim.port)
    assert not port_free(sim.port, socket.SOCK_DGRAM)
    with sim.plc() as plc:
        assert plc.write("SCADA[2]", 22).error is None
        assert plc.read("SCADA[2]").value == 22
    assert sim.proc.p.poll() is None


def test_done_shuts_down_cleanly(sim):
    env = sim.api("server/control/done=true")
    assert env["data"]["server"]["control"]["done"] is True
    assert sim.proc.p.wait(10) == 0


def test_connections_are_listed_with_counters_and_eof_closes_one(sim):
    with sim.plc() as plc:
        assert plc.read("SCADA[0]").error is None
        conns = sim.api("connections")["data"]["connections"]
        assert len(conns) == 1
        (cid, c), = conns.items()
        assert c["interface"] == "127.0.0.1" and c["eof"] is False
        assert c["requests"] > 0 and c["received"] > 0 and c["processed"] > 0
        assert cid == f"127_0_0_1_{c['port']}"
        sim.api(f"connections/{cid}/eof=true")
        deadline = time.monotonic() + 5
        while sim.api("connections")["data"].get("connections"):
            assert time.monotonic() < deadline, "connection still listed after eof"
            time.sleep(0.05)
        with pytest.raises(Exception):
            if plc.read("SCADA[0]").error is not None:
                raise RuntimeError("read failed")


def test_bad_requests_are_4xx_json_and_change_nothing(sim):
    sim.api("tags/SCADA/attribute[3]=9")
    for path, status in [
        ("bogus", 404),
        ("tags/NOPE/error=1", 404),
        ("tags/SCADA/frobnicate=1", 404),
        ("tags/SCADA/attribute[3]=abc", 400),
        ("tags/SCADA/attribute[3]=40000", 400),
        ("tags/SCADA/attribute[1000]=1", 400),
        ("tags/SCADA/error=300", 400),
        ("options/delay/value=-1", 400),
        ("options/delay/range=2-1", 400),
        ("server/control/disable=maybe", 400),
        ("tags/*/attribute[0]=abc", 400),  # TEXT would take it, SCADA cannot: neither changes
        ("tags//error", 400),
    ]:
        env = sim.api(path, expect=status)
        assert env["command"]["success"] is False and env["command"]["message"], path
        assert env["data"] == {}
    tags = sim.api("tags")["data"]["tags"]
    assert tags["SCADA"]["values"][3] == 9 and tags["SCADA"]["error"] == 0
    assert tags["TEXT"]["values"][0] == ""
    assert sim.api("options")["data"]["options"]["delay"]["value"] == 0.0
    assert sim.api("server")["data"]["server"]["control"]["disable"] is False


def test_browser_accept_header_gets_html(sim):
    page = sim.get("api/tags/SCADA", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.startswith("<!DOCTYPE html>")
    assert "Queries:" in page and "&quot;SCADA&quot;" in page and "INT[1000]" in page


def test_metrics_count_requests_replies_sessions_bytes_and_latency(sim):
    with sim.plc() as plc:
        for i in range(5):
            assert plc.read(f"SCADA[{i}]").error is None
        sim.api("tags/SCADA/error=8")
        assert plc.read("SCADA[0]").error is not None
        sim.api("tags/SCADA/error=0")
    text = sim.get("metrics")
    metrics = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            metrics[name] = float(value)
    requests = {k: v for k, v in metrics.items() if k.startswith("cpppo_requests_total{")}
    assert sum(requests.values()) >= 7
    assert requests['cpppo_requests_total{service="0x4C",name="Read Tag"}'] >= 6
    assert metrics['cpppo_replies_total{status="0x00"}'] >= 6
    assert metrics['cpppo_replies_total{status="0x08"}'] >= 1
    assert metrics["cpppo_sessions_total"] >= 1 and metrics["cpppo_tcp_connections_total"] >= 1
    assert metrics["cpppo_received_bytes_total"] > 0 and metrics["cpppo_sent_bytes_total"] > 0
    count = metrics["cpppo_request_latency_seconds_count"]
    assert count == metrics['cpppo_request_latency_seconds_bucket{le="+Inf"}'] >= 7


def test_metrics_count_a_hot_lock_step_client(sim):
    """A lock-step client is served by a hot thread (a hot connection, as an echo server serves
    it): /metrics counts the move, and every request it made while hot."""
    run = subprocess.run(
        [cpppo_bin(), "enip", "thruput", "-t", "10", "-a", f"127.0.0.1:{sim.port}", "-d", "1",
         "-r", "2000", "SCADA[1]"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("2000 operations"), run.stdout
    metrics = {}
    for line in sim.get("metrics").splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            metrics[name] = float(value)
    assert metrics["cpppo_connections_hot_total"] >= 1
    assert metrics['cpppo_requests_total{service="0x4C",name="Read Tag"}'] >= 2000


def test_web_token_guards_changes_but_not_reads(spawn):
    env = dict(os.environ, CPPPO_WEB_TOKEN="s3cret")
    sim = start(spawn, env=env)
    assert "SCADA" in sim.api("tags")["data"]["tags"]
    env = sim.api("tags/SCADA/attribute[0]=5", expect=403)
    assert "token" in env["command"]["message"]
    sim.api("tags/SCADA/attribute[0]=6?token=s3cret")
    sim.api("tags/SCADA/attribute[1]=7", headers={"Authorization": "Bearer s3cret"})
    assert sim.api("tags/SCADA")["data"]["tags"]["SCADA"]["values"][:2] == [6, 7]


def test_live_page_and_events_feed(sim):
    page = sim.get("")
    assert "<title>cpppo simulator</title>" in page and "EventSource" in page
    assert "http://" not in page.split("<script>")[1]  # no external assets
    req = urllib.request.Request(f"http://{sim.web}/events")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        first = r.readline().decode()
        assert first.startswith("event: state")
        data = json.loads(r.readline().decode().removeprefix("data: "))
        assert "SCADA" in data["data"]["tags"]


def test_bad_web_address_is_one_line_and_exit_2(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "-w", ":http", "SCADA=INT[10]"])
    assert proc.p.wait(10) == 2
    out = proc.output().strip()
    assert len(out.splitlines()) == 1 and '":http"' in out


def test_plain_server_without_web_is_unchanged(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "SCADA=INT[10]"])
    port = proc.port(ENIP_READY)
    assert "Web API" not in proc.output()
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write("SCADA[1]", 5).error is None and plc.read("SCADA[1]").value == 5
