"""cpppo_rs.enip.poll: the seed's poll example (import changes only) against a simulated
PowerFlex that is stopped and restarted mid-poll, ours (started from Python) and cpppo 5.2.5's;
and the back-off between failed polls."""
import sys
import time
from pathlib import Path

import pytest

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, poll
from cpppo_rs.enip.ab import powerflex_750_series

import conftest

EXAMPLE = Path(__file__).resolve().parent / "examples" / "poll_example.py"
DRIVE = ["Mtr_Vel_Fdbk@0x93/3/10=REAL", "Output_Current@0x93/7/10=REAL"]


def wait_for(check, what, timeout=20.0):
    """Wait (bounded) until check() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class OurDrive:
    """Our simulator with the powerflex750 profile; restarts on the same address."""

    def __init__(self, spawn):
        self.sim = Simulator(profile="powerflex750")
        self.address = self.sim.address

    def set_velocity(self, value):
        self.sim.write("Mtr_Vel_Fdbk", [value])

    def stop(self):
        self.sim.stop()

    def restart(self):
        self.sim = Simulator(profile="powerflex750", address="%s:%d" % self.address)

    def close(self):
        self.sim.stop()


class CpppoDrive:
    """cpppo 5.2.5's enip_server serving the drive's attributes; restarts on the same port."""

    def __init__(self, spawn):
        self.spawn = spawn
        self.proc, port = conftest.interop.cpppo_enip_server(spawn, *DRIVE, udp=False)
        self.address = ("127.0.0.1", port)

    def set_velocity(self, value):
        with powerflex_750_series(host=self.address[0], port=self.address[1]) as via:
            assert list(via.write(via.parameter_substitution(
                "Motor Velocity = (REAL)%s" % value), checking=True)) == [True]

    def stop(self):
        self.proc.close()

    def restart(self):
        self.proc = self.spawn([conftest.interop.venv_tool("enip_server"), "-A", "--no-udp",
                                "-a", "%s:%d" % self.address, *DRIVE])
        conftest.interop.wait_port(self.address[1])

    def close(self):
        pass  # spawn kills it


@pytest.fixture(params=[OurDrive, CpppoDrive], ids=["ours", "cpppo"])
def drive(request, spawn):
    d = request.param(spawn)
    yield d
    d.close()


def test_poll_example_survives_a_simulator_restart(drive, spawn):
    drive.set_velocity(789.01)
    example = spawn([sys.executable, EXAMPLE, drive.address[0], drive.address[1], 60])
    example.wait_output(r"Motor Velocity == \[789\.01", timeout=20)
    example.wait_output(r"Output Current == \[0\.0\]", timeout=20)
    drive.stop()
    before = len(example.output().splitlines())

    def failed():
        return any("==" not in line for line in example.output().splitlines()[before:])
    wait_for(failed, "a poll failure line")
    drive.restart()
    drive.set_velocity(111.5)
    example.wait_output(r"Motor Velocity == \[111\.5\]", timeout=20)
    assert example.p.poll() is None  # still polling


def test_poll_start_backs_off_after_failures_and_stops():
    from conftest import interop
    failures, values = [], []
    poller = poll.start(proxy_class=powerflex_750_series,
                        address=("127.0.0.1", interop.closed_port()), cycle=0.01,
                        timeout=0.5, params=["Motor Velocity"],
                        process=lambda p, v: values.append((p, v)), failure=failures.append,
                        backoff_min=0.1, backoff_multiplier=2.0, backoff_max=0.4, latency=0.05)
    time.sleep(1.5)
    poller.stop(timeout=5)
    assert not poller.is_alive() and not values
    # Attempts at about 0, 0.1, 0.3, 0.7, 1.1, 1.5 s: backed off, not every 10 ms cycle.
    assert 3 <= len(failures) <= 8, failures
    assert all(isinstance(f, errors.CommunicationError) for f in failures)


def test_poll_start_delivers_each_parameter_every_cycle():
    with Simulator(profile="powerflex750") as sim:
        sim.write("Output_Current", [2.5])
        seen, shared = [], []
        poller = poll.start(proxy_class=powerflex_750_series, address=sim.address,
                            cycle=0.05, params=["Output Current", "Speed Units"],
                            process=lambda p, v: seen.append((p, v)))
        # poll(a_proxy, ...): an existing proxy instance, shared with other pollers.
        via = powerflex_750_series(host=sim.address[0], port=sim.address[1])
        other = poll.start(proxy_class=via, cycle=0.05, params=["Output Current"],
                           process=lambda p, v: shared.append((p, v)))
        wait_for(lambda: len(seen) >= 6 and len(shared) >= 3, "three polls each")
        poller.stop(timeout=5)
        other.stop(timeout=5)
    assert seen[:2] == [("Output Current", [2.5]), ("Speed Units", [0])]
    assert shared[0] == ("Output Current", [2.5]) and via.gateway is not None


def test_poll_needs_a_proxy():
    with pytest.raises(ValueError, match="proxy_class"):
        poll.poll(params=["Motor Velocity"])
