"""The simulator holds a broadcast List Identity reply for a random time up to the request's
Max Response Delay (the first UINT of its sender context, milliseconds), as the spec and
OpENer have it; a List Identity sent to its own address is answered at once.

In a network namespace of the test's own (veth with a broadcast address), over OS sockets.
"""
import subprocess
import sys

from conftest import cpppo_bin

READY = r"Success; Started EtherNet/IP Simulator; PID = \d+; address = (\S+)"

# Sends one List Identity per socket, all at once, each asking for a Max Response Delay of
# argv[3] ms; prints each reply's delay in seconds (or "lost").
ASK = r"""
import select, socket, struct, sys, time
to, count, max_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    socks.append(s)
sent = {}
for s in socks:
    context = struct.pack("<H6s", max_ms, b"cpppo!")
    s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, context, 0), (to, 44818))
    sent[s] = time.monotonic()
took = {}
deadline = time.monotonic() + 10
while len(took) < count and time.monotonic() < deadline:
    ready, _, _ = select.select([s for s in socks if s not in took], [], [], 0.5)
    for s in ready:
        data = s.recv(2048)
        assert data[:2] == b"\x63\x00" and data[14:20] == b"cpppo!", data[:24].hex()
        took[s] = time.monotonic() - sent[s]
print(" ".join(f"{took[s]:.3f}" if s in took else "lost" for s in socks))
"""


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def python_in(ns, script, *args):
    """Run the Python `script` with `args` in namespace `ns`; its output."""
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", script,
                          *map(str, args)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def simulator_on_veth(spawn, ns):
    """A simulator in `ns` with 10.9.8.1/24 (broadcast 10.9.8.255) on a veth pair, ready."""
    ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    ip("-n", ns, "addr", "add", "10.9.8.1/24", "brd", "10.9.8.255", "dev", "v0")
    ip("-n", ns, "link", "set", "v0", "up")
    ip("-n", ns, "link", "set", "v1", "up")
    sim = spawn(["ip", "netns", "exec", ns, cpppo_bin(), "enip", "server", "--no-config"])
    sim.wait_output(READY)
    return sim


def ask(ns, to, count, max_ms):
    took = python_in(ns, ASK, to, count, max_ms).split()
    assert "lost" not in took, took
    return [float(t) for t in took]


def test_broadcast_list_identity_is_answered_after_a_random_delay(spawn, netns):
    simulator_on_veth(spawn, netns)
    # To its own address: at once, even asking for up to 65.5 s.
    assert max(ask(netns, "10.9.8.1", 4, 65535)) < 5
    # By broadcast, asking for up to 1 s: spread over that second (16 draws all under 0.2 s
    # would happen once in 10^11), none much later.
    took = ask(netns, "10.9.8.255", 16, 1000)
    assert max(took) > 0.2, took
    assert max(took) < 5, took


# argv[2] List Identity broadcasts at once, from as many sockets, each asking for up to 2 s;
# prints how many are answered within 4 s.
FLOOD = r"""
import select, socket, struct, sys, time
to, count = sys.argv[1], int(sys.argv[2])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, struct.pack("<H6x", 2000), 0), (to, 44818))
answered, deadline = set(), time.monotonic() + 4
while time.monotonic() < deadline:
    ready, _, _ = select.select([s for s in socks if s not in answered], [], [], 0.2)
    for s in ready:
        s.recv(2048)
        answered.add(s)
print(len(answered))
"""


def test_a_flood_of_broadcasts_holds_at_most_32_replies(spawn, netns):
    simulator_on_veth(spawn, netns)
    answered = python_in(netns, FLOOD, "10.9.8.255", 100)
    # The 100 arrive within milliseconds: 32 are held and answered, the rest dropped (a few
    # more may slip in as the first held replies go out).
    assert 32 <= int(answered) < 60, answered
    # The device is none the worse: asked directly, it answers at once.
    assert max(ask(netns, "10.9.8.1", 4, 65535)) < 5


# One List Identity asking for up to argv[3] ms, to argv[1]; waits for argv[2] replies (10 s
# at most) and prints how many came and when the first and the last did (seconds).
GATHER = r"""
import socket, struct, sys, time
to, want, max_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.sendto(struct.pack("<HHII8sI", 0x63, 0, 0, 0, struct.pack("<H6x", max_ms), 0), (to, 44818))
t0, seen, when = time.monotonic(), set(), []
s.settimeout(0.5)
while len(seen) < want and time.monotonic() < t0 + 10:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if data[:2] == b"\x63\x00" and peer[0] not in seen:
        seen.add(peer[0])
        when.append(time.monotonic() - t0)
print(len(seen), f"{min(when):.3f}", f"{max(when):.3f}")
"""


def test_fleet_devices_spread_their_broadcast_replies(spawn, netns):
    fleet = spawn(["ip", "netns", "exec", netns, cpppo_bin(), "net", "fleet", "--devices", "200",
                   "--subnet", "10.73.0.0/24", "--tap", "fleet0"])
    fleet.wait_output(r"Success; Started fleet of 200 devices", timeout=30)

    def gather(to, want, max_ms):
        n, first, last = python_in(netns, GATHER, to, want, max_ms).split()
        return int(n), float(first), float(last)

    # To one device's own address: at once, even asking for up to 65.5 s.
    assert gather("10.73.0.77", 1, 65535)[2] < 5
    # By broadcast, asking for up to 1 s: the 200 replies come spread over that second
    # (without the delay they came within a few milliseconds of each other).
    n, first, last = gather("10.73.0.255", 200, 1000)
    assert n == 200
    assert last - first > 0.5, (first, last)
    assert last < 5, (first, last)
