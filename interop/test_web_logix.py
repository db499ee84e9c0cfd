"""Logix structures on the web API, the live page and in history files, with pycomm3 1.2.16 as
the EtherNet/IP client: structure tags are JSON objects on the API, member paths take writes
through the API, and `cpppo enip historize` records (and `--replay` restores) member values."""
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from pycomm3 import LogixDriver

from conftest import ENIP_READY, cpppo_bin

WEB = r"Web API and live page on http://(\S+)/"
UDTS = ["Cell{Volts:REAL, Ok:BOOL}",
        "Motor{Speed:REAL, Running:BOOL, Fault:BOOL, Faults:DINT[4], Name:STRING, Cell:Cell}"]
TAGS = ["M1=Motor", "Motors=Motor[3]", "Program:Main.Count=DINT", "SCADA=INT[4]"]
UDT_ARGS = [a for u in UDTS for a in ("--udt", u)]


def api(web, path, expect=200):
    """GET http://web/api/<path> (the path's characters quoted); returns the JSON envelope."""
    url = f"http://{web}/api/" + urllib.parse.quote(path, safe="/=")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    assert status == expect, f"{path}: HTTP {status}: {body}"
    return json.loads(body)


def start(spawn):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0", "-w", ":0",
                  *UDT_ARGS, *TAGS])
    port = proc.port(ENIP_READY)
    return port, proc.wait_output(WEB).group(1)


def test_pycomm3_writes_show_as_json_objects_and_api_member_writes_reach_pycomm3(spawn):
    port, web = start(spawn)
    value = {"Speed": 1.5, "Running": True, "Fault": False, "Faults": [1, 2, 3, 4],
             "Name": "pump", "Cell": {"Volts": 3.25, "Ok": True}}
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write(("M1", value)).error is None
        assert plc.write("Motors[2].Speed", 7.5).error is None
        m1 = api(web, "tags/M1")["data"]["tags"]["M1"]
        assert m1["type"] == "Motor" and m1["value"] == value and m1["values"] == [value]
        motors = api(web, "tags/Motors")["data"]["tags"]["Motors"]
        assert motors["dimensions"] == [3] and len(motors["value"]) == 3
        assert [m["Speed"] for m in motors["value"]] == [0.0, 0.0, 7.5]
        # Atomic tags keep cpppo's shape.
        scada = api(web, "tags/SCADA")["data"]["tags"]["SCADA"]
        assert scada["type"] == "INT" and scada["values"] == [0, 0, 0, 0]

        # Member writes through the API, read back by pycomm3.
        for path in ["tags/M1.Speed/value=2.75", "tags/Motors[1].Running/value=true",
                     "tags/M1.Name/value=fan", "tags/M1.Faults[3]/value=-9",
                     "tags/Program:Main.Count/value=42", "tags/M1.Cell.Volts/value=12.5",
                     'tags/Motors/attribute[0]={"Speed": 4.5, "Fault": true}']:
            assert api(web, path)["command"]["success"] is True, path
        assert plc.read("M1.Speed").value == 2.75
        assert plc.read("Motors[1].Running").value is True
        assert plc.read("M1.Name").value == "fan"
        assert plc.read("M1.Faults{4}").value == [1, 2, 3, -9]
        assert plc.read("Program:Main.Count").value == 42
        assert plc.read("M1.Cell.Volts").value == 12.5
        m0 = plc.read("Motors[0]").value
        assert (m0["Speed"], m0["Fault"], m0["Running"]) == (4.5, True, False)
        # A member path is an item of its own.
        item = api(web, "tags/Motors[1].Running")["data"]["tags"]["Motors[1].Running"]
        assert (item["type"], item["value"]) == ("BOOL", True)

    # Bad members and values: a 4xx with one line, nothing changed.
    bad = api(web, "tags/M1.Nope/value=1", expect=404)["command"]
    assert bad["success"] is False and "member Motor does not have" in bad["message"]
    assert "\n" not in bad["message"]
    assert api(web, "tags/Motors[5].Speed", expect=404)["command"]["message"]
    assert "REAL" in api(web, "tags/M1.Speed/value=fast", expect=400)["command"]["message"]
    api(web, 'tags/M1/value={"Speed": 9, "Nope": 1}', expect=400)
    assert api(web, "tags/M1.Speed")["data"]["tags"]["M1.Speed"]["value"] == 2.75


def test_history_records_members_and_replay_restores_them(spawn, tmp_path):
    path = tmp_path / "udt.hst"
    proc = spawn([cpppo_bin(), "enip", "historize", "--no-config", "-a", "127.0.0.1:0",
                  str(path), *UDT_ARGS, *TAGS])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.write("Motors[1].Speed", 7.5).error is None
        assert plc.write("M1.Name", "pump").error is None
        assert plc.write("M1.Fault", True).error is None
        assert plc.write("SCADA[1]", 5).error is None
    proc.close()

    cat = subprocess.run([cpppo_bin(), "history", "cat", str(path)], capture_output=True,
                         text=True, timeout=30)
    assert cat.returncode == 0, cat.stderr
    writes = [l.split("\t", 1)[1] for l in cat.stdout.splitlines() if '{"write"' in l]
    assert '["Motors[1].Speed", [0, 0]]\t{"write": [7.5]}' in writes, cat.stdout
    assert '["M1.Name", [0, 0]]\t{"write": ["pump"]}' in writes, cat.stdout
    assert '["M1.Fault", [0, 0]]\t{"write": [true]}' in writes, cat.stdout
    assert '["SCADA", [1, 1]]\t{"write": [5]}' in writes, cat.stdout  # atomic: as before
    assert not any(w.startswith('["Motors", ') or w.startswith('["M1", ') for w in writes)

    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "--replay", str(path), "--speed", "100", *UDT_ARGS, *TAGS])
    port = proc.port(ENIP_READY)
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if plc.read("M1.Fault").value is True and plc.read("SCADA[1]").value == 5:
                break
            time.sleep(0.1)
        assert plc.read("Motors[1].Speed").value == 7.5
        assert plc.read("M1.Name").value == "pump"
        assert plc.read("M1.Fault").value is True


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.mark.skipif(not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver")
def test_live_page_shows_structures_and_writes_members(spawn, tmp_path):
    selenium = pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    assert selenium

    os.environ["SE_OFFLINE"] = "true"  # never let selenium fetch a driver
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium'}"]:
        opts.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "driver.log"))
    browser = webdriver.Chrome(service=service, options=opts)
    try:
        port, web = start(spawn)
        browser.get(f"http://{web}/")
        wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))

        def text(element_id):
            try:
                return browser.find_element(By.ID, element_id).text
            except StaleElementReferenceException:
                return ""

        wait.until(lambda d: '"Speed":0' in text("vals-M1"))
        with LogixDriver(f"127.0.0.1:{port}/0") as plc:
            # A client's member write shows live in the structure's row.
            assert plc.write("M1.Speed", 7.5).error is None
            wait.until(lambda d: '"Speed":7.5' in text("vals-M1"))
            assert plc.write("Motors[2].Running", True).error is None
            wait.until(lambda d: '"Running":true' in text("vals-Motors"))
            # A member write from the page reaches the client.
            Select(browser.find_element(By.ID, "set-tag")).select_by_value("Motors")
            for field, value in [("set-index", "1"), ("set-member", "Speed"),
                                 ("set-value", "3.25")]:
                box = browser.find_element(By.ID, field)
                box.clear()
                box.send_keys(value)
            browser.find_element(By.ID, "set-btn").click()
            wait.until(lambda d: "Motors[1].Speed" in text("msg"))
            deadline = time.monotonic() + 5
            while plc.read("Motors[1].Speed").value != 3.25 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert plc.read("Motors[1].Speed").value == 3.25
    finally:
        browser.quit()
