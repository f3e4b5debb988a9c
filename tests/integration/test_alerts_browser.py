"""Issue 14 in a real browser: a frost alert shows in a banner, marks its sensor, notifies, and goes.

A stack of its own: one DS18B20 probe (relabelled "Garden") beside a dual-socket coretemp, and a
config whose frost rule fires without delay, so the test decides when the garden freezes and thaws.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from chips import coretemp_dual_socket, ds18b20
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from test_browser import DESKTOP, chromium, expect, open_all_sensors, open_page, reading_row
from waiting import eventually

GARDEN = "w1_slave_temp-virtual-0/temp1"
GARDEN_CHIP = "w1_slave_temp-virtual-0"
FROST_KEY = f"frost/{GARDEN}"
CONFIG = f"""
[relabel]
"{GARDEN}" = "Garden"

# Fire on the first sample at or below frost_threshold (0 °C by default): no waiting in the test.
[alerts.rules.frost]
for = "0s"
"""
# A name Chromium resolves to 127.0.0.1 (--host-resolver-rules) but, not being localhost, takes
# for a plain-http origin on the network: the dashboard as a phone on the LAN sees it.
LAN_HOST = "frostserver.lan"
PHONE = {"width": 390, "height": 844}

# Stands in for the browser's Notification before the page runs: records what the page shows and
# whether it asks for permission, without a desktop to show anything on.
NOTIFY_PROBE = """
window.__notify = {asked: 0, shown: []};
if (typeof Notification === "function") {
  const Real = Notification;
  const Recorded = function (title, options = {}) {
    window.__notify.shown.push({title, body: options.body, tag: options.tag});
    return {close() {}};
  };
  Object.defineProperty(Recorded, "permission", {get: () => Real.permission});
  Recorded.requestPermission = (...args) => {
    window.__notify.asked++;
    return Real.requestPermission(...args);
  };
  window.Notification = Recorded;
}
"""


@pytest.fixture(scope="module")
def alert_stack():
    work = Path(tempfile.mkdtemp(prefix="frost-alerts-ui-"))
    work.chmod(0o755)  # the app runs as an unprivileged user in the container
    try:
        tree_dir = work / "sys"
        tree_dir.mkdir(mode=0o755)
        tree = FakeSysfs(tree_dir)
        (probe,) = ds18b20(tree, serials=("28-000005e2fdc3",))
        coretemp_dual_socket(tree)
        config = work / "frostserver.toml"
        config.write_text(CONFIG)
        config.chmod(0o644)
        env = {"FROST_TEST_SYSFS": str(tree_dir), "FROST_TEST_CONFIG": str(config)}
        with compose_project("frostalertsui", COMPOSE_FILES, env) as project:
            base = project.url("nginx", 8080)
            eventually(lambda: any(s["id"] == GARDEN for s in requests.get(base + "/api/v1/sensors", timeout=5)
                                   .json()["sensors"]), "the first sample")
            yield base, probe
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    # The LAN name resolves to this machine: plain http to it is no secure context.
    with chromium(f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1") as launched:
        yield launched


@contextmanager
def dashboard_page(browser, base_url: str, *, notifications: bool = False, viewport: dict | None = None):
    """Open a page in a context of its own (notifications granted or not), record what goes wrong."""
    # No `permissions` at all unless granting: an empty list would deny every permission (CDP's
    # grantPermissions rejects all it is not given), and the page would never offer its button.
    granted = {"permissions": ["notifications"]} if notifications else {}
    # A failed request (the alerts API's 503 in a test) is logged by Chromium itself: not the page's doing.
    with open_page(browser, base_url, viewport or DESKTOP, init_script=NOTIFY_PROBE, **granted) as board:
        yield board


def shown(page) -> list[dict]:
    return page.evaluate("window.__notify.shown")


def plot_card(page, chip: str):
    return page.locator(".plot-card").filter(has=page.locator(".chip", has_text=re.compile(f"^{chip}$")))


def test_a_frost_alert_shows_in_a_banner_marks_its_sensor_notifies_and_goes(browser, alert_stack):
    base, probe = alert_stack
    with dashboard_page(browser, base, notifications=True) as first:
        page = first.page
        open_all_sensors(page)
        expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
        expect()(page.locator("#notify")).to_have_attribute("data-state", "granted")
        banner = page.locator("#alerts")
        row = reading_row(page, GARDEN_CHIP, "Garden")
        expect()(row.locator("td.value")).to_have_text("23.1 °C")
        expect()(banner).to_be_hidden()
        try:
            probe.write("temp1_input", -1500)
            # The API first (the contract the page relies on), then what the page makes of it.
            active = eventually(lambda: [a for a in requests.get(base + "/api/v1/alerts", timeout=5).json()["active"]
                                         if a["key"] == FROST_KEY], "the frost alert in the API")
            assert active[0]["sensor"] == GARDEN and active[0]["label"] == "Garden"
            expect()(banner).to_be_visible()
            item = banner.locator(f'li.alert[data-key="{FROST_KEY}"]')
            expect()(item).to_contain_text("Garden")
            expect()(item).to_have_attribute("data-severity", re.compile("^(critical|warning)$"))
            expect()(item.locator(".alert-since")).to_have_text(re.compile(r"^(just now|since \d+ min ago)$"))
            expect()(page.locator("#alerts-title")).to_have_text("1 active alert")
            expect()(page.get_by_role("alert")).to_contain_text("Garden")
            # The sensor is marked in the table and on its plot card; no other sensor is.
            expect()(row).to_have_attribute("data-alert", re.compile("^(critical|warning)$"))
            expect()(row.locator(".alert-mark")).to_have_text(re.compile("^(critical|warning) alert$"))
            expect()(page.locator("#readings tr[data-alert]")).to_have_count(1)
            card = plot_card(page, GARDEN_CHIP)
            expect()(card).to_have_attribute("data-alert", re.compile("^(critical|warning)$"))
            expect()(card.locator(".alert-badge")).to_have_text("alert: Garden")
            expect()(page.locator(".plot-card[data-alert]")).to_have_count(1)
            eventually(lambda: [n for n in shown(page) if n["tag"] == FROST_KEY], "a notification of the frost alert")
            assert "Garden" in shown(page)[0]["title"], shown(page)
            first.screenshot("alert-banner")

            # A page opened now shows the alert, but does not notify it: it was active already.
            with dashboard_page(browser, base, notifications=True, viewport=PHONE) as second:
                second.page.goto("/")
                expect()(second.page.locator(f'#alerts li.alert[data-key="{FROST_KEY}"]')).to_be_visible()
                # The places overview marks the sensor too, in words.
                overview_row = second.page.locator(f'.place-sensor[data-sensor="{GARDEN}"]')
                expect()(overview_row).to_have_attribute("data-alert", re.compile("^(critical|warning)$"))
                expect()(overview_row.locator(".sensor-alert")).to_have_text(re.compile("^(critical|warning) alert$"))
                expect()(second.page.locator(".place-sensor[data-alert]")).to_have_count(1)
                second.screenshot("alert-banner-phone")
                assert second.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], \
                    "the banner is wider than a phone"

                probe.write("temp1_input", 10000)  # +10 °C: far above the threshold plus its hysteresis
                expect()(banner).to_be_hidden()
                expect()(second.page.locator("#alerts")).to_be_hidden()
                expect()(overview_row).not_to_have_attribute("data-alert", re.compile(".*"))
                eventually(lambda: len(shown(second.page)) == 1, "the second page's notification")
                assert [n["title"] for n in shown(second.page)] == ["Resolved: Garden"]
                assert second.problems == []
        finally:
            probe.write("temp1_input", 23125)  # as ds18b20() built it
        expect()(row).not_to_have_attribute("data-alert", re.compile(".*"))
        expect()(row.locator(".alert-mark")).to_be_hidden()
        expect()(page.locator(".plot-card[data-alert]")).to_have_count(0)
        eventually(lambda: len(shown(page)) == 2, "the notification that it resolved")
        # The built-in frost rule is critical: its notification says so, then that it resolved.
        assert [(n["tag"], n["title"].split(":")[0]) for n in shown(page)] == \
            [(FROST_KEY, "Critical"), (FROST_KEY, "Resolved")]
        assert first.problems == []


def test_notifications_are_asked_for_on_a_click_never_on_load(browser, alert_stack):
    # 127.0.0.1 is a secure context: the button is offered, and nothing is asked until it is clicked.
    base, _ = alert_stack
    with dashboard_page(browser, base) as board:
        page = board.page
        page.goto("/")
        expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
        button = page.get_by_role("button", name="Notify me in this browser")
        expect()(button).to_be_visible()
        assert page.evaluate("[window.isSecureContext, Notification.permission, window.__notify.asked]") == \
            [True, "default", 0]
        button.click()
        eventually(lambda: page.evaluate("window.__notify.asked") == 1, "the permission asked")
        # Headless Chromium answers the prompt itself; whatever it says, the page says what follows.
        if page.evaluate("Notification.permission") == "denied":
            expect()(page.locator("#notify")).to_contain_text("Notifications are blocked")
            expect()(button).to_be_hidden()
        assert board.problems == []


def test_on_plain_http_to_a_lan_address_a_sentence_replaces_the_button(browser, alert_stack):
    base, _ = alert_stack
    port = urlsplit(base).port
    with dashboard_page(browser, f"http://{LAN_HOST}:{port}") as board:
        page = board.page
        page.goto("/")
        expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
        assert page.evaluate("window.isSecureContext") is False
        notify = page.locator("#notify")
        expect()(notify).to_have_attribute("data-state", "insecure")
        expect()(notify).to_contain_text("Browser notifications need https")
        expect()(page.get_by_role("button", name="Notify me in this browser")).to_be_hidden()
        assert page.evaluate("window.__notify.asked") == 0
        assert board.problems == []


@pytest.mark.parametrize("failure", ["503", "404", "network"])
def test_an_alerts_api_that_fails_leaves_the_dashboard_working(browser, alert_stack, failure):
    base, _ = alert_stack

    def fail(route):
        if failure == "network":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=int(failure), content_type="application/json",
                          body=json.dumps({"status": int(failure), "error": "x", "message": "no alerts here"}))

    with dashboard_page(browser, base) as board:
        page = board.page
        page.route(re.compile(r".*/api/v1/alerts$"), fail)
        with page.expect_request(re.compile(r".*/api/v1/alerts$")):
            open_all_sensors(page)
        expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
        expect()(reading_row(page, GARDEN_CHIP, "Garden").locator("td.value")).to_have_text(re.compile(r"\d °C$"))
        expect()(page.locator(".plot-card").first).to_be_visible()
        expect()(page.locator("#alerts")).to_be_hidden()
        assert board.problems == []


def test_unknown_fields_are_ignored_and_a_device_wide_alert_marks_no_sensor(browser, alert_stack):
    base, _ = alert_stack
    now = requests.get(base + "/api/v1/sensors", timeout=5).json()["sampled_at"]
    answer = {
        "active": [
            {"key": "sampling_stopped", "rule": "sampling_stopped", "sensor": None, "label": "Sampling",
             "severity": "critical", "summary": "No sample for 30 s", "value": None, "limit": None, "unit": "",
             "fired_at": now - 600, "resolved_at": None, "runbook": "https://example.invalid/"},
            {"key": FROST_KEY, "rule": "frost", "sensor": GARDEN, "label": "Garden", "severity": "future-grade",
             "summary": "Garden at -1.5 °C: at or below the frost threshold 0.0 °C", "value": -1.5, "limit": 0,
             "unit": "°C", "fired_at": now - 30, "resolved_at": None, "escalation": {"level": 2}},
            {"no key": "an alert without a key is no alert"},
        ],
        "recent": [],
        "notifications": {"targets": 0, "channels": ["ntfy"]},
        "generated_by": "a newer app",
    }
    with dashboard_page(browser, base) as board:
        page = board.page
        page.route(re.compile(r".*/api/v1/alerts$"),
                   lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(answer)))
        open_all_sensors(page)
        banner = page.locator("#alerts")
        expect()(banner.locator("li.alert")).to_have_count(2)
        expect()(banner).to_have_attribute("data-severity", "critical")
        # Oldest first; an unknown severity is shown as a warning rather than dropped.
        expect()(banner.locator("li.alert .alert-label")).to_have_text(["Sampling", "Garden"])
        expect()(banner.locator("li.alert").nth(1)).to_have_attribute("data-severity", "warning")
        expect()(banner.locator("li.alert").first.locator(".alert-since")).to_have_text("since 10 min ago")
        expect()(banner.locator(".alerts-targets")).to_be_visible()  # no one gets these: say so
        expect()(page.locator("#readings tr[data-alert]")).to_have_count(1)
        expect()(reading_row(page, GARDEN_CHIP, "Garden")).to_have_attribute("data-alert", "warning")
        assert board.problems == []
