"""Issue 19, items 2 and 3 on the real stack: hostile compute statements and non-finite values.

A stack of its own with a sensors.d file of hostile `compute` statements (a 3,000-term chain, 3,000
prefixes, overflows, a division by zero, the logarithm of a negative number) and config-file
sensors whose file says `nan` and whose command prints `1e999`. Before the fix the chain hit
Python's recursion limit at every sample: every hwmon sensor vanished and 2.4 KB of traceback was
logged each second; NaN made /api/v1/sensors answer 500, infinity reached the stream as a bare
`Infinity`. Now: each bad statement costs its own sensor, every other sensor is served, every
answer is strict JSON, and the app's log stays quiet.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chips import it87_old_layout, nct6798
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from frostserver.hwmon import HwmonReader
from waiting import eventually

CHAIN_LINE, PREFIX_LINE = 3, 4
HOSTILE_FILE = f"""\
chip "nct6798-*"
    label in0 "Vcore"
    compute temp1 @{"+1" * 3000}, @
    compute in0 {"-" * 3000}@, @
    compute temp2 ^^^^@, @
    compute in2 @/(in0 - in0), @
    compute fan1 `(0-@), @
    compute in1 @*12, @/12
"""
NCT = "nct6798-isa-0290"
# The config-file sensors' files live in the tree the app sees at /host/sys.
CONFIG = """\
[sensors.nan_file]
file = "/host/sys/frost-test/nan_value"
[sensors.huge_command]
command = ["/bin/echo", "T=1e999 C"]
interval = 1
"""
# s: the window the app's log is counted over once sampling runs, and the most lines it may hold.
QUIET_WINDOW = 30
QUIET_LINES = 3


def strict(text: str | bytes) -> object:
    """Parse JSON as a browser does: NaN, Infinity and -Infinity are syntax errors."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def hostile():
    """Start a stack over an NCT6798D and an IT8712F with HOSTILE_FILE in its sensors.d."""
    work = Path(tempfile.mkdtemp(prefix="frost-hostile-"))
    work.chmod(0o755)  # the app reads the tree and the files as another user
    tree = FakeSysfs(work / "sys")
    nct6798(tree)
    it87_old_layout(tree)
    with HwmonReader(tree.root, read_timeout=60) as reader:  # what the stack serves without sensors.d
        hwmon_ids = {sensor.id for sensor, _ in reader.sample()}
    values = work / "sys" / "frost-test"
    values.mkdir(mode=0o755)
    (values / "nan_value").write_text("nan\n")
    (values / "nan_value").chmod(0o644)
    sensors_d = work / "sensors.d"
    sensors_d.mkdir(mode=0o755)
    (sensors_d / "hostile.conf").write_text(HOSTILE_FILE)
    (sensors_d / "hostile.conf").chmod(0o644)
    (work / "frostserver.toml").write_text(CONFIG)
    (work / "frostserver.toml").chmod(0o644)
    # info, the level a device runs at (the test overlay's debug adds a line per request).
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_SENSORS_D": str(sensors_d),
           "FROST_TEST_CONFIG": str(work / "frostserver.toml"), "FROST_LOG_LEVEL": "info"}
    expected = hwmon_ids | {"config/nan_file", "config/huge_command"}
    try:
        with compose_project("frosthostile", COMPOSE_FILES, env) as project:
            base_url = project.url("nginx", 8080)

            def all_read():
                found = sensors(base_url)
                return found.keys() == expected and all(
                    found[sensor_id]["error"] != "not read yet" for sensor_id in ("config/nan_file", "config/huge_command"))

            eventually(all_read, "a sample with every sensor, the config ones read")
            yield project, base_url, expected
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sensors(base_url: str, path: str = "/api/v1/sensors") -> dict[str, dict]:
    response = requests.get(base_url + path, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return {sensor["id"]: sensor for sensor in strict(response.content)["sensors"]}


def test_every_other_sensor_is_served_and_each_bad_statement_costs_only_its_own(hostile):
    _, base_url, expected = hostile
    found = sensors(base_url)
    assert found.keys() == expected  # no sensor of either chip lost
    # Refused when parsed: temp1 and in0 are read as if the statements were not there.
    assert found[f"{NCT}/temp1"]["value"] == 33.0 and "raw_value" not in found[f"{NCT}/temp1"]
    assert (found[f"{NCT}/in0"]["value"], found[f"{NCT}/in0"]["label"]) == (1.04, "Vcore")
    for channel, reason in (("temp2", "computed value is not finite"), ("in2", "division by zero"),
                            ("fan1", "natural logarithm) needs a positive argument")):
        sensor = found[f"{NCT}/{channel}"]
        assert (sensor["value"], sensor["status"]) == (None, "error"), channel
        assert sensor["error"].startswith("compute: /etc/sensors.d/hostile.conf:") and reason in sensor["error"]
    assert found[f"{NCT}/in1"]["value"] == pytest.approx(1.008 * 12)
    assert found[f"{NCT}/temp2"]["thresholds"] == {}  # its limits overflow too: left out
    others = [s for s in found.values() if s["id"].split("/")[1] not in ("temp2", "in2", "fan1")
              and s["source"] == "hwmon"]
    assert others and all(s["status"] != "error" for s in others)


def test_config_sensors_saying_nan_or_1e999_are_errors_with_a_reason(hostile):
    _, base_url, _ = hostile
    found = sensors(base_url)
    assert (found["config/nan_file"]["value"], found["config/nan_file"]["error"]) == \
        (None, "not a finite number: 'nan'")
    assert (found["config/huge_command"]["value"], found["config/huge_command"]["error"]) == \
        (None, "not a finite number: '1e999'")


def test_no_answer_is_a_500_and_every_one_is_strict_json(hostile):
    _, base_url, expected = hostile
    assert sensors(base_url, "/sensor_reading").keys() == expected
    for sensor_id in sorted(expected):
        response = requests.get(f"{base_url}/api/v1/sensors/{sensor_id}", timeout=10)
        assert response.status_code == 200, (sensor_id, response.text[:300])
        assert strict(response.content)["id"] == sensor_id
    for path in ("/api/v1/alerts", "/api/v1/chips", "/api/v1/history?seconds=30", "/readyz"):
        response = requests.get(base_url + path, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        strict(response.content)


def test_metrics_answer_with_finite_values_only(hostile):
    _, base_url, _ = hostile
    response = requests.get(base_url + "/metrics", timeout=10)
    assert response.status_code == 200
    values = {sample.labels["sensor"]: sample.value
              for family in text_string_to_metric_families(response.text) if family.name == "frost_sensor_value"
              for sample in family.samples}
    assert f"{NCT}/temp1" in values and f"{NCT}/in1" in values
    assert not {f"{NCT}/temp2", f"{NCT}/in2", f"{NCT}/fan1", "config/nan_file"} & values.keys()  # no value: no series
    assert all(value == value and abs(value) != float("inf") for value in values.values())


def test_the_streams_events_are_strict_json(hostile):
    _, base_url, expected = hostile
    events = []
    with requests.get(base_url + "/api/v1/stream", stream=True, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith(b"data: "):
                events.append(strict(line[len(b"data: "):]))
                if len(events) == 3:
                    break
    for event in events:
        if "values" in event:  # a sample event (an alert event may come too)
            assert set(event["values"]) <= expected
            assert event["values"][f"{NCT}/temp2"] is None and event["status"][f"{NCT}/temp2"] == "error"


def test_the_problems_are_logged_once_with_file_and_line_in_short_lines(hostile):
    project, _, _ = hostile
    logs = project.cli("logs", "--no-color", "app").stdout
    for line in (CHAIN_LINE, PREFIX_LINE):
        found = [entry for entry in logs.splitlines() if f"/etc/sensors.d/hostile.conf:{line}:" in entry]
        assert len(found) == 1 and len(found[0]) < 300, found  # the bound, not the 6,000-character line
    # Debian's default file: one short info line for its 127 `set` statements, not 127 numbers.
    (notice,) = [entry for entry in logs.splitlines() if "/etc/sensors3.conf: " in entry and "`set`" in entry]
    assert "[INFO]" in notice and " and " in notice and " more)" in notice and len(notice) < 300
    assert "Traceback" not in logs and "RecursionError" not in logs


def test_the_apps_log_stays_quiet_while_it_samples(hostile):
    # Counted over a window of its own, in which it asks for what the other tests ask for: it
    # proves the same whether they ran before it, after it or not at all.
    project, base_url, expected = hostile
    began = time.time()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began))
    for path in ("/api/v1/sensors", "/sensor_reading", "/api/v1/alerts", "/api/v1/chips", "/metrics",
                 "/api/v1/history?seconds=30", "/readyz", *(f"/api/v1/sensors/{sid}" for sid in sorted(expected))):
        assert requests.get(base_url + path, timeout=30).status_code == 200, path
    with requests.get(base_url + "/api/v1/stream", stream=True, timeout=30) as response:
        next(line for line in response.iter_lines() if line.startswith(b"data: "))
    time.sleep(max(0.0, began + QUIET_WINDOW - time.time()))  # and samples for the rest of the window
    window = project.cli("logs", "--no-color", "--since", since, "app").stdout.splitlines()
    assert len(window) <= QUIET_LINES, "\n".join(window[-20:])
    assert sensors(base_url).keys()  # and it is still sampling and serving
