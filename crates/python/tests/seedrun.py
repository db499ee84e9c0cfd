"""Run the seed's example scripts (tests/examples: the seed's text with import lines changed only)
as written: they talk to localhost:44818, so each runs inside a fresh network namespace where that
address is free, with a simulator (ours, or cpppo 5.2.5's enip_server) listening there."""
import os
import subprocess
import sys
from pathlib import Path

import conftest

interop = conftest.interop
EXAMPLES = Path(__file__).resolve().parent / "examples"
ADDRESS = "127.0.0.1:44818"
# The scripts print to a pipe here; unbuffered so a test sees each line as it is printed.
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def in_ns(ns, *args):
    """The command line running `args` inside namespace `ns`."""
    return ["ip", "netns", "exec", ns, *map(str, args)]


def server(spawn, ns, kind, *args):
    """Start our simulator ("ours") or cpppo 5.2.5's ("cpppo") on 127.0.0.1:44818 inside `ns`,
    serving `args` (tags, or our `--profile`); returns the process once it listens."""
    if kind == "ours":
        proc = spawn(in_ns(ns, interop.cpppo_bin(), "enip", "server", "-a", ADDRESS, *args))
        proc.wait_output(interop.ENIP_READY, timeout=20)
    else:
        proc = spawn(in_ns(ns, interop.venv_tool("enip_server"), "-A", "--no-udp", "-a", ADDRESS,
                           *args))
        proc.wait_output(interop.CPPPO_READY, timeout=20)
    return proc


def example(ns, name, *args, timeout=60):
    """Run example script `name` to completion inside `ns` (a CompletedProcess, text output)."""
    return subprocess.run(in_ns(ns, sys.executable, EXAMPLES / name, *args), capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def python(ns, code, timeout=30):
    """Run Python `code` inside `ns`; its stdout (it must exit 0)."""
    done = subprocess.run(in_ns(ns, sys.executable, "-c", code), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def set_velocity(ns, value):
    """Write the simulated PowerFlex's Motor Velocity at localhost:44818 inside `ns`."""
    python(ns, "from cpppo_rs.enip.ab import powerflex_750_series as d\n"
               "with d(host='127.0.0.1', port=44818) as via:\n"
               "    assert list(via.write(via.parameter_substitution("
               "'Motor Velocity = (REAL)%s'), checking=True)) == [True]\n" % value)
