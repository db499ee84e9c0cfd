"""The container image: `scripts/image-from-scratch` builds an image FROM scratch out of the
local binary and the libraries ldd lists; pycomm3 reads and writes a tag of the simulator
running in it, through a published port.

The tree the script writes is tested everywhere (chroot into it and run the binary); the image
only where podman runs containers (skipped with the reason otherwise). In this project's
sandbox (a Firecracker VM: hybrid cgroup v1/v2 layout, open files limited to 20,000) crun
refuses the cgroup layout and setting podman's default RLIMIT_NOFILE/NPROC, so the runtime is
tried as installed, then runc with limits the sandbox allows.
"""
import os
import re
import shutil
import subprocess
import uuid

import pytest

from conftest import ROOT, cpppo_bin, wait_port

SCRIPT = ROOT / "scripts" / "image-from-scratch"
READY = r"Success; Started EtherNet/IP Simulator; PID = \d+; address = (\S+)"


def script(*args, timeout=120):
    return subprocess.run([SCRIPT, "-b", cpppo_bin(), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_the_tree_holds_the_binary_and_every_library_it_needs(tmp_path):
    out = script("-o", tmp_path, "--no-build")
    assert out.returncode == 0, out.stderr
    root = tmp_path / "rootfs"
    assert (root / "usr/local/bin/cpppo").is_file()
    # Every library ldd names (and the loader) is in the tree at the same path.
    ldd = subprocess.run(["ldd", cpppo_bin()], capture_output=True, text=True, timeout=20).stdout
    needed = re.findall(r"(?:=> |^\s*)(/\S+)", ldd, re.M)
    assert needed, ldd
    for lib in needed:
        assert (root / lib.lstrip("/")).is_file(), lib
    containerfile = (tmp_path / "Containerfile").read_text()
    assert "FROM scratch" in containerfile and "44818/udp" in containerfile
    # Nothing else is needed to run it: the binary runs confined to the tree.
    if os.geteuid() != 0:
        pytest.skip("chroot needs root")
    ran = subprocess.run(["chroot", root, "/usr/local/bin/cpppo", "--version"],
                         capture_output=True, text=True, timeout=20)
    assert ran.returncode == 0 and ran.stdout.startswith("cpppo "), (ran.stdout, ran.stderr)


# How to run containers, tried in turn: (podman's global options, `run` options). As installed,
# then runc within limits this project's sandbox allows.
RUNTIMES = [([], []), (["--runtime", "runc"], ["--ulimit", "nofile=1024:1024",
                                               "--ulimit", "nproc=1024:1024"])]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """(tag, podman run command) of an image built by the script; removed afterwards."""
    if not shutil.which("podman"):
        pytest.skip("podman is absent (Debian package podman)")
    if not shutil.which("ip"):
        pytest.skip("iproute2's ip is absent (the image carries it for fleets behind a TAP)")
    tag = f"localhost/cpppo-rs-test:{uuid.uuid4().hex[:8]}"
    out = script("-o", tmp_path_factory.mktemp("image"), "-t", tag, "-x", "ip")
    if out.returncode != 0:
        pytest.skip(f"podman cannot build here: {out.stderr.strip()[-300:]}")
    try:
        errors = []
        for global_opts, run_opts in RUNTIMES:
            run = ["podman", *global_opts, "run", "--rm", *run_opts]
            ran = subprocess.run([*run, tag, "--version"], capture_output=True, text=True,
                                 timeout=60)
            if ran.returncode == 0 and ran.stdout.startswith("cpppo "):
                yield tag, run
                break
            errors.append(ran.stderr.strip()[-200:])
        else:
            pytest.skip(f"podman cannot run containers here: {errors}")
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, timeout=60)


def test_pycomm3_reads_a_tag_from_the_container(image, spawn):
    from pycomm3 import LogixDriver

    tag, run = image
    name = f"cpppo-rs-test-{uuid.uuid4().hex[:8]}"
    # Published on a host port podman picks; the server listens on all of its interfaces.
    sim = spawn([*run, "--name", name, "-p", "127.0.0.1::44818", tag, "enip", "server",
                 "SCADA=INT[10]"])
    try:
        sim.wait_output(READY, timeout=30)
        ports = subprocess.run(["podman", "port", name, "44818/tcp"], capture_output=True,
                               text=True, timeout=30).stdout
        port = int(re.search(r"127\.0\.0\.1:(\d+)", ports).group(1))
        wait_port(port)
        with LogixDriver(f"127.0.0.1:{port}/0") as plc:
            assert plc.write("SCADA[3]", 4242).error is None
            r = plc.read("SCADA[3]")
        assert r.error is None and r.value == 4242, r
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, timeout=60)


def test_a_fleet_in_a_container_serves_a_client_in_its_network(image, spawn):
    """compose.yaml's shape: a fleet behind a TAP in one container (NET_ADMIN, /dev/net/tun),
    a client in another that joins its network namespace."""
    tag, run = image
    name = f"cpppo-rs-fleet-{uuid.uuid4().hex[:8]}"
    fleet = spawn([*run, "--name", name, "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun",
                   tag, "net", "fleet", "-n", "20", "-s", "10.60.0.0/24", "--tap", "fleet0",
                   "SCADA=INT[100]"])
    try:
        fleet.wait_output(r"Success; Started fleet of 20 devices", timeout=30)
        client = [*run, "--network", f"container:{name}", tag, "enip", "client"]
        out = subprocess.run([*client, "-p", "-a", "10.60.0.21", "SCADA[1-2]=(INT)7,8",
                              "SCADA[0-3]"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "== [0, 7, 8, 0]" in out.stdout, (out.stdout, out.stderr)
        out = subprocess.run([*client, "-u", "-b", "-i", "-t", "2", "-a", "10.60.0.255"],
                             capture_output=True, text=True, timeout=60)
        assert len(set(re.findall(r"10\.60\.0\.\d+", out.stdout))) == 20, out.stdout
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, timeout=60)
