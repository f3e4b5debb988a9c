"""The `fleet` profile: a real Prometheus scraping the stack through nginx, its alerts reaching a webhook.

The device lets no anonymous visitor read (`[access] anonymous = "none"`, issue 21): Prometheus
scrapes /metrics with a read token made on the device's shell (`make token`), in
FROST_ACCESS_DIR/prometheus.token, as README.md ("Running a fleet") tells an owner to.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
import yaml

import chips
from conftest import REPO, compose_project
from fakesysfs import FakeSysfs
from waiting import PATIENCE, eventually

FILES = ["compose.yaml", "compose.test.yaml", "compose.fleet.yaml", "tests/integration/compose.fleet-test.yaml",
         "tests/integration/compose.receiver.yaml"]
PROBE = 'chip="w1_bus_master1_28_000005e2fdc3",sensor="temp1"'  # the DS18B20 left out in the cold
EVALUATION = 5  # s: evaluation_interval in services/prometheus/prometheus.yml
# s: FrostRisk's `for:` in the rules this module's Prometheus evaluates (5 min as shipped): long enough
# to see the alert pending first, short enough that it fires while the tests wait.
FROST_HOLD = 15
# Where Alertmanager sends (tests/integration/alertmanager.test.yml): the receiver's /ok/ answers 200.
WEBHOOK_PATH = "/ok/alertmanager"


def write_rules_with_short_frost_hold(directory: Path) -> Path:
    """Write the shipped alerting rules with FrostRisk's `for:` cut to FROST_HOLD, all else unchanged."""
    rules = yaml.safe_load((REPO / "services/prometheus/rules/frost.yml").read_text(encoding="utf-8"))
    frost = [rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == "FrostRisk"]
    assert len(frost) == 1, frost
    frost[0]["for"] = f"{FROST_HOLD}s"
    path = directory / "frost.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path.chmod(0o644)  # Prometheus runs as its package's user in the container
    return path


@pytest.fixture(scope="module")
def fleet():
    tree_dir = Path(tempfile.mkdtemp(prefix="frost-fleet-sysfs-"))
    tree_dir.chmod(0o755)  # the app runs as an unprivileged user in the container
    tree = FakeSysfs(tree_dir)
    chips.coretemp_dual_socket(tree)
    chips.broken(tree)
    cold, _ = chips.ds18b20(tree)
    cold.write("temp1_input", -2500)  # below the default frost threshold (0 °C)
    rules_dir = Path(tempfile.mkdtemp(prefix="frost-fleet-rules-"))
    rules_dir.chmod(0o755)
    access = rules_dir / "access"  # FROST_ACCESS_DIR: where the token goes
    access.mkdir(mode=0o755)
    config = rules_dir / "frostserver.toml"
    config.write_text('[access]\nanonymous = "none"\n')
    config.chmod(0o644)
    env = {"FROST_TEST_SYSFS": str(tree_dir), "FROST_TEST_CONFIG": str(config), "FROST_ACCESS_DIR": str(access),
           "FROST_TEST_PROMETHEUS_RULES": str(write_rules_with_short_frost_hold(rules_dir)),
           "FROST_ALERTMANAGER_CONFIG": str(REPO / "tests/integration/alertmanager.test.yml"),
           "FROST_PROMETHEUS_PORT": "", "FROST_ALERTMANAGER_PORT": ""}  # "": any free port
    try:
        with compose_project("frostfleet", FILES, env, profiles=["fleet"]) as project:
            # As an owner does: a read token on the device's shell, into the file Prometheus reads, then
            # a restart of Prometheus (its start script adds the token to the scrape job).
            token = project.accounts("token", "prometheus", "--scope", "read").stdout.strip()
            (access / "prometheus.token").write_text(token + "\n")
            (access / "prometheus.token").chmod(0o644)  # Prometheus runs as its package's user
            project.cli("restart", "prometheus")
            yield project
    finally:
        shutil.rmtree(tree_dir, ignore_errors=True)
        shutil.rmtree(rules_dir, ignore_errors=True)


def query(fleet, promql: str) -> list[dict]:
    response = requests.get(fleet.url("prometheus", 9090, "/api/v1/query"), params={"query": promql}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_metrics_need_the_token_that_prometheus_scrapes_with(fleet):
    # Anonymous visitors read nothing; Prometheus, with its read token, scrapes (the next test).
    response = requests.get(fleet.url("nginx", 8080, "/metrics"), timeout=5)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="FrostServer"'


def test_prometheus_scrapes_fake_tree_values_through_nginx(fleet):
    result = eventually(lambda: query(fleet, 'node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"}'),
                        "the first scrape", interval=1)
    assert [float(r["value"][1]) for r in result] == [45.0]
    assert result[0]["metric"]["job"] == "frostserver" and result[0]["metric"]["instance"] == "nginx:8080"
    targets = requests.get(fleet.url("prometheus", 9090, "/api/v1/targets"), timeout=5).json()["data"]
    assert [t["health"] for t in targets["activeTargets"]] == ["up"]
    assert query(fleet, 'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp6"}') == []  # faulted
    assert float(query(fleet, 'node_hwmon_temp_fault{chip="platform_broken_0",sensor="temp6"}')[0]["value"][1]) == 1


def test_alerting_rules_load_and_evaluate(fleet):
    def rules():
        response = requests.get(fleet.url("prometheus", 9090, "/api/v1/rules"), timeout=5)
        response.raise_for_status()
        groups = response.json()["data"]["groups"]
        every = [rule for group in groups for rule in group["rules"]]
        # "unknown" until a rule's first evaluation; "err" if its query fails
        return (groups, every) if every and all(rule["health"] == "ok" for rule in every) else None

    groups, every = eventually(rules, "every rule evaluated without error", interval=1)
    assert {group["name"] for group in groups} == {"frost", "sensor-health"}
    assert {rule["name"] for rule in every} == {
        "FrostRisk", "SensorFault", "SensorAlarm", "SensorReadErrors", "SensorReadsTimingOut",
        "FrostServerDown", "FrostServerNotSampling"}


def alerts(fleet, name: str) -> list[dict] | None:
    response = requests.get(fleet.url("prometheus", 9090, "/api/v1/alerts"), timeout=5)
    response.raise_for_status()
    return [a for a in response.json()["data"]["alerts"] if a["labels"]["alertname"] == name] or None


def state_by_age(alert: dict, hold: float) -> str:
    """Return the state an alert must be in: pending until its `for:` (hold, s) has passed, then firing.

    By its age, not by how soon this test runs: a busy machine may take minutes over the module.
    """
    age = time.time() - datetime.fromisoformat(alert["activeAt"]).timestamp()
    if age < hold:
        return "pending"
    return "firing" if age > hold + 2 * EVALUATION else alert["state"]  # just due: either


def test_frost_alert_is_active_for_the_cold_probe_only(fleet):
    frost = eventually(lambda: alerts(fleet, "FrostRisk"), "the FrostRisk alert", interval=1)
    # frost_sensor_value: the API's ids; the cold DS18B20 is the first of its two (device-path order).
    assert [(a["labels"]["sensor"], a["labels"]["kind"], a["state"]) for a in frost] == [
        ("w1_slave_temp-virtual-0/temp1", "temperature", state_by_age(frost[0], FROST_HOLD))]
    assert float(frost[0]["value"]) == -2.5


def test_sensor_fault_alert_is_pending_for_the_broken_chip(fleet):
    faults = eventually(lambda: alerts(fleet, "SensorFault"), "the SensorFault alert", interval=1)
    by_sensor = {a["labels"]["sensor"]: a for a in faults}
    for sensor, status in (("broken-isa-0000/temp6", "fault"), ("broken-isa-0000/temp5", "error")):  # 5: implausible
        alert = by_sensor[sensor]
        assert (alert["labels"]["status"], alert["state"]) == (status, state_by_age(alert, 2 * 60)), sensor  # `for: 2m`
    assert not any(sensor.startswith("coretemp") for sensor in by_sensor)


def test_prometheus_sends_alerts_to_the_alertmanager(fleet):
    def alertmanagers():
        response = requests.get(fleet.url("prometheus", 9090, "/api/v1/alertmanagers"), timeout=5)
        response.raise_for_status()
        return response.json()["data"]["activeAlertmanagers"]

    active = eventually(alertmanagers, "Prometheus to discover the Alertmanager", interval=1)
    assert [a["url"] for a in active] == ["http://alertmanager:9093/api/v2/alerts"]
    assert requests.get(fleet.url("alertmanager", 9093, "/-/ready"), timeout=5).status_code == 200


def webhook_requests(fleet) -> list[dict]:
    """Return what Alertmanager has POSTed to the test receiver so far, oldest first."""
    response = requests.get(fleet.url("receiver", 8000, "/received"), params={"path": WEBHOOK_PATH}, timeout=5)
    response.raise_for_status()
    return response.json()


def test_frost_alert_reaches_the_webhook_receiver_through_alertmanager(fleet):
    def firing_frost():
        return [request for request in webhook_requests(fleet)
                if request["json"]["status"] == "firing"
                and any(alert["labels"]["alertname"] == "FrostRisk" for alert in request["json"]["alerts"])]

    # A scrape, FROST_HOLD of `for:`, an evaluation, Alertmanager's 1 s group_wait: seconds on a quiet
    # machine, but minutes on a busy 2-core one. eventually returns as soon as the webhook is there.
    request = eventually(firing_frost, "FrostRisk at the webhook", patience=PATIENCE + FROST_HOLD, interval=1)[0]
    payload = request["json"]
    # Alertmanager's webhook format (version 4), grouped by alertname and instance as configured.
    assert (payload["version"], payload["receiver"]) == ("4", "test-receiver")
    assert payload["groupLabels"] == {"alertname": "FrostRisk", "instance": "nginx:8080"}
    assert request["headers"]["Content-Type"] == "application/json"
    frost = [alert for alert in payload["alerts"] if alert["labels"]["alertname"] == "FrostRisk"]
    assert [(a["status"], a["labels"]["sensor"], a["labels"]["severity"], a["labels"]["device"]) for a in frost] == [
        ("firing", "w1_slave_temp-virtual-0/temp1", "critical", "local")]
    assert frost[0]["annotations"]["summary"].endswith("(w1_slave_temp-virtual-0/temp1) is -2.5 °C")
