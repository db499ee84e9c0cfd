"""Our class 1 I/O adapter (`cpppo enip server` with assembly tags) against third-party
scanners: st-ethernet-ip 2.7.5 (node) and the Python `ethernetip` 1.2.0 (its own venv).

Scanners bind UDP 2222, so the adapter and the scanner each run in a network namespace of
their own, joined by a veth pair (10.77.0.1 adapter, 10.77.0.2 scanner); both are deleted by
name when the test ends. Explicit Get/Set Attribute on the same assemblies (pycomm3, from the
scanner's namespace) must agree with what the I/O connection moves; tshark decodes a capture.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, cpppo_bin, tshark_fields

ADAPTER, SCANNER = "10.77.0.1", "10.77.0.2"
TAGS = ["Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]", "Config@4/1/3=SINT[4]"]
IO_READY = r"I/O adapter \(class 1\) on udp (?P<host>[\d.]+):(?P<port>\d+)"
VENV_IO = Path(os.environ.get("CPPPO_VENV_IO", ROOT / ".venv-io"))
NODE_MODULES = Path(os.environ.get("CPPPO_NODE_IO", ROOT / ".npm-io" / "node_modules"))

ST_SCANNER = r"""
// st-ethernet-ip's IO.Scanner owning 100 (8 bytes in) / 150 (8 bytes out), config 1.
// argv: target local rpi_ms out_hex; prints JSON lines; stdin lines: new output hex.
const { IO } = require("st-ethernet-ip");
const [target, local, rpi, out] = process.argv.slice(2);
const scanner = new IO.Scanner(2222, local);
const conn = scanner.addConnection({
  configInstance: { assembly: 1, size: 0 },
  outputInstance: { assembly: 150, size: 8 },
  inputInstance: { assembly: 100, size: 8 },
}, Number(rpi), target);
conn.outputData = Buffer.from(out, "hex");
const say = (o) => console.log(JSON.stringify(o));
conn.on("connected", () => say({ event: "connected", ot: conn.OTid, to: conn.TOid }));
conn.on("disconnected", () => say({ event: "disconnected" }));
setInterval(() => say({ input: conn.inputData.toString("hex") }), 100);
require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
  conn.outputData = Buffer.from(l.trim(), "hex");
});
"""

ETHERNETIP_SCANNER = r"""
# The Python `ethernetip` scanner: Forward Open 100/150/1, produce outputs, print inputs.
# argv: target rpi_ms out_hex hold_s serial [close] [outsz=N] [point=N] [mcast]; prints JSON
# lines.
import json, sys, time
import ethernetip

target, rpi, out, hold = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), float(sys.argv[4])
serial, close = int(sys.argv[5]), "close" in sys.argv[6:]
outsz = [int(a[6:]) for a in sys.argv[6:] if a.startswith("outsz=")]
point = [int(a[6:]) for a in sys.argv[6:] if a.startswith("point=")]
mcast = "mcast" in sys.argv[6:]
say = lambda **o: print(json.dumps(o), flush=True)
enip = ethernetip.EtherNetIP(target)
conn = enip.explicit_conn(target)
conn.registerSession()
conn.conn_serial_num = serial - 1  # the Forward Open counts it up
inputs = enip.registerAssembly(ethernetip.EtherNetIP.ENIP_IO_TYPE_INPUT, 8, 100, conn)
outputs = enip.registerAssembly(ethernetip.EtherNetIP.ENIP_IO_TYPE_OUTPUT, 8, 150, conn)
for i in range(64):
    outputs[i] = bool(out[i // 8] >> (i % 8) & 1)
status = conn.sendFwdOpenReq(100, point[0] if point else 150, 1, torpi=rpi, otrpi=rpi,
                             multiplier=3, outputsz=outsz[0] if outsz else None,
                             multicast=mcast)
say(event="open", status=status, ot=conn.otconnid, to=conn.toconnid)
if status != 0 or hold <= 0:
    sys.exit(0 if status == 0 else 1)
enip.startIO()  # binds 0.0.0.0:2222: one scanner holding it at a time
conn.produce()
deadline = time.monotonic() + hold
while time.monotonic() < deadline:
    data = bytes(sum(int(bool(inputs[8 * b + i])) << i for i in range(8)) for b in range(8))
    say(input=data.hex())
    time.sleep(0.1)
conn.stopProduce()
if close:
    say(event="close", status=conn.sendFwdCloseReq(100, 150, 1))
enip.stopIO()
"""

EXPLICIT = r"""
# Explicit Get (or Set) Attribute Single @4/INSTANCE/3 with pycomm3.
import sys
from pycomm3 import CIPDriver, Services
host, instance = sys.argv[1], int(sys.argv[2])
value = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None
with CIPDriver(host) as d:
    r = d.generic_message(
        service=Services.set_attribute_single if value is not None else Services.get_attribute_single,
        class_code=4, instance=instance, attribute=3, request_data=value or b"", connected=False,
        route_path=False)
    assert not r.error, r.error
    print((r.value or b"").hex())
"""


def ip(*args):
    return subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def pair():
    """Two namespaces joined by a veth pair: (adapter ns, scanner ns)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (network namespaces)")
    a, s = f"cpppo-ioa-{os.getpid()}", f"cpppo-ios-{os.getpid()}"
    try:
        ip("netns", "add", a)
        ip("netns", "add", s)
        ip("-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vs", "netns", s)
        for ns, dev, addr in ((a, "va", ADAPTER), (s, "vs", SCANNER)):
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as e:
        for ns in (a, s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        pytest.skip(f"cannot set up network namespaces: {e.stderr!r}")
    try:
        yield a, s
    finally:
        for ns in (a, s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def adapter(spawn, ns, *extra):
    proc = spawn(["ip", "netns", "exec", ns, cpppo_bin(), "enip", "server", "--no-config", "-v",
                  "-a", f"{ADAPTER}:44818", *extra, *TAGS])
    m = proc.wait_output(IO_READY, timeout=20)
    assert (m.group("host"), m.group("port")) == (ADAPTER, "2222")
    return proc


def explicit(ns, instance, value=None):
    """The bytes of @4/INSTANCE/3 (set first to `value`, hex, if given)."""
    args = [sys.executable, "-c", EXPLICIT, ADAPTER, str(instance)]
    def run(*extra):
        out = subprocess.run(["ip", "netns", "exec", ns, *args, *extra], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()
    if value is not None:
        run(value)
    return run()


def st_scanner(spawn, ns, tmp_path, out_hex, rpi=10):
    node_modules = NODE_MODULES
    if not shutil.which("node") or not (node_modules / "st-ethernet-ip").is_dir():
        pytest.skip("st-ethernet-ip 2.7.5 not installed (scripts/setup)")
    script = tmp_path / "st_scanner.js"
    script.write_text(ST_SCANNER)
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    return spawn(["ip", "netns", "exec", ns, "node", str(script), ADAPTER, SCANNER, str(rpi),
                  out_hex], env=env)


def ethernetip_scanner(spawn, ns, tmp_path, out_hex, hold, close=False, rpi=20, serial=1,
                       extra=()):
    python = VENV_IO / "bin" / "python"
    if not python.exists():
        pytest.skip("the ethernetip 1.2.0 venv is not installed (scripts/setup)")
    script = tmp_path / "ethernetip_scanner.py"
    script.write_text(ETHERNETIP_SCANNER)
    args = [str(python), str(script), ADAPTER, str(rpi), out_hex, str(hold), str(serial)]
    return spawn(["ip", "netns", "exec", ns, *args, *(["close"] if close else []), *extra])


HTTP_GET = r"""
import sys, urllib.request
print(urllib.request.urlopen(f"http://{sys.argv[1]}", timeout=10).read().decode())
"""


def http_get(ns, url):
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", HTTP_GET, url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def metrics(ns, web):
    return http_get(ns, f"{web}/metrics")


def outputs_state(ns, web):
    """The web API's I/O state of the Outputs assembly tag: run or idle."""
    return json.loads(http_get(ns, f"{web}/api/tags/Outputs"))["data"]["tags"]["Outputs"]["io"]


def lines(proc):
    return [json.loads(l) for l in proc.output().splitlines() if l.startswith("{")]


def wait_for(check, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise TimeoutError(f"no {what} within {timeout}s")


def test_st_ethernet_ip_owns_the_assemblies(spawn, pair, tmp_path):
    a, s = pair
    srv = adapter(spawn, a, "--web", f"{ADAPTER}:8080")
    explicit(s, 100, "0102030405060708")
    scanner = st_scanner(spawn, s, tmp_path, "a1a2a3a4a5a6a7a8")
    # It only sends O->T after each T->O: data flowing in both directions proves we produce
    # on our own timer.
    wait_for(lambda: any(l.get("input") == "0102030405060708" for l in lines(scanner)),
             what="inputs at the scanner")
    wait_for(lambda: explicit(s, 150) == "a1a2a3a4a5a6a7a8", what="outputs at the adapter")
    # A change either way shows on the other side.
    explicit(s, 100, "1112131415161718")
    wait_for(lambda: lines(scanner)[-1].get("input") == "1112131415161718", what="new inputs")
    wait_for(lambda: any(l.get("event") == "connected" for l in lines(scanner)),
             what="the scanner's connected event")
    # /metrics shows the connection in run, its packets, the T->O count.
    m = metrics(s, f"{ADAPTER}:8080")
    assert re.search(r'cpppo_io_connection_run\{peer="10.77.0.2",kind="exclusive-owner",'
                     r'[^}]*input="100",output="150",rpi_us="10000"\} 1', m), m
    assert int(re.search(r'cpppo_io_packets_total\{direction="t_o"\} (\d+)', m).group(1)) > 0
    assert outputs_state(s, f"{ADAPTER}:8080") == {"outputs": "run"}
    control = json.loads(http_get(s, f"{ADAPTER}:8080/api/server/control"))
    [conn] = control["data"]["server"]["control"]["io"]
    assert (conn["kind"], conn["input"], conn["output"], conn["run"]) == (
        "exclusive-owner", 100, 150, True)
    # Killed: the connection times out (RPI x 32) and the outputs go idle, in the log and in
    # /metrics.
    scanner.close()
    srv.wait_output(r"outputs idle: assembly 150", timeout=20)
    srv.wait_output(r"timed out", timeout=5)
    m = metrics(s, f"{ADAPTER}:8080")
    assert "cpppo_io_timeouts_total 1" in m and "cpppo_io_connection_run{" not in m, m
    assert outputs_state(s, f"{ADAPTER}:8080") == {"outputs": "idle"}
    assert explicit(s, 150) == "a1a2a3a4a5a6a7a8", "the last outputs stay"


def test_ethernetip_owns_then_closes(spawn, pair, tmp_path):
    a, s = pair
    srv = adapter(spawn, a)
    explicit(s, 100, "cafe0000000000ee")
    scanner = ethernetip_scanner(spawn, s, tmp_path, "0011223344556677", hold=4, close=True)
    opened = wait_for(lambda: [l for l in lines(scanner) if l.get("event") == "open"],
                      what="Forward Open")[0]
    assert opened["status"] == 0, opened
    # Its O->T leaves from another socket than the one T->O arrives on: T->O must go to 2222.
    wait_for(lambda: any(l.get("input") == "cafe0000000000ee" for l in lines(scanner)),
             what="inputs at the scanner")
    wait_for(lambda: explicit(s, 150) == "0011223344556677", what="outputs at the adapter")
    closed = wait_for(lambda: [l for l in lines(scanner) if l.get("event") == "close"],
                      what="Forward Close")[0]
    assert closed["status"] == 0
    srv.wait_output(r"closed by Forward Close", timeout=10)
    assert scanner.p.wait(20) == 0
    # The slot is free again: a second owner gets it.
    again = ethernetip_scanner(spawn, s, tmp_path, "0101010101010101", hold=1, serial=2)
    assert again.p.wait(30) == 0, again.output()
    assert lines(again)[0]["status"] == 0


def test_refusals_reach_the_scanner(spawn, pair, tmp_path):
    a, s = pair
    adapter(spawn, a)
    owner = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=6)
    wait_for(lambda: [l for l in lines(owner) if l.get("event") == "open"], what="owner")
    # The same connection triad again: a duplicate (0x0100); another owner of the same
    # outputs: ownership conflict (0x0106).
    for serial, status in ((1, 0x0100), (2, 0x0106)):
        rival = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=0, serial=serial)
        rival.p.wait(30)
        assert lines(rival)[0]["status"] == status, rival.output()
    # Wrong sizes: refused with 0x0109 (the reply also carries the size we accept: 14).
    small = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=0, serial=3,
                               extra=["outsz=4"])
    small.p.wait(30)
    assert lines(small)[0]["status"] == 0x0109, small.output()
    # Hostile UDP on 2222 changes nothing: garbage, unknown ids, truncated frames.
    hostile = (
        "import socket, struct\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"t = ('{ADAPTER}', 2222)\n"
        "for n in range(200): s.sendto(bytes([n]) * n, t)\n"
        "frame = struct.pack('<HHHIIHHHI', 2, 0x8002, 8, 0x12345678, 1, 0xB1, 14, 1, 1) + bytes(8)\n"
        "s.sendto(frame, t); s.sendto(frame[:20], t); s.sendto(frame[:7], t)\n"
    )
    subprocess.run(["ip", "netns", "exec", s, sys.executable, "-c", hostile], check=True,
                   timeout=30)
    assert owner.p.wait(30) == 0, owner.output()
    assert lines(owner)[-1]["input"] == "00" * 8


def test_tshark_decodes_the_io_frames(spawn, pair, tmp_path):
    if not shutil.which("tshark"):
        pytest.skip("tshark not installed")
    a, s = pair
    adapter(spawn, a)
    explicit(s, 100, "0102030405060708")
    pcap = tmp_path / "io.pcap"
    cap = spawn(["ip", "netns", "exec", s, "tshark", "-q", "-i", "vs", "-w", str(pcap),
                 "-f", "tcp port 44818 or udp port 2222"])
    cap.wait_output(r"Capturing on", timeout=20)
    # RPI 200 ms: the adapter's first T→O is due one RPI after the Forward Open, so the TCP
    # reply (written at once) is in the capture before any I/O frame, and tshark, which learns
    # the connection ids from that reply, can decode every I/O frame.
    scanner = ethernetip_scanner(spawn, s, tmp_path, "a0a1a2a3a4a5a6a7", hold=3, close=True,
                                 rpi=200)
    assert scanner.p.wait(30) == 0, scanner.output()
    time.sleep(0.5)
    cap.close()
    rows = tshark_fields(pcap, "udp.port == 2222", "enip.cpf.sai.connid", "cip.seq",
                         "cip.32bitheader.run_idle", "cipio.data", "ip.src")
    assert len(rows) > 10, rows
    opened = [l for l in lines(scanner) if l.get("event") == "open"][0]
    o_t = [r for r in rows if r[4] == SCANNER]
    t_o = [r for r in rows if r[4] == ADAPTER]
    assert o_t and t_o
    for connid, seq, run_idle, data, _ in rows:
        assert connid and seq, rows  # every frame decoded as I/O
    assert all(int(r[0], 16) == opened["ot"] and int(r[2], 0) == 1 for r in o_t), o_t[:3]
    assert {r[3].replace(":", "") for r in o_t} == {"a0a1a2a3a4a5a6a7"}
    assert all(int(r[0], 16) == opened["to"] for r in t_o)
    assert {r[3].replace(":", "") for r in t_o} == {"0102030405060708"}


def test_input_only_and_listen_only(spawn, pair, tmp_path):
    a, s = pair
    srv = adapter(spawn, a, "--web", f"{ADAPTER}:8080")
    heartbeat = ["outsz=0", "mcast"]
    # Listen Only needs a multicast producer of its input: none yet (0x0119).
    lo = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=0, serial=5,
                            extra=["point=237", *heartbeat])
    lo.p.wait(30)
    assert lines(lo)[0]["status"] == 0x0119, lo.output()
    # Input Only (heartbeat O->T to point 238), multicast T->O; it owns no outputs.
    # RPI 200 ms (timeout ×32 = 6.4 s): the listener, whose scanner exits at once, must still
    # be there when the web API is asked, however slowly a loaded machine gets there.
    io = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=5, serial=6, rpi=200,
                            extra=["point=238", *heartbeat])
    opened = wait_for(lambda: [l for l in lines(io) if l.get("event") == "open"], what="IO")[0]
    assert opened["status"] == 0, opened
    lo = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=0, serial=7, rpi=200,
                            extra=["point=237", *heartbeat])
    lo.p.wait(30)
    joined = lines(lo)[0]
    assert (joined["status"], joined["to"]) == (0, opened["to"]), "listen only joins its producer"
    control = json.loads(http_get(s, f"{ADAPTER}:8080/api/server/control"))
    kinds = sorted(c["kind"] for c in control["data"]["server"]["control"]["io"])
    assert kinds == ["input-only", "listen-only"]
    assert all(c["t_o_dest"] == "239.192.1.0:2222" for c in control["data"]["server"]["control"]["io"])
    # No owner: an Exclusive Owner still gets the outputs.
    owner = ethernetip_scanner(spawn, s, tmp_path, "00" * 8, hold=0, serial=8)
    owner.p.wait(30)
    assert lines(owner)[0]["status"] == 0, owner.output()
    assert io.p.wait(30) == 0, io.output()
    srv.wait_output(r"listen-only connection 0x[0-9a-f]+ opened", timeout=5)
