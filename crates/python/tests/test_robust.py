"""Robustness, each in its own interpreter so a crash could not hide: Ctrl-C (SIGINT) ends a
blocking call at once with KeyboardInterrupt; bad input of every kind raises the documented
exception with a clear message and the interpreter carries on."""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest


# A TCP listener that never accepts: connects complete (backlog), requests never get a reply.
SILENT = """
import socket
silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(8)
host, port = silent.getsockname()
"""


def interrupt(body, settle=0.3):
    """Runs `body` in a child Python that prints "ready" before blocking; sends it SIGINT
    `settle` s after "ready"; returns (seconds from SIGINT to exit, stderr)."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(body)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()  # bounded: the child prints ready at once or dies
        assert line.strip() == "ready", child.stderr.read()
        time.sleep(settle)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        child.wait(timeout=10)
        return time.monotonic() - sent, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)


def test_sigint_interrupts_a_connect_waiting_forever_for_its_session():
    took, err = interrupt(SILENT + """
from cpppo_rs.enip import client
print("ready", flush=True)
client.connector(host, port, timeout=None)
""")
    assert "KeyboardInterrupt" in err and took < 2.0


def test_sigint_interrupts_a_pipeline_waiting_on_a_slow_simulator():
    took, err = interrupt("""
from cpppo_rs.enip import Simulator, client
sim = Simulator(tags=["SCADA=INT[10]"], delay=(1.0, 1.0))    # every reply is 1 s late
with client.connector(*sim.address, timeout=None) as c:
    print("ready", flush=True)
    list(c.pipeline(["SCADA[0-9]"] * 100, depth=1))          # 100 s of replies
""")
    assert "KeyboardInterrupt" in err and took < 2.0



def test_sigint_interrupts_a_broadcast_list_identity_collecting_for_a_minute():
    took, err = interrupt("""
import socket
from cpppo_rs.enip import client
quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); quiet.bind(("127.0.0.1", 0))
with client.connector(*quiet.getsockname(), udp=True, broadcast=True, timeout=60.0) as c:
    print("ready", flush=True)
    c.list_identity()   # collects replies for 60 s
""")
    assert "KeyboardInterrupt" in err and took < 2.0

def test_sigint_interrupts_a_player_waiting_for_its_next_record(tmp_path):
    path = tmp_path / "slow.hst"
    path.write_text("2024-01-01 00:00:00.000\t1\t{}\n2024-01-01 01:00:00.000\t1\t{}\n")
    took, err = interrupt(f"""
from cpppo_rs.history import player
p = player([{str(path)!r}], speed=1.0)
next(p)
print("ready", flush=True)
next(p)   # an hour away
""")
    assert "KeyboardInterrupt" in err and took < 2.0


BAD_INPUT = r'''
import gzip, json, os, socket, sys, tempfile, threading
import cpppo_rs
from cpppo_rs import errors, automata
from cpppo_rs.enip import Simulator, client
from cpppo_rs.history import reader, timestamp

def case(name, exc, call, says=None):
    try:
        call()
    except exc as e:
        assert isinstance(e, (cpppo_rs.Error, TypeError, ValueError)), (name, type(e))
        assert says is None or says in str(e), (name, str(e))
        print("ok", name, type(e).__name__, "|", str(e).splitlines()[0][:100], flush=True)
        return
    except BaseException as e:
        print("WRONG", name, type(e).__name__, e, flush=True)
        return
    print("WRONG", name, "no exception", flush=True)

tmp = tempfile.mkdtemp()
def file(name, data):
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    return p

def server(reply):
    """A TCP server answering each connection with `reply` bytes (b"": close at once)."""
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
    def serve():
        while True:
            c, _ = s.accept()
            c.recv(4096)
            if reply:
                c.sendall(reply)
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    return s.getsockname()

sim = Simulator(tags=["SCADA=INT[10]"])
conn = client.connector(*sim.address)
# wrong types
case("connector port type", TypeError, lambda: client.connector("127.0.0.1", "x"))
case("read type", TypeError, lambda: conn.read(5))
case("operations not a list", ValueError, lambda: client.parse_operations("SCADA[0]"))
case("operation type", errors.OperationError, lambda: client.parse_operations([3.5]), "not float")
case("simulator tags type", TypeError, lambda: Simulator(tags=5))
case("timeout", ValueError, lambda: client.connector(*sim.address, timeout=-1))
# bad operation text
case("operation text", errors.OperationError, lambda: conn.read("SCADA[1-"), "SCADA[1-")
case("write value", errors.OperationError, lambda: conn.write("SCADA[0]=(INT)x"))
case("unknown tag", errors.StatusError, lambda: conn.read("NOSUCH"), "NOSUCH")
# closed and broken sockets
conn.close()
case("closed connector", errors.CommunicationError, lambda: conn.read("SCADA[0]"), "closed")
case("peer closes at once", errors.CommunicationError,
     lambda: client.connector(*server(b""), timeout=2.0))
case("peer sends garbage", errors.CommunicationError,
     lambda: client.connector(*server(os.urandom(64) + b"\xff" * 64), timeout=2.0))
sim.stop()
case("stopped simulator", errors.CommunicationError, lambda: client.connector(*sim.address, timeout=2.0))
# bad timestamps
case("time text", errors.TimestampError, lambda: timestamp("2014-02-30 00:00:00"), "2014-02-30")
case("time zone", errors.TimestampError, lambda: timestamp("2014-02-03 00:00:00 XYZT"), "XYZT")
case("time digits", errors.TimestampError, lambda: timestamp(0).render(ms=9))
case("time type", errors.TimestampError, lambda: timestamp(object()))
# bad history files
def read(p, **kw):
    return list(reader([p], **kw))
case("missing file", errors.HistoryError, lambda: read(os.path.join(tmp, "none.hst")), "none.hst")
case("a directory", errors.HistoryError, lambda: read(tmp), "is a directory")
case("binary garbage", errors.HistoryError,
     lambda: read(file("bin.hst", os.urandom(4096)), strict=True))
case("not utf-8", errors.HistoryError,
     lambda: read(file("latin.hst", b"2024-01-01 00:00:00\t1\t\"\xe9\"\n"), strict=True), "UTF-8")
case("fake gzip", errors.HistoryError,
     lambda: read(file("fake.hst.gz", b"not gzip at all\n"), strict=True))
case("bad payload", errors.HistoryError,
     lambda: read(file("js.hst", b"2024-01-01 00:00:00\t1\t{nope\n"), strict=True), "JSON")
# bad machines and input
S = automata.state("S")
case("bad symbol key", errors.AutomataError, lambda: S.__setitem__(300, S), "not 300")
case("bad regex", errors.AutomataError, lambda: automata.regex(initial="a(b"))
case("bad source symbol", TypeError,
     lambda: list(automata.regex(initial="a+").run(source=[b"a"])))
case("unaccepted input", errors.AutomataError,
     lambda: list(automata.regex(initial="ab").run(source="ax")), "offset 1")
print("survived", flush=True)
'''


def test_bad_input_raises_documented_errors_and_never_crashes_the_interpreter():
    done = subprocess.run([sys.executable, "-c", BAD_INPUT], capture_output=True, text=True,
                          timeout=120)
    out = done.stdout
    assert done.returncode == 0, (done.returncode, out, done.stderr)
    assert "WRONG" not in out, out
    cases = BAD_INPUT.count("\ncase(")
    assert out.count("ok ") == cases and out.endswith("survived\n"), out


def test_the_readmes_python_example_runs():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Python", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[11, 22, 33]"


@pytest.mark.parametrize("which", ["ours", "cpppo 5.2.5"])
def test_a_cip_status_error_carries_status_and_extended_status(which, sim, cpppo_server):
    from cpppo_rs.enip import client
    from cpppo_rs.errors import StatusError
    address = sim.address if which == "ours" else ("127.0.0.1", cpppo_server)
    with client.connector(*address, timeout=5.0) as conn:
        with pytest.raises(StatusError) as e:
            conn.read("SCADA[998-1001]")     # past the end of INT[1000]
        assert (e.value.status, e.value.extended_status) == (0xFF, [0x2105]), which
        assert "SCADA" in str(e.value)
        with pytest.raises(StatusError) as e:
            conn.write("SCADA[0]=(REAL)1.5")  # the wrong type
        assert e.value.status == 0xFF and e.value.extended_status == [0x2107], which
        assert conn.read("SCADA[0]") == [0]   # the session goes on
