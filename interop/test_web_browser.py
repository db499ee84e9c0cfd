"""The live page of `cpppo enip server --web` in headless Chromium (Debian's chromium and
chromedriver, driven by selenium), with pycomm3 as the EtherNet/IP client on the other side."""
import os
import shutil
import time

import pytest
from pycomm3 import LogixDriver

from conftest import ENIP_READY, cpppo_bin

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
READY = r"Web API and live page on http://(\S+)/"

pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver",
)


@pytest.fixture
def browser(tmp_path):
    os.environ["SE_OFFLINE"] = "true"  # never let selenium fetch a driver
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}"]:
        opts.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    yield driver
    driver.quit()


def text_of(driver, element_id):
    try:
        return driver.find_element(By.ID, element_id).text
    except StaleElementReferenceException:
        return ""


def test_page_shows_client_writes_live_and_page_edits_reach_clients(spawn, browser):
    proc = spawn([cpppo_bin(), "enip", "server", "--no-config", "-a", "127.0.0.1:0",
                  "-w", ":0", "SCADA=INT[1000]", "TEXT=SSTRING[100]", "FLOAT=REAL"])
    port = proc.port(ENIP_READY)
    url = "http://" + proc.wait_output(READY).group(1) + "/"

    # The page loads and shows the tags.
    browser.get(url)
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
    assert "0, 0, 0" in text_of(browser, "vals-SCADA")
    assert "REAL" in text_of(browser, "tag-FLOAT")

    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        # A client's write appears on the page within a second.
        assert plc.write("SCADA[2]", 4321).error is None
        t0 = time.monotonic()
        WebDriverWait(browser, 1.0, poll_frequency=0.02,
                      ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "4321" in text_of(d, "vals-SCADA"))
        print(f"client write shown on the page after {time.monotonic() - t0:.3f} s")
        assert text_of(browser, "vals-SCADA").startswith("0, 0, 4321")

        # An element set on the page is read back by the client.
        Select(browser.find_element(By.ID, "set-tag")).select_by_value("SCADA")
        browser.find_element(By.ID, "set-index").clear()
        browser.find_element(By.ID, "set-index").send_keys("5")
        browser.find_element(By.ID, "set-value").send_keys("-777")
        browser.find_element(By.ID, "set-btn").click()
        wait.until(lambda d: "attribute[5]" in d.find_element(By.ID, "msg").text)
        assert plc.read("SCADA[5]").value == -777
        wait.until(lambda d: "-777" in text_of(d, "vals-SCADA"))

        # A forced error set on the page fails the client's read; clearing it restores it.
        browser.find_element(By.ID, "err-value").clear()
        browser.find_element(By.ID, "err-value").send_keys("8")
        browser.find_element(By.ID, "err-btn").click()
        wait.until(lambda d: "error='8'" in d.find_element(By.ID, "msg").text)
        assert plc.read("SCADA[5]").error is not None
        browser.find_element(By.ID, "err-value").clear()
        browser.find_element(By.ID, "err-value").send_keys("0")
        browser.find_element(By.ID, "err-btn").click()
        wait.until(lambda d: "error='0'" in d.find_element(By.ID, "msg").text)
        assert plc.read("SCADA[5]").value == -777

        # The connection and the request counters are shown.
        wait.until(lambda d: "127.0.0.1:" in d.find_element(By.ID, "conns").text)
        assert int(browser.find_element(By.ID, "requests").text) > 0
