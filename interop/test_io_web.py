"""Class 1 I/O as the web layer shows it: `/api/io`, `/metrics` and the live page (headless
Chromium via selenium), with our scanner (`cpppo enip io`) owning the adapter's assemblies.

On loopback the adapter binds TCP, UDP and HTTP on port 0 and prints them; the scanner binds
UDP port 0 and announces it in a T->O sockaddr item. Every process is killed by PID.
"""
import json
import os
import re
import signal
import time
import urllib.request

import pytest

from conftest import ENIP_READY, WEB_READY, cpppo_bin
from test_io_scanner import Piped
from test_web_browser import CHROMEDRIVER, CHROMIUM, browser, text_of  # noqa: F401

IO_READY = r"I/O adapter \(class 1\) on udp (?P<host>[\d.]+):(?P<port>\d+)"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def wait_for(check, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, KeyError, ValueError, IndexError) as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{what}: last {last!r}")


@pytest.fixture
def rig(spawn, tmp_path):
    """The adapter (Inputs 100, Outputs 150) with its web, and a start(extra) for scanners."""
    srv = spawn([cpppo_bin(), "enip", "server", "--no-config", "-v", "-a", "127.0.0.1:0",
                 "--io", "127.0.0.1:0", "-w", "127.0.0.1:0",
                 "Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"])
    tcp = srv.port(ENIP_READY)
    io = srv.port(IO_READY)
    web = "http://{host}:{port}".format(**srv.wait_output(WEB_READY).groupdict())
    scanners = []

    def start(*extra):
        p = Piped([cpppo_bin(), "enip", "io", "-a", f"127.0.0.1:{tcp}", "--io-port", str(io),
                   "--bind", "127.0.0.1:0", "--input", "100:8", "--output", "150:8",
                   "--rpi", "20", "--json", *extra], tmp_path / f"scanner{len(scanners)}.log")
        scanners.append(p)
        return p
    yield srv, web, start
    for p in scanners:
        p.close()


def io_view(web):
    return json.loads(get(f"{web}/api/io"))["io"]


def test_api_and_metrics_show_the_connection_and_the_outputs_going_idle(rig):
    srv, web, start = rig
    before = io_view(web)
    assert before["connections"] == []
    assert [a["outputs"] for a in before["assemblies"]] == ["unowned", "unowned"]

    scanner = start("1,2,3,0x7f")
    scanner.wait(r'"event":"opened"')
    out = wait_for(lambda: next(a for a in io_view(web)["assemblies"]
                                if a["instance"] == 150 and a["outputs"] == "run"
                                and a["bytes"].startswith("01 02 03 7f")),
                   what="outputs in run with the scanner's bytes")
    assert out["name"] == "Outputs" and out["size"] == 8

    # The scanner's input changes come from a write through the API.
    assert json.loads(get(f"{web}/api/tags/Inputs/attribute[1]=66"))["command"]["success"]
    scanner.wait(r'"data":\[0,66,0,0,0,0,0,0\]')

    [c] = wait_for(lambda: [c for c in io_view(web)["connections"]
                            if c["packets_in"] > 5 and c["packets_out"] > 5],
                   what="packets both ways")
    assert c["kind"] == "exclusive-owner"
    assert c["peer"].startswith("127.0.0.1:")
    assert (c["input"], c["output"], c["o_t_api_us"], c["t_o_api_us"]) == (100, 150, 20000, 20000)
    assert c["run"] is True
    assert sum(c["lateness"].values()) >= c["late"]
    assert set(c["lateness"]) == {"100us", "1ms", "10ms", "inf"}

    metrics = get(f"{web}/metrics")
    assert re.search(r'^cpppo_io_connection_packets_out\{peer="127\.0\.0\.1",kind="exclusive-owner"'
                     r'.*\} [1-9]\d*$', metrics, re.M), metrics
    assert re.search(r'^cpppo_io_connection_late\{.*\} \d+$', metrics, re.M)
    assert re.search(r'^cpppo_io_connection_lateness\{.*under="1ms"\} \d+$', metrics, re.M)
    assert '\ncpppo_io_outputs_run{instance="150"} 1\n' in metrics

    # A killed scanner: the connection times out (RPI 20 ms x 16), the outputs go idle.
    os.killpg(scanner.p.pid, signal.SIGKILL)
    wait_for(lambda: io_view(web)["connections"] == [], what="the connection timed out")
    [out] = [a for a in io_view(web)["assemblies"] if a["instance"] == 150]
    assert out["outputs"] == "timed-out"
    assert out["bytes"].startswith("01 02 03 7f"), "the last outputs stay"
    metrics = get(f"{web}/metrics")
    assert '\ncpppo_io_outputs_run{instance="150"} 0\n' in metrics
    assert '\ncpppo_io_outputs_idle{instance="150",why="timed-out"} 1\n' in metrics
    assert re.search(r'^cpppo_io_timeouts_total 1$', metrics, re.M)
    srv.wait_output(r"connection 0x[0-9a-f]{8} timed out")
    srv.wait_output(r"outputs idle: assembly 150")


selenium = pytest.importorskip("selenium")


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver")
def test_live_page_shows_assembly_bytes_changing_and_the_outputs_going_idle(rig, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    srv, web, start = rig
    browser.get(web + "/")
    wait = WebDriverWait(browser, 10, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
    wait.until(lambda d: d.find_element(By.ID, "io").is_displayed())
    assert text_of(browser, "io-out-150") == "unowned"

    scanner = start("5,6,7,8")
    scanner.wait(r'"event":"opened"')
    wait.until(lambda d: text_of(d, "io-bytes-150").startswith("05 06 07 08 00"))
    assert text_of(browser, "io-out-150") == "run"
    wait.until(lambda d: "exclusive-owner" in d.find_element(By.ID, "io-conns").text)

    # Each further line from the scanner shows up on the page.
    for line, shown in [("0x10,0x20", "10 20 00 00"), ("255,1,2,3,4,5,6,7", "ff 01 02 03 04 05 06 07")]:
        scanner.send(line)
        t0 = time.monotonic()
        wait.until(lambda d: text_of(d, "io-bytes-150").startswith(shown))
        print(f"{line!r} shown after {time.monotonic() - t0:.3f} s")

    # Inputs written by the API reach the scanner and the page.
    get(f"{web}/api/tags/Inputs/attribute[0]=9")
    wait.until(lambda d: text_of(d, "io-bytes-100").startswith("09 00"))
    scanner.wait(r'"data":\[9,0,0,0,0,0,0,0\]')

    os.killpg(scanner.p.pid, signal.SIGKILL)
    wait.until(lambda d: text_of(d, "io-out-150") == "timed-out")
    wait.until(lambda d: "exclusive-owner" not in d.find_element(By.ID, "io-conns").text)
    assert text_of(browser, "io-bytes-150").startswith("ff 01 02")
