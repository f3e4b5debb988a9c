"""Issue 4: the dashboard in a real browser, Debian's headless Chromium driven by Playwright."""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from conftest import REPO, compose_project, sensors_by_id, wait_until

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/provision.sh), not Playwright's download
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
PACKAGE = "coretemp-isa-0000/temp1"
PACKAGE_1 = "coretemp-isa-0001/temp1"
# ms: how long the page may take to show something on a busy 2-core machine (several times
# slower than a quiet one). Every wait below is for "eventually", so only a broken page waits
# this long. How soon it shows things is for `make bench`, not for a verdict here.
PATIENCE = 30_000

# Records, from the very start of the page, when a plot first shows a value (uPlot fills its
# legend in the same commit that draws the data) and any CSP violation. An init script runs
# through the DevTools protocol, so the page's own CSP does not apply to it.
PAGE_PROBE = """
window.__frost = {firstPlot: null, csp: []};
document.addEventListener("securitypolicyviolation", (e) => {
  window.__frost.csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
new MutationObserver((_, observer) => {
  const cells = document.querySelectorAll(".plot-card .u-legend .u-series:not(:first-child) .u-value");
  if ([...cells].some((cell) => /\\d/.test(cell.textContent))) {
    window.__frost.firstPlot = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@dataclass
class Dashboard:
    """A page of the dashboard and what the browser said while showing it."""

    page: object
    problems: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def probe(self) -> dict:
        return self.page.evaluate("window.__frost")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/provision.sh as root (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def dashboard(browser, stack):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=stack.base_url)
    page = context.new_page()
    page.set_default_timeout(PATIENCE)
    page.add_init_script(PAGE_PROBE)
    board = Dashboard(page)
    page.on("console", lambda m: board.problems.append(f"console.{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: board.problems.append(f"page error: {error}"))
    try:
        yield board
    finally:
        context.close()


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=PATIENCE)  # its own default is 5 s
    return playwright_expect


def reading_row(page, chip: str, label: str):
    """The readings-table row of one sensor: in the <tbody> of its chip, by its name."""
    body = page.locator("#readings tbody").filter(has=page.locator("th.chip", has_text=re.compile(f"^{chip}$")))
    return body.locator("tr").filter(has=page.locator("th[scope=row]", has_text=re.compile(f"^{label}$")))


@pytest.mark.smoke
def test_dashboard_loads_and_plots_without_console_errors_or_csp_violations(dashboard, stack):
    page = dashboard.page
    response = page.goto("/")
    assert response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "style-src 'self'" in csp, "nginx sends no strict CSP"
    expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
    # One plot per chip and quantity of the fake tree, each a uPlot canvas with its legend.
    sensors = list(sensors_by_id(stack).values())
    groups = {(s["chip"], s["kind"], s["unit"]) for s in sensors}
    expect()(page.locator(".plot-card")).to_have_count(len(groups))
    expect()(page.locator(".plot-card canvas")).to_have_count(len(groups))
    labels = page.locator(".u-legend .u-series .u-label").all_inner_texts()
    for label in ("Package id 0", "Package id 1", "Core 0", "Composite"):
        assert label in labels, f"{label!r} not among the legend labels {sorted(set(labels))}"
    wait_until(lambda: dashboard.probe()["firstPlot"], PATIENCE / 1000, what="the first plot drawn with data")
    first_plot = dashboard.probe()["firstPlot"]
    print(f"time to first plot (navigation start -> first uPlot drawn with data): {first_plot:.0f} ms")
    box = page.locator(".plot-card canvas").first.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    expect()(reading_row(page, "coretemp-isa-0000", "Package id 0").locator("td.value")).to_have_text(
        re.compile(r"^\d+\.\d °C$"))
    dashboard.screenshot("loaded")
    assert dashboard.probe()["csp"] == []
    assert dashboard.problems == []


def test_a_changed_value_in_the_tree_shows_in_the_readings_table(dashboard, stack):
    page = dashboard.page
    page.goto("/")
    value = reading_row(page, "coretemp-isa-0000", "Package id 0").locator("td.value")
    expect()(value).not_to_have_text("61.0 °C")
    expect()(value).to_have_text(re.compile(r"\d °C$"))
    chip = stack.chips["coretemp"][0]
    try:
        chip.write("temp1_input", 61000)
        expect()(value).to_have_text("61.0 °C")
        dashboard.screenshot("changed-value")
    finally:
        chip.write("temp1_input", 45000)  # as the tree was built: other modules assert it
        wait_until(lambda: sensors_by_id(stack)[PACKAGE]["value"] == 45.0, PATIENCE / 1000,
                   what="the value restored")
    assert dashboard.problems == []


def test_readings_at_or_below_the_frost_threshold_are_flagged_in_the_table(dashboard, stack):
    page = dashboard.page
    threshold = requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["frost_threshold"]
    page.goto("/")
    row = reading_row(page, "coretemp-isa-0001", "Package id 1")
    expect()(row.locator("td.value")).to_have_text(re.compile(r"\d °C$"))
    expect()(row).not_to_have_attribute("data-frost", "")
    chip = stack.chips["coretemp"][1]
    try:
        chip.write("temp1_input", int(threshold * 1000) - 2000)
        expect()(row).to_have_attribute("data-frost", "")
        expect()(row.locator("td.status")).to_contain_text("frost")
        dashboard.screenshot("frost")
    finally:
        chip.write("temp1_input", 51000)  # as the tree was built: test_config_sensors.py asserts it
        wait_until(lambda: sensors_by_id(stack)[PACKAGE_1]["value"] == 51.0, PATIENCE / 1000,
                   what="the value restored")
    expect()(row).not_to_have_attribute("data-frost", "")
    assert dashboard.problems == []


def test_no_sensors_shows_the_notice_and_no_empty_table(browser):
    # A real stack over a sysfs with no hwmon at all, as on a VM or a laptop (issue 2).
    work = Path(tempfile.mkdtemp(prefix="frost-nohwmon-"))
    try:
        (work / "devices").mkdir()
        for path in (work, work / "devices"):
            path.chmod(0o755)
        with compose_project("frostempty", ["compose.yaml", "compose.test.yaml"],
                             {"FROST_TEST_SYSFS": str(work)}) as project:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                page.goto(project.url("nginx", 8080, "/"))
                expect()(page.locator("#no-sensors")).to_be_visible()
                expect()(page.locator("#loading")).to_be_hidden()
                expect()(page.locator("#readings")).to_be_hidden()
                expect()(page.locator(".plot-card")).to_have_count(0)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "no-sensors.png"), full_page=True)
                print(f"screenshot: {ARTIFACTS / 'no-sensors.png'}")
            finally:
                page.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Keep this one last in the module: it stops and restarts the app container.
def test_the_page_shows_it_is_reconnecting_while_the_app_is_down_and_recovers(dashboard, stack):
    page = dashboard.page
    page.goto("/")
    state = page.locator("#connection")
    expect()(state).to_have_attribute("data-state", "live")
    stack.compose_cli("stop", "app")
    try:
        # The stream drops ("reconnecting"); nginx then answers 503 for the app ("offline" + why).
        expect()(state).to_have_attribute("data-state", re.compile("^(reconnecting|offline)$"))
        expect()(page.locator("#connection-text")).not_to_have_text("Live")
        dashboard.screenshot("app-down")
    finally:
        stack.compose_cli("start", "app")
    # The app's start, then up to 15 s of the page's back-off between tries.
    expect()(state).to_have_attribute("data-state", "live", timeout=3 * PATIENCE)
    expect()(page.locator("#connection-text")).to_have_text("Live")
    dashboard.screenshot("app-back")
    wait_until(lambda: PACKAGE in sensors_by_id(stack), PATIENCE / 1000, what="sensors after the restart")
