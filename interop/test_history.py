"""`cpppo enip historize` and `cpppo enip server --replay` against real clients (pycomm3), the
Python cpppo 5.2.5 history reader, and our `cpppo history cat`."""
import json
import os
import signal
import subprocess
import time
import warnings

from pycomm3 import LogixDriver

from conftest import ENIP_READY, cpppo_bin, cpppo_enip_server, venv_tool



def python_cpppo_records(path):
    """[(seconds, serial, payload)] of a history file, read by the Python cpppo's reader."""
    warnings.simplefilter("ignore")
    from cpppo.history.files import opener, parse_record

    out = []
    with opener(str(path)) as fd:
        n = -1
        while True:
            try:
                n, (ts, sn, js) = parse_record(fd, n=n)
            except (StopIteration, RuntimeError):
                break
            serial = json.loads(sn) if isinstance(sn, str) else sn
            out.append((ts.value, serial, json.loads(js)))
    return out


def historize(spawn, path, *tags):
    proc = spawn([cpppo_bin(), "enip", "historize", "--no-config", "-a", "127.0.0.1:0",
                  path, *tags])
    return proc, proc.port(ENIP_READY)


def test_acknowledged_writes_survive_sigkill(spawn, tmp_path):
    """Every write pycomm3 saw acknowledged is in the file although the simulator is killed
    with SIGKILL the moment the last acknowledgement arrives (no shutdown, no flush)."""
    path = tmp_path / "plant.hst"
    proc, port = historize(spawn, path, "SCADA=INT[100]", "FLOAT=REAL")
    acknowledged = []
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        for i in range(200):  # bounded: 200 writes
            tag, value = (f"SCADA[{i % 100}]", i) if i % 4 else ("FLOAT", i + 0.5)
            assert plc.write(tag, value).error is None
            acknowledged.append((tag, value))
        os.kill(proc.p.pid, signal.SIGKILL)
    proc.p.wait(5)
    assert proc.p.returncode == -signal.SIGKILL

    writes = [(s, p["write"]) for _, s, p in python_cpppo_records(path) if "write" in p]
    expected = []
    for tag, value in acknowledged:
        if tag == "FLOAT":
            expected.append((["FLOAT", [0, 0]], [value]))
        else:
            n = int(tag[6:-1])
            expected.append((["SCADA", [n, n]], [value]))
    assert writes == expected


def test_historize_file_is_read_by_python_cpppo_and_history_cat(spawn, tmp_path):
    path = tmp_path / "tags.hst"
    proc, port = historize(spawn, path, "Tag_Name=INT[1000]", "TEXT=SSTRING[10]")
    before = time.time()
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write("Tag_Name{4}", [0, 1, 2, 3]).error is None
        assert plc.read("Tag_Name{3}").value == [0, 1, 2]
        assert plc.write("TEXT", "hello").error is None
    after = time.time()
    proc.close()  # SIGTERM

    text = path.read_text()
    assert "# " in text and "Started recording Tag: Tag_Name" in text
    assert '\t["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 3]}\n' in text
    assert '\t["Tag_Name", [0, 2]]\t{"read": [0, 1, 2]}\n' in text

    records = python_cpppo_records(path)
    ours = [(s, p) for t, s, p in records if before - 1 <= t <= after + 1]
    assert (["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]}) in ours
    assert (["Tag_Name", [0, 2]], {"read": [0, 1, 2]}) in ours
    assert (["TEXT", [0, 0]], {"write": ["hello"]}) in ours

    cat = subprocess.run([cpppo_bin(), "history", "cat", str(path)], capture_output=True,
                         text=True, timeout=30)
    assert cat.returncode == 0, cat.stderr
    lines = [l for l in cat.stdout.splitlines() if l.strip()]
    assert len(lines) == len(records)
    assert any(l.endswith('["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 3]}') for l in lines)


def write_history(path, records):
    """A history file written by the Python cpppo's logger: (seconds since t0, serial, payload)."""
    warnings.simplefilter("ignore")
    from cpppo.history.files import logger

    t0 = 1_700_000_000.0
    with logger(str(path)) as log:
        log.comment("replay test, written by the Python cpppo")
        for dt, serial, payload in records:
            log.write(payload, now=t0 + dt, serial=serial)


# Replay timing tolerance: each value must appear within this many seconds of its due time
# (measured between two appearances seen by a polling client, so polling latency counts
# twice).
TOLERANCE = 0.08


def test_replay_at_10x_drives_tag_values_on_time(spawn, tmp_path):
    """Values recorded 2 s apart appear 0.2 s apart at --speed 10, read by pycomm3."""
    path = tmp_path / "replay.hst"
    records = [(0.0, ["SCADA", [0, 0]], {"write": [1]})]
    # After a 10 s (1 s at 10x) pause for the client to connect: one value every 2 s.
    records += [(10.0 + 2.0 * k, ["SCADA", [0, 1]], {"write": [k + 2, 100 + k]})
                for k in range(10)]
    records.insert(2, (11.0, ["SCADA", [5, 5]], {"read": [0]}))  # reads are not replayed
    write_history(path, records)
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--replay", path, "--speed", "10", "SCADA=INT[10]"])
    port = proc.port(ENIP_READY)
    seen = {}
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        deadline = time.monotonic() + 10  # bounded: the replay takes ~2.9 s
        while time.monotonic() < deadline and 11 not in seen:
            r = plc.read("SCADA{2}")
            assert r.error is None
            now = time.monotonic()
            value, other = r.value
            if value not in seen:
                seen[value] = now
                if value >= 2:
                    assert other == 100 + value - 2  # both elements of one write together
            time.sleep(0.005)
    assert set(range(2, 12)) <= set(seen), seen
    base = seen[2]
    for v in range(3, 12):
        expected = (v - 2) * 0.2
        assert abs((seen[v] - base) - expected) <= TOLERANCE, (v, seen[v] - base, expected)


def test_replay_loops_and_refuses_bad_options(spawn, tmp_path):
    path = tmp_path / "loop.hst"
    write_history(path, [(0.0, ["FLAG", [0, 0]], {"write": [1]}),
                         (1.0, ["FLAG", [0, 0]], {"write": [2]}),
                         (2.0, ["FLAG", [0, 0]], {"write": [3]})])
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--replay", path, "--speed", "10", "--loop", "FLAG=DINT"])
    port = proc.port(ENIP_READY)
    values = []
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        deadline = time.monotonic() + 2.0  # bounded; a pass takes 0.3 s
        while time.monotonic() < deadline:
            v = plc.read("FLAG").value
            if not values or values[-1] != v:
                values.append(v)
            time.sleep(0.01)
    # 1 -> 2 -> 3 -> 1 ... : the history started over at least once.
    assert any(a == 3 and b == 1 for a, b in zip(values, values[1:])), values

    for bad in (["--speed", "0"], ["--speed", "nan"]):
        r = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", "-a",
                            "127.0.0.1:0", "--replay", str(path), *bad, "FLAG=DINT"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "--speed" in r.stderr, r.stderr
    r = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", "-a",
                        "127.0.0.1:0", "--replay", str(tmp_path / "absent.hst"),
                        "FLAG=DINT"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "absent.hst" in r.stderr, r.stderr


def test_python_cpppo_historize_loses_what_ours_keeps(spawn, tmp_path):
    """Control: the same 20 acknowledged writes by the Python cpppo's own enip_client, then
    SIGKILL. The Python cpppo's historize loses them (its file buffer is never written); ours
    has every one."""
    writes = [f"SCADA[{i}]=(INT){i}" for i in range(1, 21)]
    found = {}
    for who in ("python", "ours"):
        path = tmp_path / f"{who}.hst"
        if who == "python":
            historize_py = [venv_tool("python"), "-m", "cpppo.server.enip.historize", str(path)]
            proc, port = cpppo_enip_server(spawn, "SCADA=INT[100]", program=historize_py)
        else:
            proc, port = historize(spawn, path, "SCADA=INT[100]")
        client = subprocess.run([venv_tool("enip_client"), "-p", "-a", f"127.0.0.1:{port}",
                                 *writes], capture_output=True, text=True, timeout=60)
        os.kill(proc.p.pid, signal.SIGKILL)
        proc.p.wait(5)
        assert client.stdout.count("'OK'") == 20, client.stdout + client.stderr
        found[who] = [p["write"] for _, _, p in python_cpppo_records(path) if "write" in p]
    assert found["ours"] == [[i] for i in range(1, 21)]
    assert len(found["python"]) < 20  # in practice none


def test_historize_refuses_a_compressed_or_unwritable_file(tmp_path):
    for path, why in ((tmp_path / "x.hst.gz", ".gz"), ("/proc/no/such.hst", "/proc/no/such.hst")):
        r = subprocess.run([cpppo_bin(), "enip", "historize", "--no-config", "-a",
                            "127.0.0.1:0", str(path), "SCADA=INT"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and why in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
