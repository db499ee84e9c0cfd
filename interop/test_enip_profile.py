"""`cpppo enip server --profile powerflex750`: a simple device with a PowerFlex 750's parameters,
read and written by name through our typed proxy (`cpppo enip poll`) and by the Python cpppo's
own `enip_get_attribute -S`."""
import subprocess

from conftest import ENIP_READY, cpppo_bin, venv_tool


def start(spawn):
    server = spawn([cpppo_bin(), "enip", "server", "--no-config", "--profile", "powerflex750",
                    "-a", "127.0.0.1:0"])
    return server.port(ENIP_READY)


def poll(port, *params):
    out = subprocess.run([cpppo_bin(), "enip", "poll", "-a", f"127.0.0.1:{port}", "--cycles", "1",
                          *params], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_powerflex_profile_serves_motor_velocity_by_name(spawn):
    port = start(spawn)
    assert "Motor Velocity: [0.0]" in poll(port, "Motor Velocity")

    # Write the parameter's attribute (DPI Parameter Object 0x93, instance 3, attribute 10)
    # with the Python cpppo's own tool, as a simple (non-routing) device.
    out = subprocess.run([venv_tool("enip_get_attribute"), "-S", "-a", f"127.0.0.1:{port}",
                          "@0x93/3/10=(REAL)123.45"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr

    text = poll(port, "motor velocity", "Output Current", "Speed Units")
    assert "motor velocity: [123.4499969" in text  # named as the user spelled it
    assert "Output Current: [0.0]" in text
    assert "Speed Units: [0]" in text


def test_unknown_profile_is_one_line_and_exit_2():
    out = subprocess.run([cpppo_bin(), "enip", "server", "--no-config", "--profile", "bogus"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert '"bogus"' in out.stderr
