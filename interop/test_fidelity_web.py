"""Issue 17 items 5 and 9: the web API's address spellings and start-up line, and the empty
`api/connections` reply, as cpppo 5.2.5 gives them."""
import json
import re
import subprocess
import urllib.request
from pathlib import Path

from conftest import cpppo_bin
from fidelity_util import start_ours

REFERENCE = Path("/work/shared/reference/cpppo-5.2.5-web")
WEB = r"Web API and live page on http://(\S+)/ \(([^)]*)\)"


def get(web, path):
    with urllib.request.urlopen(f"http://{web}/{path}", timeout=10) as r:
        return json.loads(r.read())


def test_empty_connections_reply_is_cpppos(spawn):
    proc, _ = start_ours(spawn, "--no-config", "-w", "127.0.0.1:0", "SCADA=INT[10]")
    web = proc.wait_output(WEB).group(1)
    reply = get(web, "api/connections")
    # cpppo's reply with no client connected (its eof/true reply with none is the same).
    want = json.loads((REFERENCE / "api_connections_eof_true.json").read_text())
    assert {k: reply[k] for k in ("command", "data")} == {"command": None, "data": {}}
    assert {k: want[k] for k in ("command", "data")} == {"command": None, "data": {}}
    assert get(web, "api/connections/*/eof/true")["data"] == {}
    # The README's "wait until data is empty" loop ends.
    assert not get(web, "api/connections")["data"]


def test_web_start_up_line_says_where_and_whether_read_only(spawn):
    proc, _ = start_ours(spawn, "--no-config", "-w", ":0", "SCADA=INT[10]")
    m = proc.wait_output(WEB)
    assert m.group(1).startswith("127.0.0.1:")
    assert m.group(2).startswith("read-write; loopback only")
    proc, _ = start_ours(spawn, "--no-config", "-w", "0.0.0.0:0", "SCADA=INT[10]")
    m = proc.wait_output(WEB)
    assert m.group(1).startswith("0.0.0.0:")
    assert m.group(2) == "read-only: no --web-token off loopback"


def test_help_says_how_web_addresses_differ_from_cpppo():
    out = subprocess.run([cpppo_bin(), "enip", "server", "--help"], capture_output=True,
                         text=True, timeout=30).stdout
    assert re.search(r"Unlike cpppo.*127\.0\.0\.1", " ".join(out.split()))


def test_web_colon_alone_is_cpppos_port_80(spawn, netns):
    # In a namespace of its own, port 80 is free whatever else runs on this machine.
    proc = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "enip", "server", "--no-config",
                  "-a", "127.0.0.1:0", "-w", ":", "SCADA=INT[10]"])
    m = proc.wait_output(WEB)
    assert m.group(1) == "127.0.0.1:80"
    out = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "--max-time", "5",
                          "http://127.0.0.1:80/api/connections"],
                         capture_output=True, text=True, timeout=30).stdout
    assert json.loads(out)["data"] == {}
