"""`cpppo enip io` (our class 1 scanner) against the ciplink 0.3.5 adapter, a strict
third-party target (crates/enip/examples/ciplink_adapter.rs, built here if missing).

On loopback the adapter binds TCP and UDP port 0 and prints them; the scanner binds UDP port 0
and announces it to the adapter in a T->O sockaddr item. Every process is killed by PID.
"""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, cpppo_bin, tshark_fields
from netns_lan import bridged_lan

READY = r"ready tcp (?P<host>[\d.]+):(?P<tcp>\d+) io [\d.]+:(?P<io>\d+)"


def ciplink_adapter() -> str:
    """The example binary wrapping ciplink's adapter (CIPLINK_ADAPTER, else built)."""
    path = os.environ.get("CIPLINK_ADAPTER") or str(
        ROOT / "target" / "release" / "examples" / "ciplink_adapter")
    if not Path(path).exists():
        subprocess.run(["cargo", "build", "--release", "-p", "cpppo-enip", "--example",
                        "ciplink_adapter"], cwd=ROOT, check=True, timeout=1500)
    return path


class Piped:
    """A process with stdin we write lines to and stdout we read lines from (a thread-free
    reader: stdout goes to a file polled with a deadline). Killed by PID on close."""

    def __init__(self, args, log: Path):
        self.log_path = log
        self.log = open(log, "wb")
        self.p = subprocess.Popen([str(a) for a in args], stdin=subprocess.PIPE,
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def send(self, line: str):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait(self, pattern: str, timeout: float = 10.0):
        import re
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text(), re.M)
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f"no {pattern!r} in:\n{self.text()}")

    def close(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(5)
        self.log.close()


@pytest.fixture
def piped(tmp_path):
    procs = []

    def start(args):
        proc = Piped(args, tmp_path / f"piped{len(procs)}.log")
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        proc.close()


def adapter_and_args(piped, *extra):
    adapter = piped([ciplink_adapter()])
    m = adapter.wait(READY, 20)
    args = [cpppo_bin(), "enip", "io", "-a", f"{m['host']}:{m['tcp']}", "--io-port", m["io"],
            "--bind", "127.0.0.1:0", *extra]
    return adapter, args


def events(text: str):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_owner_data_both_ways_stdin_lines_and_forward_close_on_sigint(piped):
    adapter, args = adapter_and_args(piped)
    adapter.send("input 1,2,3,4,5,6,7,8")
    scanner = piped([*args, "--input", "100:8", "--output", "150:8", "--json", "9,8,0x07"])
    scanner.wait(r'"event":"opened"')
    scanner.wait(r'"data":\[1,2,3,4,5,6,7,8\]')
    adapter.wait(r"^output 9,8,7,0,0,0,0,0 run$")
    scanner.send("0x10, 32")
    adapter.wait(r"^output 16,32,0,0,0,0,0,0 run$")
    scanner.send("999")  # a bad line is reported, the scanner goes on
    scanner.wait(r"data byte \"999\" out of range")
    adapter.send("input 5,5,5,5,5,5,5,5")
    scanner.wait(r'"data":\[5,5,5,5,5,5,5,5\]')
    os.kill(scanner.p.pid, signal.SIGINT)
    assert scanner.p.wait(10) == 0
    adapter.wait(r"^closed ExclusiveOwner$")
    got = events(scanner.text())
    kinds = [e["event"] for e in got]
    assert kinds[0] == "bound" and "opened" in kinds and kinds[-2:] == ["closed", "stats"]
    inputs = [e["data"] for e in got if e["event"] == "input"]
    assert inputs == [[1, 2, 3, 4, 5, 6, 7, 8], [5] * 8]  # one line per change, no repeats
    assert got[-1]["received"] > 0 and got[-1]["sent"] > 0


def test_input_only_large_forward_open_plain_lines(piped):
    adapter, args = adapter_and_args(piped)
    adapter.send("input 7,7,7,7,7,7,7,7")
    scanner = piped([*args, "--input", "100:8", "--input-only", "--large", "--rpi", "20"])
    adapter.wait(r"^opened InputOnly$")
    scanner.wait(r"^opened O->T 0x[0-9A-F]{8} T->O 0x[0-9A-F]{8} API 20\.000/20\.000 ms$")
    scanner.wait(r"^input 7,7,7,7,7,7,7,7$")
    os.kill(scanner.p.pid, signal.SIGTERM)
    assert scanner.p.wait(10) == 0
    adapter.wait(r"^closed InputOnly$")


def test_wrong_size_refused_with_the_accepted_size_exits_1(piped):
    adapter, args = adapter_and_args(piped)
    scanner = piped([*args, "--input", "100:4", "--output", "150:8"])
    assert scanner.p.wait(15) == 1
    assert ("Forward Open refused: Status 1 [265, 10]: invalid connection size: the adapter "
            "accepts 10 bytes (not retrying)") in scanner.text()


def test_listen_only_without_owner_retries_with_back_off(piped):
    adapter, args = adapter_and_args(piped)
    scanner = piped([*args, "--input", "100:8", "--listen-only", "--multicast", "--json"])
    scanner.wait(r"\"after_ms\":500\.0")
    scanner.wait(r"\"after_ms\":1000\.0", 15)
    refusals = [e for e in events(scanner.text()) if e["event"] == "refused"]
    assert refusals[0]["extended"][0] == 0x0119 and refusals[0]["retry"]
    assert refusals[0]["text"] == "no owning connection to listen with"
    os.kill(scanner.p.pid, signal.SIGINT)
    assert scanner.p.wait(10) == 0


@pytest.mark.parametrize("argv, message", [
    (["--input", "100"], "bad --input \"100\": expected INSTANCE:SIZE"),
    (["--input", "100:8"], "an Exclusive Owner needs --output"),
    (["--input", "100:8", "--output", "150:2", "1,2,3"], "3 data bytes given; the output "
                                                          "assembly holds 2"),
    (["--input", "100:8", "--output", "150:2", "--config", "1:0A"], "whole 16-bit words"),
    (["--input", "100:8", "--output", "150:2", "--rpi", "0"], "bad --rpi 0"),
    (["--input", "100:8", "--output", "150:2", "--bind", "nowhere"], "bad --bind"),
    (["--input", "100:8", "--output", "150:2", "--class0"], "--class0 needs --input-only"),
    (["--input", "100:8", "--listen-only", "--class0"], "--class0 needs --input-only"),
])
def test_bad_arguments_one_clear_line(argv, message):
    r = subprocess.run([cpppo_bin(), "enip", "io", "-a", "127.0.0.1:1", *argv],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------
# At real addresses, on the real ports: the adapter in one network namespace (TCP 44818, UDP
# 2222), each scanner in its own (UDP 2222, no sockaddr item), joined by a bridge in the
# adapter's namespace. Only addresses inside the namespaces; all deleted by name at the end.

@pytest.fixture
def lan():
    """Namespaces `ad` (the adapter, 10.93.0.2 on a bridge) and `s1`, `s2` (scanners,
    10.93.0.11 and .12, each a veth into the bridge). {name: namespace}."""
    with bridged_lan("io", "10.93.0", {"ad": 2, "s1": 11, "s2": 12}) as names:
        yield names


def test_default_ports_multicast_owner_and_listen_only(piped, lan):
    adapter = piped(["ip", "netns", "exec", lan["ad"], ciplink_adapter(), "10.93.0.2", "44818",
                     "2222"])
    adapter.wait(r"ready tcp 10\.93\.0\.2:44818 io 10\.93\.0\.2:2222", 20)
    adapter.send("input 3,1,4,1,5,9,2,6")
    io = [cpppo_bin(), "enip", "io", "-a", "10.93.0.2", "--input", "100:8", "--multicast",
          "--json"]
    owner = piped(["ip", "netns", "exec", lan["s1"], *io, "--output", "150:8", "7"])
    m = owner.wait(r'\{.*"event":"opened".*\}')
    assert json.loads(m.group(0))["multicast"].startswith("239.192.")
    owner.wait(r'"data":\[3,1,4,1,5,9,2,6\]')
    adapter.wait(r"^output 7,0,0,0,0,0,0,0 run$")
    listener = piped(["ip", "netns", "exec", lan["s2"], *io, "--listen-only"])
    listener.wait(r'"data":\[3,1,4,1,5,9,2,6\]')
    adapter.wait(r"^opened ListenOnly$")
    adapter.send("input 2,7,1,8,2,8,1,8")
    owner.wait(r'"data":\[2,7,1,8,2,8,1,8\]')
    listener.wait(r'"data":\[2,7,1,8,2,8,1,8\]')
    for s in (listener, owner):
        os.kill(s.p.pid, signal.SIGINT)
        assert s.p.wait(10) == 0
    adapter.wait(r"^closed ExclusiveOwner$")


def test_tshark_sees_the_multicast_t_o_of_the_ciplink_adapter(piped, lan, tmp_path):
    """Our scanner's multicast Forward Open to the ciplink adapter: on the owner's wire tshark
    shows the T->O frames sent to the group (its MAC, the connection id the owner opened, the
    data as it changes); the Listen Only scanner in another namespace gets the same data."""
    if not shutil.which("tshark"):
        pytest.skip("tshark not installed")
    adapter = piped(["ip", "netns", "exec", lan["ad"], ciplink_adapter(), "10.93.0.2", "44818",
                     "2222"])
    adapter.wait(r"ready tcp 10\.93\.0\.2:44818 io 10\.93\.0\.2:2222", 20)
    adapter.send("input 1,1,2,3,5,8,13,21")
    pcap = tmp_path / "mc.pcap"
    # The owner's namespace: its Forward Open (tshark decodes I/O by it) and the group's frames.
    cap = piped(["ip", "netns", "exec", lan["s1"], "tshark", "-i", "eth0", "-w", str(pcap),
                 "-f", "tcp port 44818 or udp port 2222"])
    cap.wait(r"Capturing on", 20)
    io = [cpppo_bin(), "enip", "io", "-a", "10.93.0.2", "--input", "100:8", "--multicast",
          "--rpi", "20", "--json"]
    owner = piped(["ip", "netns", "exec", lan["s1"], *io, "--output", "150:8", "7"])
    m = owner.wait(r'\{.*"event":"opened".*\}')
    opened = json.loads(m.group(0))
    group = opened["multicast"].split(":")[0]
    listener = piped(["ip", "netns", "exec", lan["s2"], *io, "--listen-only"])
    listener.wait(r'"data":\[1,1,2,3,5,8,13,21\]')
    adapter.send("input 3,4,5,6,7,8,9,10")
    for s in (owner, listener):
        s.wait(r'"data":\[3,4,5,6,7,8,9,10\]')
    for s in (listener, owner):
        os.kill(s.p.pid, signal.SIGINT)
        assert s.p.wait(10) == 0
    time.sleep(0.5)
    os.kill(cap.p.pid, signal.SIGINT)
    cap.p.wait(10)
    rows = tshark_fields(pcap, f"ip.dst == {group} && udp", "eth.dst",
                         "enip.cpf.sai.connid", "cip.seq", "cipio.data")
    assert len(rows) >= 3, rows
    o = [int(b) for b in group.split(".")]
    mac = f"01:00:5e:{o[1] & 0x7f:02x}:{o[2]:02x}:{o[3]:02x}"
    datas = set()
    for dst, connid, seq, data in rows:
        assert dst == mac and int(connid, 16) == opened["t_o_id"], rows[:3]
        data = bytes.fromhex(data.replace(":", ""))
        if not seq:
            # Without the connection's transport class tshark shows the sequence count (2
            # bytes, little-endian) as data.
            seq, data = int.from_bytes(data[:2], "little"), data[2:]
        datas.add((int(seq), data.hex()))
    assert {d for _, d in datas} == {"0101020305080d15", "030405060708090a"}, datas
