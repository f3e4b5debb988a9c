"""Issue 6, nginx: headers, methods, limits, slow clients and the micro-cache, through the published port.

The rate limit has a stack of its own (test_rate_limit.py): the session stack has none. What nginx
does alone (the redirect to HTTPS, HSTS, the probes' rate limit) is tested on an nginx container of
its own, started from the session stack's image without an app: quicker than a stack.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from conftest import CSP
from waiting import PATIENCE, eventually

# The oldest sample a client may see through the micro-cache, where time is the behaviour: one
# sampling interval (1 s), the cache's second (two with nginx's whole-second clock), and 5 s for a
# busy machine (a late sample, a slow update while the previous answer is served). A cache kept for
# its `inactive` 10 s, or stale answers served on after a failed update, exceed it.
MAX_SAMPLE_AGE = 8.0


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
        response = requests.get(stack.url("/api/v1/sensors"), timeout=PATIENCE)
        assert response.status_code == 200
        # Answered while every slow client still waits (nginx has closed none of them): not after
        # their client_header_timeout (10 s) freed their connections, however slow the machine.
        for connection in slow:
            connection.setblocking(False)
            with pytest.raises(BlockingIOError):
                connection.recv(1)  # nothing sent and not closed (b"" would be a close)
    finally:
        for connection in slow:
            connection.close()


def test_the_latest_sample_is_micro_cached_for_at_most_a_second(stack):
    def cache_hit():  # two requests within the cache's second; a slow machine may need more tries
        response = requests.get(stack.url("/api/v1/sensors"), timeout=5)
        return [response] if response.headers["X-Cache-Status"] == "HIT" else None  # a Response is falsy when not ok

    (hit,) = eventually(cache_hit, "an answer from nginx's micro-cache", interval=0.05)
    assert hit.headers["Cache-Control"] == "no-store"  # browsers still never cache it
    seen = {hit.json()["sampled_at"]}

    def newer_samples():  # new samples keep showing through, none of them ever stale
        sampled_at = requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["sampled_at"]
        assert time.time() - sampled_at < MAX_SAMPLE_AGE, time.time() - sampled_at  # host and containers share the clock
        seen.add(sampled_at)
        return len(seen) >= 3

    eventually(newer_samples, "two newer samples through the micro-cache", interval=0.1)
    assert "X-Cache-Status" not in requests.get(stack.url("/api/v1/history?seconds=5"), timeout=5).headers


# --- nginx alone: the redirect to HTTPS, HSTS, the probes' own rate limit ------------------------------

NGINX_IMAGE = f"frostserver/nginx:{os.environ.get('FROST_IMAGE_TAG', 'latest')}"


def self_signed(directory: Path) -> None:
    """Write tls.crt and tls.key for localhost into directory, readable by nginx's user."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", directory / "tls.key",
                    "-out", directory / "tls.crt"], check=True, capture_output=True)
    for name in ("tls.crt", "tls.key"):
        (directory / name).chmod(0o644)


class LoneNginx:
    """An nginx container of the stack's image, its ports published on 127.0.0.1, without an app."""

    def __init__(self, container: str):
        self.container = container
        self.http = f"http://{self.port(8080)}"
        self.https = f"https://{self.port(8443)}"

    def port(self, port: int) -> str:
        return subprocess.run(["docker", "port", self.container, str(port)], capture_output=True, text=True,
                              check=True).stdout.split()[0]

    def logs(self) -> str:
        result = subprocess.run(["docker", "logs", self.container], capture_output=True, text=True, check=True)
        return result.stdout + result.stderr

    def raw(self, request: bytes) -> bytes:
        """Send a request as is to the plain-HTTP port (requests would fix its Host header); return the answer."""
        host, port = self.http.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return answer


@contextmanager
def lone_nginx(access: Path, **env: str):
    """Run nginx as compose.yaml does (read-only, no capabilities) with env; always remove it."""
    options = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    container = subprocess.run(
        ["docker", "run", "--detach", "--read-only", "--tmpfs", "/tmp:size=16m,mode=1777", "--cap-drop", "ALL",
         "--security-opt", "no-new-privileges:true", "--publish", "127.0.0.1::8080", "--publish", "127.0.0.1::8443",
         "--volume", f"{access}:/etc/frostserver/access:ro", *options, NGINX_IMAGE],
        capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield LoneNginx(container)
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)


@pytest.fixture(scope="module")
def access():
    """A directory with a self-signed certificate and its key, as config/access would hold them."""
    directory = Path(tempfile.mkdtemp(prefix="frost-nginx-access-"))
    directory.chmod(0o755)
    self_signed(directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def healthy(nginx: LoneNginx) -> bool:
    return requests.get(nginx.http + "/nginx-health", timeout=5).status_code == 200


@pytest.fixture(scope="module")
def tls_nginx(stack, access):  # the stack: its images are built
    with lone_nginx(access, FROST_TLS="on", FROST_HTTPS_PORT="8443", FROST_HSTS_MAX_AGE="600",
                    FROST_PROBE_RATE_LIMIT="1") as nginx:
        eventually(lambda: healthy(nginx), "nginx to start")
        yield nginx


def redirect(nginx: LoneNginx, host: bytes | None) -> tuple[int, dict[str, str], bytes]:
    """GET /api/v1/sensors?x=1 over plain HTTP with a Host header as given; return status, headers, body."""
    header = b"" if host is None else b"Host: " + host + b"\r\n"
    answer = nginx.raw(b"GET /api/v1/sensors?x=1 HTTP/1.0\r\n" + header + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    return int(status_line.split()[1]), dict(line.split(": ", 1) for line in lines), body


@pytest.mark.parametrize(("host", "target"), [
    (b"frost.example.org", "https://frost.example.org:8443"),
    (b"Frost.Example.ORG:8080", "https://frost.example.org:8443"),  # nginx lowercases it and drops the port
    (b"greenhouse", "https://greenhouse:8443"),
    (b"192.0.2.7:8080", "https://192.0.2.7:8443"),
    (b"[2001:db8::7]:8080", "https://[2001:db8::7]:8443"),
])
def test_plain_http_redirects_to_the_host_the_client_named(tls_nginx, host, target):
    status, headers, _ = redirect(tls_nginx, host)
    assert status == 301 and headers["Location"] == target + "/api/v1/sensors?x=1"


@pytest.mark.parametrize("host", [
    b"evil.example\"><script>", b"user@evil.example", b"evil.example%2f", b"-evil.example", b"evil_example",
    b"a" * 64 + b".example", b"[evil]", None,
])
def test_a_host_header_that_is_no_host_name_is_never_redirected_to(tls_nginx, host):
    status, headers, body = redirect(tls_nginx, host)
    assert status == 400 and "Location" not in headers
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)
    assert error["status"] == 400 and error["message"] in (
        "The Host header is not a host name or an IP address, so there is nothing to redirect to: use https:// and "
        "the name or address of this device.",
        # nginx refuses some of them itself, before any redirect ("/", a bad escape): the same JSON shape
        "The request is malformed: its request line, a header or the URI could not be read.",
    ), error


def test_a_configured_public_host_is_the_only_redirect_target(stack, access):
    with lone_nginx(access, FROST_TLS="on", FROST_HTTPS_PORT="443", FROST_PUBLIC_HOST="frost.example.org") as nginx:
        eventually(lambda: healthy(nginx), "nginx to start")
        for host in (b"evil.example", b"frost.example.org", b"x_y", None):
            status, headers, _ = redirect(nginx, host)
            # Port 443 goes unsaid, as browsers write it.
            assert status == 301 and headers["Location"] == "https://frost.example.org/api/v1/sensors?x=1", host


def test_a_public_host_that_is_no_host_name_stops_nginx_with_a_message(stack, access):
    result = subprocess.run(["docker", "run", "--rm", "--read-only", "--tmpfs", "/tmp", "-e", "FROST_TLS=on",
                             "-e", "FROST_PUBLIC_HOST=https://frost.example.org/", NGINX_IMAGE],
                            capture_output=True, text=True, timeout=PATIENCE)
    assert result.returncode == 1
    assert "FROST_PUBLIC_HOST must be a host name (frost.example.org) or an IP address" in result.stderr


def test_https_answers_send_strict_transport_security(tls_nginx, access, stack):
    cert = access / "tls.crt"
    for path, status in (("/nginx-health", 200), ("/no-such-page", 404), ("/api/v1/sensors", 503)):
        response = requests.get(tls_nginx.https + path, verify=cert, timeout=5)
        assert response.status_code == status, path
        # A modest max-age (FROST_HSTS_MAX_AGE), and for this name only (README, Security).
        assert response.headers["Strict-Transport-Security"] == "max-age=600", path
    refused = requests.post(tls_nginx.https + "/api/v1/sensors", verify=cert, timeout=5)
    assert refused.status_code == 405 and refused.headers["Strict-Transport-Security"] == "max-age=600"
    # Plain HTTP never sends it: not the redirect, not a stack without TLS.
    assert "Strict-Transport-Security" not in redirect(tls_nginx, b"frost.example.org")[1]
    assert "Strict-Transport-Security" not in requests.get(stack.url("/"), timeout=5).headers


def test_the_probes_have_a_rate_limit_of_their_own(tls_nginx, access):
    cert = access / "tls.crt"
    # FROST_PROBE_RATE_LIMIT=1: one a second, a burst of 2. 30 requests in a row pass the limit
    # unless each takes nearly a second; a request to nginx on 127.0.0.1 takes milliseconds.
    with requests.Session() as client:
        answers = [client.get(tls_nginx.https + path, verify=cert, timeout=5) for path in ["/readyz", "/healthz"] * 15]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, [answer.status_code for answer in answers]
    assert {answer.status_code for answer in answers} <= {429, 503}  # 503: no app behind this nginx
    assert limited[0].json()["error"] == "Too Many Requests" and limited[0].headers["Retry-After"] == "1"
    # Its allowance is not the API's: the API answers (the app's 503 here) while the probes are limited.
    assert requests.get(tls_nginx.https + "/api/v1/sensors", verify=cert, timeout=5).status_code == 503


# --- a TLS key nginx cannot read -------------------------------------------------------------------------

UNREADABLE_KEY = ("frostserver nginx: FROST_TLS=on, but nginx runs as uid 10002 (group 10001) and cannot read tls.key "
                  "(owner uid 0, group 0, mode 0600). On the host, in the directory FROST_ACCESS_DIR names (default "
                  "./config/access): chown 10002 tls.key && chmod 0400 tls.key, or chgrp 10001 tls.key && chmod 0440 "
                  "tls.key (see README, Security).")


def test_a_tls_key_nginx_cannot_read_is_said_once_with_its_fix_and_nginx_starts_once_fixed(stack):
    work = Path(tempfile.mkdtemp(prefix="frost-nginx-key-"))
    try:
        work.chmod(0o755)
        self_signed(work)
        key = work / "tls.key"
        os.chown(key, 0, 0)
        key.chmod(0o600)  # root's alone, as `openssl req` or a copy by root leaves it
        with lone_nginx(work, FROST_TLS="on") as nginx:
            eventually(lambda: UNREADABLE_KEY in nginx.logs(), "nginx to say what is wrong")
            # It waits (checking every 5 s) instead of a crash loop that would repeat the message.
            time.sleep(6)
            assert nginx.logs().count("cannot read tls.key") == 1, nginx.logs()
            os.chown(key, 10002, 0)
            key.chmod(0o400)  # the fix the message gives
            eventually(lambda: healthy(nginx), "nginx to start by itself once it can read the key")
            assert "the access files are readable now; starting." in nginx.logs()
            state = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .State}}", nginx.container],
                                              capture_output=True, text=True, check=True).stdout)
            assert state["Status"] == "running" and state["Pid"] > 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- basic auth is gone (issue 21) -----------------------------------------------------------------------------


def test_basic_auth_left_on_in_env_says_it_is_gone_and_serves_nothing(stack, access):
    # An old .env's FROST_BASIC_AUTH=on must not leave the device open without a word: nginx says what
    # to do, once, and waits (no crash loop), so `make up` shows the message of an unhealthy container.
    with lone_nginx(access, FROST_BASIC_AUTH="on") as nginx:
        eventually(lambda: "FROST_BASIC_AUTH=on is no longer supported" in nginx.logs(),
                   "nginx to say basic auth is gone")
        time.sleep(3)
        assert nginx.logs().count("FROST_BASIC_AUTH=on is no longer supported") == 1
        assert 'anonymous = "none"' in nginx.logs() and "make user NAME=... ROLE=admin" in nginx.logs()
        with pytest.raises(requests.ConnectionError):
            requests.get(nginx.http + "/nginx-health", timeout=5)
        state = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .State}}", nginx.container],
                                          capture_output=True, text=True, check=True).stdout)
        assert state["Status"] == "running" and state["Pid"] > 0  # waiting, not exited


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/session"), ("DELETE", "/api/v1/session"),
                                              ("PATCH", "/api/v1/users/x"), ("DELETE", "/api/v1/tokens/1")])
def test_the_accounts_routes_reach_the_app_whatever_the_method(stack, method, path):
    # The app answers (its own JSON: an origin refused, a 401), never nginx's "Only GET and HEAD".
    response = requests.request(method, stack.url(path), timeout=5)
    assert response.status_code in (401, 403) and "X-Frost-Worker" in response.headers, response.text
