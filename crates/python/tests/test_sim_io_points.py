"""A Simulator started from Python takes the I/O heartbeat points as the CLI does
(``input_only_point=``, ``listen_only_point=``: ``--input-only-point``, ``--listen-only-point``,
winning over cpppo.cfg's ``[I/O]``): our scanner (``cpppo enip io``) opens an Input Only
connection at that point and receives the inputs Python wrote; the default point is refused.
All on loopback: the adapter serves I/O on a UDP port of its choosing, the scanner binds port 0
and names it in its Forward Open."""
import json
import subprocess

import pytest

from conftest import interop
from cpppo_rs.enip import Simulator

TAGS = ["Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"]


def scanner_args(sim, *extra):
    host, port = sim.address
    _, io_port = sim.io_address
    return [interop.cpppo_bin(), "enip", "io", "-a", f"{host}:{port}", "--io-port", str(io_port),
            "--bind", "127.0.0.1:0", "--input", "100:8", "--input-only", "--rpi", "20", *extra]


def refused(sim, *extra):
    """A scanner the adapter refuses for good: its one refusal line (it exits 1)."""
    out = subprocess.run(scanner_args(sim, *extra), capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if "refused" in line]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_input_only_at_the_point_python_gave(spawn, tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text("[I/O]\nInput Only Point = 254\n")
    with Simulator(tags=TAGS, io="127.0.0.1:0", config=cfg, input_only_point=199) as sim:
        sim.write("Inputs", [3, 1, 4, 1, 5, 9, 2, 6])
        scanner = spawn(scanner_args(sim, "--input-only-point", "199", "--json"))
        opened = json.loads(scanner.wait_output(r'\{"event":"opened".*\}', 20).group(0))
        assert opened["o_t_id"] != 0
        scanner.wait_output(r'"data":\[3,1,4,1,5,9,2,6\]', 20)
        sim.write("Inputs", [-1, 0, 0, 0, 0, 0, 0, 7])
        scanner.wait_output(r'"data":\[255,0,0,0,0,0,0,7\]', 20)
        # The default point and the config's (the keyword won) name no assembly here: 0x0117.
        for point in ([], ["--input-only-point", "254"]):
            line = refused(sim, *point)
            assert line.startswith("Forward Open refused: Status 1 [279]: invalid produced"), line


@pytest.mark.parametrize("value", [0, -1, 2**32, "199", 199.0, True])
def test_a_bad_heartbeat_point_is_a_value_error(value):
    for keyword in ("input_only_point", "listen_only_point"):
        with pytest.raises(ValueError) as e:
            Simulator(tags=TAGS, io="127.0.0.1:0", **{keyword: value})
        assert str(e.value) == f"{keyword}={value!r}: not an instance number 1..4294967295"
