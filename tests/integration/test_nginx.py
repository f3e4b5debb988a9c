"""Issue 6, nginx: headers, methods, limits, slow clients and the micro-cache, through the published port.

The rate limit has a stack of its own (test_rate_limit.py): the session stack has none.
"""
import re
import socket
import time

import pytest
import requests

from conftest import CSP, wait_until

# The oldest sample a client may see through the micro-cache: one sampling interval (1 s) plus one
# second of cache, plus 3 s for a busy machine (a late sample, a slow answer). A cache kept for its
# `inactive` 10 s, or stale answers served on after a failed update, exceed it.
MAX_SAMPLE_AGE = 5.0
# A normal request while slow clients hold connections: it used to wait for their
# client_header_timeout (10 s); answered at once, it takes milliseconds, or a second or two on a
# busy 2-core machine. The bound tells the two apart on any machine.
UNDELAYED = 5.0


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
        response = requests.get(stack.url("/api/v1/sensors"), timeout=15)
        assert response.status_code == 200 and time.monotonic() - started < UNDELAYED
    finally:
        for connection in slow:
            connection.close()


def test_the_latest_sample_is_micro_cached_for_at_most_a_second(stack):
    def cache_hit():  # two requests within the cache's second; a slow machine may need more tries
        response = requests.get(stack.url("/api/v1/sensors"), timeout=5)
        return [response] if response.headers["X-Cache-Status"] == "HIT" else None  # a Response is falsy when not ok

    (hit,) = wait_until(cache_hit, 15, interval=0.05, what="an answer from nginx's micro-cache")
    assert hit.headers["Cache-Control"] == "no-store"  # browsers still never cache it
    seen = {hit.json()["sampled_at"]}

    def newer_samples():  # new samples keep showing through, none of them ever stale
        sampled_at = requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["sampled_at"]
        assert time.time() - sampled_at < MAX_SAMPLE_AGE, time.time() - sampled_at  # host and containers share the clock
        seen.add(sampled_at)
        return len(seen) >= 3

    wait_until(newer_samples, 15, interval=0.1, what="two newer samples through the micro-cache")
    assert "X-Cache-Status" not in requests.get(stack.url("/api/v1/history?seconds=5"), timeout=5).headers
