"""Issue 4: the dashboard in a real browser, Debian's headless Chromium driven by Playwright."""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from conftest import REPO, compose_project, sensors_by_id
from waiting import PATIENCE, eventually

DESKTOP = {"width": 1400, "height": 1000}
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/provision.sh), not Playwright's download
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
PACKAGE = "coretemp-isa-0000/temp1"
PACKAGE_1 = "coretemp-isa-0001/temp1"

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


@contextmanager
def chromium(*extra_args: str):
    """Debian's Chromium under Playwright, with CHROMIUM_ARGS and any of a test module's own."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/provision.sh as root (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@contextmanager
def open_page(browser, base_url: str, viewport: dict = DESKTOP, *, init_script: str | None = None,
              refusals_expected: bool = True, **context_options) -> Iterator[Dashboard]:
    """A page in a browser context of its own (its own cookies), recording what goes wrong.

    refusals_expected: Chromium logs every refused request itself ("Failed to load resource: ...
    401"); where a test asks for a 401, 403, 409 or 503, that line is not the page's mistake.
    """
    context = browser.new_context(viewport=viewport, base_url=base_url, **context_options)
    page = context.new_page()
    page.set_default_timeout(PATIENCE * 1000)  # ms
    if init_script:
        page.add_init_script(init_script)
    board = Dashboard(page)

    def said(message) -> None:
        if message.type not in ("error", "warning"):
            return
        if refusals_expected and message.text.startswith("Failed to load resource"):
            return
        board.problems.append(f"console.{message.type}: {message.text}")

    page.on("console", said)
    page.on("pageerror", lambda error: board.problems.append(f"page error: {error}"))
    try:
        yield board
    finally:
        context.close()


@pytest.fixture
def dashboard(browser, stack):
    with open_page(browser, stack.base_url, init_script=PAGE_PROBE, refusals_expected=False) as board:
        yield board


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=PATIENCE * 1000)  # ms; its own default is 5 s
    return playwright_expect


def open_all_sensors(page) -> None:
    """Open the landing page (the places overview), then "All sensors": the plots and the table."""
    page.goto("/")
    page.locator("nav.parts").get_by_role("link", name="All sensors").click()
    expect()(page.locator("#all-sensors")).to_be_visible()


def reading_row(page, chip: str, label: str):
    """The readings-table row of one sensor: in the <tbody> of its chip, by its name."""
    body = page.locator("#readings tbody").filter(has=page.locator("th.chip", has_text=re.compile(f"^{chip}$")))
    return body.locator("tr").filter(has=page.locator("th[scope=row]", has_text=re.compile(f"^{label}$")))


@pytest.mark.smoke
def test_the_landing_page_is_the_places_overview_and_loads_no_plotting_library(dashboard, stack):
    page = dashboard.page
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    response = page.goto("/")
    assert response.status == 200
    expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
    # Every sensor that is not hidden, in its place's card (none has a place here: "Unsorted").
    sensors = [s for s in sensors_by_id(stack).values() if not s.get("hidden")]
    expect()(page.locator(".place-card")).to_have_count(1)
    expect()(page.locator(".place-card h2")).to_have_text("Unsorted")
    expect()(page.locator(".place-sensor")).to_have_count(len(sensors))
    row = page.locator(f'.place-sensor[data-sensor="{PACKAGE}"]')
    expect()(row.locator(".sensor-value")).to_have_text(re.compile(r"^\d+\.\d °C$"))
    expect()(row.locator(".sensor-day")).to_have_text(re.compile(r"^low \d+\.\d °C · high \d+\.\d °C$"))
    expect()(row.locator(".spark path")).to_have_attribute("d", re.compile(r"^M"))
    assert page.locator("canvas").count() == 0 and page.locator(".plot-card").count() == 0
    assert not [url for url in scripts if "panels" in url], f"the overview loaded the panels' chunk: {scripts}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    dashboard.screenshot("overview")
    # One click away: the hardware panels, loaded then.
    page.locator("nav.parts").get_by_role("link", name="All sensors").click()
    expect()(page.locator(".plot-card").first).to_be_visible()
    assert [url for url in scripts if "panels" in url], scripts
    expect()(page.locator("#overview")).to_be_hidden()
    page.locator("nav.parts").get_by_role("link", name="Places").click()
    expect()(page.locator("#overview")).to_be_visible()
    expect()(page.locator("#all-sensors")).to_be_hidden()
    assert dashboard.probe()["csp"] == []
    assert dashboard.problems == []


def test_a_failed_sparkline_request_is_tried_again_soon(dashboard, stack):
    """The app restarting or a busy history (503) must not leave the sparklines empty for 15 minutes."""
    page = dashboard.page
    failures: list[str] = []

    def history(route) -> None:
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", headers={"Retry-After": "1"},
                          body='{"status": 503, "error": "Service Unavailable", "message": "busy"}')
        else:
            route.continue_()

    page.route("**/api/v1/history?*", history)
    page.goto("/")
    row = page.locator(f'.place-sensor[data-sensor="{PACKAGE}"]')
    expect()(row.locator(".spark path")).to_have_attribute("d", re.compile(r"^M"))
    assert len(failures) == 1
    page.unroute("**/api/v1/history?*")


@pytest.mark.smoke
def test_dashboard_loads_and_plots_without_console_errors_or_csp_violations(dashboard, stack):
    page = dashboard.page
    # All sensors opened from a bookmark: the time to the first plot includes loading its chunk.
    response = page.goto("/#all")
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
    eventually(lambda: dashboard.probe()["firstPlot"], "the first plot drawn with data")
    first_plot = dashboard.probe()["firstPlot"]
    print(f"time to first plot (navigation start to /#all -> first uPlot drawn with data): {first_plot:.0f} ms")
    box = page.locator(".plot-card canvas").first.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    expect()(reading_row(page, "coretemp-isa-0000", "Package id 0").locator("td.value")).to_have_text(
        re.compile(r"^\d+\.\d °C$"))
    dashboard.screenshot("loaded")
    assert dashboard.probe()["csp"] == []
    assert dashboard.problems == []


def test_a_changed_value_in_the_tree_shows_in_the_readings_table(dashboard, stack):
    page = dashboard.page
    open_all_sensors(page)
    value = reading_row(page, "coretemp-isa-0000", "Package id 0").locator("td.value")
    expect()(value).not_to_have_text("61.0 °C")
    expect()(value).to_have_text(re.compile(r"\d °C$"))
    with stack.attribute(stack.chips["coretemp"][0], "temp1_input", 61000, PACKAGE):
        expect()(value).to_have_text("61.0 °C")
        dashboard.screenshot("changed-value")
    assert dashboard.problems == []


def test_readings_at_or_below_the_frost_threshold_are_flagged_in_the_table(dashboard, stack):
    page = dashboard.page
    threshold = requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["frost_threshold"]
    open_all_sensors(page)
    row = reading_row(page, "coretemp-isa-0001", "Package id 1")
    expect()(row.locator("td.value")).to_have_text(re.compile(r"\d °C$"))
    expect()(row).not_to_have_attribute("data-frost", "")
    with stack.attribute(stack.chips["coretemp"][1], "temp1_input", int(threshold * 1000) - 2000, PACKAGE_1):
        expect()(row).to_have_attribute("data-frost", "")
        expect()(row.locator("td.status")).to_contain_text("frost")
        dashboard.screenshot("frost")
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
                expect()(page.locator(".place-card")).to_have_count(0)
                expect()(page.locator("#all-hidden")).to_be_hidden()  # not "every sensor is hidden"
                page.locator("nav.parts").get_by_role("link", name="All sensors").click()
                expect()(page.locator("#controls")).to_be_visible()  # the panels' chunk is in
                expect()(page.locator("#no-sensors")).to_be_visible()
                expect()(page.locator("#readings")).to_be_hidden()
                expect()(page.locator(".plot-card")).to_have_count(0)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "no-sensors.png"), full_page=True)
                print(f"screenshot: {ARTIFACTS / 'no-sensors.png'}")
            finally:
                page.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Issue 19: names as long as a hostile config file or driver makes them, with markup in them.
LONG_LABEL = ("<img src=x onerror=window.__pwned=1> Garden probe by the shed " * 100)[:5000]
LONG_CHIP = ("hostile-driver-" * 400)[:5000]  # no space to break at
# Records where the plots write their threshold labels (canvas text is not in the DOM): the last
# 200 calls, each with its canvas, text, position and width.
LABEL_PROBE = """
window.__labels = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
  if (/^(frost|min|max|lcrit|crit|emergency) /.test(text)) {
    window.__labels.push({canvas: this.canvas.getAttribute("aria-label"), text, x, y,
                          width: this.measureText(text).width, size: parseFloat(this.font)});
    if (window.__labels.length > 200) window.__labels.shift();
  }
  return fillText.call(this, text, x, y, ...rest);
};
"""


def _with_long_names(route):
    """Serve the real sensor list with coretemp-isa-0000 renamed and Package id 0 relabelled,
    and a min limit half a degree under the frost line, so that their two lines nearly touch."""
    response = route.fetch()
    answer = response.json()
    for sensor in answer["sensors"]:
        if sensor["chip"] == "coretemp-isa-0000":
            sensor["chip"] = LONG_CHIP
        if sensor["id"] == PACKAGE:
            sensor["label"] = LONG_LABEL
            sensor["thresholds"] = {**sensor["thresholds"], "min": answer["frost_threshold"] - 0.5}
    route.fulfill(response=response, json=answer)


@pytest.mark.parametrize("viewport", [{"width": 375, "height": 740}, {"width": 1400, "height": 1000}],
                         ids=["phone", "desktop"])
def test_long_names_keep_the_values_in_view_and_limit_labels_apart(browser, stack, viewport):
    context = browser.new_context(viewport=viewport, base_url=stack.base_url,
                                  is_mobile=viewport["width"] < 500, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(PATIENCE * 1000)
    page.add_init_script(LABEL_PROBE)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.route("**/api/v1/sensors", _with_long_names)
    name = f"long-names-{viewport['width']}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        # The overview first: the name is text, cut short in its card, whole in its title.
        page.goto("/")
        card_row = page.locator(f'.place-sensor[data-sensor="{PACKAGE}"]')
        expect()(card_row.locator(".sensor-value")).to_have_text(re.compile(r"^\d+\.\d °C$"))
        assert card_row.locator(".sensor-name").text_content() == LONG_LABEL
        assert card_row.locator(".sensor-title").get_attribute("title").startswith(LONG_LABEL + "\n")
        assert card_row.bounding_box()["height"] < 120, "the name takes at most a few lines"
        assert page.locator(".place-card img").count() == 0
        value_box = card_row.locator(".sensor-value").bounding_box()
        assert value_box["x"] + value_box["width"] <= viewport["width"], value_box
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(ARTIFACTS / f"{name}-overview.png"))
        print(f"screenshot: {ARTIFACTS / f'{name}-overview.png'}")

        page.locator("nav.parts").get_by_role("link", name="All sensors").click()
        row = page.locator("#readings tr").filter(has=page.locator("th[scope=row]", has_text="onerror"))
        value = row.locator("td.value")
        expect()(value).to_have_text(re.compile(r"^\d+\.\d °C$"))
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # the first screen, as a person sees it
        print(f"screenshot: {ARTIFACTS / f'{name}.png'}")

        # The name is text, whole in the DOM and in the title, shown in at most a few lines.
        name_cell = row.locator("th[scope=row]")
        assert name_cell.text_content() == LONG_LABEL
        assert name_cell.get_attribute("title").startswith(LONG_LABEL + "\n")
        assert page.locator("#readings img, .plot-card img").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert name_cell.bounding_box()["height"] < 100, "the name takes at most a few lines"
        # Only that name is cut short: every other one shows whole.
        cut = page.evaluate("""() => [...document.querySelectorAll('#readings th[scope=row] .clamp')]
            .filter((name) => name.scrollHeight > name.clientHeight + 1).map((name) => name.textContent)""")
        assert cut == [LONG_LABEL], f"names cut short: {[name[:40] for name in cut]}"
        chip_cell = page.locator("#readings th.chip", has_text="hostile-driver")
        assert chip_cell.get_attribute("title") == LONG_CHIP
        assert chip_cell.bounding_box()["height"] < 80

        row.scroll_into_view_if_needed()
        row.locator("xpath=ancestor::tbody[1]").screenshot(path=str(ARTIFACTS / f"{name}-table.png"))
        print(f"screenshot: {ARTIFACTS / f'{name}-table.png'}")
        # The value sits inside the window, and nothing makes the page or the table scroll sideways.
        box = value.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        widths = page.evaluate("""() => {
            const readings = document.querySelector('.readings');
            const edge = readings.getBoundingClientRect().right;
            const sticking = [...readings.querySelectorAll('th, td')]
                .filter((cell) => cell.getBoundingClientRect().right > edge + 1)
                .slice(0, 5).map((cell) => `${cell.className || cell.tagName}: ${cell.textContent.slice(0, 60)}`);
            return {page: document.documentElement.scrollWidth, table: readings.scrollWidth - readings.clientWidth,
                    sticking};
        }""")
        assert widths["page"] <= viewport["width"], widths
        assert widths["table"] <= 0, widths

        # The plot card's title and the legend row are cut short too, the value beside the name.
        card = page.locator(".plot-card").filter(has=page.locator(".chip", has_text="hostile-driver")).filter(
            has_text="Temperatures")
        assert card.locator("h3").bounding_box()["height"] < 80
        assert card.locator("h3 .chip").get_attribute("title") == LONG_CHIP
        legend_label = card.locator(".u-legend .u-series:not([hidden]) .u-label", has_text="onerror")
        assert legend_label.get_attribute("title") == LONG_LABEL
        legend_value = legend_label.locator("xpath=ancestor::tr[1]").locator(".u-value")
        expect()(legend_value).to_have_text(re.compile(r"\d °C$"))
        card_box = card.bounding_box()
        for part in (legend_label, legend_value):
            part_box = part.bounding_box()
            assert part_box["x"] + part_box["width"] <= card_box["x"] + card_box["width"], (part_box, card_box)

        # The frost and min lines are half a degree apart: their labels must not overlap.
        def labels_drawn():
            drawn = [d for d in page.evaluate("window.__labels")
                     if (d["canvas"] or "").startswith("Temperatures of hostile-driver")]
            last = {d["text"].split()[0]: d for d in drawn}
            return last if {"frost", "min"} <= last.keys() else None

        last = eventually(labels_drawn, "the frost and min labels drawn")
        frost, low = last["frost"], last["min"]
        boxes = [(d["x"] - d["width"], d["y"] - d["size"], d["x"], d["y"]) for d in (frost, low)]
        (a_left, a_top, a_right, a_bottom), (b_left, b_top, b_right, b_bottom) = boxes
        overlap = a_left < b_right and b_left < a_right and a_top < b_bottom and b_top < a_bottom
        assert not overlap, f"the labels overlap: {frost} and {low}"
        card.screenshot(path=str(ARTIFACTS / f"{name}-plot.png"))
        print(f"screenshot: {ARTIFACTS / f'{name}-plot.png'}")
        assert problems == []
    finally:
        context.close()


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
        stack.wait_ready()  # every sensor served again, whichever test runs next
    # The app's start, then up to 15 s of the page's back-off between tries: within PATIENCE too.
    expect()(state).to_have_attribute("data-state", "live")
    expect()(page.locator("#connection-text")).to_have_text("Live")
    dashboard.screenshot("app-back")
