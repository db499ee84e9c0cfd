"""Our adapter's Listen Only connections close when the connection they listen with (the
multicast owner) closes or times out. Adapter and scanners (ours, `cpppo enip io`) in three
network namespaces on one bridge, at the default ports (the `lan` fixture of
test_io_scanner.py)."""
import os
import signal

from conftest import cpppo_bin
from test_io_scanner import Piped, events, lan  # noqa: F401


def test_listen_only_closes_with_its_owner(tmp_path, lan):  # noqa: F811
    procs = []

    def piped(args):
        p = Piped(args, tmp_path / f"p{len(procs)}.log")
        procs.append(p)
        return p
    try:
        adapter = piped(["ip", "netns", "exec", lan["ad"], cpppo_bin(), "enip", "server",
                         "--no-config", "-v", "-a", "10.93.0.2:44818",
                         "Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"])
        adapter.wait(r"I/O adapter \(class 1\) on udp 10\.93\.0\.2:2222", 20)
        io = [cpppo_bin(), "enip", "io", "-a", "10.93.0.2", "--input", "100:8", "--multicast",
              "--rpi", "20", "--json"]

        def owner():
            p = piped(["ip", "netns", "exec", lan["s1"], *io, "--output", "150:8", "7"])
            p.wait(r'"event":"opened"')
            return p

        first = owner()
        listener = piped(["ip", "netns", "exec", lan["s2"], *io, "--listen-only"])
        listener.wait(r'"event":"opened"')
        listener.wait(r'"data":\[0,0,0,0,0,0,0,0\]')

        # Forward Close of the owner closes the listener's connection at the adapter: its
        # T->O stops, it times out, and reopening is refused (no owner, 0x0119).
        os.kill(first.p.pid, signal.SIGINT)
        assert first.p.wait(10) == 0
        adapter.wait(r"listen only connection 0x[0-9a-f]{8} closed with its owner")
        listener.wait(r'"extended":\[281\]', 15)
        assert any(e["event"] == "refused" and e["extended"][0] == 0x0119
                   for e in events(listener.text()))

        # A new owner: the listener (retrying) joins again. Killed, the owner times out, and
        # the listener's connection closes with it.
        second = owner()
        opened = listener.text().count('"event":"opened"')
        listener.wait(r'(?s)("event":"opened".*){%d}' % (opened + 1), 20)
        os.killpg(second.p.pid, signal.SIGKILL)
        adapter.wait(r"connection 0x[0-9a-f]{8} timed out", 15)
        closed = adapter.text().count("closed with its owner")
        assert closed == 2, adapter.text()
    finally:
        for p in procs:
            p.close()
