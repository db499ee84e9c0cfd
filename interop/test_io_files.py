"""Class 1 I/O set up from files: assemblies and `[I/O]` options in cpppo.cfg, and the EDS file
`cpppo enip server --eds` writes (checked by a small reader here and by the `eds_pie` parser
from PyPI, in .venv-io). Scanner: ours (`cpppo enip io`) on loopback, its UDP port announced
in a T->O sockaddr item."""
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ENIP_READY, ROOT, cpppo_bin
from test_io_scanner import piped  # noqa: F401 (the fixture)
from test_io_web import IO_READY

VENV_IO_PYTHON = ROOT / ".venv-io" / "bin" / "python"

CONFIG = """\
[Identity]
Vendor Number = 1337
Product Code Number = 77
Product Revision = 3.4
Product Name = cpppo I/O test

[Tags]
Inputs@4/100/3  = SINT[8]
Outputs@4/150/3 = INT[2]
Config@4/1/3    = SINT[4]

[I/O]
Address = 127.0.0.1:0
RPI = 5-100
Connections = 1
"""


@pytest.fixture
def server(spawn, tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text(CONFIG)
    eds = tmp_path / "sim.eds"
    srv = spawn([cpppo_bin(), "enip", "server", "--config", cfg, "-v", "-a", "127.0.0.1:0",
                 "--eds", eds])
    tcp = srv.port(ENIP_READY)
    io = srv.port(IO_READY)
    return srv, tcp, io, eds


def scanner(piped, tcp, io, *extra):
    return piped([cpppo_bin(), "enip", "io", "-a", f"127.0.0.1:{tcp}", "--io-port", str(io),
                  "--bind", "127.0.0.1:0", "--input", "100:8", *extra])


def test_config_file_assemblies_and_io_options(server, piped):
    srv, tcp, io, _ = server
    # [Tags] are served: an owner of the 4-byte output (INT[2]) exchanges data.
    owner = scanner(piped, tcp, io, "--output", "150:4", "--rpi", "10", "--json", "1,2,3,4")
    owner.wait(r'"event":"opened"')
    deadline = time.monotonic() + 10
    while True:
        out = subprocess.run([cpppo_bin(), "enip", "client", "-a", f"127.0.0.1:{tcp}",
                              "--json", "Outputs[0-1]"], capture_output=True, text=True,
                             timeout=20)
        value = json.loads(out.stdout)["value"]
        if value == [0x0201, 0x0403] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert value == [0x0201, 0x0403], out
    # [I/O] RPI = 5-100 ms: 200 ms is refused with 0x0111.
    slow = scanner(piped, tcp, io, "--input-only", "--rpi", "200")
    slow.wait(r"Forward Open refused: Status 1 \[273, .*\]: RPI not supported: the adapter "
              r"accepts 5\.000-100\.000 ms", 15)
    # [I/O] Connections = 1: a second connection is refused (0x0113).
    second = scanner(piped, tcp, io, "--input-only", "--rpi", "10")
    second.wait(r"Forward Open refused: Status 1 \[275\]: out of connections", 15)


def fields(value: str) -> list:
    """An entry's comma-separated fields, quoted strings unquoted."""
    out, cur, quoted = [], "", False
    for ch in value:
        if ch == '"':
            quoted = not quoted
            cur += ch
        elif ch == "," and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [f[1:-1] if len(f) > 1 and f[0] == f[-1] == '"' else f for f in out]


def read_eds(text: str) -> dict:
    """A small EDS reader: {section: {key: [fields]}} (`$` comments, entries end with `;`)."""
    sections, current = {}, None
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("$"))
    for m in re.finditer(r'\[([^\]]+)\]|(\w+)\s*=\s*((?:"[^"]*"|[^;"])*);', body):
        if m.group(1):
            current = sections.setdefault(m.group(1), {})
        else:
            current[m.group(2)] = fields(m.group(3))
    return sections


def test_eds_describes_the_configured_assemblies(server):
    srv, *_, eds = server
    srv.wait_output(r"wrote EDS file")
    s = read_eds(eds.read_text())
    assert {"File", "Device", "Device Classification", "Params", "Assembly",
            "Connection Manager"} <= set(s)
    dev = s["Device"]
    assert (dev["VendCode"], dev["ProdCode"], dev["MajRev"], dev["MinRev"]) == (
        ["1337"], ["77"], ["3"], ["4"])
    assert dev["ProdName"] == ["cpppo I/O test"]
    asm = s["Assembly"]
    assert asm["Assem100"][:3] == ["Inputs", "20 04 24 64 30 03", "8"]
    assert asm["Assem150"][:3] == ["Outputs", "20 04 24 96 30 03", "4"]
    assert asm["Assem1"][:3] == ["Config", "20 04 24 01 30 03", "4"]
    assert s["Params"]["Param1"][9:11] == ["5000", "100000"], "the RPI range, microseconds"
    cm = s["Connection Manager"]
    eo, io, lo = cm["Connection1"], cm["Connection2"], cm["Connection3"]
    assert eo[:2] == ["0x04010002", "0x44640405"]
    assert eo[2:8] == ["Param1", "4", "Assem150", "Param1", "8", "Assem100"]
    assert eo[10:12] == ["4", "Assem1"]
    assert eo[12] == "Exclusive Owner" and eo[-1] == "20 04 24 01 2C 96 2C 64"
    assert io[12] == "Input Only" and io[-1] == "20 04 24 01 2C EE 2C 64"
    assert lo[12] == "Listen Only" and lo[-1] == "20 04 24 01 2C ED 2C 64"


EDS_PIE = """
import logging
import sys
logging.basicConfig(level=logging.WARNING, format="LOG %(levelname)s %(message)s")
from eds_pie.eds_pie import CIP_EDS
eds = CIP_EDS(open(sys.argv[1]).read())
for section, key in [("Device", "VendCode"), ("Device", "ProdName"), ("Assembly", "Assem150"),
                     ("Connection Manager", "Connection1"), ("Params", "Param1")]:
    entry = eds.get_entry(section, key)
    print(section, key, "=", [str(f.value) for f in entry.fields])
"""


@pytest.mark.skipif(not VENV_IO_PYTHON.exists(), reason="needs .venv-io (scripts/setup)")
def test_eds_parses_with_eds_pie(server, tmp_path):
    srv, *_, eds = server
    srv.wait_output(r"wrote EDS file")
    script = tmp_path / "eds_pie_check.py"
    script.write_text(EDS_PIE)
    out = subprocess.run([str(VENV_IO_PYTHON), str(script), str(eds)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    print(out.stdout, out.stderr)
    assert "LOG ERROR" not in out.stderr and "LOG WARNING" not in out.stderr, out.stderr
    assert "Device VendCode = ['1337']" in out.stdout
    assert "cpppo I/O test" in out.stdout
    assert re.search(r"Assembly Assem150 = \['Outputs', .*'4'", out.stdout)
    assert "Connection Manager Connection1" in out.stdout
