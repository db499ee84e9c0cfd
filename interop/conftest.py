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


def free_port(kind=socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that is free right now (for TCP and, usually, UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
