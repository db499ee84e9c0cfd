"""Helpers for the fidelity tests (issue 17): start our simulator and cpppo 5.2.5's on port 0
and learn their bound ports, and run command-line tools bounded in time."""
import os
import re
import subprocess
import time

from conftest import cpppo_bin, venv_tool

READY = r"Success; Started EtherNet/IP Simulator; PID = \d+; address = (\S+)"


def run(cmd, timeout=60, ok=True, **kw):
    """Run a command (bounded in time); return its CompletedProcess (text)."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if ok:
        assert p.returncode == 0, f"{cmd}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def ours(*args, **kw):
    """Run our `cpppo` binary with `args`."""
    return run([cpppo_bin(), *args], **kw)


def python(*args, **kw):
    """Run the venv's python (cpppo 5.2.5 modules: `-m cpppo.server.enip.poll ...`)."""
    return run([venv_tool("python"), *args], **kw)


def start_ours(spawn, *args):
    """Start our simulator on 127.0.0.1:0 (plus `args`); return (proc, "127.0.0.1:PORT")."""
    proc = spawn([cpppo_bin(), "enip", "server", "-a", "127.0.0.1:0", *args])
    return proc, proc.wait_output(READY).group(1)


def _socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    return inodes


def listening_port(pid, proto="tcp", timeout=15.0):
    """The TCP (listening) or UDP port process `pid` has bound (found through /proc, bounded
    in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inodes = _socket_inodes(pid)
        with open(f"/proc/{pid}/net/{proto}") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                # TCP: state 0A is LISTEN; UDP: 07 is an unconnected socket.
                if cols[3] == ("0A" if proto == "tcp" else "07") and cols[9] in inodes:
                    return int(cols[1].split(":")[1], 16)
        time.sleep(0.1)
    raise TimeoutError(f"process {pid} has no {proto} port after {timeout}s")


def start_cpppo(spawn, *args):
    """Start cpppo 5.2.5's simulator on 127.0.0.1:0 (plus `args`); return (proc, address)."""
    proc = spawn([venv_tool("enip_server"), "-a", "127.0.0.1:0", *args])
    return proc, f"127.0.0.1:{listening_port(proc.p.pid)}"
