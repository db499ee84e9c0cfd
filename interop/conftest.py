"""Shared fixtures for interop tests: start our binaries and third-party peers on loopback.

Every process started here is killed by PID when its test ends.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def cpppo_bin() -> str:
    """Path of our `cpppo` binary (CPPPO_BIN, else the release build)."""
    return os.environ.get("CPPPO_BIN", str(ROOT / "target" / "release" / "cpppo"))


# Ready lines naming the bound address: our servers are started on port 0 and tell where they
# are (a port picked free, released and bound later may be taken in between on a busy machine).
ENIP_READY = (r"Success; Started EtherNet/IP Simulator; PID = (?P<pid>\d+); "
              r"address = (?P<host>[\d.]+):(?P<port>\d+)")
MODBUS_READY = (r"Success; Started Modbus/TCP Simulator; PID = (?P<pid>\d+); "
                r"address = (?P<host>[\d.]+):(?P<port>\d+)")
WEB_READY = r"Web API and live page on http://(?P<host>[\d.]+):(?P<port>\d+)/"
# The Python cpppo's enip_server with -A (its TCP listener; it binds UDP separately).
CPPPO_READY = r"Network TCP Server address = \('(?P<host>[\d.]+)', (?P<port>\d+)\)"


def _free_port() -> int:
    """A port free right now. Only for third-party servers that cannot report the port they
    bound: see `start_on_free_port`, which retries when the port is taken meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_on_free_port(spawn, command, ready: str, attempts: int = 5, timeout: float = 20.0):
    """Start a third-party server that binds the port it is given (`command(port)`, a list)
    and prints `ready` once bound; if it exits first (the port was taken between picking and
    binding), start it again on a fresh port, `attempts` times at most. (proc, port)."""
    for _ in range(attempts):
        port = _free_port()
        proc = spawn(command(port))
        try:
            proc.wait_output(ready, timeout)
            return proc, port
        except TimeoutError:
            if proc.p.poll() is None:
                raise  # running but never ready: not a port clash
            proc.close()
    raise RuntimeError(f"{command(0)[0]}: no port could be bound in {attempts} attempts")


def cpppo_enip_server(spawn, *args, program=None, udp: bool = True):
    """The Python cpppo's EtherNet/IP simulator (`program`, default `enip_server`, then
    `-A -a 127.0.0.1:PORT ARGS`): TCP and, with `udp`, UDP on one port (port 0 would put them
    on two, so a free port is used and the start retried if it is taken meanwhile).
    (proc, port)."""
    ready = r"Network UDP Server address" if udp else CPPPO_READY
    udp_args = [] if udp else ["--no-udp"]
    program = program or [venv_tool("enip_server")]

    def command(port):
        return [*program, "-A", *udp_args, "-a", f"127.0.0.1:{port}", *args]
    return start_on_free_port(spawn, command, ready)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (for tests of refused connections): bound
    and left unlistened by a socket kept open for the whole run, so nobody else gets it."""
    global _CLOSED
    if _CLOSED is None:
        _CLOSED = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        _CLOSED.bind(("127.0.0.1", 0))
    return _CLOSED.getsockname()[1]


_CLOSED = None


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Proc:
    """A child process with its output captured to a file, killed by PID on close."""

    def __init__(self, args, log_path: Path, env=None):
        self.args = [str(a) for a in args]
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(
            self.args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_output(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """Wait until the process output matches `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output())
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f"{self.args}: no {pattern!r} in output:\n{self.output()}")

    def port(self, pattern: str = ENIP_READY, timeout: float = 10.0) -> int:
        """The port a server started on port 0 reports (group `port` of `pattern`)."""
        return int(self.wait_output(pattern, timeout).group("port"))

    def close(self) -> int:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.log.close()
        return self.p.returncode


@pytest.fixture
def spawn(tmp_path):
    """spawn(args) starts a process (output in tmp_path); all are killed at test end."""
    procs = []

    def start(args, env=None) -> Proc:
        proc = Proc(args, tmp_path / f"proc{len(procs)}.log", env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.close()


PYMODBUS_READY = r"pymodbus listening on port (?P<port>\d+)"


def pymodbus_server(spawn, port: int = 0):
    """A pymodbus server (interop/pymodbus_server.py: holding registers 40001.. = 1000,
    1001, ...; coils alternate) on 127.0.0.1:`port` (0: of its choosing): (process, port)."""
    proc = spawn([sys.executable, ROOT / "interop" / "pymodbus_server.py", str(port)])
    return proc, proc.port(PYMODBUS_READY)


def tshark_fields(pcap, display_filter: str, *fields: str) -> list:
    """The frames of `pcap` that tshark shows through `display_filter`, each a list of the
    `fields`' values ("" where a frame has none)."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields",
                          *[x for f in fields for x in ("-e", f)], "-E", "separator=|"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines() if line]


@pytest.fixture
def pty_pair(spawn, tmp_path):
    """A pseudo-terminal pair from socat, (one end, the other end): a serial line between a
    simulator and a client (also the Python binding's tests' fixture)."""
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    spawn(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"])
    deadline = time.monotonic() + 10
    while not (a.exists() and b.exists()):
        assert time.monotonic() < deadline, "socat made no pseudo-terminals"
        time.sleep(0.05)
    return a, b


@pytest.fixture
def netns(request):
    """A fresh network namespace (loopback up) for one test, deleted afterwards; the test is
    skipped where namespaces or TAP devices cannot be made (not root, no iproute2, no tun)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (namespaces, TAP devices)")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun")
    tag = re.sub(r"[^a-z0-9]", "", request.module.__name__.lower().replace("test_", ""))[:12]
    name = f"cpppo-{tag}-{os.getpid()}"
    ip = ["ip", "netns"]
    try:
        subprocess.run([*ip, "add", name], check=True, capture_output=True, timeout=20)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True,
                       capture_output=True, timeout=20)
    except subprocess.CalledProcessError as e:
        subprocess.run([*ip, "del", name], capture_output=True, timeout=20)
        pytest.skip(f"cannot create a network namespace: {e.stderr!r}")
    try:
        yield name
    finally:
        subprocess.run([*ip, "del", name], capture_output=True, timeout=20)


def venv_tool(name: str) -> str:
    """Path of a console script installed in the test venv (enip_server, pytest, ...)."""
    return str(VENV_BIN / name)
