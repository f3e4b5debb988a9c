"""The `fleet` profile: a real Prometheus scraping the stack through nginx and loading the alerts."""
from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests

import chips
from conftest import compose_project, wait_until
from fakesysfs import FakeSysfs

FILES = ["compose.yaml", "compose.test.yaml", "compose.fleet.yaml"]
PROBE = 'chip="w1_bus_master1_28_000005e2fdc3",sensor="temp1"'  # the DS18B20 left out in the cold
# s: how long Prometheus may take to scrape and evaluate on a busy 2-core machine (it does both
# every 5 s); a passing test never waits this long.
PATIENCE = 120
EVALUATION = 5  # s: evaluation_interval in services/prometheus/prometheus.yml


@pytest.fixture(scope="module")
def fleet():
    tree_dir = Path(tempfile.mkdtemp(prefix="frost-fleet-sysfs-"))
    tree_dir.chmod(0o755)  # the app runs as an unprivileged user in the container
    tree = FakeSysfs(tree_dir)
    chips.coretemp_dual_socket(tree)
    chips.broken(tree)
    cold, _ = chips.ds18b20(tree)
    cold.write("temp1_input", -2500)  # below the default frost threshold (0 °C)
    env = {"FROST_TEST_SYSFS": str(tree_dir), "FROST_PROMETHEUS_PORT": ""}  # "": any free port
    try:
        with compose_project("frostfleet", FILES, env, profiles=["fleet"]) as project:
            yield project
    finally:
        shutil.rmtree(tree_dir, ignore_errors=True)


def query(fleet, promql: str) -> list[dict]:
    response = requests.get(fleet.url("prometheus", 9090, "/api/v1/query"), params={"query": promql}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_fake_tree_values_through_nginx(fleet):
    result = wait_until(lambda: query(fleet, 'node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"}'),
                        PATIENCE, interval=1, what="the first scrape")
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

    groups, every = wait_until(rules, PATIENCE, interval=1, what="every rule evaluated without error")
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


def test_frost_alert_is_pending_for_the_cold_probe_only(fleet):
    frost = wait_until(lambda: alerts(fleet, "FrostRisk"), PATIENCE, interval=1, what="the FrostRisk alert")
    # frost_sensor_value: the API's ids; the cold DS18B20 is the first of its two (device-path order).
    assert [(a["labels"]["sensor"], a["labels"]["kind"], a["state"]) for a in frost] == [
        ("w1_slave_temp-virtual-0/temp1", "temperature", state_by_age(frost[0], 5 * 60))]  # `for: 5m`
    assert float(frost[0]["value"]) == -2.5


def test_sensor_fault_alert_is_pending_for_the_broken_chip(fleet):
    faults = wait_until(lambda: alerts(fleet, "SensorFault"), PATIENCE, interval=1, what="the SensorFault alert")
    by_sensor = {a["labels"]["sensor"]: a for a in faults}
    for sensor, status in (("broken-isa-0000/temp6", "fault"), ("broken-isa-0000/temp5", "error")):  # 5: implausible
        alert = by_sensor[sensor]
        assert (alert["labels"]["status"], alert["state"]) == (status, state_by_age(alert, 2 * 60)), sensor  # `for: 2m`
    assert not any(sensor.startswith("coretemp") for sensor in by_sensor)
