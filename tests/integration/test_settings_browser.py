"""Issue 22 in a real browser: an admin sets the device up on the places overview and the settings page.

A stack of its own (two DS18B20 probes beside a dual-socket coretemp, the tests' webhook receiver)
with an admin and a viewer made on the device. As the admin, on a phone and on a desktop window:
rename a sensor into a new place, hide one, calibrate one by +0.5, lower a limit until its alert
fires, add a notification target and test it, switch to °F; then reload and see every change, while
a second browser that never reloads saw each one live. A viewer sees no editing controls, and the
API refuses their writes. Before each test the browser's settings are cleared (an empty import), so
that the tests pass in any order.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket, ds18b20, sht3x
from conftest import COMPOSE_FILES, ComposeProject, compose_project
from fakesysfs import FakeSysfs
from test_accounts_browser import sign_in
from test_browser import expect
from test_browser import open_page as new_page
from test_browser import browser  # noqa: F401  # the module's Chromium (a fixture)
from waiting import eventually

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1400, "height": 1000}
ADMIN, ADMIN_PASSWORD = "ada", "analytical engine"
VIEWER, VIEWER_PASSWORD = "bob", "difference engine"
GARDEN = "w1_slave_temp-virtual-0/temp1"  # 23.125 °C, "Garden" in the config file
SHED = "w1_slave_temp-virtual-0~2/temp1"  # 21.5 °C (lm-sensors names both probes alike; the id tells them apart)
PACKAGE = "coretemp-isa-0000/temp1"  # "Package id 0", 45 °C
CORE_1 = "coretemp-isa-0000/temp3"  # "Core 1", 43 °C
PACKAGE_1 = "coretemp-isa-0001/temp1"  # "Package id 1", 51 °C, max 80 °C
AIR, RH = "sht3x-i2c-1-44/temp1", "sht3x-i2c-1-44/humidity1"  # 23.5 °C, 45.2 %RH
TARGET_PATH = "/ok/settings-test"
# temperature_max fires as soon as a value is above the sensor's own max, so that lowering a limit
# shows its alert without waiting the built-in minute.
CONFIG = f"""
[relabel]
"{GARDEN}" = "Garden"

[alerts.rules.temperature_max]
for = "0s"
"""
HOSTILE_LABEL = "<img src=x onerror=window.__pwned=1>"
FORMULA_PLACE = '=HYPERLINK("http://x")'


@dataclass
class Device:
    """A stack of its own: its URL, its compose project, and an admin's API client for the fixtures."""

    base_url: str
    project: ComposeProject

    def url(self, path: str) -> str:
        return self.base_url + path

    def client(self, name: str, password: str) -> tuple[requests.Session, dict[str, str]]:
        """Sign in as a browser would (this device's Origin); the client and its CSRF header."""
        client = requests.Session()
        client.headers["Origin"] = self.base_url
        response = client.post(self.url("/api/v1/session"), json={"username": name, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        return client, {"X-CSRF-Token": response.json()["csrf_token"]}

    def sensors(self) -> dict[str, dict]:
        answer = requests.get(self.url("/api/v1/sensors"), timeout=10).json()
        return {s["id"]: s for s in answer["sensors"]} | {"": answer}

    def received(self) -> list[dict]:
        url = self.project.url("receiver", 8000, "/received")
        return requests.get(url, params={"path": TARGET_PATH}, timeout=10).json()


@pytest.fixture(scope="module")
def device():
    work = Path(tempfile.mkdtemp(prefix="frost-settings-ui-"))
    work.chmod(0o755)  # the app runs as an unprivileged user in the container
    try:
        tree_dir = work / "sys"
        tree_dir.mkdir(mode=0o755)
        tree = FakeSysfs(tree_dir)
        ds18b20(tree)
        coretemp_dual_socket(tree)
        sht3x(tree)  # a temperature and a humidity sensor to pair (issue 24)
        config = work / "frostserver.toml"
        config.write_text(CONFIG)
        config.chmod(0o644)
        env = {"FROST_TEST_SYSFS": str(tree_dir), "FROST_TEST_CONFIG": str(config)}
        files = [*COMPOSE_FILES, "tests/integration/compose.receiver.yaml"]
        with compose_project("frostsettingsui", files, env) as project:
            for name, password, role in ((ADMIN, ADMIN_PASSWORD, "admin"), (VIEWER, VIEWER_PASSWORD, "viewer")):
                project.accounts("add", name, "--role", role, input=password + "\n")
            running = Device(project.url("nginx", 8080), project)
            eventually(lambda: {GARDEN, SHED, PACKAGE, CORE_1, PACKAGE_1} <= running.sensors().keys(), "every sensor")
            yield running
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_settings(device):
    """Start from the config file alone: an empty import clears what the browser set (names, rules,
    the device's), and the targets added in the browser are removed (an import keeps them: an export
    never holds them)."""
    client, csrf = device.client(ADMIN, ADMIN_PASSWORD)
    response = client.post(device.url("/api/v1/settings/import"), data=b"",
                           headers={**csrf, "Content-Type": "application/toml"}, timeout=30)
    assert response.status_code == 200, response.text
    for target in response.json()["targets"]:
        if target["source"] == "browser":
            removed = client.delete(device.url(f"/api/v1/settings/targets/{target['id']}"), headers=csrf, timeout=30)
            assert removed.status_code == 204, removed.text
    eventually(lambda: device.sensors()[""]["device"]["units"] == "celsius"
               and device.sensors()[PACKAGE]["label"] == "Package id 0", "the settings cleared")
    alerts = lambda: requests.get(device.url("/api/v1/alerts"), timeout=10).json()["active"]  # noqa: E731
    eventually(lambda: not [a for a in alerts() if a.get("sensor")], "no sensor alert left from another test")
    yield


def open_page(browser, base_url: str, viewport: dict):
    """A page in a browser context of its own (its own cookies); a 409 or 403 a test asks for is no mistake."""
    return new_page(browser, base_url, viewport, is_mobile=viewport["width"] < 500)


def signed_in(page, name: str, password: str) -> None:
    page.goto("/#signin")
    sign_in(page, name, password)
    expect()(page.locator("#account-name")).to_have_text(name)
    expect()(page.locator("#connection")).to_have_attribute("data-state", "live")


def row(page, sensor_id: str):
    return page.locator(f'.place-sensor[data-sensor="{sensor_id}"]')


def card(page, place: str):
    return page.locator(".place-card").filter(has=page.locator("h2", has_text=re.compile(f"^{re.escape(place)}$")))


def open_sheet(page, sensor_id: str):
    row(page, sensor_id).get_by_role("button").click()
    sheet = page.locator("#sheet")
    expect()(sheet.locator("form.sheet-form")).to_be_visible()
    return sheet


def save(sheet) -> None:
    sheet.get_by_role("button", name="Save", exact=True).click()
    expect()(sheet).to_be_hidden()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_admin_sets_the_device_up_and_a_second_browser_sees_each_change_live(browser, device, viewport):
    name = f"settings-{viewport['width']}"
    with open_page(browser, device.base_url, viewport) as admin, open_page(browser, device.base_url, DESKTOP) as other:
        page = admin.page
        signed_in(page, ADMIN, ADMIN_PASSWORD)
        watcher = other.page
        watcher.goto("/")  # anonymous readers may read here
        expect()(row(watcher, PACKAGE)).to_be_visible()
        watcher.evaluate("window.__sameDocument = true")  # gone if the page is ever reloaded
        expect()(card(page, "Unsorted")).to_be_visible()
        admin.screenshot(f"{name}-before")

        # Rename a sensor and put it in a new place.
        sheet = open_sheet(page, PACKAGE)
        expect()(sheet.locator('[data-setting="label"] .source')).to_have_text("default")
        sheet.get_by_label("Name", exact=True).fill("Greenhouse floor")
        sheet.get_by_label(re.compile("^Place")).fill("Greenhouse")
        admin.screenshot(f"{name}-sheet")
        save(sheet)
        for board in (page, watcher):
            expect()(card(board, "Greenhouse").locator(f'[data-sensor="{PACKAGE}"] .sensor-name')).to_have_text(
                "Greenhouse floor")
        sheet = open_sheet(page, PACKAGE)
        expect()(sheet.locator('[data-setting="label"] .source')).to_contain_text("set here")
        sheet.get_by_role("button", name="Cancel").click()

        # Hide one: off the overview (here and there), still under All sensors.
        sheet = open_sheet(page, CORE_1)
        sheet.get_by_label(re.compile("Hide from the places overview")).check()
        save(sheet)
        for board in (page, watcher):
            expect()(row(board, CORE_1)).to_have_count(0)
        assert device.sensors()[CORE_1]["hidden"] is True

        # Calibrate one by +0.5: the value is the raw reading plus 0.5, in the API and on both pages.
        sheet = open_sheet(page, GARDEN)
        sheet.get_by_label("An offset").check()
        sheet.get_by_label(re.compile("^Offset")).fill("0.5")
        save(sheet)
        garden = eventually(lambda: (s := device.sensors()[GARDEN]).get("raw_value") is not None
                            and abs(s["value"] - s["raw_value"] - 0.5) < 1e-6 and s, "the calibrated value")
        assert abs(garden["raw_value"] - 23.125) < 1e-6, garden
        for board in (page, watcher):
            expect()(row(board, GARDEN).locator(".sensor-value")).to_have_text("23.6 °C")

        # Lower a limit until its alert fires: the banner, on both pages.
        sheet = open_sheet(page, PACKAGE_1)
        expect()(sheet.get_by_label(re.compile("^High limit"))).to_have_value("80")
        sheet.get_by_label(re.compile("^High limit")).fill("40")
        save(sheet)
        for board in (page, watcher):
            expect()(board.locator(f'#alerts li.alert[data-sensor="{PACKAGE_1}"]')).to_be_visible()
            expect()(row(board, PACKAGE_1)).to_have_attribute("data-alert", re.compile("^(warning|critical)$"))
        admin.screenshot(f"{name}-alert")

        # Add a target and run its test: its result shown; the URL never on the page again.
        page.locator("#account").get_by_role("link", name="Settings").click()
        settings = page.locator("#settings")
        url = f"json://receiver:8000{TARGET_PATH}"
        settings.get_by_label(re.compile("^URL")).fill(url)
        settings.get_by_role("button", name="Add target").click()
        target = settings.locator("[data-target]")
        expect()(target).to_have_count(1)
        expect()(target).to_contain_text("set here")
        expect()(settings.get_by_label(re.compile("^URL"))).to_have_value("")
        assert "settings-test" not in page.content(), "the target's URL is on the page"
        settings.get_by_role("button", name="Send a test").click()
        expect()(settings.locator(".test-results li")).to_have_count(1)
        expect()(settings.locator(".test-results li")).to_have_attribute("data-ok", "true")
        eventually(device.received, "the test notification at the receiver")
        admin.screenshot(f"{name}-targets")

        # Switch to °F.
        device_form = settings.locator("form", has=page.get_by_label("Device name (in the page's title and the notifications)"))
        device_form.get_by_label(re.compile("^Units")).select_option("fahrenheit")
        device_form.get_by_role("button", name="Save").click()
        expect()(settings.locator(".settings-page > .note")).to_have_text("Saved.")
        # 23.625 °C is 74.525 °F.
        expect()(row(watcher, GARDEN).locator(".sensor-value")).to_have_text("74.5 °F")
        page.get_by_role("link", name="Back to the readings").click()
        expect()(row(page, GARDEN).locator(".sensor-value")).to_have_text("74.5 °F")
        expect()(row(page, GARDEN).locator(".sensor-day")).to_have_text(re.compile(r"^low \d+\.\d °F · high \d+\.\d °F$"))

        # A reload shows every change.
        page.reload()
        expect()(card(page, "Greenhouse").locator(f'[data-sensor="{PACKAGE}"] .sensor-name')).to_have_text("Greenhouse floor")
        expect()(row(page, CORE_1)).to_have_count(0)
        expect()(row(page, GARDEN).locator(".sensor-value")).to_have_text("74.5 °F")
        expect()(page.locator(f'#alerts li.alert[data-sensor="{PACKAGE_1}"]')).to_be_visible()
        page.locator("nav.parts").get_by_role("link", name="All sensors").click()
        expect()(page.locator("#readings tr", has=page.locator("th[scope=row]", has_text="Core 1")).first).to_be_visible()
        expect()(page.locator("#download-csv")).to_have_attribute("href", re.compile("units=fahrenheit"))
        expect()(page.locator(".plot-card .quantity", has_text="°F").first).to_be_visible()
        admin.screenshot(f"{name}-after-reload")
        page.goto("/#settings")
        expect()(page.locator("#settings [data-target]")).to_have_count(1)

        # The second browser followed all along, never reloading.
        assert watcher.evaluate("window.__sameDocument") is True
        expect()(card(watcher, "Greenhouse")).to_be_visible()
        other.screenshot(f"{name}-second-browser")
        assert admin.problems == [] and other.problems == []


def test_a_sensor_changed_elsewhere_meanwhile_is_a_409_that_shows_it_as_it_is(browser, device):
    with open_page(browser, device.base_url, PHONE) as board:
        page = board.page
        signed_in(page, ADMIN, ADMIN_PASSWORD)
        sheet = open_sheet(page, SHED)
        sheet.get_by_label("Name", exact=True).fill("Shed")
        # Another admin renames it first.
        client, csrf = device.client(ADMIN, ADMIN_PASSWORD)
        revision = device.sensors()[SHED]["revision"]
        response = client.patch(device.url(f"/api/v1/sensors/{SHED}"), json={"label": "Potting shed"},
                                headers={**csrf, "If-Match": f'"{revision}"'}, timeout=30)
        assert response.status_code == 200, response.text
        sheet.get_by_role("button", name="Save", exact=True).click()
        note = sheet.locator(".sheet-note")
        expect()(note).to_contain_text("Changed elsewhere meanwhile")
        expect()(note).to_contain_text("Potting shed")
        expect()(sheet.get_by_label("Name", exact=True)).to_have_value("Shed")  # the edit is kept
        board.screenshot("settings-409")
        save(sheet)  # again, over the other's change: from its revision now
        expect()(row(page, SHED).locator(".sensor-name")).to_have_text("Shed")
        assert board.problems == []


def test_names_a_person_types_stay_text_on_the_overview(browser, device):
    with open_page(browser, device.base_url, PHONE) as board:
        page = board.page
        signed_in(page, ADMIN, ADMIN_PASSWORD)
        sheet = open_sheet(page, SHED)
        sheet.get_by_label("Name", exact=True).fill(HOSTILE_LABEL)
        sheet.get_by_label(re.compile("^Place")).fill(FORMULA_PLACE)
        save(sheet)
        shed = card(page, FORMULA_PLACE).locator(f'[data-sensor="{SHED}"]')
        expect()(shed.locator(".sensor-name")).to_have_text(HOSTILE_LABEL)
        assert page.locator("#places img").count() == 0
        assert page.evaluate("window.__pwned") is None
        # The sheet shows it as text too, in its title and its field.
        sheet = open_sheet(page, SHED)
        expect()(sheet.locator("#sheet-title")).to_have_text(HOSTILE_LABEL)
        expect()(sheet.get_by_label("Name", exact=True)).to_have_value(HOSTILE_LABEL)
        # A name longer than the API takes is refused in the sheet, naming the field.
        sheet.get_by_label("Name", exact=True).fill("x" * 500)
        sheet.get_by_role("button", name="Save", exact=True).click()
        expect()(sheet.locator('[data-setting="label"] .field-error')).to_contain_text("at most 64 characters")
        expect()(sheet.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
        board.screenshot("settings-hostile-names")
        assert page.evaluate("window.__pwned") is None
        assert board.problems == []


def test_a_viewer_sees_no_editing_controls_and_the_api_refuses_their_writes(browser, device):
    with open_page(browser, device.base_url, PHONE) as board:
        page = board.page
        signed_in(page, VIEWER, VIEWER_PASSWORD)
        expect()(row(page, PACKAGE).locator(".sensor-value")).to_have_text(re.compile(r"\d °C$"))
        assert page.locator(".place-sensor button").count() == 0
        assert page.locator("#account").get_by_role("link", name="Settings").is_hidden()
        page.goto("/#settings")
        expect()(page.locator("#dashboard")).to_be_visible()
        expect()(page.locator("#settings")).to_be_hidden()
        page.locator("nav.parts").get_by_role("link", name="All sensors").click()
        expect()(page.locator("#readings tbody tr").first).to_be_visible()
        assert page.locator("#readings .sensor-edit").count() == 0
        board.screenshot("settings-viewer")
        assert board.problems == []

    client, csrf = device.client(VIEWER, VIEWER_PASSWORD)
    writes = [
        ("PATCH", f"/api/v1/sensors/{PACKAGE}", {"label": "mine"}),
        ("PATCH", "/api/v1/settings", {"device": {"units": "fahrenheit"}}),
        ("POST", "/api/v1/settings/targets", {"url": "json://receiver:8000/ok/viewer"}),
    ]
    for method, path, body in writes:
        response = client.request(method, device.url(path), json=body, headers=csrf, timeout=30)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
    assert device.sensors()[PACKAGE]["label"] == "Package id 0"


def test_an_admin_sets_the_forecast_a_pair_and_a_broker_on_a_phone(browser, device):
    secret = "mqtt-pw-s3cret"
    with open_page(browser, device.base_url, PHONE) as board:
        page = board.page
        signed_in(page, ADMIN, ADMIN_PASSWORD)
        page.goto("/#settings")

        # The forecast: every setting, with its source.
        forecast = page.locator("section[aria-labelledby=forecast-title]")
        forecast.get_by_label(re.compile("^Warn this far ahead")).fill("2h")
        forecast.get_by_label(re.compile("^Places")).fill("Greenhouse")
        forecast.get_by_role("button", name="Save").click()
        expect()(page.locator(".settings-page > .note")).to_contain_text("The forecast is saved")
        expect()(forecast.locator(".source[data-source=browser]")).to_have_count(2)
        client, csrf = device.client(ADMIN, ADMIN_PASSWORD)
        settings = client.get(device.url("/api/v1/settings"), timeout=30).json()
        assert settings["forecast"]["lead_time"]["value"] == 7200 and settings["forecast"]["places"]["value"] == ["Greenhouse"]

        # A pair: its three sensors appear on the overview within a sample or two.
        pairs = page.locator("section[aria-labelledby=pairs-title]")
        pairs.get_by_label("Temperature sensor").select_option(AIR)
        pairs.get_by_label("Humidity sensor").select_option(RH)
        pairs.get_by_label(re.compile("^Name")).fill("Bench")
        pairs.get_by_role("button", name="Pair").click()
        expect()(pairs.locator('[data-pair="bench"]')).to_contain_text("Bench")
        board.screenshot("settings-pair-phone")
        page.get_by_role("link", name="Back to the readings").click()
        expect()(row(page, "derived/bench/dew_point").locator(".sensor-name")).to_have_text("Bench dew point")

        # The broker: the password typed once, never shown again, not even after a reload.
        page.goto("/#settings")
        mqtt = page.locator("section[aria-labelledby=mqtt-title]")
        expect()(mqtt).to_contain_text("No broker")
        mqtt.get_by_label("Broker host").fill("127.0.0.1")
        mqtt.get_by_label("User name").fill("frost")
        mqtt.get_by_label(re.compile("^Password")).fill(secret)
        mqtt.get_by_role("button", name="Save").click()
        expect()(mqtt.locator(".target-shown")).to_have_text("mqtt://127.0.0.1:1883")
        page.reload()
        mqtt = page.locator("section[aria-labelledby=mqtt-title]")
        expect()(mqtt.locator(".target-shown")).to_have_text("mqtt://127.0.0.1:1883")
        expect()(mqtt.get_by_label(re.compile("^Password"))).to_have_value("")
        expect()(mqtt.get_by_label(re.compile("^Password"))).to_have_attribute("placeholder", re.compile("^set"))
        assert secret not in page.content()
        board.screenshot("settings-mqtt-phone")
        mqtt.get_by_role("button", name="Remove the broker set here").click()
        expect()(mqtt).to_contain_text("No broker")
        assert board.problems == []
