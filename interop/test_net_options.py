"""`cpppo net fleet` device options: what `cpppo enip server` takes for one device applies to
every device of a fleet: `--config` (Identity values, route path and `[Route]` map), `--delay`,
`--profile`. Routed requests leave from the device's own address over the virtual LAN, so one
fleet device forwards to another.

Each test runs a fleet behind a TAP inside a network namespace it creates and deletes.
"""
import subprocess
import sys

import pytest

from conftest import cpppo_bin, venv_tool

READY = r"Success; Started fleet of (\d+) devices on ([0-9./]+)"

# pycomm3 on argv[1]: the Identity's product name and serial, and the time one read takes.
INFO = r"""
import sys, time
from pycomm3 import LogixDriver
with LogixDriver(sys.argv[1], init_program_tags=False) as plc:
    t0 = time.monotonic()
    r = plc.read("SCADA[0]")
    took = time.monotonic() - t0
    assert r.error is None, r
    print(plc.info["product_name"], "|", int(plc.info["serial"], 16), "|", round(took, 3))
"""


def in_ns(ns, *argv, check=True):
    out = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                         timeout=60)
    if check:
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout + out.stderr


def fleet(spawn, ns, *args):
    proc = spawn(["ip", "netns", "exec", ns, cpppo_bin(), "net", "fleet", *args])
    proc.wait_output(READY, timeout=60)
    return proc


def enip_client(ns, ip, route, *ops):
    return in_ns(ns, venv_tool("enip_client"), "-a", ip, "--route-path", route, "--print", *ops,
                 check=False)


def test_config_delay_and_routes_apply_to_every_device(spawn, netns, tmp_path):
    cfg = tmp_path / "rig.cfg"
    # Every device forwards backplane slot 1 to device 1 (10.66.0.3), over the virtual LAN.
    cfg.write_text(
        "[Identity]\nProduct Name = Rig PLC\nSerial Number = 7000\n\n"
        '[UCMM]\nRoute Path = 1/0\nRoute = {\n    "1/1": "10.66.0.3:44818"\n    }\n'
    )
    proc = fleet(spawn, netns, "--devices", "10", "--subnet", "10.66.0.0/24", "--tap", "fleetopt",
                 "--config", str(cfg), "--delay", "0.25", "SCADA=INT[10]")
    assert "Identity serial 7000 up" in proc.output()
    name, serial, took = [f.strip() for f in
                          in_ns(netns, sys.executable, "-c", INFO, "10.66.0.7").split("|")]
    assert name == "Rig PLC" and int(serial) == 7005  # device 5: the config's serial + 5
    assert float(took) >= 0.25, took  # --delay holds every reply
    # Device 1's own tag, then the same through device 0's route to slot 1.
    assert "<= [42]: 'OK'" in enip_client(netns, "10.66.0.3", "1/0", "SCADA[3]=(INT)42")
    out = enip_client(netns, "10.66.0.2", "1/1", "SCADA[3]")
    assert "== [42]: 'OK'" in out, out
    # Device 0's own SCADA[3] is untouched.
    assert "== [0]: 'OK'" in enip_client(netns, "10.66.0.2", "1/0", "SCADA[3]")


def test_a_fleet_of_powerflex_drives(spawn, netns):
    fleet(spawn, netns, "--devices", "3", "--subnet", "10.67.0.0/24", "--tap", "fleetpf",
          "--profile", "powerflex750")
    # The Python cpppo's own tool writes a parameter of drive 2; our proxy reads it by name.
    out = in_ns(netns, venv_tool("enip_get_attribute"), "-S", "-a", "10.67.0.4",
                "@0x93/3/10=(REAL)12.5")
    assert "'OK'" in out or "True" in out, out
    out = in_ns(netns, cpppo_bin(), "enip", "poll", "-a", "10.67.0.4", "--cycles", "1",
                "Motor Velocity")
    assert "Motor Velocity: [12.5]" in out, out
    out = in_ns(netns, cpppo_bin(), "enip", "poll", "-a", "10.67.0.3", "--cycles", "1",
                "Motor Velocity")
    assert "Motor Velocity: [0.0]" in out, out


@pytest.mark.parametrize("args, says", [
    (["--delay", "soon"], "--delay"),
    (["--profile", "toaster"], "unknown profile"),
    (["--config", "/nonexistent/rig.cfg"], "/nonexistent/rig.cfg"),
    (["--route-path", "[1"], "--route-path"),
    (["--input-only-point", "0"], "--input-only-point"),
])
def test_bad_device_options_are_one_line_and_exit_2(args, says):
    out = subprocess.run([cpppo_bin(), "net", "fleet", "--devices", "2", "--subnet",
                          "10.68.0.0/24", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], out.stderr


def test_heartbeat_point_flags_and_io_config(spawn, tmp_path):
    """The fleet takes the server's `--input-only-point` / `--listen-only-point` and its
    config's `[I/O]` (what the devices' adapters do with them: crates/fleet/tests/io.rs); an
    `[I/O] Address` is refused in one line, as each device serves I/O at its own IP."""
    cfg = tmp_path / "io.cfg"
    cfg.write_text("[I/O]\nInput Only Point = 254\nRPI = 5-500\n")
    fleet = [cpppo_bin(), "net", "fleet", "--devices", "2", "--subnet", "10.69.0.0/24",
             "--config", str(cfg)]
    proc = spawn([*fleet, "--input-only-point", "199", "--listen-only-point", "198",
                  "Inputs@4/100/3=SINT[8]"])
    proc.wait_output(READY, timeout=60)
    cfg.write_text("[I/O]\nAddress = :2223\n")
    out = subprocess.run(fleet, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "[I/O] Address" in lines[0], out.stderr
