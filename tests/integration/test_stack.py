"""The whole stack end to end, through the published nginx port only."""
import re


import pytest
import requests

from conftest import sensors_by_id
from waiting import eventually

PACKAGE = "coretemp-isa-0000/temp1"


def read_package(stack) -> dict:
    """Return the package sensor once it has a reading (a fresh stack's first sample may miss it)."""
    def read():
        package = sensors_by_id(stack)[PACKAGE]
        return package if package["value"] is not None else None

    return eventually(read, f"a reading of {PACKAGE}")


@pytest.mark.smoke
def test_index_is_the_built_dashboard_served_by_nginx_and_never_cached(stack):
    response = requests.get(stack.url("/"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Server"] == "nginx"  # no version: server_tokens off
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "<title>FrostServer sensors</title>" in response.text


@pytest.mark.smoke
def test_hashed_assets_are_cached_for_a_year(stack):
    index = requests.get(stack.url("/"), timeout=5).text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+-[A-Za-z0-9_-]{8,}\.(?:js|css))"', index)
    assert assets, "index.html references no hashed asset"
    for asset in assets:
        response = requests.get(stack.url(asset), timeout=5)
        assert response.status_code == 200, asset
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.smoke
def test_sensors_come_from_the_fake_tree_through_nginx(stack):
    package = read_package(stack)
    assert (package["chip"], package["label"], package["unit"]) == ("coretemp-isa-0000", "Package id 0", "°C")
    assert package["value"] == 45.0  # temp1_input = 45000 in the tree


def test_sensor_reading_answers_the_same_data(stack):
    # The two answers are micro-cached apart, so on a fresh stack they may come from different
    # samples, and a first sample may lack a chip whose first read was cut off: eventually equal.
    eventually(lambda: sensors_by_id(stack, "/sensor_reading").keys() == sensors_by_id(stack).keys(),
               "/sensor_reading to list the sensors of /api/v1/sensors")


def test_a_changed_value_in_the_tree_shows_through_nginx(stack):
    with stack.attribute(stack.chips["coretemp"][0], "temp1_input", 51500, PACKAGE):
        eventually(lambda: sensors_by_id(stack)[PACKAGE]["value"] == 51.5, "the new value")
        eventually(lambda: sensors_by_id(stack, "/sensor_reading")[PACKAGE]["value"] == 51.5,
                   "the new value at /sensor_reading")


@pytest.mark.smoke
def test_unknown_api_path_is_the_apps_json_404(stack):
    response = requests.get(stack.url("/api/v1/no-such-thing"), timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["message"] == "Nothing at /api/v1/no-such-thing"


def test_unknown_static_path_is_nginx_own_404(stack):
    response = requests.get(stack.url("/no-such-page.html"), timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<center>nginx</center>" in response.text


@pytest.mark.smoke
def test_healthz_is_proxied_to_the_app(stack):
    assert requests.get(stack.url("/healthz"), timeout=5).json() == {"status": "ok"}


def test_app_down_means_json_503_for_the_api_while_the_dashboard_still_loads(stack):
    stack.compose_cli("stop", "app")
    try:
        # nginx may answer from its one-second micro-cache of the latest sample just after the stop.
        def not_ok():
            response = requests.get(stack.url("/api/v1/sensors"), timeout=5)
            return [response] if response.status_code != 200 else None  # a Response is falsy when not ok

        (down,) = eventually(not_ok, "the API to report the app down", interval=0.1)
        assert down.status_code in (502, 503)
        assert down.headers["Content-Type"].startswith("application/json")
        assert down.json()["status"] == down.status_code
        assert requests.get(stack.url("/"), timeout=5).status_code == 200
    finally:
        stack.compose_cli("start", "app")
        stack.wait_ready()  # every sensor served again, whichever test runs next
