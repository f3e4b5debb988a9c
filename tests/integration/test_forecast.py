"""Issue 24 on the real stack: a probe of the fake tree cools steadily, and frost_expected warns before frost.

A stack of its own, with the webhook receiver (compose.receiver.yaml). A thread of the test writes
the probe's sysfs value twice a second along a line whose slope the test sets, from the time that
passed (so a busy machine that runs the thread late does not bend the line). The forecast's window,
min_data and lead time and the rules' `for` are short here, so that the test takes minutes, not a
night; a device runs the defaults (60 min, 15 min, 3 h; frost_expected 10 min, frost 5 min).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket, ds18b20
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from test_alerts_browser import browser, dashboard_page  # noqa: F401  # the module's Chromium, a page of its own
from test_browser import expect, reading_row
from waiting import eventually

PROBE = "w1_slave_temp-virtual-0/temp1"
CHIP = "w1_slave_temp-virtual-0"
EXPECTED, FROST = f"frost_expected/{PROBE}", f"frost/{PROBE}"
CONFIG = f"""\
frost_threshold = 0.5

[relabel]
"{PROBE}" = "Garden"

[alerts]
device_name = "Test garden"
notify = ["json://receiver:8000/ok/forecast"]

# Short, so that the test takes minutes (see the module's docstring).
[forecast]
sensors = ["{PROBE}"]
window = "60s"
min_data = "20s"
lead_time = "10m"

[alerts.rules.frost_expected]
for = "4s"

[alerts.rules.frost]
for = "6s"
"""


class Probe(threading.Thread):
    """Move the probe's temperature along a line whose slope (°C/s) the test sets, never below `floor`."""

    def __init__(self, chip, start: float):
        super().__init__(daemon=True)
        self.chip = chip
        self.value, self.rate, self.floor = start, 0.0, -50.0
        self.at = time.monotonic()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.write()

    def write(self) -> None:
        self.chip.write("temp1_input", round(self.value * 1000))

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                now = time.monotonic()
                self.value = max(self.floor, self.value + self.rate * (now - self.at))
                self.at = now
                self.write()

    def slope(self, rate: float, floor: float = -50.0) -> None:
        with self.lock:
            now = time.monotonic()
            self.value = max(self.floor, self.value + self.rate * (now - self.at))
            self.at, self.rate, self.floor = now, rate, floor


@pytest.fixture(scope="module")
def garden():
    """The stack, and the probe's thread (which the test steers); yield (project, nginx base URL, probe)."""
    work = Path(tempfile.mkdtemp(prefix="frost-forecast-"))
    work.chmod(0o755)  # the app reads the tree and the config as another user
    tree = FakeSysfs(work / "sys")
    coretemp_dual_socket(tree)
    (chip,) = ds18b20(tree, serials=("28-000005e2fdc3",))
    config = work / "frostserver.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    probe = Probe(chip, 10.0)
    probe.start()
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config)}
    try:
        with compose_project("frostforecast", [*COMPOSE_FILES, "tests/integration/compose.receiver.yaml"],
                             env) as project:
            base = project.url("nginx", 8080)
            eventually(lambda: sensor(base)["value"] == 10.0, "the probe's first reading")
            yield project, base, probe
    finally:
        probe.stopping.set()
        probe.join()
        shutil.rmtree(work, ignore_errors=True)


def sensor(base: str) -> dict:
    (found,) = [s for s in requests.get(base + "/api/v1/sensors", timeout=10).json()["sensors"] if s["id"] == PROBE]
    return found


def alerts(base: str) -> dict:
    return requests.get(base + "/api/v1/alerts", timeout=10).json()


def active(base: str, key: str) -> list[dict]:
    return [a for a in alerts(base)["active"] if a["key"] == key]


def messages(project, kind: str) -> list[dict]:
    """The Apprise JSON messages the receiver got: "failure" for a firing alert, "success" for a resolved one."""
    got = requests.get(project.url("receiver", 8000, "/received"), params={"path": "/ok/forecast"}, timeout=10)
    return [r["json"] for r in got.json() if r["json"] and r["json"].get("type") == kind]


def test_frost_expected_fires_before_frost_everywhere_and_resolves_when_it_warms(garden, browser):  # noqa: F811
    project, base, probe = garden
    # Without a trend yet, the sensor says so; a sensor without a forecast has no frost_eta at all.
    assert sensor(base)["frost_eta_reason"] in ("not enough data", "steady")
    assert all("frost_eta" not in s for s in requests.get(base + "/api/v1/sensors", timeout=10).json()["sensors"]
               if s["id"] != PROBE)

    # 1. It cools fast (3 °C a minute), then turns upwards before frost: a warning, then its end.
    probe.slope(-0.05)
    (warning,) = eventually(lambda: active(base, EXPECTED), "frost_expected firing")
    forecast = sensor(base)
    assert forecast["frost_eta"] > forecast["value"] and forecast["frost_eta_reason"] is None  # a Unix time
    assert warning["severity"] == "warning" and warning["expected_at"] is not None
    assert warning["value"] > 0.5  # before the frost, not at it
    assert re.fullmatch(r"Garden: frost expected at about \d\d:\d\d \S+, in \d+ min \(.* now, falling .*\)",
                        warning["summary"]), warning["summary"]
    (told,) = eventually(lambda: messages(project, "failure"), "the warning at the webhook")
    assert told["title"] == "[Test garden] FIRING: Garden" and warning["summary"] in told["message"]
    assert "Rule: frost_expected (warning)" in told["message"]
    # The time it names is the device's local time of the forecast's frost (the container's zone,
    # the host's /etc/localtime; this machine's Python reads the same file).
    eta = warning["expected_at"]
    named = re.search(r"at about (\d\d:\d\d)", warning["summary"]).group(1)
    assert named in {time.strftime("%H:%M", time.localtime(round(eta / 60) * 60 + d)) for d in (-60, 0, 60)}

    probe.slope(+0.05, floor=-50)  # the trend turns
    eventually(lambda: not active(base, EXPECTED), "frost_expected resolved once it warms")
    (resolved,) = [a for a in alerts(base)["recent"] if a["key"] == EXPECTED]
    assert resolved["summary"].startswith("Garden: no frost expected within 10 min any more (")
    (ended,) = eventually(lambda: messages(project, "success"), "the end of the warning at the webhook")
    assert ended["title"] == "[Test garden] resolved: Garden"
    assert not active(base, FROST)

    # 2. A steady fall to frost: the warning comes first, shows on the dashboard, and the frost
    # alert takes over when the frost comes.
    probe.slope(-0.02, floor=-1.0)  # 1.2 °C a minute: about five minutes from 6 °C to frost
    eventually(lambda: active(base, EXPECTED), "frost_expected firing again")
    with dashboard_page(browser, base) as board:
        page = board.page
        page.goto("/")
        expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
        item = page.locator(f'#alerts li.alert[data-key="{EXPECTED}"]')
        expect()(item).to_contain_text("Garden: frost expected at about")
        expect()(item).to_have_attribute("data-severity", "warning")
        # The landing page's place card says it, then the table of All sensors.
        ahead = page.locator(f'.place-sensor[data-sensor="{PROBE}"] .sensor-ahead')
        expect()(ahead).to_have_text(re.compile(r"^frost in \d+ min$"))
        board.screenshot("frost-expected-card")
        page.locator("nav.parts").get_by_role("link", name="All sensors").click()
        row = reading_row(page, CHIP, "Garden")
        expect()(row.locator(".status-text")).to_have_text(re.compile(r"^ok, frost in \d+ min$"))
        expect()(row).to_have_attribute("data-alert", "warning")
        board.screenshot("frost-expected")
        assert board.problems == []
    probe.slope(-0.1, floor=-1.0)  # faster now: the test has seen what it came for
    eventually(lambda: active(base, FROST), "the frost alert")
    eventually(lambda: not active(base, EXPECTED), "frost_expected quiet while frost fires")
    recent = alerts(base)["recent"]
    frost = next(a for a in recent if a["key"] == FROST)
    expected = next(a for a in recent if a["key"] == EXPECTED)  # the newest: the second warning
    assert expected["fired_at"] < frost["fired_at"]
    assert expected["summary"] == "Garden: frost came; the frost alert takes over"

    # 3. It warms: the frost alert resolves, and no warning comes back on the way up.
    probe.slope(+0.2, floor=-1.0)
    eventually(lambda: not active(base, FROST), "the frost alert resolved")
    assert sensor(base)["frost_eta_reason"] in ("warming", "beyond lead time", None)
    probe.slope(0.0)
    fired = [a for a in alerts(base)["recent"] if a["key"] == EXPECTED]
    assert len(fired) == 2 and all(a["resolved_at"] is not None for a in fired)
