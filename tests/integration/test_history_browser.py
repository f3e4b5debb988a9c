"""Issue 11 in a real browser: a day of history on disk, drawn as bands, zoomed by dragging.

A stack of its own: its history volume is seeded with two days of minutes and hours for the
sensors of its fake tree (frostserver.history.seed, its sensors renamed to this tree's ids) while
the app is stopped, so the sampler, the one writer, never writes beside the seeding.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, expect, open_all_sensors
from waiting import PATIENCE, eventually

# Two days of 20..60 °C for the first coretemp package's sensors, ending two minutes ago (the
# sampler writes the minutes from its start on; those before it are the seed's).
SEED = """
import sqlite3, time
from frostserver.history.seed import seed, sensor_ids
db_path = "/var/lib/frostserver/history.db"
ids = {ids!r}
seed(db_path, 2, len(ids), end=time.time() - 120)
db = sqlite3.connect(db_path)
with db:
    for sensor_id, seeded in zip(ids, sensor_ids(len(ids))):
        # The seeded sensor takes the real one's id: its key (and the sampler's first minutes under
        # the old key, which no id names any more) is what the history then reads for it.
        db.execute("DELETE FROM sensors WHERE id = ?", (sensor_id,))
        db.execute("UPDATE sensors SET id = ? WHERE id = ?", (sensor_id, seeded))
db.close()
"""


@pytest.fixture(scope="module")
def seeded():
    work = Path(tempfile.mkdtemp(prefix="frost-history-ui-"))
    work.chmod(0o755)
    try:
        coretemp_dual_socket(FakeSysfs(work))
        with compose_project("frosthistui", COMPOSE_FILES, {"FROST_TEST_SYSFS": str(work)}) as project:
            base = project.url("nginx", 8080)
            sensors = eventually(lambda: requests.get(base + "/api/v1/sensors", timeout=5).json()["sensors"],
                                 "the first sample")
            ids = sorted(s["id"] for s in sensors if s["chip"] == "coretemp-isa-0000")
            project.cli("stop", "app")
            project.cli("run", "--rm", "--no-deps", "--entrypoint", "python", "app", "-c", SEED.format(ids=ids))
            project.cli("start", "app")
            eventually(lambda: requests.get(base + "/readyz", timeout=5).status_code == 200,
                       "the app back after seeding")
            yield base, ids
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def page(seeded):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/provision.sh as root (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, base_url=seeded[0])
            page.set_default_timeout(PATIENCE * 1000)
            problems = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            yield page
            assert problems == []
        finally:
            browser.close()


def history_answer(url: str) -> bool:
    return "/api/v1/history?" in url and "from=" in url and "format=csv" not in url


def test_a_day_shows_min_max_bands_and_a_dragged_span_fetches_finer_points(page, seeded):
    _, ids = seeded
    open_all_sensors(page)
    expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
    with page.expect_response(lambda r: history_answer(r.url)) as day_response:
        page.get_by_role("button", name="24 h").click()
    day = day_response.value.json()
    assert day["resolution"] == "aggregated" and day["step"] == 120
    # The ring joins once it holds a whole point (the app restarted after seeding, moments ago).
    assert [p["source"] for p in day["parts"]] in (["minute"], ["minute", "ring"])
    assert set(ids) <= set(day["series"]) and 40.0 > min(v for v in day["series"][ids[0]]["min"] if v is not None)
    card = page.locator(".plot-card").filter(has=page.locator(".chip", has_text=re.compile("^coretemp-isa-0000$")))
    expect()(card).to_have_attribute("data-bands", str(len(ids)))  # every sensor's band has points
    expect()(page.get_by_role("button", name="24 h")).to_have_attribute("aria-pressed", "true")
    expect()(page.locator("#range-status")).to_be_hidden()
    csv = page.locator("#download-csv").get_attribute("href")
    assert "format=csv" in csv and f"from={int(day['from'])}" in csv
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "history-24h.png"), full_page=True)

    # Drag across a tenth of the plot: the page asks for that span alone, at a finer step.
    area = card.locator(".u-over").bounding_box()
    y = area["y"] + area["height"] / 2
    with page.expect_response(lambda r: history_answer(r.url)) as zoom_response:
        page.mouse.move(area["x"] + area["width"] * 0.40, y)
        page.mouse.down()
        page.mouse.move(area["x"] + area["width"] * 0.50, y, steps=8)
        page.mouse.up()
    zoomed = zoom_response.value.json()
    assert zoomed["step"] < day["step"] and zoomed["seconds"] < day["seconds"] / 5
    assert day["from"] <= zoomed["from"] and zoomed["to"] <= day["to"] + 120
    expect()(page.locator("#ranges button[aria-pressed=true]")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "history-zoomed.png"), full_page=True)


def test_a_long_range_says_it_is_loading_and_says_why_it_failed(page):
    held = []
    # The range's request alone (from and to), not the overview's sparklines (which ask a step).
    page.route(re.compile(r".*/api/v1/history\?from=\d+&to=\d+$"), lambda route: held.append(route))
    open_all_sensors(page)
    expect()(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="7 d").click()
    status = page.locator("#range-status")
    expect()(status).to_have_attribute("data-state", "loading")
    expect()(status).to_have_text("Loading 7 d…")
    expect()(page.locator("section.plots")).to_have_attribute("aria-busy", "true")
    eventually(lambda: held, "the page's request for 7 days")
    held[0].fulfill(status=503, content_type="application/json",
                    body='{"status":503,"error":"Service Unavailable","message":"history is being rewritten; try again"}')
    expect()(status).to_have_attribute("data-state", "error")
    expect()(status).to_contain_text("Could not load 7 d: history is being rewritten; try again")
    expect()(page.locator("section.plots")).to_have_attribute("aria-busy", "false")
