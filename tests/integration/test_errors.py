"""One error shape everywhere: nginx's own refusals and its limits, through the published port.

Requests go out as raw bytes on a socket: `requests` and http.client would re-encode a `%00`, add
headers of their own or refuse to send what a careless or hostile client does.
"""
from __future__ import annotations

import http.client
import json
import socket

import pytest

from conftest import CSP

# The app's own 400, which names the parameter at fault: only the app knows its parameters, so this
# answer proves that a request went through nginx and Gunicorn to the app.
APP_400 = "/api/v1/history?seconds=0"
# nginx's limits (services/nginx/nginx.conf): a request line or a header line of at most 4094
# bytes (a 4 KB buffer, CRLF included), at most 100 header lines (max_headers).
LONGEST_LINE = 4094
MOST_HEADER_LINES = 100
# The "error" of each status, as the app's Python (3.13, RFC 9110's names) has it; older Pythons
# name 413 and 414 otherwise.
PHRASES = {400: "Bad Request", 405: "Method Not Allowed", 413: "Content Too Large", 414: "URI Too Long",
           501: "Not Implemented", 505: "HTTP Version Not Supported"}


def head(target: str, *headers: str, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    """Return a request head: the request line, Host, the given header lines, Connection: close."""
    lines = [f"{method} {target} {version}", "Host: frost", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


def exchange(stack, request: bytes, method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send these exact bytes to nginx; return its answer's status, headers and body."""
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection, method=method)  # only parses what comes back
        try:
            response.begin()
            return response.status, response.headers, response.read()
        finally:
            response.close()


def assert_json_error(answer, status: int) -> dict:
    """Check the API's error shape and the headers every nginx error carries; return the body."""
    code, headers, body = answer
    assert code == status, body[:300]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    error = json.loads(body)
    assert error.keys() == {"status", "error", "message"}  # no "parameter": nginx answered
    assert error["status"] == status and error["error"] == PHRASES[status]
    assert error["message"]
    return error


def assert_app_answered(answer) -> None:
    code, headers, body = answer
    assert code == 400 and headers["Content-Type"].startswith("application/json"), body[:300]
    assert json.loads(body)["parameter"] == "seconds"


def line_of(length: int) -> str:
    """Return APP_400 padded so that its GET request line is exactly `length` bytes."""
    padding = length - len(f"GET {APP_400}&pad= HTTP/1.1")
    return f"{APP_400}&pad={'a' * padding}"


# --- What nginx refuses: the four answers that were HTML, and their relatives.

REFUSALS = {
    "nul-in-path": (head("/api/v1/sensors%00"), 400),
    "3-KB-body": (head("/api/v1/sensors", "Content-Length: 3072") + b"x" * 3072, 413),
    "9-KB-header": (head("/api/v1/sensors", "X-Big: " + "x" * 9 * 1024), 400),  # nginx's 494
    # nginx passed 8 KB, and Gunicorn answered an HTML 414 from 4 KB on.
    "5000-character-query": (head("/api/v1/history?seconds=5&pad=" + "a" * 5000), 414),
    # Gunicorn refuses a target that is not printable ASCII (RFC 9112 3.2); nginx did not.
    "raw-utf-8-in-path": (head("/api/v1/sensors/température"), 400),  # as curl sends it
    "a-dashboard-path-too": (head("/index.html%00"), 400),
    "transfer-encoding-gzip": (head("/api/v1/sensors", "Transfer-Encoding: gzip"), 501),
    "http-2.0-request-line": (head("/api/v1/sensors", version="HTTP/2.0"), 505),
    # The 405 comes first; checking the body again on the way to its page would answer an HTML 413.
    "post-with-3-KB-body": (head("/api/v1/sensors", "Content-Length: 3072", method="POST") + b"x" * 3072, 405),
}


@pytest.mark.parametrize("request_bytes, status", REFUSALS.values(), ids=REFUSALS.keys())
def test_nginx_refuses_in_the_json_shape(stack, request_bytes, status):
    assert_json_error(exchange(stack, request_bytes), status)


def test_a_head_refused_while_its_request_line_is_read_gets_the_json_headers(stack):
    # nginx leaves such a HEAD without a method name on its way to the error page.
    code, headers, body = exchange(stack, head("/api/v1/history?pad=" + "a" * 5000, method="HEAD"), "HEAD")
    assert (code, headers["Content-Type"], headers["Cache-Control"], body) == (414, "application/json", "no-store", b"")


# --- What nginx lets through reaches the app: Gunicorn's limits are above nginx's.

def test_a_long_query_string_within_nginx_limit_gets_the_apps_json(stack):
    assert_app_answered(exchange(stack, head(f"{APP_400}&pad={'a' * 3500}")))


AT_AND_PAST_THE_LIMIT = {  # the largest request nginx takes, one a byte or a line larger, its status
    "request-line": (head(line_of(LONGEST_LINE)), head(line_of(LONGEST_LINE + 1)), 414),
    "header-line": (head(APP_400, "X-Pad: " + "a" * (LONGEST_LINE - 7)),
                    head(APP_400, "X-Pad: " + "a" * (LONGEST_LINE - 6)), 400),
    # Host and Connection count too; nginx adds 3 lines of its own (X-Real-IP, X-Forwarded-*).
    "header-lines": (head(APP_400, *[f"X-Pad-{i}: 1" for i in range(MOST_HEADER_LINES - 2)]),
                     head(APP_400, *[f"X-Pad-{i}: 1" for i in range(MOST_HEADER_LINES - 1)]), 400),
}


@pytest.mark.parametrize("largest, too_large, status", AT_AND_PAST_THE_LIMIT.values(),
                         ids=AT_AND_PAST_THE_LIMIT.keys())
def test_at_nginx_limit_the_app_answers_and_past_it_nginx_does(stack, largest, too_large, status):
    assert_app_answered(exchange(stack, largest))
    assert_json_error(exchange(stack, too_large), status)


def test_many_x_forwarded_for_headers_do_not_make_one_too_long_for_gunicorn(stack):
    # nginx used to join them (with the client's address) into one line over Gunicorn's 8190 bytes.
    forwarded = [f"X-Forwarded-For: {'1' * 3000}"] * 4
    assert_app_answered(exchange(stack, head(APP_400, *forwarded)))
