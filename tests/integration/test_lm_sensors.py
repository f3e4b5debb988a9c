"""lm-sensors' configuration on the real stack: labels, computes and ignores from sensors.d.

A stack of its own, with a board file in its sensors.d (as a user drops one into the host's
/etc/sensors.d) and Debian's default /etc/sensors3.conf from the image: the API, the dashboard's
data and frost_sensor_value show what `sensors` shows, node_hwmon_* stays node_exporter's raw
numbers, a statement FrostServer cannot use is reported with its file and line and the rest
applies, and [relabel] in FrostServer's own config still wins.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chips import it87_old_layout, nct6798
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from waiting import eventually

# Written like a board file from lm-sensors' configs/ directory: a divider on in1 (a +12 V rail
# read as 1.008 V), a label Debian's file does not give this chip, an ignored fan, a `set` (never
# applied: FrostServer does not write to the hardware) and a line that does not parse.
BOARD_FILE = """\
# A test board with an NCT6798D
chip "nct6798-*"
    label in0 "Vcore"
    label in1 "+12V"
    compute in1 @*12, @/12
    label in2 "+3.3V"
    ignore fan2
    set in2_min 3.3 * 0.90
    label in0
"""
BAD_LINE = 9  # `label in0` without its text
SET_LINE = 8

CONFIG = """\
[relabel]
"nct6798-isa-0290/in2" = "3.3 V rail"
"""

IN1 = "nct6798-isa-0290/in1"
FAN2 = "nct6798-isa-0290/fan2"


@pytest.fixture(scope="module")
def configured():
    """Start a stack over an NCT6798D and an IT8712F with BOARD_FILE in its sensors.d."""
    work = Path(tempfile.mkdtemp(prefix="frost-lmsensors-"))
    work.chmod(0o755)  # the app reads the tree and the files as another user
    tree = FakeSysfs(work / "sys")
    nct6798(tree)
    it87_old_layout(tree)
    sensors_d = work / "sensors.d"
    sensors_d.mkdir(mode=0o755)
    (sensors_d / "board.conf").write_text(BOARD_FILE)
    (sensors_d / "board.conf").chmod(0o644)
    (work / "frostserver.toml").write_text(CONFIG)
    (work / "frostserver.toml").chmod(0o644)
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_SENSORS_D": str(sensors_d),
           "FROST_TEST_CONFIG": str(work / "frostserver.toml")}
    try:
        with compose_project("frostlmsensors", COMPOSE_FILES, env) as project:
            base_url = project.url("nginx", 8080)
            eventually(lambda: IN1 in sensors(base_url), "the first sample with in1")
            yield project, base_url
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sensors(base_url: str) -> dict[str, dict]:
    response = requests.get(base_url + "/api/v1/sensors", timeout=10)
    response.raise_for_status()
    return {sensor["id"]: sensor for sensor in response.json()["sensors"]}


def metrics(base_url: str) -> dict[str, float]:
    response = requests.get(base_url + "/metrics", timeout=10)
    response.raise_for_status()
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_the_api_shows_computed_values_and_configured_labels(configured):
    _, base_url = configured
    found = sensors(base_url)
    rail = found[IN1]
    assert rail["label"] == "+12V"
    assert rail["value"] == pytest.approx(1.008 * 12)
    assert rail["raw_value"] == pytest.approx(1.008)
    assert rail["thresholds"] == {"min": 0.0, "max": 0.0}  # computed as `sensors` computes limits
    assert found["nct6798-isa-0290/in0"]["label"] == "Vcore"
    assert "raw_value" not in found["nct6798-isa-0290/in0"]  # nothing computed, nothing to show
    # Debian's default file, carried by the image, labels the IT87's in8 only; its in0 stays in0.
    assert found["it87-isa-0290/in0"]["label"] == "in0"


def test_relabel_in_frostservers_config_wins(configured):
    _, base_url = configured
    assert sensors(base_url)["nct6798-isa-0290/in2"]["label"] == "3.3 V rail"


def test_an_ignored_sensor_is_left_out_of_the_api_but_not_out_of_node_hwmon(configured):
    _, base_url = configured
    assert FAN2 not in sensors(base_url)
    response = requests.get(base_url + f"/api/v1/sensors/{FAN2}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    history = requests.get(base_url + "/api/v1/history", params={"seconds": 10, "sensor": FAN2}, timeout=10)
    assert history.status_code == 400
    found = metrics(base_url)
    assert not any(key.startswith("frost_sensor_") and FAN2 in key for key in found)
    # node_exporter reads no sensors.conf: neither does FrostServer's copy of its series.
    assert found['node_hwmon_fan_rpm{chip="platform_nct6775_656",sensor="fan2"}'] == 0


def test_metrics_frost_series_computed_node_hwmon_raw(configured):
    _, base_url = configured
    found = metrics(base_url)
    key = f'frost_sensor_value{{chip="nct6798-isa-0290",kind="voltage",label="+12V",place="",sensor="{IN1}",unit="V"}}'
    assert found[key] == pytest.approx(1.008 * 12)
    assert found['node_hwmon_in_volts{chip="platform_nct6775_656",sensor="in1"}'] == pytest.approx(1.008)


def test_statements_that_cannot_apply_are_reported_with_file_and_line(configured):
    project, base_url = configured
    assert requests.get(base_url + "/readyz", timeout=10).status_code == 200
    logs = project.cli("logs", "--no-color", "app").stdout
    assert f"/etc/sensors.d/board.conf:{BAD_LINE}:" in logs
    assert f"/etc/sensors.d/board.conf: 1 `set` statement(s) not applied" in logs
    assert f"(lines {SET_LINE})" in logs
