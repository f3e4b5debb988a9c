"""Issue 6, nginx: headers, methods, limits, slow clients and floods, through the published port."""
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import wait_until

CSP = ("default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


@pytest.mark.parametrize("path", ["/", "/api/v1/sensors", "/no-such-page"])
def test_security_headers_and_no_version_anywhere(stack, path):
    response = requests.get(stack.url(path), timeout=5)
    assert response.headers["Server"] == "nginx"
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    if "<hr>" in response.text:  # nginx's own error page would name its version after the rule
        assert response.text.split("<hr>")[-1].strip().startswith("<center>nginx</center>")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/api/v1/sensors", "/metrics"])
def test_only_get_and_head_are_allowed(stack, method, path):
    response = requests.request(method, stack.url(path), timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json()["status"] == 405


def test_head_works(stack):
    assert requests.head(stack.url("/api/v1/sensors"), timeout=5).status_code == 200


@pytest.mark.parametrize("path", ["/.env", "/.index.html.new", "/assets/.hidden.js", "/assets/index.js.map"])
def test_dotfiles_and_source_maps_are_not_served(stack, path):
    assert requests.get(stack.url(path), timeout=5).status_code == 404


def test_json_js_and_css_are_gzipped(stack):
    index = requests.get(stack.url("/"), timeout=5).text
    script = re.search(r'src="(/assets/[^"]+\.js)"', index)[1]
    stylesheet = re.search(r'href="(/assets/[^"]+\.css)"', index)[1]
    for path in ("/api/v1/sensors", script, stylesheet, "/metrics"):
        response = requests.get(stack.url(path), headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert response.headers.get("Content-Encoding") == "gzip", path


def test_oversized_headers_and_bodies_are_refused(stack):
    huge = requests.get(stack.url("/api/v1/sensors"), headers={"X-Big": "x" * 20000}, timeout=5)
    assert huge.status_code in (400, 431, 494)
    body = requests.get(stack.url("/api/v1/sensors"), data=b"x" * 4096, timeout=5)
    assert body.status_code == 413


def test_slow_clients_do_not_tie_up_the_server(stack):
    host, port = stack.base_url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(100):  # slowloris: connections that never finish their headers
            connection = socket.create_connection((host, int(port)), timeout=5)
            connection.sendall(b"GET /api/v1/sensors HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(connection)
        started = time.monotonic()
        response = requests.get(stack.url("/api/v1/sensors"), timeout=5)
        assert response.status_code == 200 and time.monotonic() - started < 1.0
    finally:
        for connection in slow:
            connection.close()


def test_a_flood_gets_429s_while_a_dashboard_stream_keeps_flowing(stack):
    stream = requests.get(stack.url("/api/v1/stream"), stream=True, timeout=10)
    assert stream.status_code == 200
    lines = stream.iter_lines()
    try:
        def one_request(_):
            response = requests.get(stack.url("/api/v1/sensors"), timeout=10)
            return response.status_code, response.headers.get("Content-Type", "")

        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(one_request, range(1500)))
        codes = {code for code, _ in answers}
        assert 429 in codes, "the flood was never limited"
        assert codes <= {200, 429}
        assert all(kind.startswith("application/json") for _, kind in answers)  # 429s in the API's shape
        ids = []
        deadline = time.monotonic() + 10
        while len(ids) < 3 and time.monotonic() < deadline:
            line = next(lines)
            if line.startswith(b"id: "):
                ids.append(int(line[4:]))
        assert len(ids) == 3, "the stream stopped during the flood"
    finally:
        stream.close()
    wait_until(lambda: requests.get(stack.url("/api/v1/sensors"), timeout=5).status_code == 200, 5,
               what="the rate limit to let requests through again")
    time.sleep(2.5)  # let the whole burst allowance refill (400 at 200/s) for the tests that follow


def test_the_latest_sample_is_micro_cached_for_at_most_a_second(stack):
    quick = [requests.get(stack.url("/api/v1/sensors"), timeout=5) for _ in range(5)]
    assert sum(r.headers["X-Cache-Status"] == "HIT" for r in quick) >= 3  # a cache turnover may cost one
    assert all(r.headers["Cache-Control"] == "no-store" for r in quick)  # browsers still never cache it
    seen = set()
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:  # a new sample shows through within about a second
        sampled_at = requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["sampled_at"]
        # Never older than one interval of sampling plus one second of cache (host and
        # containers share the clock).
        assert time.time() - sampled_at < 2.5, time.time() - sampled_at
        seen.add(sampled_at)
        time.sleep(0.1)
    assert len(seen) >= 2
    assert "X-Cache-Status" not in requests.get(stack.url("/api/v1/history?seconds=5"), timeout=5).headers
