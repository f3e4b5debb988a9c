"""Alerts on the real stack: the frost rule fires and resolves, and the notifier tells a webhook.

A stack of its own, with the test receiver (compose.receiver.yaml) in its Compose project: the app
reaches it as http://receiver:8000/ (it cannot reach this machine's loopback). Three targets: one
that answers 200, one that answers 500, one that never answers. The frost rule's `for` is 0 s so
that no test waits five minutes.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chips import coretemp_dual_socket, ds18b20
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from waiting import eventually

SECRET = "s3cret-pass-4471"  # in a target's URL: must never show in logs, the API or /metrics
CONFIG = f"""\
frost_threshold = 0.5

[alerts]
device_name = "Test greenhouse"
dashboard_url = "http://greenhouse.test:8080/"
notify = [
  "json://frost:{SECRET}@receiver:8000/ok/frost",
  "json://receiver:8000/fail/frost",
  "json://receiver:8000/hang/frost",
]

[alerts.rules.frost]
for = "0s"
"""
PROBE = "w1_slave_temp-virtual-0/temp1"
KEY = f"frost/{PROBE}"


@pytest.fixture(scope="module")
def alerting():
    """Start the stack with the receiver; yield (project, nginx base URL, the cold probe's chip)."""
    work = Path(tempfile.mkdtemp(prefix="frost-alerts-"))
    work.chmod(0o755)  # the app reads the tree and the config as another user
    tree = FakeSysfs(work / "sys")
    coretemp_dual_socket(tree)
    probe, _ = ds18b20(tree)
    config = work / "frostserver.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config)}
    files = [*COMPOSE_FILES, "tests/integration/compose.receiver.yaml"]
    try:
        with compose_project("frostalerts", files, env) as project:
            base_url = project.url("nginx", 8080)
            eventually(lambda: readyz(base_url)["samples"] > 0, "the first sample")
            yield project, base_url, probe
    finally:
        shutil.rmtree(work, ignore_errors=True)


def readyz(base_url: str) -> dict:
    return requests.get(base_url + "/readyz", timeout=10).json()


def alerts(base_url: str) -> dict:
    response = requests.get(base_url + "/api/v1/alerts", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def received(project, path: str) -> list[dict]:
    response = requests.get(project.url("receiver", 8000, "/received"), params={"path": path}, timeout=10)
    response.raise_for_status()
    return response.json()


def notifications(project, path: str, kind: str) -> list[dict]:
    """The Apprise JSON payloads the receiver got at path, of one type ("failure": firing, "success": resolved).

    `make notify-test`'s messages (a "success" of their own) are left out.
    """
    return [r["json"] for r in received(project, path) if r["json"] and r["json"].get("type") == kind
            and "test notification" not in r["json"].get("title", "")]


@pytest.fixture
def settled(alerting):
    """The module's stack as each test needs it, whatever ran before: the probe warm, no frost
    alert active, and every firing message at the webhook followed by its resolved one."""
    project, base_url, probe = alerting
    warm(probe)

    def quiet() -> bool:
        told = len(notifications(project, "/ok/frost", "failure")) == len(notifications(project, "/ok/frost", "success"))
        return told and not [a for a in alerts(base_url)["active"] if a["key"] == KEY]

    eventually(quiet, "no frost alert, and each one told resolved at the webhook")
    return alerting


def metrics(base_url: str) -> dict[str, float]:
    text = requests.get(base_url + "/metrics", timeout=10).text
    return {
        f"{s.name}{{{','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))}}}": s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def cold(probe) -> None:
    probe.write("temp1_input", -2500)  # -2.5 °C, below the frost threshold (0.5 °C)


def warm(probe) -> None:
    probe.write("temp1_input", 12000)  # 12 °C: past the threshold and its hysteresis (0.5 °C)


class StreamReader(threading.Thread):
    """Read an open event stream in the background: every event (kind, id, data), in order."""

    def __init__(self, response: requests.Response):
        super().__init__(daemon=True)
        self.response = response
        self.events: list[tuple[str, str | None, str]] = []  # (event, id, data)
        self.lock = threading.Lock()

    def run(self) -> None:
        event_id, event = None, None
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event is not None:
                    with self.lock:
                        self.events.append((event, event_id, line[6:]))
                elif not line:
                    event_id, event = None, None
        except (requests.RequestException, OSError, AttributeError):
            pass  # closed by the test (http.client raises AttributeError for a read after close)

    def seen(self) -> list[tuple[str, str | None, str]]:
        with self.lock:
            return list(self.events)

    @property
    def alert_events(self) -> list[tuple[str | None, dict]]:
        """The alert events: (id, data)."""
        return [(event_id, json.loads(data)) for kind, event_id, data in self.seen() if kind == "alert"]

    def close(self) -> None:
        self.response.close()


def test_a_cold_probe_fires_frost_everywhere_and_warming_resolves_it(settled):
    project, base_url, probe = settled
    fired, resolved_before = (len(notifications(project, "/ok/frost", kind)) for kind in ("failure", "success"))
    stream = StreamReader(requests.get(base_url + "/api/v1/stream", stream=True, timeout=(10, 60)))
    stream.start()
    try:
        cold(probe)
        (firing,) = eventually(lambda: notifications(project, "/ok/frost", "failure")[fired:],
                               "the firing message at the webhook")
        assert "at or below the frost threshold (0.5 °C)" in firing["message"]
        assert "Dashboard: http://greenhouse.test:8080/" in firing["message"]
        assert f"Sensor: {PROBE}" in firing["message"]

        (active,) = [a for a in alerts(base_url)["active"] if a["key"] == KEY]
        assert firing["title"] == f"[Test greenhouse] FIRING: {active['label']}"
        assert active["rule"] == "frost" and active["severity"] == "critical"
        assert active["value"] == -2.5 and active["limit"] == 0.5 and active["resolved_at"] is None
        assert metrics(base_url)["frost_alerts_firing{rule=frost}"] == 1
        eventually(lambda: any(d["key"] == KEY and d["state"] == "firing" for _, d in stream.alert_events),
                   "the alert event on the stream")
        event_id, _ = next((i, d) for i, d in stream.alert_events if d["key"] == KEY)
        assert event_id is not None and int(event_id) > 0  # the sample's id: Last-Event-ID resumes it

        warm(probe)
        (resolved,) = eventually(lambda: notifications(project, "/ok/frost", "success")[resolved_before:],
                                 "the resolved message at the webhook")
        assert resolved["title"].startswith("[Test greenhouse] resolved: ")
        document = alerts(base_url)
        assert [a for a in document["active"] if a["key"] == KEY] == []
        assert document["recent"][0]["key"] == KEY and document["recent"][0]["resolved_at"] is not None
        assert metrics(base_url)["frost_alerts_firing{rule=frost}"] == 0
        eventually(lambda: any(d["key"] == KEY and d["state"] == "resolved" for _, d in stream.alert_events),
                   "the resolved event on the stream")
    finally:
        stream.close()
        warm(probe)


def test_failing_and_hanging_targets_are_retried_and_never_delay_a_sample(settled):
    project, base_url, probe = settled
    tried, hung = len(received(project, "/fail/frost")), len(received(project, "/hang/frost"))
    failed = metrics(base_url)["frost_notifications_total{result=failed}"]
    cold(probe)
    try:
        # The 500 target is tried again (5 s later, then 10 s ...); the hanging one is given up on
        # per attempt by Apprise's read timeout, and retried too.
        eventually(lambda: len(received(project, "/fail/frost")) >= tried + 2, "a retry of the failing target")
        eventually(lambda: len(received(project, "/hang/frost")) >= hung + 1, "an attempt at the hanging one")
        eventually(lambda: metrics(base_url)["frost_notifications_total{result=failed}"] >= failed + 2,
                   "the failures counted")
        # Meanwhile sampling goes on: the samples a hanging target would have held up keep coming.
        before = readyz(base_url)["samples"]
        eventually(lambda: readyz(base_url)["samples"] >= before + 3, "three more samples")
        assert readyz(base_url)["status"] == "ok"
    finally:
        warm(probe)
        eventually(lambda: not [a for a in alerts(base_url)["active"] if a["key"] == KEY], "the alert to resolve")


def test_an_alert_firing_before_a_restart_is_neither_repeated_nor_lost(settled):
    project, base_url, probe = settled
    earlier = len(notifications(project, "/ok/frost", "failure"))  # from the tests before, if any
    cold(probe)
    firing_before = eventually(lambda: len(notifications(project, "/ok/frost", "failure")) > earlier and
                               len(notifications(project, "/ok/frost", "failure")), "a firing message")
    (before,) = eventually(lambda: [a for a in alerts(base_url)["active"] if a["key"] == KEY], "the alert")
    project.cli("restart", "app")
    eventually(lambda: requests.get(base_url + "/readyz", timeout=10).status_code == 200,
               "the app back after its restart")
    (still,) = [a for a in alerts(base_url)["active"] if a["key"] == KEY]  # kept in alerts.json
    resolved_before = len(notifications(project, "/ok/frost", "success"))
    warm(probe)
    eventually(lambda: len(notifications(project, "/ok/frost", "success")) > resolved_before,
               "the resolved message after the restart")
    assert len(notifications(project, "/ok/frost", "failure")) == firing_before  # not fired a second time
    assert still["fired_at"] == before["fired_at"]


def test_notify_test_reports_each_target(alerting):
    project, _, _ = alerting
    result = project.cli("exec", "-T", "app", "python", "-m", "frostserver.alerts.notifier", "--test", check=False)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr  # two of the three cannot be reached
    assert lines[0] == "notify[0] json://receiver/…: sent"
    assert lines[1].startswith("notify[1] json://receiver/…: FAILED")
    assert lines[2].startswith("notify[2] json://receiver/…: FAILED")
    (test_message,) = [p for p in (r["json"] for r in received(project, "/ok/frost")) if "test notification" in p["title"]]
    assert test_message["title"] == "[Test greenhouse] test notification"


def test_no_target_secret_is_logged_or_shown(alerting):
    project, base_url, _ = alerting
    logs = project.cli("logs", "--no-color", "app", check=False)
    assert "sending alerts to 3 target(s)" in logs.stdout + logs.stderr
    for text in (logs.stdout, logs.stderr, requests.get(base_url + "/api/v1/alerts", timeout=10).text,
                 requests.get(base_url + "/metrics", timeout=10).text):
        assert SECRET not in text
        assert "/ok/frost" not in text and "/fail/frost" not in text  # no path of a target either
