"""Flood control (README, Security): a tiny rate limit on a stack of its own.

The session stack has no rate limit (compose.test.yaml): a test there would pass or fail with the
speed of its client. Here the limit is so small that a client of any speed exceeds it, and the
waiting for it to refill delays no other module.
"""
from __future__ import annotations

import json
import re
import select
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from waiting import PATIENCE, eventually

RATE = 1  # requests per second per client address: the smallest FROST_API_RATE_LIMIT there is
BURST = 2 * RATE  # frost-nginx-start's burst: twice the rate
# nginx lets 1 + BURST requests through at once, then RATE a second. FLOOD sequential requests
# would all pass only if they took more than (FLOOD - 1 - BURST) / RATE = 57 s, nearly a second
# each; a request to nginx on 127.0.0.1 takes milliseconds, a busy 2-core machine included.
FLOOD = 60
# The allowance is full again BURST / RATE seconds after it was spent; one second more for nginx's
# clock, which it reads once per turn of its event loop.
REFILL = BURST / RATE + 1
# Every rate-limited location (they share one allowance per client address), taken in turn.
LIMITED = ["/api/v1/sensors", "/api/v1/history?seconds=5", "/sensor_reading", "/metrics"]
EVENTS_DURING_FLOOD = 3  # the flood lasts at least this many samples (one a second)


@pytest.fixture(scope="module")
def limited():
    """Start a stack with FROST_API_RATE_LIMIT=RATE over a small fake tree; yield nginx's URL."""
    work = Path(tempfile.mkdtemp(prefix="frost-ratelimit-"))
    work.chmod(0o755)  # the app reads the tree as another user
    coretemp_dual_socket(FakeSysfs(work / "sys"))
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_API_RATE_LIMIT": str(RATE)}
    try:
        with compose_project("frostrate", COMPOSE_FILES, env) as project:
            base_url = project.url("nginx", 8080)
            # The probes are not rate limited: waiting on them spends none of the allowance.
            eventually(lambda: requests.get(base_url + "/readyz", timeout=5).status_code == 200, "the first sample")
            yield base_url
    finally:
        shutil.rmtree(work, ignore_errors=True)


class EventStream:
    """GET /api/v1/stream on a raw socket, read between other requests: no thread needed."""

    def __init__(self, base_url: str):
        host, port = base_url.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)), timeout=10)
        # HTTP/1.0: nginx passes the events on as they come, with no chunked encoding to undo.
        self.socket.sendall(b"GET /api/v1/stream HTTP/1.0\r\nHost: frost\r\n\r\n")
        self.received = b""
        self.ids: list[int] = []

    def poll(self, wait: float = 0.0) -> None:
        """Take what has arrived (waiting up to `wait` seconds for the first bytes); parse the ids."""
        while select.select([self.socket], [], [], wait)[0]:
            chunk = self.socket.recv(65536)
            assert chunk, f"nginx closed the event stream after ids {self.ids}"
            self.received += chunk
            wait = 0
        if b"\r\n\r\n" in self.received:
            head, _, body = self.received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head  # streams are not rate limited
            self.ids = [int(i) for i in re.findall(rb"^id: (\d+)\n", body, re.MULTILINE)]

    def events(self, count: int) -> bool:
        """Take what has arrived, waiting up to half a second for it; tell whether count events came."""
        self.poll(wait=0.5)
        return len(self.ids) >= count

    def close(self) -> None:
        self.socket.close()


def assert_rate_limited(response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    error = json.loads(response.content)
    assert error.keys() == {"status", "error", "message"} and error["message"]
    assert (error["status"], error["error"]) == (429, "Too Many Requests")


def test_a_flood_gets_json_429s_while_an_open_stream_keeps_flowing(limited):
    stream = EventStream(limited)
    try:
        eventually(lambda: stream.events(1), "the stream's first event")  # open and live before the flood
        answers = []
        with requests.Session() as client:  # one keep-alive connection, one request at a time
            # The flood goes on until the stream has delivered a few samples while it lasts.
            during = len(stream.ids) + EVENTS_DURING_FLOOD
            deadline = time.monotonic() + PATIENCE
            while len(answers) < FLOOD or len(stream.ids) < during:
                assert time.monotonic() < deadline, f"the stream delivered {stream.ids} during a {PATIENCE:g} s flood"
                path = LIMITED[len(answers) % len(LIMITED)]
                answers.append((path, client.get(limited + path, timeout=10)))
                stream.poll()
        after = len(stream.ids) + 2
        eventually(lambda: stream.events(after), "two events after the flood")  # and after it
        assert stream.ids == list(range(stream.ids[0], stream.ids[0] + len(stream.ids))), stream.ids
    finally:
        stream.close()

    limited_paths = set()
    for path, response in answers:
        assert response.status_code in (200, 429), (path, response.status_code, response.text[:300])
        if response.status_code == 429:
            assert_rate_limited(response)
            limited_paths.add(path)
    assert limited_paths == set(LIMITED), "a flood of every rate-limited path is limited on each"


def test_requests_pass_again_once_the_allowance_refills(limited):
    with requests.Session() as client:
        # Spend the allowance (a 429 is certain within FLOOD requests, as above), then wait.
        for _ in range(FLOOD):
            if client.get(limited + "/api/v1/history?seconds=5", timeout=10).status_code == 429:
                break
        else:
            pytest.fail(f"{FLOOD} requests in a row were never limited")
        time.sleep(REFILL)  # waiting longer, on a slow machine, only refills it more
        # A full allowance takes BURST requests at once (one more when nginx has forgotten us).
        codes = [client.get(limited + "/api/v1/history?seconds=5", timeout=10).status_code for _ in range(BURST)]
        assert codes == [200] * BURST
