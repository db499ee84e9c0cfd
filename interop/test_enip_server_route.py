"""Routing: a simulator with a `Route` map forwards Unconnected Sends to other simulators."""
import subprocess

from conftest import ENIP_READY, closed_port, cpppo_bin, venv_tool



def start(spawn, *args):
    proc = spawn([cpppo_bin(), "enip", "server", "-a", "127.0.0.1:0", *args])
    return proc.port(ENIP_READY)


def client(port, route, *ops):
    p = subprocess.run(
        [venv_tool("enip_client"), "-a", f"127.0.0.1:{port}", "--route-path", route, "--print", *ops],
        capture_output=True, text=True, timeout=60,
    )
    return p.stdout + p.stderr


def test_requests_are_forwarded_by_the_first_route_segment(spawn, tmp_path):
    remote = start(spawn, "--no-config", "REMOTE=DINT[4]")
    dead = closed_port()
    cfg = tmp_path / "router.cfg"
    cfg.write_text(
        "[UCMM]\nRoute Path = 1/0\nRoute = {\n"
        f'    "1/1-15": "127.0.0.1:{remote}",\n    "3/0": "127.0.0.1:{dead}"\n    }}\n'
    )
    router = start(spawn, "--config", str(cfg), "LOCAL=INT[4]")
    assert "<= [1, 2]: 'OK'" in client(router, "1/0", "LOCAL[0-1]=(INT)1,2")
    assert "== [1, 2]: 'OK'" in client(router, "1/0", "LOCAL[0-1]")
    # Backplane slot 3: forwarded to the other simulator as a simple request.
    out = client(router, "1/3", "REMOTE[2]=(DINT)42", "REMOTE[0-3]")
    assert "== [0, 0, 42, 0]: 'OK'" in out, out
    # Two hops: the remaining route path goes along in an Unconnected Send.
    out = client(router, '["1/3", "2/1"]', "REMOTE[2]")
    assert "== [42]: 'OK'" in out, out
    # The local tag is not on the remote device, nor the remote one here.
    assert "'OK'" not in client(router, "1/3", "LOCAL[0]")
    assert "'OK'" not in client(router, "1/0", "REMOTE[0]")
    # No route for port 5; an unreachable target answers an error, and serving continues.
    assert "'OK'" not in client(router, "5/1", "LOCAL[0]")
    assert "'OK'" not in client(router, "3/0", "LOCAL[0]")
    assert "== [1, 2]: 'OK'" in client(router, "1/0", "LOCAL[0-1]")
