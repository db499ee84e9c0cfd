"""cpppo_rs.enip.poll: the seed's poll example (import changes only; it polls localhost:44818, so
it runs in a network namespace) against a simulated PowerFlex that is stopped and restarted
mid-poll, ours and cpppo 5.2.5's;
and the back-off between failed polls."""
import sys
import time

import pytest

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, poll
from cpppo_rs.enip.ab import powerflex_750_series

import conftest
import seedrun

netns = conftest.interop.netns

EXAMPLE = seedrun.EXAMPLES / "poll_example.py"
DRIVE = ["Mtr_Vel_Fdbk@0x93/3/10=REAL", "Output_Current@0x93/7/10=REAL"]


def wait_for(check, what, timeout=20.0):
    """Wait (bounded) until check() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Drive:
    """A simulated PowerFlex on localhost:44818 inside a namespace (the seed's poll example polls
    there): ours with the powerflex750 profile, or cpppo 5.2.5's enip_server serving its
    attributes; restarts on the same address."""

    ARGS = {"ours": ["--profile", "powerflex750"], "cpppo": DRIVE}

    def __init__(self, spawn, ns, kind):
        self.spawn, self.ns, self.kind = spawn, ns, kind
        self.restart()

    def set_velocity(self, value):
        seedrun.set_velocity(self.ns, value)

    def stop(self):
        self.proc.close()

    def restart(self):
        self.proc = seedrun.server(self.spawn, self.ns, self.kind, *self.ARGS[self.kind])


@pytest.fixture(params=["ours", "cpppo"])
def drive(request, spawn, netns):
    return Drive(spawn, netns, request.param)


def test_poll_example_survives_a_simulator_restart(drive, spawn):
    drive.set_velocity(789.01)
    example = spawn(seedrun.in_ns(drive.ns, sys.executable, EXAMPLE), env=seedrun.ENV)
    example.wait_output(r"Motor Velocity == \[789\.01", timeout=20)
    example.wait_output(r"Output Current == \[0\.0\]", timeout=20)
    drive.stop()
    before = len(example.output().splitlines())

    def failed():
        return any("==" not in line for line in example.output().splitlines()[before:])
    wait_for(failed, "a poll failure line")
    drive.restart()
    drive.set_velocity(111.5)
    example.wait_output(r"Motor Velocity == \[111\.5\]", timeout=30)
    assert example.p.poll() is None  # still polling, until stopped by a signal (spawn's close)


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
