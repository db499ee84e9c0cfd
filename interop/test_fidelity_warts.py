"""Issue 17 item 11: warts a migrating cpppo user meets: colours in piped logs, a repeated cause
in "connection refused", a malformed Route key accepted silently, `--send-path xyz` accepted."""
import re
import socket

import pytest

from fidelity_util import ours, start_ours


def test_no_ansi_colours_when_stderr_is_not_a_terminal(spawn):
    proc, _ = start_ours(spawn, "--no-config", "-w", "0.0.0.0:0", "SCADA=INT[10]")
    proc.wait_output(r"without --web-token")
    assert "\x1b[" not in proc.output()


@pytest.fixture
def refusing_port():
    """A loopback port bound (so nothing else takes it) but not listening: connections are refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


@pytest.mark.parametrize("verb", [["client", "SCADA[0]"], ["get-attribute", "@1/1/7"],
                                  ["list-services"], ["thruput", "SCADA[0]"]])
def test_connection_refused_names_its_cause_once(refusing_port, verb):
    p = ours("enip", verb[0], "-a", f"127.0.0.1:{refusing_port}", *verb[1:], ok=False)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].lower().count("connection refused") == 1, p.stderr


def test_malformed_route_key_is_refused_at_start_up(tmp_path):
    cfg = tmp_path / "cpppo.cfg"
    cfg.write_text('[UCMM]\nRoute = {"1/x": "127.0.0.1:44818"}\n')
    p = ours("enip", "server", "-a", "127.0.0.1:0", "-c", cfg, "SCADA=INT[10]", ok=False,
             timeout=30)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and '"1/x"' in lines[0] and "IPv4" in lines[0], p.stderr


@pytest.mark.parametrize("verb", [["client", "SCADA[0]"], ["get-attribute", "@1/1/7"]])
def test_symbolic_send_path_is_refused(spawn, verb):
    _, address = start_ours(spawn, "--no-config", "SCADA=INT[10]")
    p = ours("enip", verb[0], "-a", address, "--send-path", "xyz", *verb[1:], ok=False)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "xyz" in lines[0], p.stderr
    # The default and cpppo's spellings still work.
    ours("enip", verb[0], "-a", address, "--send-path", "@6/1", *verb[1:])
    ours("enip", verb[0], "-a", address, "--send-path", "", "--route-path", "false", *verb[1:])


def test_get_attribute_failure_shows_the_cip_status(spawn):
    # Issue 17 item 7: as `client` lines do (`== None: 'Status 5 [0]'`).
    _, address = start_ours(spawn, "--no-config", "SCADA=INT[10]")
    p = ours("enip", "get-attribute", "-a", address, "@0xF5/9/9", "@1/1/7", ok=False)
    assert p.returncode == 1
    failed, good = p.stdout.strip().splitlines()
    # 0x16: object does not exist.
    assert re.search(r"@0x00F5/9/9 == None: 'Status 22 ?'$", failed), failed
    assert good.endswith("== [20, 49, 55, 53, 54, 45, 76, 54, 49, 47, 66, 32, 76, 79, 71, 73, 88, "
                         "53, 53, 54, 49]"), good
    assert "returned non-zero status: Status 22" in p.stderr
